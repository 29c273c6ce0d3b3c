"""Plain-English verdicts for the Board: what one trial found, and how strong its design is.

A single trial's verdict speaks about **that trial** ("reduction in this trial"): the trial's
registered decision rule (:mod:`triplet.tracking.decision`; frequentist interval or Bayesian
probability, symmetric, locked with the registration) applied to its primary analysis. Whether
an intervention type *works* in the Maryland sense is a statement about a body of evidence
(:mod:`.evidence`), never about one trial.

Strength of evidence is the Maryland Scientific Methods Scale (SMS; Sherman et al. 1997,
*Preventing Crime: What Works, What Doesn't, What's Promising*, ch. 2; restated by Farrington,
Gottfredson, Sherman & Welsh 2002, in *Evidence-Based Crime Prevention*, pp. 13-21):

* level 3: before/after measures in comparable treated and control units;
* level 4: before/after measures in multiple treated and control units, controlling for other
  factors that influence the outcome;
* level 5: random assignment of comparable units to treatment and control.

The level is earned by the design and what the analysis showed about it, not by a unit count:
a randomised design is level 5; a matched-control design is level 3, and level 4 only when its
event-study pre-trend test did not reject parallel trends *and* a parallel-trends sensitivity
analysis is reported (results.json ``sensitivity``), i.e. when "controlling for other factors"
has been checked rather than assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from triplet.registry.models import DesignMethod, Status, Trial
from triplet.tracking.decision import Finding, apply_rule, describe_rule, rule_of

__all__ = [
    "RULES",
    "SMS_MAPPING",
    "SmsLevel",
    "Verdict",
    "VerdictLabel",
    "decide",
    "sms_level",
]


class VerdictLabel(StrEnum):
    """The four single-trial verdicts the Board sees."""

    reduction = "reduction in this trial"
    increase = "increase in this trial"
    no_clear_change = "no clear change in this trial"
    too_early = "too early to say"


#: The steps, in order, as printed on the Board page.
RULES: tuple[tuple[VerdictLabel, str], ...] = (
    (
        VerdictLabel.too_early,
        "The trial is still running (status before 'completed'), or it has no analysed primary "
        "estimate the registered rule can use yet.",
    ),
    (
        VerdictLabel.reduction,
        "The trial's registered decision rule finds a reduction in the primary outcome: its "
        "interval lies wholly below no change (frequentist rule), or P(reduction) reaches the "
        "registered probability (Bayesian rule).",
    ),
    (
        VerdictLabel.increase,
        "The same rule, the other way round: the interval lies wholly above no change, or "
        "P(increase) reaches the same registered probability.",
    ),
    (
        VerdictLabel.no_clear_change,
        "Otherwise. This is not proof of no effect: the trial may have been too small to detect "
        "one (see its power).",
    ),
)

#: The Maryland SMS mapping used, as printed on the Board page.
SMS_MAPPING: tuple[tuple[str, int, str], ...] = (
    ("Randomised (any randomised design)", 5, "random assignment of comparable units"),
    (
        "Matched controls, before/after DiD, pre-trend test passed and a parallel-trends "
        "sensitivity analysis reported",
        4,
        "multiple treated and control units, with the comparison checked for other factors",
    ),
    (
        "Matched controls, before/after DiD, otherwise",
        3,
        "before/after in comparable treated and control units",
    ),
)


@dataclass(frozen=True)
class SmsLevel:
    """A Maryland Scientific Methods Scale level (1-5) and why (Sherman et al. 1997)."""

    level: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "reason": self.reason}


def _pretrend(results: dict[str, Any] | None) -> dict[str, Any] | None:
    for a in (results or {}).get("analyses") or []:
        if isinstance(a, dict) and a.get("pretrend_test"):
            return a["pretrend_test"]
    return None


def _sensitivity(results: dict[str, Any] | None) -> bool:
    """True when results.json reports a parallel-trends sensitivity analysis that was computed.

    The section is ``{smoothness, relative_magnitudes}`` (triplet.tracking.robustness); a
    restriction that could not be computed is ``{status: "not computed", reason}``, so at least
    one restriction must carry bounds.
    """
    s = (results or {}).get("sensitivity")
    if not isinstance(s, dict) or not s:
        return False
    if "status" in s:
        return s["status"] == "ok"
    return any(isinstance(v, dict) and v.get("status", "ok") == "ok" for v in s.values())


def sms_level(trial: Trial, results: dict[str, Any] | None = None) -> SmsLevel:
    """SMS level earned by the trial's design and, for matched controls, by its checks.

    ``results`` is results.json (its event-study ``pretrend_test`` and ``sensitivity`` block);
    without results a matched-control design is level 3.
    """
    method = trial.design.method
    if method.randomised:
        return SmsLevel(5, f"randomised design ({method.value})")
    assert method is DesignMethod.matched_control
    alpha = trial.analysis.alpha
    pt = _pretrend(results)
    p = None if pt is None else pt.get("p_value", pt.get("p"))
    checks = []
    if p is None:
        checks.append("no event-study pre-trend test reported")
    elif float(p) < alpha:
        checks.append(f"the pre-trend test rejected parallel trends (p = {float(p):.3f})")
    if not _sensitivity(results):
        checks.append("no parallel-trends sensitivity analysis reported")
    if not checks:
        return SmsLevel(
            4,
            f"matched controls with before/after DiD; pre-trend test passed (p = {float(p):.2f})"
            " and sensitivity analysis reported",
        )
    return SmsLevel(3, "matched controls with before/after DiD; not level 4: " + "; ".join(checks))


@dataclass(frozen=True)
class Verdict:
    """A single-trial verdict, the registered rule that produced it and its error rates."""

    label: VerdictLabel
    rule: str
    sms: int
    p_reduction: float | None
    reason: str = ""
    headline: str = ""
    error_rates: dict[str, Any] | None = field(default=None)
    rule_short: str = ""

    @property
    def css_class(self) -> str:
        return self.label.name.replace("_", "-")

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label.value,
            "headline": self.headline,
            "rule": self.rule,
            "reason": self.reason,
            "sms": self.sms,
            "p_reduction": self.p_reduction,
            "error_rates": self.error_rates,
        }


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


_NOT_FINISHED = {
    Status.draft: "not yet registered",
    Status.registered: "registered but not started",
    Status.assigned: "assigned but not started",
    Status.in_field: "still running in the field",
}


def bayesian_p_reduction(results: dict[str, Any] | None) -> float | None:
    """P(reduction) from results.json's ``bayesian`` block, or None if absent or it failed."""
    if not results:
        return None
    bayes = results.get("bayesian")
    if not bayes or bayes.get("status") != "ok":
        return None
    return _num(bayes.get("p_reduction"))


def _outcome_words(trial: Trial, primary: dict[str, Any]) -> str:
    measure = primary.get("measure") or trial.outcomes.primary.measure
    return "crime harm" if measure == "harm" else "crimes"


def decide(
    trial: Trial,
    results: dict[str, Any] | None,
    *,
    error_rates: dict[str, Any] | None = None,
) -> Verdict:
    """The single-trial verdict from the registration and results.json (None if not analysed).

    The trial's registered rule (``analysis.decision_rule``) decides; a Bayesian posterior
    that is not the registered rule's is shown but never decides. ``error_rates`` (the design
    diagnosis' simulated rates of the rule, if known) are carried for the page.
    """
    rule = rule_of(trial)
    alpha = trial.analysis.alpha
    words = describe_rule(rule, alpha)
    sms = sms_level(trial, results).level
    p_shown = bayesian_p_reduction(results)
    primary = (results or {}).get("primary") or {}
    outcome = _outcome_words(trial, primary)

    def make(label: VerdictLabel, reason: str, headline: str) -> Verdict:
        return Verdict(
            label=label,
            rule=words,
            sms=sms,
            p_reduction=p_shown,
            reason=reason,
            headline=headline,
            error_rates=error_rates,
            rule_short=describe_rule(rule, alpha, short=True),
        )

    if trial.status.order < Status.completed.order:
        return make(
            VerdictLabel.too_early, f"the trial is {_NOT_FINISHED[trial.status]}", "Too early"
        )
    if results is None:
        return make(VerdictLabel.too_early, "no results yet", "Too early")
    bayes_block = results.get("bayesian")
    if rule.kind == "bayesian":
        b_measure = (bayes_block or {}).get("measure")
        p_measure = primary.get("measure") or trial.outcomes.primary.measure
        if b_measure and b_measure != p_measure:
            bayes_block = None  # a posterior about another outcome does not decide
    finding: Finding = apply_rule(rule, alpha, primary, bayes_block)
    if finding.direction == "undecided":
        return make(
            VerdictLabel.too_early,
            f"the results have no primary estimate the rule can use ({finding.reason})",
            "Too early",
        )
    if finding.direction == "reduction":
        return make(VerdictLabel.reduction, finding.reason, f"Reduced {outcome} in this trial")
    if finding.direction == "increase":
        return make(VerdictLabel.increase, finding.reason, f"Increased {outcome} in this trial")
    return make(
        VerdictLabel.no_clear_change,
        finding.reason,
        f"No clear change in {outcome} in this trial",
    )
