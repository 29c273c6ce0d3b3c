"""Holm and Romano-Wolf adjusted p-values: known answers, a naive reference, FWER by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.tracking.inference import permute_within, randomisation_inference
from triplet.tracking.multiplicity import adjust_family, holm, romano_wolf


def test_holm_hand_computed():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> max(0.06, 0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_matches_statsmodels(ps):
    from statsmodels.stats.multitest import multipletests

    assert holm(ps) == pytest.approx(multipletests(ps, method="holm")[1], abs=1e-12)


def _naive_romano_wolf(t, T):
    """Step-down by explicit loops (Romano & Wolf 2005, algorithm 2 with max statistics)."""
    t, T = np.abs(t), np.abs(T)
    order = list(np.argsort(-t, kind="stable"))
    out, running = np.empty(len(t)), 0.0
    for k, j in enumerate(order):
        rest = order[k:]
        cnt = sum(1 for b in range(T.shape[0]) if max(T[b, r] for r in rest) >= t[j] - 1e-12)
        running = max(running, (1 + cnt) / (1 + T.shape[0]))
        out[j] = min(running, 1.0)
    return out


def test_romano_wolf_equals_the_naive_loop():
    rng = np.random.Generator(np.random.PCG64(8))
    T = rng.normal(size=(300, 4)) @ np.array(
        [[1, 0.5, 0, 0], [0, 1, 0.3, 0], [0, 0, 1, 0.8], [0, 0, 0, 1]]
    )
    t = np.array([2.9, -0.4, 1.8, 2.2])
    assert romano_wolf(t, T) == pytest.approx(_naive_romano_wolf(t, T), abs=1e-15)


def _ri_setup(seed=3, n=30, effects=(0.0, 0.0, 0.0), rho=0.9):
    rng = np.random.Generator(np.random.PCG64(seed))
    obs = np.zeros(n, dtype=bool)
    obs[rng.permutation(n)[: n // 2]] = True
    base = rng.normal(size=n)
    pres, posts = [], []
    for e in effects:
        own = rho * base + np.sqrt(1 - rho**2) * rng.normal(size=n)
        pre = rng.normal(size=n)
        pres.append(pre)
        posts.append(pre + own + e * obs)
    Z = permute_within(obs, None, None, 999, seed + 1)
    return obs, Z, pres, posts


def test_romano_wolf_with_one_outcome_is_the_randomisation_p():
    obs, Z, (pre,), (post,) = _ri_setup(effects=(0.6,))
    ri = randomisation_inference(pre, post, obs, Z)
    r = adjust_family(["crimes"], [ri.estimate], [ri.p_value], draws=ri.draws[:, None])
    assert r.table["p_romano_wolf"].iloc[0] == pytest.approx(ri.p_value, abs=1e-12)


def test_duplicated_outcome_costs_nothing_under_romano_wolf_but_doubles_holm():
    obs, Z, (pre,), (post,) = _ri_setup(effects=(0.7,))
    ri = randomisation_inference(pre, post, obs, Z)
    r = adjust_family(
        ["a", "a_copy"],
        [ri.estimate, 2 * ri.estimate],
        [ri.p_value, ri.p_value],
        draws=np.column_stack([ri.draws, 2 * ri.draws]),  # a rescaled copy: same studentised
    )
    assert r.table["p_romano_wolf"].to_numpy() == pytest.approx([ri.p_value] * 2)
    assert r.table["p_holm"].to_numpy() == pytest.approx([min(1, 2 * ri.p_value)] * 2)


def test_family_wise_error_is_controlled_under_the_global_null():
    # 3 correlated outcomes, no effect on any: FWER of "any RW p < 0.05" over 300 trials
    hits_rw = hits_raw = 0
    reps = 300
    for s in range(reps):
        obs, Z, pres, posts = _ri_setup(seed=100 + s, effects=(0, 0, 0), rho=0.5)
        Z = Z[:199]
        ris = [randomisation_inference(a, b, obs, Z) for a, b in zip(pres, posts, strict=True)]
        r = adjust_family(
            ["x", "y", "z"],
            [x.estimate for x in ris],
            [x.p_value for x in ris],
            draws=np.column_stack([x.draws for x in ris]),
        )
        hits_rw += bool((r.table["p_romano_wolf"] < 0.05).any())
        hits_raw += bool((r.table["p_value"] < 0.05).any())
    se = np.sqrt(0.05 * 0.95 / reps)
    assert hits_rw / reps < 0.05 + 2.5 * se
    assert hits_raw / reps > hits_rw / reps  # unadjusted testing inflates the error rate


def test_result_protocol_and_errors():
    r = adjust_family(["a", "b"], [1.0, 2.0], [0.01, 0.2])
    d = r.to_dict()
    assert d["outcomes"][0]["p_romano_wolf"] is None and d["outcomes"][0]["p_holm"] == 0.02
    assert d["outcomes"][0]["significant_holm"] is True
    assert d["outcomes"][0]["significant_romano_wolf"] is None
    assert r.plot() is not None
    with pytest.raises(InputError):
        adjust_family(["a"], [1.0, 2.0], [0.1, 0.2])
    with pytest.raises(InputError):
        holm([1.2])
    with pytest.raises(InputError):
        romano_wolf([1.0, 2.0], np.zeros((5, 3)))
