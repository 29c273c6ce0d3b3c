"""The registered decision rule: hand cases, and its error rates under the null by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from triplet.registry.models import DecisionRule, Design
from triplet.testing.diagnosis import diagnose
from triplet.tracking.decision import (
    apply_rule,
    describe_rule,
    old_promising_null_rate,
    rule_error_rates,
)
from triplet.tracking.did import did

FREQ = DecisionRule(kind="frequentist")
BAYES = DecisionRule(kind="bayesian", probability=0.975)


@pytest.mark.parametrize(
    "lo,hi,direction",
    [(-3.0, -0.1, "reduction"), (0.2, 4.0, "increase"), (-1.0, 1.0, "no clear change")],
)
def test_frequentist_rule_by_hand(lo, hi, direction):
    f = apply_rule(FREQ, 0.05, {"ci_low": lo, "ci_high": hi})
    assert f.direction == direction


def test_frequentist_rule_falls_back_to_the_effect_interval_and_undecided():
    f = apply_rule(FREQ, 0.05, {"percent_ci_low": -40.0, "percent_ci_high": -2.0})
    assert f.direction == "reduction" and "per cent" in f.reason
    # per cent interval unbounded above: the effect's own interval decides
    f = apply_rule(
        FREQ,
        0.05,
        {"percent_ci_low": -40.0, "percent_ci_high": None, "ci_low": -3.0, "ci_high": 9.0},
    )
    assert f.direction == "no clear change" and f.reason.startswith("the primary interval")
    ri = {"null": "multiplicative", "ci_low": 0.7, "ci_high": 0.95}
    assert apply_rule(FREQ, 0.05, ri).direction == "reduction"
    assert apply_rule(FREQ, 0.05, {}).direction == "undecided"


@pytest.mark.parametrize(
    "p,direction",
    [(0.99, "reduction"), (0.01, "increase"), (0.84, "no clear change"), (0.16, "no clear change")],
)
def test_bayesian_rule_is_symmetric(p, direction):
    assert apply_rule(BAYES, 0.05, {"p_reduction": p}).direction == direction


def test_bayesian_rule_reads_the_bayesian_block_and_says_when_it_failed():
    ok = apply_rule(BAYES, 0.05, {}, {"status": "ok", "p_reduction": 0.99})
    assert ok.direction == "reduction"
    bad = apply_rule(BAYES, 0.05, {}, {"status": "failed"})
    assert bad.direction == "undecided" and "convergence" in bad.reason


def test_rule_in_plain_words_states_its_error_rate():
    assert "at most 2.5% of the time" in describe_rule(FREQ, 0.05)
    assert "about 2.5% of the time" in describe_rule(BAYES, 0.05)


def _null_panel(rng, n_units=30, n_t=12, start=6):
    """Negative-binomial counts with unit levels and a common AR(1) month drift; no effect."""
    u = np.repeat(np.arange(n_units), n_t)
    t = np.tile(np.arange(n_t), n_units)
    treated = rng.permutation(np.arange(n_units) < n_units // 2)[u]
    level = rng.gamma(3.0, 2.0, n_units)[u]
    drift = np.cumsum(rng.normal(0, 0.05, n_t))[t]
    lam = rng.gamma(2.0, level * np.exp(drift) / 2.0)
    y = rng.poisson(lam).astype(float)
    return pd.DataFrame({"unit": u, "month": t, "y": y, "d": (treated & (t >= start)).astype(int)})


def _simulate(n_sims: int, seed: int):
    rng = np.random.Generator(np.random.PCG64(seed))
    est, lo, hi, tstat, df = [], [], [], [], []
    for _ in range(n_sims):
        r = did(_null_panel(rng), outcome="y", unit="unit", time="month", treated="d")
        est.append(r.estimate)
        lo.append(r.ci_low)
        hi.append(r.ci_high)
        tstat.append(r.t_stat)
        df.append(r.df)
    return (np.array(v) for v in (est, lo, hi, tstat, df))


def _check_null_rates(n_sims: int, seed: int):
    est, lo, hi, tstat, df = _simulate(n_sims, seed)
    rates = rule_error_rates(est, lo, hi).iloc[0]
    mcse = np.sqrt(0.025 * 0.975 / n_sims)
    # the registered rule: each direction at most alpha/2 = 2.5% (up to Monte-Carlo error)
    assert rates["reduction_rate"] <= 0.025 + 2.5 * mcse
    assert rates["increase_rate"] <= 0.025 + 2.5 * mcse
    # the symmetric Bayesian rule with a posterior equal to the likelihood (flat prior):
    # P(reduction) = F_t(-t); fires for about 2.5% of null trials each way
    p_red = stats.t.cdf(-tstat, df)
    assert np.mean(p_red >= 0.975) <= 0.025 + 2.5 * mcse
    assert np.mean(1 - p_red >= 0.975) <= 0.025 + 2.5 * mcse
    # the retired "promising" route (estimate < 0, P(reduction) >= 0.80, interval includes 0)
    old = np.mean((est < 0) & (p_red >= 0.80) & (hi >= 0))
    assert old == pytest.approx(old_promising_null_rate(), abs=4 * np.sqrt(0.175 * 0.825 / n_sims))
    return rates, old


def test_rule_null_error_rates_by_simulation():
    """CI-sized: 300 null trials (30 units, 12 months) through the TWFE primary and the rule."""
    _check_null_rates(300, 20261202)


@pytest.mark.slow
def test_rule_null_error_rates_by_simulation_large():
    rates, old = _check_null_rates(3000, 7)
    assert 0.01 <= rates["reduction_rate"] <= 0.035  # not conservative to uselessness either
    assert 0.15 <= old <= 0.20


def test_old_promising_route_rate_by_formula():
    assert old_promising_null_rate() == pytest.approx(0.175, abs=1e-12)


def test_design_diagnosis_reports_the_rule_error_rates():
    """The diagnosis behind `triplet design` / the assign power guard gives the rule's rates."""
    rng = np.random.default_rng(4)
    n, t = 60, 12
    y = 50 + rng.normal(0, 5, (n, 1)) + rng.normal(0, 5, (n, t))
    ids = [f"u{i:02d}" for i in range(n)]
    panel = pd.DataFrame(
        {"unit": np.repeat(ids, t), "month": np.tile(np.arange(t), n), "harm": y.ravel()}
    )
    d = diagnose(
        panel,
        pd.DataFrame({"unit": ids}),
        Design(method="complete", seed=3),
        n_sims=800,
        reduction=0.1,
        seed=5,
    )
    mcse = np.sqrt(0.025 * 0.975 / 800)
    assert d.null_reduction_rate <= 0.025 + 2.5 * mcse
    assert d.null_increase_rate <= 0.025 + 2.5 * mcse
    assert d.null_reduction_rate + d.null_increase_rate == pytest.approx(d.type_i_error)
    assert 0 < d.reduction_power <= d.power + 1e-12
    out = d.to_dict()
    assert out["null_reduction_rate"] == d.null_reduction_rate
