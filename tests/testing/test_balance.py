"""Balance: SMDs, variance ratios and the Hansen & Bowers omnibus test against known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.testing.conftest import make_units
from triplet.registry.models import Design
from triplet.testing.assignment import assign, draw_assignments
from triplet.testing.balance import balance, hansen_bowers, smd_matrix


def _table(units, treated, **cols):
    return pd.DataFrame(
        {
            "unit": units,
            "arm": np.where(treated, "treatment", "control"),
            "block": cols.get("block", [None] * len(units)),
            "pair": cols.get("pair", [None] * len(units)),
            "cluster": cols.get("cluster", [None] * len(units)),
            "probability": cols.get("probability", [0.5] * len(units)),
        }
    )


def test_known_answer_complete():
    # x = 1, 2, 3, 4 with 3 and 4 treated: difference 2, pooled SD sqrt(0.5)
    u = pd.DataFrame({"unit": list("abcd"), "x": [1.0, 2.0, 3.0, 4.0]})
    b = balance(u, _table(list("abcd"), [False, False, True, True]), ["x"])
    row = b.table.iloc[0]
    assert row["mean_treatment"] == 3.5 and row["mean_control"] == 1.5
    assert row["smd"] == pytest.approx(2 / np.sqrt(0.5))
    assert row["variance_ratio"] == pytest.approx(1.0)
    # d = (4 - 2.5) + (3 - 2.5) = 2; V = 2*2/(4*3) * 5 = 5/3; d2 = 2.4
    assert b.omnibus["statistic"] == pytest.approx(2.4)
    assert b.omnibus["df"] == 1
    assert b.omnibus["p_value"] == pytest.approx(stats.chi2.sf(2.4, 1))
    assert row["z"] == pytest.approx(2 / np.sqrt(5 / 3))


def test_variance_of_d_is_the_exact_randomisation_variance():
    # enumerate every complete assignment of 3 of 7 units: Var(sum_T (x - xbar)) matches V
    x = np.array([0.3, 1.2, 2.0, 5.5, 3.1, 0.0, 4.4])
    ds = []
    for t in itertools.combinations(range(7), 3):
        ds.append((x[list(t)] - x.mean()).sum())
    zt = np.zeros(7, dtype=bool)
    zt[[0, 1, 2]] = True
    hb = hansen_bowers(x[:, None], zt)
    d = (x[:3] - x.mean()).sum()
    assert hb["z"][0] ** 2 == pytest.approx(d**2 / np.var(ds))


def test_pairs_known_answer():
    # pairs (a, b) and (c, d): treated a and d; within-pair deviations +1 and +2
    u = pd.DataFrame({"unit": list("abcd"), "x": [3.0, 1.0, 5.0, 9.0]})
    t = _table(list("abcd"), [True, False, False, True], pair=["P1", "P1", "P2", "P2"])
    b = balance(u, t, ["x"])
    # d = (3-2) + (9-7) = 3; V = sum_b 1*1/(2*1) * sum (x - xbar_b)^2 = 0.5*2 + 0.5*8 = 5
    assert b.omnibus["statistic"] == pytest.approx(9 / 5)


def test_omnibus_is_chi_square_under_the_design():
    u = make_units(80, seed=3, n_tiers=4)
    design = Design(method="block", block_by="harm_tier", seed=1)
    cov = ["baseline_harm", "baseline_count", "deprivation"]
    x = u[cov].to_numpy()
    draws = draw_assignments(u, design, 2000, seed=2)
    strata = u["harm_tier"].to_numpy()
    p = np.array([hansen_bowers(x, d, strata)["p_value"] for d in draws])
    # p-values are uniform under the randomisation: 5% below 0.05 (MC error ~0.5%)
    assert abs((p < 0.05).mean() - 0.05) < 0.02
    assert abs((p < 0.5).mean() - 0.5) < 0.05


def test_smd_matrix_matches_the_table():
    u = make_units(30, seed=2)
    a = assign(u, Design(method="complete", seed=3))
    cov = ["baseline_harm", "deprivation"]
    b = balance(u, a, cov)
    t = a.treated.reindex(u["unit"]).to_numpy()
    assert np.allclose(smd_matrix(u[cov].to_numpy(), t)[0], b.table["smd"])
    assert b.n_treatment + b.n_control == 30 and not b.weighted


def test_unequal_probabilities_are_weighted():
    # block a: 1 of 4 treated (p = .25), block b: 3 of 4 (p = .75); x constant within block
    u = pd.DataFrame({"unit": list("abcdefgh"), "x": [0.0] * 4 + [10.0] * 4})
    treated = [True, False, False, False, True, True, True, False]
    probs = [0.25] * 4 + [0.75] * 4
    t = _table(list("abcdefgh"), treated, block=["a"] * 4 + ["b"] * 4, probability=probs)
    b = balance(u, t, ["x"])
    # unweighted the arms differ (7.5 vs 2.5); weighted by 1/p they are equal (5 and 5)
    assert b.weighted
    assert b.table["mean_treatment"].iloc[0] == pytest.approx(5.0)
    assert b.table["mean_control"].iloc[0] == pytest.approx(5.0)
    assert b.table["smd"].iloc[0] == pytest.approx(0.0)
    # within blocks nothing differs: d2 = 0
    assert b.omnibus["statistic"] == pytest.approx(0.0)


def test_outputs(units):
    a = assign(units, Design(method="block", block_by="harm_tier", seed=1))
    b = balance(units, a, ["baseline_harm", "baseline_count"])
    d = b.to_dict()
    assert d["omnibus"]["df"] == 2 and len(d["covariates"]) == 2
    import json

    json.dumps(d)
    ax = b.plot()
    assert "standardised" in ax.get_xlabel()
