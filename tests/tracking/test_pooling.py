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
    assert f["method"] == "REML + HKSJ"
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
    assert list(s["method"]) == ["random effects (REML + HKSJ)", "Bayesian random effects"]
    ax = pooled.plot()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-2:] == ["pooled: random effects", "pooled: Bayesian"]


def test_headline_falls_back_to_frequentist_without_bayes():
    pooled = pool_effects(frame([-0.2, -0.1, -0.3], [0.1, 0.1, 0.1]), bayesian=False)
    d = pooled.to_dict()
    assert d["p_reduction"] is None and d["method"] == "random effects (REML + HKSJ)"
    assert d["percent_change"] == pytest.approx(100 * math.expm1(-0.2))


# BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg): log risk ratios and sampling
# variances from escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg,
# data = dat.bcg), printed with sprintf("%.15g") in R 4 with metafor 3.8-1 (Debian
# r-cran-metafor 3.8-1-1).
BCG_YI = [
    -0.889311333920205,
    -1.58538865720143,
    -1.34807314829969,
    -1.44155119002131,
    -0.217547322211296,
    -0.786115585818864,
    -1.62089822359839,
    0.0119523335238405,
    -0.469417648738149,
    -1.37134480347278,
    -0.339358828338391,
    0.445913400571379,
    -0.0173139482168798,
]
BCG_VI = [
    0.325584765003961,
    0.194581121398144,
    0.415367965367965,
    0.0200100319022476,
    0.0512101721696309,
    0.00690561845590876,
    0.223017247572315,
    0.00396157929781773,
    0.056434210463249,
    0.0730247936130289,
    0.0124122139715597,
    0.532505845200153,
    0.0714046596839863,
]
# rma(yi, vi, data = dat, method = "REML", test = "knha") with default control (Fisher
# scoring stops when tau^2 moves less than 1e-5):
METAFOR_DEFAULT = {
    "mu": -0.714532348365101,
    "se": 0.1807917455191,
    "ci_low": -1.10844372300005,
    "ci_high": -0.320620973730153,
    "tau2": 0.313243325980895,
}
# the same with control = list(threshold = 1e-12, maxiter = 1000), converged:
METAFOR_TIGHT = {
    "mu": -0.71453234215814,
    "se": 0.180791744092848,
    "ci_low": -1.10844371368555,
    "ci_high": -0.320620970630728,
    "tau2": 0.313243258136486,
    "i2": 0.922213845212691,
}
# rma(yi, vi, data = dat, method = "DL"): mu, se, tau2
METAFOR_DL = {"mu": -0.714117222073227, "se": 0.178742089535403, "tau2": 0.308760262862376}


def _bcg():
    return pd.DataFrame(
        {"trial": [f"bcg{i}" for i in range(13)], "log_effect": BCG_YI, "se": np.sqrt(BCG_VI)}
    )


@pytest.mark.parametrize("ref,tol", [(METAFOR_TIGHT, 1e-9), (METAFOR_DEFAULT, 1e-6)])
def test_reml_hksj_reproduces_metafor_on_bcg(ref, tol):
    r = random_effects(_bcg())  # default: REML + HKSJ
    assert r["method"] == "REML + HKSJ" and r["test"] == "Hartung-Knapp-Sidik-Jonkman, t(12)"
    for key, value in ref.items():
        assert r[key] == pytest.approx(value, abs=tol), key


def test_dl_still_available_and_matches_metafor_on_bcg():
    r = random_effects(_bcg(), method="dl")
    for key, value in METAFOR_DL.items():
        assert r[key] == pytest.approx(value, abs=1e-9), key
    assert r["test"] == "normal (z)"


def test_prediction_interval_by_hand_on_bcg():
    r = random_effects(_bcg())
    half = stats.t.ppf(0.975, 11) * math.sqrt(r["tau2"] + r["se"] ** 2)
    assert r["pi_low"] == pytest.approx(r["mu"] - half)
    assert r["pi_high"] == pytest.approx(r["mu"] + half)


def test_pooled_ses_equal_the_stored_ones():
    """results.json stores the log effect, SE and df; pooling uses them as they are."""
    res = [
        {
            "trial": "a",
            "primary": {
                "measure": "harm",
                "log_effect": -0.2,
                "log_se": 0.123456789,
                "log_df": 19,
                "percent_change": -18.1,
                "percent_ci_low": -40.0,
                "percent_ci_high": 5.0,
            },
        },
        {
            "trial": "b",
            "primary": {
                "measure": "harm",
                "log_effect": -0.1,
                "log_se": 0.0987654321,
                "log_df": None,
                "percent_change": -9.5,
                "percent_ci_low": -30.0,
                "percent_ci_high": 12.0,
            },
        },
    ]
    e = effects_from_results(res)
    assert list(e["se"]) == [0.123456789, 0.0987654321]
    assert list(e["log_effect"]) == [-0.2, -0.1]
    assert list(e["se_source"]) == ["stored", "stored"]
    assert e.loc[0, "df"] == 19 and pd.isna(e.loc[1, "df"])
    pooled = pool_effects(e.assign(intervention="cctv"), bayesian=False)
    assert list(pooled.trials["se"]) == [0.123456789, 0.0987654321]


def test_back_solved_se_uses_the_analysis_df():
    """Older results without log_se: the SE is recovered with t(df), not z = 1.96."""
    se, df = 0.1, 19
    c = stats.t.ppf(0.975, df)
    r = {
        "trial": "a",
        "primary": {
            "percent_change": 100 * math.expm1(-0.2),
            "df": df,
            "percent_ci_low": 100 * math.expm1(-0.2 - c * se),
            "percent_ci_high": 100 * math.expm1(-0.2 + c * se),
        },
    }
    e = effects_from_results([r])
    assert e.loc[0, "se"] == pytest.approx(se, rel=1e-12)
    assert e.loc[0, "se_source"] == "interval"


def test_refuses_to_pool_different_outcome_measures():
    e = frame([-0.1, -0.2], [0.1, 0.1]).assign(measure=["harm", "count"])
    with pytest.raises(InputError, match="different outcomes"):
        pool_effects(e, bayesian=False)
    both = pool_by_intervention(pd.concat([e, e]).reset_index(drop=True), bayesian=False)
    assert sorted(both) == ["cctv (count)", "cctv (harm)"]


def test_tau_prior_sensitivity_matches_a_brute_force_integral():
    """The quadrature over tau against a 2-D grid over (mu, tau) on three trials."""
    from triplet.tracking.pooling import tau_prior_sensitivity

    e = frame([-0.3, -0.05, -0.2], [0.15, 0.2, 0.1])
    s = tau_prior_sensitivity(e, tau_sigmas=(0.5,))
    mu = np.linspace(-3, 3, 3001)[:, None]
    tau = np.linspace(0, 3, 1501)[None, :]
    y, v = np.array([-0.3, -0.05, -0.2]), np.array([0.15, 0.2, 0.1]) ** 2
    like = np.ones((3001, 1501))
    for yi, vi in zip(y, v, strict=True):
        like = like * stats.norm.pdf(yi, mu, np.sqrt(vi + tau**2))
    post = like * stats.norm.pdf(mu, 0, 1) * np.exp(-0.5 * (tau / 0.5) ** 2)
    p_mu = post.sum(axis=1)
    p_mu /= p_mu.sum()
    assert s.loc[0, "p_reduction"] == pytest.approx(p_mu[mu[:, 0] < 0].sum(), abs=2e-3)
    med = mu[np.searchsorted(np.cumsum(p_mu), 0.5), 0]
    assert s.loc[0, "percent_change"] == pytest.approx(100 * math.expm1(med), abs=0.3)
    # a wider tau prior gives a wider interval
    wide = tau_prior_sensitivity(e, tau_sigmas=(0.1, 1.0))
    w = wide["percent_ci_high"] - wide["percent_ci_low"]
    assert w.iloc[1] > w.iloc[0]
