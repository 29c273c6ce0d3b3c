"""Bayesian effect models: likelihoods against scipy, the failure rule, one real small fit.

MCMC-heavy checks (recovery, agreement with the frequentist GLM, same seed same result) are in
test_bayes_slow.py and marked slow.
"""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from triplet.errors import InputError, OverwriteError
from triplet.registry.models import MinimumEffect, Prior, Priors, Trial
from triplet.tracking.bayes import (
    Thresholds,
    fit_count_model,
    fit_effect,
    panel_arrays,
    predictive_checks,
)
from triplet.tracking.bayes.diagnostics import diagnose
from triplet.tracking.bayes.effect import _summarise
from triplet.tracking.bayes.harm_model import build_harm_model, harm_log_ratio
from triplet.tracking.bayes.model import build_count_model
from triplet.tracking.bayes.simulate import simulate_panel

CONTRACT_KEYS = {
    "status",
    "model",
    "outcome",
    "percent_change",
    "hdi89_low",
    "hdi89_high",
    "ci95_low",
    "ci95_high",
    "p_reduction",
    "p_reduction_mei",
    "rope",
    "diagnostics",
    "posterior",
}
ESTIMATE_KEYS = {
    "percent_change",
    "hdi89_low",
    "hdi89_high",
    "ci95_low",
    "ci95_high",
    "p_reduction",
    "p_reduction_mei",
    "rope",
    "rate_ratio",
}


def make_trial(estimator: str = "bayesian_count", measure: str = "count", seed: int = 7) -> Trial:
    return Trial.model_validate(
        {
            "id": "bayes-test",
            "title": "Bayes test",
            "status": "draft",
            "owner": {"name": "A", "agency": "B"},
            "intervention": {"type": "hot_spot_micro_patrol", "description": "patrols"},
            "hypotheses": {"primary": "fewer crimes"},
            "units": {"kind": "place", "level": "lsoa", "source": "test"},
            "outcomes": {"primary": {"name": "crimes", "measure": measure}},
            "design": {"method": "complete", "seed": seed},
            "periods": {
                "baseline": {"start": "2023-01", "end": "2023-08"},
                "treatment": {"start": "2023-09", "end": "2023-12"},
            },
            "analysis": {
                "primary": "twfe_did",
                "secondary": [estimator],
                "minimum_effect": {"reduction": 0.1, "rope": 0.05},
            },
            "data_sources": [{"name": "r", "kind": "records", "uri": "example://borough"}],
            "data_protection": {"note": "synthetic"},
        }
    )


# ---------------------------------------------------------------- panel checks (fast)


def test_panel_arrays_shapes_and_indicator():
    p = simulate_panel(10, 6, treatment_start=4, seed=2)
    arr = panel_arrays(p)
    assert arr.y.shape == (10, 6) and arr.mask.all()
    assert arr.y.sum() == p["count"].sum()
    # treated units are even-numbered; d = 1 in the last 2 months only
    assert arr.d[0].tolist() == [0, 0, 0, 0, 1, 1] and arr.d[1].sum() == 0
    np.testing.assert_allclose(arr.dbar[0], 2 / 6)


def test_panel_arrays_drops_follow_up_and_keeps_gaps():
    p = simulate_panel(8, 6, seed=3)
    p.loc[p["month"] == p["month"].max(), "period"] = "follow_up"
    p = p.drop(index=[0])  # unit u000 misses its first month
    arr = panel_arrays(p)
    assert arr.y.shape == (8, 5)
    assert not arr.mask[0, 0] and arr.mask.sum() == 8 * 5 - 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.drop(columns="treated"), "missing column"),
        (lambda p: p.assign(count=p["count"].where(p.index != 3, -1)), "row 3: count"),
        (lambda p: p.assign(count=p["count"] + 0.5), "whole number"),
        (lambda p: p.assign(treated=False, d=0), "both treated and control"),
        (lambda p: pd.concat([p, p.iloc[[0]]]), "twice"),
    ],
)
def test_panel_arrays_reports_bad_input(change, message):
    with pytest.raises(InputError, match=message):
        panel_arrays(change(simulate_panel(6, 4, seed=1)))


# ---------------------------------------------------------------- likelihoods vs scipy (fast)


def _fp_tolerance(*pieces) -> float:
    """Absolute tolerance for a sum of log-density terms computed two ways (issue 10, defect 14).

    Each implementation rounds every piece (lgamma values, y log mu, ...) to about an ulp of
    that piece, so the difference of the sums is bounded by a few eps times the sum of the
    pieces' magnitudes - not of the result, which can be far smaller after cancellation (with
    a large negative-binomial alpha, lgamma(y + a) - lgamma(a) cancels ~7 digits: that is how a
    fixed rtol=1e-10 failed at 1.5e-10). 64 eps per piece leaves room for the libraries' own
    lgamma/log1p error (a few ulp) and the summation order.
    """
    return 64 * np.finfo(float).eps * float(sum(np.abs(np.asarray(x)).sum() for x in pieces))


def _values_at_random_point(model, names, seed):
    """Model variables at a random point of the unconstrained space."""
    rng = np.random.default_rng(seed)
    start = model.initial_point(random_seed=seed)  # seeded: the same point on every run
    point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in start.items()}
    fn = model.compile_fn(
        [model[n] for n in names], inputs=model.value_vars, on_unused_input="ignore"
    )
    return dict(zip(names, fn(point), strict=True))


@pytest.mark.parametrize("family", ["negbin", "poisson"])
def test_count_likelihood_equals_scipy(family):
    p = simulate_panel(12, 8, n_blocks=3, seed=4).drop(index=[5, 17])  # unbalanced on purpose
    arr = panel_arrays(p)
    model = build_count_model(arr, priors=Priors(), family=family, centred=False)
    names = ["loglik", "unit_effect", "period", "beta", "unit_post"]
    names += ["alpha"] if family == "negbin" else []
    v = _values_at_random_point(model, names, 1)
    assert np.abs(v["unit_post"]).max() > 0.01  # the unit x post shifts are in play
    eta = v["unit_effect"][:, None] + v["period"][None, :] + v["beta"] * (arr.d - arr.dbar[:, None])
    eta += v["unit_post"][:, None] * (arr.post_matrix - arr.pbar[:, None])
    mu, y = np.exp(eta)[arr.mask], arr.y[arr.mask]
    lgy = special.gammaln(y + 1)
    if family == "poisson":
        expected = stats.poisson.logpmf(y, mu).sum()
        tol = _fp_tolerance(y * np.log(mu), mu, lgy)
    else:
        a = v["alpha"]
        expected = stats.nbinom.logpmf(y, a, a / (a + mu)).sum()
        tol = _fp_tolerance(
            special.gammaln(y + a), special.gammaln(a) * np.ones_like(y), lgy,
            a * np.log(a / (a + mu)), y * np.log(mu / (a + mu)),
        )  # fmt: skip
    np.testing.assert_allclose(v["loglik"], expected, rtol=0, atol=tol)


def test_harm_likelihood_equals_scipy_and_ratio_is_one_without_effects():
    p = simulate_panel(12, 8, seed=5)
    arr = panel_arrays(p, outcome="harm")
    model = build_harm_model(arr, priors=Priors())
    names = [
        "loglik",
        "any_unit_effect",
        "any_period",
        "any_beta",
        "size_unit_effect",
        "size_period",
        "size_beta",
        "size_sigma",
        "any_unit_post",
        "size_unit_post",
    ]
    v = _values_at_random_point(model, names, 2)
    dc = arr.d - arr.dbar[:, None]
    pc = arr.post_matrix - arr.pbar[:, None]
    eta = v["any_unit_effect"][:, None] + v["any_period"][None, :] + v["any_beta"] * dc
    eta += v["any_unit_post"][:, None] * pc
    mu = v["size_unit_effect"][:, None] + v["size_period"][None, :] + v["size_beta"] * dc
    mu += v["size_unit_post"][:, None] * pc
    pos = arr.mask & (arr.y > 0)
    z = pos[arr.mask].astype(float)
    expected = (
        stats.bernoulli.logpmf(z, 1 / (1 + np.exp(-eta[arr.mask]))).sum()
        + stats.lognorm.logpdf(arr.y[pos], s=v["size_sigma"], scale=np.exp(mu[pos])).sum()
    )
    logy, sig = np.log(arr.y[pos]), v["size_sigma"]
    tol = _fp_tolerance(
        np.log1p(np.exp(-np.abs(eta[arr.mask]))), eta[arr.mask], logy,
        np.log(sig) * np.ones_like(logy), (logy - mu[pos]) ** 2 / (2 * sig**2),
    )  # fmt: skip
    np.testing.assert_allclose(v["loglik"], expected, rtol=0, atol=tol)
    # harm ratio: 1 when both effects are 0; exp(size_beta) when only the size part moves
    draws = {k: np.asarray(val)[None, ...] for k, val in v.items()}
    zero = {**draws, "any_beta": np.zeros(1), "size_beta": np.zeros(1)}
    np.testing.assert_allclose(harm_log_ratio(arr, zero), 0.0, atol=1e-12)
    size_only = {**zero, "size_beta": np.array([-0.3])}
    np.testing.assert_allclose(harm_log_ratio(arr, size_only), -0.3, atol=1e-12)


# ---------------------------------------------------------------- summaries and checks (fast)


def test_predictive_checks_known_answer():
    obs = np.array([0.0, 0.0, 1.0, 3.0])
    rep = np.array([[0.0, 0.0, 1.0, 3.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 10.0]])
    t = predictive_checks(obs, rep, "posterior").set_index("statistic")
    assert t.loc["share_zero", "observed"] == 0.5
    assert t.loc["mean", "observed"] == 1.0
    assert t.loc["variance", "observed"] == 1.5
    # mid-p: share_zero of replicates 0.5, 0, 0.75 -> P(>) + P(=)/2 = 1/3 + 1/6
    assert t.loc["share_zero", "p_value"] == pytest.approx(0.5)
    # means 1, 1, 2.5 -> 1/3 + (2/3)/2
    assert t.loc["mean", "p_value"] == pytest.approx(2 / 3) and not t["flag"].any()
    zeros = predictive_checks(obs, np.zeros((5, 4)), "prior").set_index("statistic")
    assert zeros.loc["mean", "p_value"] == 0.0 and bool(zeros.loc["mean", "flag"])
    assert zeros.loc["share_zero", "p_value"] == 1.0


@settings(max_examples=25, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(0.05, 1.0), st.floats(0.01, 0.5), st.integers(0, 10**6))
def test_summary_invariants(center, spread, mei, seed):
    rng = np.random.default_rng(seed)
    draws = rng.normal(center, spread, 1000)
    s = _summarise(draws, 2, MinimumEffect(reduction=mei, rope=0.05))
    assert s["p_reduction_mei"] <= s["p_reduction"]
    assert s["ci95_low"] <= s["percent_change"] <= s["ci95_high"]
    assert s["hdi89_low"] <= s["percent_change"] <= s["hdi89_high"]
    assert s["hdi89_high"] - s["hdi89_low"] <= s["ci95_high"] - s["ci95_low"]
    assert 0 <= s["p_rope"] <= 1 and s["ci95_low"] > -100


def _tree(posterior: dict, diverging: np.ndarray):
    return az.from_dict({"posterior": posterior, "sample_stats": {"diverging": diverging}})


def test_diagnose_passes_mixed_chains_and_flags_stuck_or_divergent_ones():
    rng = np.random.default_rng(3)
    good = {"beta": rng.normal(size=(2, 1000)), "unit": rng.normal(size=(2, 1000, 5))}
    ok = diagnose(_tree(good, np.zeros((2, 1000), bool)), ["beta", "unit"], ["beta"], Thresholds())
    assert ok.ok and ok.rhat_max < 1.01 and ok.ess_bulk_min > 400
    stuck = {**good, "beta": good["beta"] + np.array([[0.0], [3.0]])}
    bad = diagnose(
        _tree(stuck, np.zeros((2, 1000), bool)), ["beta", "unit"], ["beta"], Thresholds()
    )
    assert not bad.ok and any("R-hat" in r for r in bad.reasons)
    div = np.zeros((2, 1000), bool)
    div[0, 10] = True
    d = diagnose(_tree(good, div), ["beta"], ["beta"], Thresholds())
    assert d.divergences == 1 and not d.ok
    # a unit effect stuck in one chain fails the all-parameter tier (R-hat 1.05)
    unit = good["unit"].copy()
    unit[1, :, 2] += 3.0
    u = diagnose(
        _tree({**good, "unit": unit}, np.zeros((2, 1000), bool)),
        ["beta", "unit"],
        ["beta"],
        Thresholds(),
    )
    assert not u.ok and u.rhat_max < 1.01 and u.rhat_max_all > 1.05


def test_ess_threshold_scales_with_draws():
    assert Thresholds().ess_for(4000) == 400
    assert Thresholds().ess_for(1000) == 200
    assert Thresholds(ess_min=50).ess_for(4000) == 50


# ---------------------------------------------------------------- real sampling (small)


def test_fit_effect_end_to_end_small(tmp_path):
    """One real nutpie fit on a small panel: estimate, checks, contract, save round trip."""
    panel = simulate_panel(30, 12, rate_ratio=0.6, mean_count=4.0, seed=11)
    trial = make_trial()
    eff = fit_effect(panel, trial, draws=500, tune=500, chains=2, progress=False)
    assert eff.ok, eff.reason
    assert eff.settings.seed in (7, 8)  # trial.design.seed (8 if it needed the retry)
    assert eff.model.startswith("hierarchical negative binomial")
    assert eff.ci95_low < -40 < eff.ci95_high  # true change: -40%
    assert eff.p_reduction > 0.9
    assert eff.minimum_effect == 0.1 and eff.rope == 0.05
    d = eff.to_dict(posterior=eff.save(tmp_path))
    assert d.keys() >= CONTRACT_KEYS and d["posterior"] == "posterior.nc"
    assert d["rope"] == {"low": -5.0, "high": 5.0, "p_inside": eff.p_rope}
    assert d["diagnostics"]["divergences"] == 0 and d["diagnostics"]["rhat_max"] <= 1.01
    json.dumps(d, allow_nan=False)
    checks = pd.DataFrame(d["checks"])
    assert set(checks["check"]) == {"prior", "posterior"}
    post = checks[checks["check"] == "posterior"].set_index("statistic")
    assert post.loc["mean", "observed"] == pytest.approx(panel["count"].mean())
    back = az.from_netcdf(tmp_path / "posterior.nc")
    np.testing.assert_array_equal(back["posterior"]["beta"].values.ravel(), eff.log_ratio_draws)
    with pytest.raises(OverwriteError):
        eff.save(tmp_path)
    s = eff.summary().set_index("quantity")["value"]
    assert s["status"] == "ok" and s["percent_change"] == eff.percent_change
    ax = eff.plot()
    assert ax.get_xlabel() == "change in count (%)"


WILD = Priors(
    effect=Prior(mu=0.0, sigma=1e4),
    unit_sd=Prior(mu=0.0, sigma=1e4),
    period_sd=Prior(mu=0.0, sigma=1e4),
)


@pytest.mark.parametrize(
    ("priors", "tune", "reason"),
    [
        (None, 3, "R-hat"),  # no warm-up: chains have not mixed, even on the stricter retry
        (WILD, 3, "sampler stopped"),  # absurd priors: exp(log rate) overflows everywhere
    ],
)
def test_pathological_fit_is_reported_failed_with_no_estimates(priors, tune, reason):
    panel = simulate_panel(20, 8, seed=12)
    eff = fit_count_model(
        panel,
        priors=priors,
        draws=40,
        tune=tune,
        chains=2,
        seed=1,
        progress=False,
        checks=False,
        minimum_effect=MinimumEffect(reduction=0.1),
    )
    assert eff.status == "failed" and reason in eff.reason
    assert eff.diagnostics.attempts == 2 and "after 2 attempts" in eff.reason
    assert eff.percent_change is None and eff.p_reduction is None
    d = eff.to_dict()
    assert not (ESTIMATE_KEYS & d.keys()) and d["reason"] == eff.reason
    json.dumps(d, allow_nan=False)
    s = eff.summary().set_index("quantity")["value"]
    assert s["status"] == "failed" and "percent_change" not in s.index
    ax = eff.plot()
    assert "failed" in ax.texts[0].get_text()


@pytest.mark.parametrize(
    ("estimator", "measure", "outcome", "expected"),
    [
        ("bayesian_count", "count", None, ("count", "negbin")),
        ("bayesian_harm", "harm", None, ("harm", None)),
        ("bayesian_harm", "count", None, ("harm", None)),  # the plan's only Bayesian model
    ],
)
def test_fit_effect_takes_model_priors_and_seed_from_the_trial(
    monkeypatch, estimator, measure, outcome, expected
):
    import triplet.tracking.bayes.effect as effect_module

    calls = []

    def fake(kind):
        def f(panel, **kw):
            calls.append((kind, kw))
            return "fitted"

        return f

    monkeypatch.setattr(effect_module, "fit_count_model", fake("count"))
    monkeypatch.setattr(effect_module, "fit_harm_model", fake("harm"))
    trial = make_trial(estimator, measure, seed=99)
    assert effect_module.fit_effect(pd.DataFrame(), trial, outcome=outcome) == "fitted"
    kind, kw = calls[0]
    assert kind == expected[0] and kw.get("family") == expected[1]
    assert kw["seed"] == 99 and kw["priors"] == trial.analysis.priors
    assert kw["minimum_effect"].reduction == 0.1 and kw["outcome"] == "crimes"
    with pytest.raises(InputError, match="no outcome named 'nope'"):
        effect_module.fit_effect(pd.DataFrame(), trial, outcome="nope")


def test_blocks_get_a_level_but_pairs_do_not():
    p = simulate_panel(20, 4, n_blocks=4, seed=6)
    p["pair"] = (p["unit"].str[1:].astype(int) // 2).astype(str)  # 10 pairs of 2 units
    arr = panel_arrays(p)
    assert list(arr.groups) == ["block"]
    codes, levels = arr.groups["block"]
    assert len(levels) == 4 and np.bincount(codes).tolist() == [6, 6, 4, 4]  # (u // 2) % 4


# ---------------------------------------------------------------- unit x post shifts


def test_models_have_unit_by_post_shifts_and_can_leave_them_out():
    p = simulate_panel(12, 8, seed=5)
    arr = panel_arrays(p)
    free = {v.name for v in build_count_model(arr, priors=Priors()).free_RVs}
    assert {"post_shift", "unit_post_sd", "unit_post_z"} <= free
    old = {v.name for v in build_count_model(arr, priors=Priors(), unit_post=False).free_RVs}
    assert not {"post_shift", "unit_post_sd", "unit_post_z"} & old
    harm = {
        v.name for v in build_harm_model(panel_arrays(p, outcome="harm"), priors=Priors()).free_RVs
    }
    for part in ("any_", "size_"):
        assert {f"{part}post_shift", f"{part}unit_post_sd", f"{part}unit_post_z"} <= harm


def test_post_comes_from_the_panel_and_month_effects_are_zero_sum_within_phase():
    p = simulate_panel(10, 6, treatment_start=4, seed=2)
    arr = panel_arrays(p)
    assert arr.post_matrix[1].tolist() == [0, 0, 0, 0, 1, 1]  # a control unit: post all the same
    np.testing.assert_allclose(arr.pbar, 2 / 6)
    # without post/period columns, post = the months with any d
    bare = panel_arrays(p.drop(columns=["post", "period"]))
    np.testing.assert_array_equal(bare.post_matrix, arr.post_matrix)
    with pytest.raises(InputError, match="not in the treatment period"):
        panel_arrays(p.assign(post=False))
    model = build_count_model(arr, priors=Priors(), centred=False)
    g = _values_at_random_point(model, ["period"], 3)["period"]
    assert abs(g[:4].sum()) < 1e-12 and abs(g[4:].sum()) < 1e-12 and np.abs(g).max() > 1e-3


def test_simulated_unit_post_shifts_and_drift_widen_the_spread_of_unit_changes():
    def spread(**kw):
        p = simulate_panel(200, 12, mean_count=20.0, alpha=None, seed=8, **kw)
        m = p.groupby(["unit", "post"])["count"].mean().unstack()
        return float(np.log(m[True] / m[False]).std())

    base = spread()
    assert spread(unit_post_sd=0.5) > 2 * base
    assert spread(ar_sd=0.5, ar_rho=0.9) > 1.5 * base
    # without drift or shifts the panel is the one the simulator always made
    pd.testing.assert_frame_equal(
        simulate_panel(6, 4, seed=3), simulate_panel(6, 4, seed=3, ar_sd=0.0, unit_post_sd=0.0)
    )


def test_unit_post_shifts_widen_the_interval_to_the_cluster_robust_one():
    """Strong unit-specific post shifts: the old model's interval is too narrow; the new
    one's posterior sd is within a factor 1.5 of the cluster-robust (by unit) GLM's SE."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from triplet.tracking.bayes.calibration import _fit_panel

    panel = simulate_panel(40, 12, rate_ratio=0.8, mean_count=5.0, unit_post_sd=0.4, seed=31)
    glm = smf.glm(
        "count ~ d + C(unit) + C(month)",
        data=panel.assign(month=panel["month"].astype(str)),
        family=sm.families.Poisson(),
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["unit"])[0]})
    se = float(glm.bse["d"])
    old = _fit_panel(panel, "count", unit_post=False, draws=500, tune=500, seed=1)
    new = _fit_panel(panel, "count", unit_post=True, draws=500, tune=500, seed=1)
    assert old.ok and new.ok, (old.reason, new.reason)
    sd_old, sd_new = np.std(old.log_ratio_draws), np.std(new.log_ratio_draws)
    assert sd_new > 1.5 * sd_old, (sd_new, sd_old, se)
    assert se / 1.5 < sd_new < 1.5 * se, (sd_new, se)
