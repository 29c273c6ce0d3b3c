"""Pooling across trials: DerSimonian-Laird by hand, results.json extraction, the Bayesian pool."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from triplet.errors import InputError
from triplet.tracking.pooling import (
    effects_from_results,
    pool_by_intervention,
    pool_effects,
    pool_results,
    random_effects,
)

Z = stats.norm.ppf(0.975)


def frame(y, se, kind="cctv"):
    return pd.DataFrame(
        {"trial": [f"t{i}" for i in range(len(y))], "intervention": kind, "log_effect": y, "se": se}
    )


def dersimonian_laird(y, se):
    """Hand computation (DerSimonian & Laird 1986, eqs. 3-4)."""
    y, v = np.asarray(y, float), np.square(se)
    w = 1 / v
    fe = (w * y).sum() / w.sum()
    q = (w * (y - fe) ** 2).sum()
    tau2 = max(0.0, (q - (len(y) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    ws = 1 / (v + tau2)
    mu = (ws * y).sum() / ws.sum()
    return mu, math.sqrt(1 / ws.sum()), tau2, q


def test_random_effects_equals_hand_dersimonian_laird():
    y, se = [-0.2, -0.1, -0.35, 0.05, -0.6], [0.1, 0.14, 0.12, 0.17, 0.2]
    mu, sd, tau2, q = dersimonian_laird(y, se)
    r = random_effects(frame(y, se), method="dl")
    assert r["mu"] == pytest.approx(mu, rel=1e-10)
    assert r["se"] == pytest.approx(sd, rel=1e-10)
    assert r["tau2"] == pytest.approx(tau2, rel=1e-10) and tau2 > 0
    assert r["q"] == pytest.approx(q, rel=1e-10)
    assert r["ci_low"] == pytest.approx(mu - Z * sd)
    half = stats.t.ppf(0.975, 3) * math.sqrt(tau2 + sd**2)
    assert r["pi_low"] == pytest.approx(mu - half) and r["pi_high"] == pytest.approx(mu + half)
    assert r["percent_change"] == pytest.approx(100 * math.expm1(mu))
    assert sum(r["weights"]) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["dl", "pm"])
def test_less_spread_than_chance_gives_tau_zero_and_the_fixed_effect_pool(method):
    """Q < k - 1: tau^2 is truncated at 0 (statsmodels alone would use a negative tau^2)."""
    y, se = [-0.25, -0.15, -0.3, -0.2, -0.1], [0.08, 0.1, 0.12, 0.09, 0.15]
    mu, sd, tau2, q = dersimonian_laird(y, se)
    assert tau2 == 0 and q < 4
    r = random_effects(frame(y, se), method=method)
    assert r["tau2"] == pytest.approx(0.0, abs=1e-12) and r["i2"] == 0.0
    assert r["mu"] == pytest.approx(mu, rel=1e-10)
    assert r["se"] == pytest.approx(sd, rel=1e-10)


def _results(trial, pct, lo, hi):
    return {
        "trial": trial,
        "primary": {"percent_change": pct, "percent_ci_low": lo, "percent_ci_high": hi},
    }


@settings(max_examples=40, deadline=None)
@given(st.floats(-1.5, 1.0), st.floats(0.01, 1.0))
def test_effects_from_results_inverts_a_log_scale_interval(y, se):
    pct = 100 * math.expm1(y)
    lo, hi = 100 * math.expm1(y - Z * se), 100 * math.expm1(y + Z * se)
    e = effects_from_results([_results("a", pct, lo, hi)])
    assert e.loc[0, "log_effect"] == pytest.approx(y, abs=1e-9)
    assert e.loc[0, "se"] == pytest.approx(se, rel=1e-9)


def test_effects_from_results_reports_what_is_missing():
    with pytest.raises(InputError, match=r"results.json of x: primary.percent_ci_low"):
        effects_from_results([_results("x", -10, None, 5)])
    with pytest.raises(InputError, match="no primary analysis"):
        effects_from_results([{"trial": "y"}])
    failed = {"trial": "z", "bayesian": {"status": "failed", "reason": "R-hat"}}
    with pytest.raises(InputError, match="Bayesian fit failed"):
        effects_from_results([failed], source="bayesian")
    ok = {
        "trial": "b",
        "intervention": "cctv",
        "bayesian": {"status": "ok", "percent_change": -20.0, "ci95_low": -30.0, "ci95_high": -8.0},
    }
    e = effects_from_results([ok], source="bayesian")
    assert e.loc[0, "log_effect"] == pytest.approx(math.log(0.8))
    assert e.loc[0, "intervention"] == "cctv"
    # a Bayesian primary analysis (results.json merges the bayesian block into primary)
    bayes_primary = {"trial": "c", "primary": {**ok["bayesian"], "estimator": "bayesian_count"}}
    e2 = effects_from_results([bayes_primary])
    assert e2.loc[0, "se"] == pytest.approx(e.loc[0, "se"])


def test_pool_needs_two_trials_of_one_type():
    with pytest.raises(InputError, match="at least 2 trials"):
        pool_effects(frame([-0.1], [0.1]), bayesian=False)
    mixed = pd.concat([frame([-0.1], [0.1], "cctv"), frame([-0.2], [0.1], "other")])
    with pytest.raises(InputError, match="different intervention types"):
        pool_effects(mixed, bayesian=False)
    both = pd.concat([frame([-0.1, -0.2], [0.1, 0.1], "cctv"), frame([-0.3], [0.1], "other")])
    pooled = pool_by_intervention(both, bayesian=False)
    assert list(pooled) == ["cctv"]  # "other" has one trial: not pooled


def test_bayesian_pool_agrees_with_random_effects_and_serialises():
    """Real nutpie fit of the normal-normal model on five consistent trials."""
    y, se = [-0.25, -0.15, -0.3, -0.2, -0.1], [0.08, 0.1, 0.12, 0.09, 0.15]
    res = [
        _results(
            f"t{i}", 100 * math.expm1(v), 100 * math.expm1(v - Z * s), 100 * math.expm1(v + Z * s)
        )
        for i, (v, s) in enumerate(zip(y, se, strict=True))
    ]
    pooled = pool_results(res, draws=1000, tune=1000, seed=5)
    b, f = pooled.bayesian, pooled.frequentist
    assert b["status"] == "ok", b.get("reason")
    assert f["method"] == "DerSimonian-Laird"
    assert b["percent_change"] == pytest.approx(f["percent_change"], abs=3.0)
    assert b["p_reduction"] > 0.99
    # tau is uncertain with 5 trials: the Bayesian interval is not narrower than DL's
    assert b["percent_ci_high"] - b["percent_ci_low"] >= 0.9 * (
        f["percent_ci_high"] - f["percent_ci_low"]
    )
    assert b["percent_pi_low"] < b["percent_ci_low"] < b["percent_ci_high"] < b["percent_pi_high"]
    d = pooled.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["k"] == 5 and d["percent_change"] == b["percent_change"]
    assert d["p_reduction"] == b["p_reduction"] and "Bayesian" in d["method"]
    s = pooled.summary()
    assert list(s["method"]) == ["random effects (DerSimonian-Laird)", "Bayesian random effects"]
    ax = pooled.plot()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-2:] == ["pooled: random effects", "pooled: Bayesian"]


def test_headline_falls_back_to_frequentist_without_bayes():
    pooled = pool_effects(frame([-0.2, -0.1, -0.3], [0.1, 0.1, 0.1]), bayesian=False)
    d = pooled.to_dict()
    assert d["p_reduction"] is None and d["method"] == "random effects (DerSimonian-Laird)"
    assert d["percent_change"] == pytest.approx(100 * math.expm1(-0.2))
