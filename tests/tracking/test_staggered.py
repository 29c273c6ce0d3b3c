"""Callaway & Sant'Anna group-time ATTs: a hand-computed example and a simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.tracking import did, staggered_did


def _hand_panel() -> pd.DataFrame:
    ys = {"A": [1, 2, 5, 7], "B": [2, 2, 3, 8], "C": [0, 1, 1, 2], "D": [1, 1, 2, 3]}
    start = {"A": 2, "B": 3, "C": np.nan, "D": np.nan}
    rows = [(u, t, float(v), start[u]) for u, vals in ys.items() for t, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["unit", "t", "y", "start"])


def test_hand_example():
    r = staggered_did(_hand_panel(), outcome="y", unit="unit", time="t", start="start")
    gt = r.group_time.set_index(["g", "t"])["att"]
    # ATT(2,2) = (5-2) - mean(1-1, 2-1) = 2.5 ; ATT(2,3) = (7-2) - mean(1, 2) = 3.5
    # ATT(3,3) = (8-3) - mean(1, 1) = 4 ; pre-period placebos use the previous period
    assert gt[(2, 2)] == pytest.approx(2.5)
    assert gt[(2, 3)] == pytest.approx(3.5)
    assert gt[(3, 3)] == pytest.approx(4.0)
    assert gt[(2, 1)] == pytest.approx(0.5)
    assert gt[(3, 1)] == pytest.approx(-0.5)
    assert gt[(3, 2)] == pytest.approx(0.5)  # (3 - 2) - mean(1 - 1, 2 - 1)
    assert r.estimate == pytest.approx(10 / 3)  # equal cohort sizes: mean of post cells
    dyn = r.dynamic.set_index("e")["att"]
    assert dyn[0] == pytest.approx(3.25) and dyn[1] == pytest.approx(3.5)
    assert dyn[-1] == pytest.approx((0.5 + 0.5) / 2)  # (2,1) and (3,2)
    # SE of one cell: sqrt(var_g/n_g + var_c/n_c) with population variances: 0 and 0.25/2
    se22 = r.group_time.set_index(["g", "t"])["se"][(2, 2)]
    assert se22 == pytest.approx(np.sqrt(0.125))
    assert r.plot() is not None and r.to_dict()["n_cohorts"] == 2


def _staggered_sim(seed: int, n: int = 300, T: int = 10):
    rng = np.random.Generator(np.random.PCG64(seed))
    cohort = rng.choice([3, 5, 7, -1], size=n)
    u = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(T), n)
    g = cohort[u]
    e = np.where(g >= 0, t - g, -99)
    effect = np.where(e >= 0, -1.0 - 0.5 * e, 0.0)  # grows with exposure
    y = rng.normal(0, 1, n)[u] + 0.3 * t + effect + rng.normal(0, 1, n * T)
    start = np.where(g >= 0, g, np.nan)
    return pd.DataFrame({"unit": u, "t": t, "y": y, "start": start, "d": (e >= 0).astype(int)})


def _true_simple_att(p: pd.DataFrame) -> float:
    post = p[p["d"] == 1]
    return float((-1.0 - 0.5 * (post["t"] - post["start"])).mean())  # cohort-size weights


def test_coverage_of_simple_and_dynamic_effects():
    covered_simple = covered_e0 = covered_pre = 0
    reps = 40
    for seed in range(reps):
        p = _staggered_sim(seed, n=200)
        r = staggered_did(p, outcome="y", unit="unit", time="t", start="start")
        dyn = r.dynamic.set_index("e")
        covered_simple += r.ci_low < _true_simple_att(p) < r.ci_high
        covered_e0 += dyn.loc[0, "ci_low"] < -1.0 < dyn.loc[0, "ci_high"]
        covered_pre += dyn.loc[-2, "ci_low"] < 0 < dyn.loc[-2, "ci_high"]
    for covered in (covered_simple, covered_e0, covered_pre):
        assert covered >= 33  # nominal 38 of 40


def test_twfe_is_biased_where_callaway_santanna_is_not():
    p = _staggered_sim(3, n=1000)
    r = staggered_did(p, outcome="y", unit="unit", time="t", start="start")
    truth = _true_simple_att(p)
    assert abs(r.estimate - truth) < 3 * r.se
    twfe = did(p, outcome="y", unit="unit", time="t", treated="d")
    assert abs(twfe.estimate - truth) > 5 * twfe.se  # forbidden comparisons bias TWFE


def test_needs_balanced_panel_and_controls():
    p = _hand_panel()
    with pytest.raises(InputError, match="balanced"):
        staggered_did(p.iloc[1:], outcome="y", unit="unit", time="t", start="start")
    with pytest.raises(InputError, match="never-treated"):
        staggered_did(p.assign(start=2), outcome="y", unit="unit", time="t", start="start")
