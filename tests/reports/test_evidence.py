"""Maryland body-of-evidence verdicts (Sherman et al. 1997) per intervention type."""

from __future__ import annotations

from triplet.reports.evidence import (
    EVIDENCE_STANDARD,
    EvidenceLabel,
    TrialEvidence,
    body_of_evidence,
    trial_evidence,
)

E = EvidenceLabel


def t(direction="reduction", sms=5, below=None, rules_out=False, name="t"):
    below = direction == "reduction" if below is None else below
    return TrialEvidence(name, sms, direction, below, rules_out)


def test_one_significant_trial_is_at_most_promising():
    v = body_of_evidence("patrol", [t()])
    assert v.label is E.promising and "one trial is not enough" in v.reason


def test_two_level_3_reductions_with_agreement_work():
    assert body_of_evidence("patrol", [t(), t(sms=3)]).label is E.works
    # a third, non-significant trial pointing the same way keeps the preponderance
    same = t("no clear change", below=True)
    assert body_of_evidence("patrol", [t(), t(), same]).label is E.works


def test_level_below_3_does_not_count():
    assert body_of_evidence("patrol", [t(), t(sms=2)]).label is E.promising


def test_an_opposite_significant_finding_breaks_the_preponderance():
    v = body_of_evidence("patrol", [t(), t(), t("increase", below=False)])
    assert v.label is not E.works


def test_most_trials_pointing_the_other_way_break_works():
    others = [t("no clear change", below=False) for _ in range(3)]
    assert body_of_evidence("patrol", [t(), t(), *others]).label is E.unknown


def test_does_not_work_needs_two_trials_showing_ineffectiveness():
    flat = t("no clear change", below=False, rules_out=True)
    assert body_of_evidence("cctv", [flat, flat]).label is E.does_not_work
    underpowered = t("no clear change", below=False, rules_out=False)
    assert body_of_evidence("cctv", [underpowered, underpowered]).label is E.unknown
    assert body_of_evidence("cctv", [t("increase", below=False)] * 2).label is E.does_not_work


def test_single_no_change_trial_is_unknown():
    v = body_of_evidence("cctv", [t("no clear change", below=True)])
    assert v.label is E.unknown and v.n_trials == 1
    assert body_of_evidence("cctv", []).reason == "no analysed trial yet"


def test_standard_is_stated_for_every_label():
    assert {label for label, _ in EVIDENCE_STANDARD} == set(EvidenceLabel)


def test_trial_evidence_from_results(make_trial, results_dict):
    trial = make_trial()  # minimum effect 10%
    ev = trial_evidence(trial, results_dict(pct=-2, lo=-8, hi=4))
    assert ev.direction == "no clear change" and ev.rules_out_minimum and ev.estimate_below_zero
    ev = trial_evidence(trial, results_dict(pct=-20, lo=-30, hi=-5))
    assert ev.direction == "reduction" and ev.sms == 5 and not ev.rules_out_minimum
    assert trial_evidence(make_trial(status="in_field"), results_dict()) is None


def test_css_class_and_dict():
    v = body_of_evidence("cctv", [t("increase", below=False)] * 2)
    assert v.css_class == "ev-does-not-work"
    assert v.to_dict()["label"] == "does not work" and v.to_dict()["n_ineffective"] == 2
