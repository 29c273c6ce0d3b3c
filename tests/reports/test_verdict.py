"""Single-trial verdicts from the registered rule, and the SMS level a design earns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triplet.registry.models import DecisionRule, DesignMethod
from triplet.reports.verdict import RULES, VerdictLabel, decide, sms_level

V = VerdictLabel


def _no_interval(r):
    for k in ("percent_ci_low", "percent_ci_high", "ci_low", "ci_high"):
        r["primary"][k] = None
    return r


@pytest.mark.parametrize("status", ["draft", "registered", "assigned", "in_field"])
def test_running_trials_are_too_early_even_with_interim_results(status, make_trial, results_dict):
    trial = make_trial(status=status)
    v = decide(trial, results_dict(pct=-40, lo=-50, hi=-30))
    assert v.label is V.too_early and v.reason.startswith("the trial is ")


def test_no_results_or_no_interval_is_too_early(make_trial, results_dict):
    trial = make_trial()
    assert decide(trial, None).label is V.too_early
    v = decide(trial, _no_interval(results_dict()))
    assert v.label is V.too_early and "no interval" in v.reason


def test_reduction_speaks_about_this_trial_only(make_trial, results_dict):
    v = decide(make_trial(method="complete"), results_dict(lo=-30, hi=-5, p_reduction=0.9))
    assert v.label is V.reduction and v.sms == 5
    assert v.headline == "Reduced crime harm in this trial"
    assert v.reason == "the primary per cent interval lies wholly below 0"
    assert "at most 2.5% of the time" in v.rule
    assert "works" not in v.label.value


def test_interval_touching_zero_is_not_a_reduction(make_trial, results_dict):
    v = decide(make_trial(), results_dict(pct=-10, lo=-20, hi=0.0, p_reduction=0.999))
    assert v.label is V.no_clear_change
    assert v.headline == "No clear change in crime harm in this trial"


def test_increase_is_symmetric(make_trial, results_dict):
    v = decide(make_trial(), results_dict(pct=12, lo=2, hi=25, p_reduction=0.2))
    assert v.label is V.increase and v.headline == "Increased crime harm in this trial"


def test_frequentist_rule_ignores_the_posterior(make_trial, results_dict):
    """No 'promising' or 'harmful' route through P(reduction) for a frequentist primary."""
    for p in (0.999, 0.84, 0.001):
        r = results_dict(pct=-12, lo=-25, hi=1, p_reduction=p)
        assert decide(make_trial(), r).label is V.no_clear_change
    assert decide(make_trial(), results_dict(pct=-12, lo=-25, hi=1, p_reduction=0.84)).p_reduction


def test_bayesian_rule_is_symmetric_at_the_registered_probability(make_trial, results_dict):
    trial = make_trial(primary="bayesian_harm")
    assert trial.analysis.rule == DecisionRule(kind="bayesian", probability=0.975)

    def r(p):
        out = results_dict(pct=-12, lo=-25, hi=1, p_reduction=p, estimator="bayesian_harm")
        out["primary"]["p_reduction"] = p
        out["bayesian"]["measure"] = "harm"
        return out

    assert decide(trial, r(0.975)).label is V.reduction
    assert decide(trial, r(0.974)).label is V.no_clear_change
    assert decide(trial, r(0.025)).label is V.increase
    assert decide(trial, r(0.026)).label is V.no_clear_change


def test_a_registered_probability_is_used(make_trial, results_dict):
    trial = make_trial(primary="bayesian_harm")
    analysis = trial.analysis.model_copy(
        update={"decision_rule": DecisionRule(kind="bayesian", probability=0.99)}
    )
    trial = trial.model_copy(update={"analysis": analysis})
    r = results_dict(p_reduction=0.98, estimator="bayesian_harm")
    r["primary"]["p_reduction"] = 0.98
    assert decide(trial, r).label is V.no_clear_change
    assert "0.99" in decide(trial, r).rule


def test_failed_bayesian_primary_is_too_early(make_trial, results_dict):
    trial = make_trial(primary="bayesian_harm")
    r = results_dict(bayes_status="failed", estimator="bayesian_harm")
    v = decide(trial, r)
    assert v.label is V.too_early and "convergence" in v.reason


@pytest.mark.parametrize("method", [m for m in DesignMethod if m.randomised])
def test_every_randomised_design_is_sms_5(method, make_trial):
    trial = make_trial(method="block")
    trial = trial.model_copy(update={"design": trial.design.model_copy(update={"method": method})})
    assert sms_level(trial).level == 5


def _with_checks(r, pretrend_p=None, sensitivity=False):
    r = dict(r)
    r["analyses"] = [r["primary"]]
    if pretrend_p is not None:
        r["analyses"].append({"estimator": "event_study", "pretrend_test": {"p_value": pretrend_p}})
    if sensitivity:
        r["sensitivity"] = {"status": "ok", "method": "relative magnitudes", "breakdown": 1.2}
    return r


def test_matched_control_earns_level_4_only_with_its_checks(make_trial, results_dict):
    trial = make_trial(method="matched_control")
    base = results_dict(lo=-30, hi=-5, n_treatment=40, n_control=80)  # many units: not enough
    assert sms_level(trial, base).level == 3
    assert "no event-study pre-trend test" in sms_level(trial, base).reason
    assert sms_level(trial, _with_checks(base, 0.4)).level == 3  # no sensitivity analysis
    assert sms_level(trial, _with_checks(base, 0.01, True)).level == 3  # pre-trends rejected
    four = sms_level(trial, _with_checks(base, 0.4, True))
    assert four.level == 4 and "pre-trend test passed" in four.reason
    assert sms_level(trial).level == 3


def test_rules_list_every_label():
    assert {label for label, _ in RULES} == set(VerdictLabel)


@given(pct=st.floats(-90, 200), half=st.floats(0.1, 80), p=st.one_of(st.none(), st.floats(0, 1)))
def test_verdict_follows_the_interval_only(pct, half, p, make_trial, results_dict):
    lo, hi = max(pct - half, -99.9), pct + half
    v = decide(make_trial(), results_dict(pct=pct, lo=lo, hi=hi, p_reduction=p))
    assert (v.label is V.reduction) == (hi < 0)
    assert (v.label is V.increase) == (lo > 0)


def test_error_rates_are_carried_for_the_page(make_trial, results_dict):
    rates = {"null_reduction_rate": 0.026, "n_sims": 500}
    v = decide(make_trial(), results_dict(), error_rates=rates)
    assert v.to_dict()["error_rates"] == rates
