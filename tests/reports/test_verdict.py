"""Verdict rules: every branch, the boundaries, and the Maryland SMS mapping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triplet.registry.models import DesignMethod
from triplet.reports.verdict import (
    MULTIPLE_UNITS,
    RULES,
    VerdictLabel,
    decide,
    sms_level,
)

V = VerdictLabel


@pytest.mark.parametrize("status", ["draft", "registered", "assigned", "in_field"])
def test_running_trials_are_too_early_even_with_interim_results(status, make_trial, results_dict):
    trial = make_trial(status=status)
    v = decide(trial, results_dict(pct=-40, lo=-50, hi=-30))
    assert v.label is V.too_early and v.reason.startswith("the trial is ")


def test_no_results_or_no_interval_is_too_early(make_trial, results_dict):
    trial = make_trial()
    assert decide(trial, None).label is V.too_early
    r = results_dict()
    r["primary"]["percent_ci_high"] = None
    assert decide(trial, r).label is V.too_early


def test_randomised_reduction_works(make_trial, results_dict):
    v = decide(make_trial(method="complete"), results_dict(lo=-30, hi=-5, p_reduction=0.9))
    assert v.label is V.works and v.sms == 5
    assert v.rule == dict(RULES)[V.works]
    assert v.reason == "the interval lies wholly below 0, and the design is SMS level 5"


def test_interval_touching_zero_is_not_a_reduction(make_trial, results_dict):
    v = decide(make_trial(), results_dict(pct=-10, lo=-20, hi=0.0, p_reduction=0.7))
    assert v.label is V.no_effect


def test_increase_is_harmful(make_trial, results_dict):
    assert decide(make_trial(), results_dict(pct=12, lo=2, hi=25, p_reduction=0.2)).label is (
        V.harmful
    )


def test_bayesian_probability_of_increase_is_harmful_even_if_interval_spans_zero(
    make_trial, results_dict
):
    r = results_dict(pct=8, lo=-1, hi=18, p_reduction=0.05)
    assert decide(make_trial(), r).label is V.harmful
    assert decide(make_trial(), r).reason == "P(reduction) is at most 0.05"
    r = results_dict(pct=8, lo=-1, hi=18, p_reduction=0.06)
    assert decide(make_trial(), r).label is V.no_effect


def test_bayesian_primary_works_on_probability_alone(make_trial, results_dict):
    trial = make_trial(primary="bayesian_count")
    r = results_dict(pct=-12, lo=-25, hi=1, p_reduction=0.95, estimator="bayesian_count")
    assert decide(trial, r).label is V.works
    r = results_dict(pct=-12, lo=-25, hi=1, p_reduction=0.949, estimator="bayesian_count")
    assert decide(trial, r).label is V.promising


def test_frequentist_primary_needs_its_interval_not_the_posterior(make_trial, results_dict):
    r = results_dict(pct=-12, lo=-25, hi=1, p_reduction=0.97)
    assert decide(make_trial(), r).label is V.promising


def test_probable_reduction_is_promising_only_with_a_reduction_estimate(make_trial, results_dict):
    assert decide(make_trial(), results_dict(pct=-6, lo=-15, hi=4, p_reduction=0.8)).label is (
        V.promising
    )
    assert decide(make_trial(), results_dict(pct=-6, lo=-15, hi=4, p_reduction=0.79)).label is (
        V.no_effect
    )


def test_failed_bayesian_model_is_ignored(make_trial, results_dict):
    r = results_dict(pct=-6, lo=-15, hi=4, bayes_status="failed")
    v = decide(make_trial(), r)
    assert v.label is V.no_effect and v.p_reduction is None
    assert "failed its convergence checks" in v.reason


def test_matched_control_reduction_is_works_or_promising_by_units_per_arm(make_trial, results_dict):
    trial = make_trial(method="matched_control")
    few = results_dict(lo=-30, hi=-5, n_treatment=MULTIPLE_UNITS - 1, n_control=20)
    many = results_dict(lo=-30, hi=-5, n_treatment=MULTIPLE_UNITS, n_control=MULTIPLE_UNITS)
    assert decide(trial, few).label is V.promising and decide(trial, few).sms == 3
    assert decide(trial, few).reason.endswith("but the design is only SMS level 3")
    assert decide(trial, many).label is V.works and decide(trial, many).sms == 4


@pytest.mark.parametrize("method", [m for m in DesignMethod if m.randomised])
def test_every_randomised_design_is_sms_5(method, make_trial, results_dict):
    kw = {"method": "block"} if method is DesignMethod.block else {}
    trial = make_trial(**kw)
    trial = trial.model_copy(update={"design": trial.design.model_copy(update={"method": method})})
    assert sms_level(trial).level == 5


def test_matched_control_sms_from_registration_when_no_results(make_trial, results_dict):
    trial = make_trial(method="matched_control")  # 2 treated listed, 1 control each
    assert sms_level(trial).level == 3


@given(
    pct=st.floats(-90, 200),
    half=st.floats(0.1, 80),
    p=st.one_of(st.none(), st.floats(0, 1)),
)
def test_verdict_is_consistent_with_interval(pct, half, p, make_trial, results_dict):
    lo, hi = pct - half, pct + half
    v = decide(make_trial(), results_dict(pct=pct, lo=lo, hi=hi, p_reduction=p))
    if lo > 0:
        assert v.label is V.harmful
    if v.label is V.works:
        assert hi < 0
    if hi < 0 and (p is None or p > 0.05):
        assert v.label is V.works
    assert v.label is not V.too_early


def test_posterior_about_another_outcome_is_shown_but_does_not_decide(make_trial, results_dict):
    """A P(reduction) in crime counts must not upgrade a verdict on harm."""
    r = results_dict(pct=-15, lo=-41, hi=10, p_reduction=0.99)
    same = decide(make_trial(), r)
    assert same.label is V.promising
    r["bayesian"]["measure"] = "count"  # the primary outcome is harm
    other = decide(make_trial(), r)
    assert other.label is V.no_effect
    assert other.p_reduction == 0.99  # still shown on the page
    assert "not the primary outcome's harm" in other.reason
