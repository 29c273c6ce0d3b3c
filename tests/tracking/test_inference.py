"""Randomisation inference: exact permutations, uniform p under the null, CI coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from triplet.errors import InputError
from triplet.tracking import did, permute_within, randomisation_inference
from triplet.tracking.inference import unit_prepost

from .conftest import make_panel


def test_permute_within_keeps_block_counts_and_is_seeded():
    obs = np.array([1, 0, 1, 0, 1, 1, 0, 0], dtype=bool)
    blocks = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    Z = permute_within(obs, blocks, None, 500, seed=7)
    assert Z.shape == (500, 8)
    assert (Z[:, :4].sum(axis=1) == 2).all() and (Z[:, 4:].sum(axis=1) == 2).all()
    assert np.array_equal(Z, permute_within(obs, blocks, None, 500, seed=7))
    # every one of the 6 x 6 assignments appears, about equally often
    codes = Z @ (1 << np.arange(8))
    assert len(np.unique(codes)) == 36


def test_permute_within_pairs_and_clusters():
    obs = np.array([1, 0, 0, 1, 1, 0, 0, 1], dtype=bool)
    pairs = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    Z = permute_within(obs, pairs, None, 200, seed=1)
    assert (Z.reshape(200, 4, 2).sum(axis=2) == 1).all()
    clusters = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    cobs = np.array([1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    Zc = permute_within(cobs, None, clusters, 200, seed=1)
    assert (Zc[:, ::2] == Zc[:, 1::2]).all() and (Zc.sum(axis=1) == 4).all()
    with pytest.raises(InputError, match="varies within a cluster"):
        permute_within(obs, None, clusters, 10, seed=1)


def _ri(p, n_draws=999, seed=0, null="additive"):
    units, pre, post = unit_prepost(p, outcome="y", unit="unit", post="post")
    obs = p.groupby("unit")["treated_unit"].first().reindex(units).to_numpy()
    blocks = p.groupby("unit")["block"].first().reindex(units).to_numpy()
    Z = permute_within(obs, blocks, None, n_draws, seed=seed)
    return randomisation_inference(pre, post, obs, Z, outcome="y", null=null)


def test_statistic_equals_twfe_on_balanced_panel(panel):
    r = _ri(panel)
    assert r.estimate == pytest.approx(
        did(panel, outcome="y", unit="unit", time="time", treated="d").estimate, abs=1e-10
    )
    assert r.ci_low < -1.5 < r.ci_high
    assert r.p_value < 0.01 and r.p_value >= 1 / 1000
    assert r.plot() is not None and r.to_dict()["n_draws"] == 999


def test_pvalue_uniform_under_null_and_ci_covers_truth():
    ps, covered = [], 0
    for seed in range(150):
        p = make_panel(n_units=24, n_periods=6, start=3, effect=0.7, seed=seed)
        r = _ri(p.assign(y=p["y"] - 0.7 * p["d"]), n_draws=199, seed=seed)  # null true
        ps.append(r.p_value)
        if seed < 60:
            rc = _ri(p, n_draws=199, seed=seed)
            covered += rc.ci_low < 0.7 < rc.ci_high
    assert stats.kstest(ps, "uniform").pvalue > 0.001
    assert 0.02 < np.mean(np.array(ps) < 0.05) < 0.10
    assert covered >= 51  # nominal 57 of 60


def test_interval_ends_are_where_the_test_starts_rejecting(panel):
    r = _ri(panel, n_draws=1999)
    units, pre, post = unit_prepost(panel, outcome="y", unit="unit", post="post")
    obs = panel.groupby("unit")["treated_unit"].first().reindex(units).to_numpy()
    blocks = panel.groupby("unit")["block"].first().reindex(units).to_numpy()
    Z = permute_within(obs, blocks, None, 1999, seed=0)
    for end, inside in ((r.ci_low, +1), (r.ci_high, -1)):
        for eps, accepted in ((inside * 1e-3, True), (-inside * 1e-3, False)):
            shifted = post - (end + eps) * obs
            p = randomisation_inference(pre, shifted, obs, Z).p_value
            assert (p >= 0.05) == accepted


def test_multiplicative_null_gives_a_rate_ratio_interval():
    p = make_panel(n_units=40, n_periods=8, start=4, effect=0.0, seed=3)
    p = p.assign(y=p["y"] + 10)  # positive outcomes
    p = p.assign(y=np.where(p["d"] == 1, p["y"] * 0.7, p["y"]))
    r = _ri(p, null="multiplicative")
    assert r.ci_low < 0.7 < r.ci_high
    assert r.ci_high < 1.0
    assert r.to_dict()["rate_ratio_ci_low"] == pytest.approx(r.ci_low)


def test_shapes_checked():
    with pytest.raises(InputError, match="draws must be"):
        randomisation_inference(
            np.zeros(3), np.zeros(3), np.array([1, 0, 0], bool), np.zeros((5, 4), bool)
        )


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 7), min_size=1, max_size=5),
    seed=st.integers(0, 2**32),
    data=st.data(),
)
def test_permute_within_preserves_stratum_counts(sizes, seed, data):
    strata = np.repeat(np.arange(len(sizes)), sizes)
    obs = np.array([data.draw(st.booleans()) for _ in range(len(strata))], dtype=bool)
    Z = permute_within(obs, strata, None, 50, seed=seed)
    for s in range(len(sizes)):
        sel = strata == s
        assert (Z[:, sel].sum(axis=1) == obs[sel].sum()).all()
