"""Plain-English verdicts for the Board, and the strength of evidence behind them.

Strength of evidence is the Maryland Scientific Methods Scale (SMS; Sherman et al. 1997,
*Preventing Crime: What Works, What Doesn't, What's Promising*, ch. 2; restated by Farrington,
Gottfredson, Sherman & Welsh 2002, in *Evidence-Based Crime Prevention*, pp. 13-21):

* level 3: before/after measures in comparable treated and control units;
* level 4: before/after measures in multiple treated and control units, controlling for other
  factors (here: matched on baseline covariates);
* level 5: random assignment of comparable units to treatment and control.

Verdicts follow the Maryland report's logic: *works* needs a reduction shown by a strong design
(level >= 4); *promising* is a reduction with weaker certainty (a level-3 design, or a probable but
not yet conclusive reduction); *harmful* is an increase shown; otherwise *no effect found* (which
is not proof of no effect). Every rule is listed in :data:`RULES` and printed on the Board page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from triplet.registry.models import DesignMethod, Estimator, Status, Trial

__all__ = [
    "MULTIPLE_UNITS",
    "P_PROBABLE",
    "P_STRONG",
    "RULES",
    "SMS_MAPPING",
    "SmsLevel",
    "Verdict",
    "VerdictLabel",
    "decide",
    "sms_level",
]

#: P(reduction) at or above which a Bayesian primary analysis counts as showing a reduction.
P_STRONG = 0.95
#: P(reduction) at or above which a reduction is "probable" (promising, not conclusive).
P_PROBABLE = 0.80
#: "Multiple" units per arm for SMS level 4 in a matched (non-randomised) design.
MULTIPLE_UNITS = 5

BAYESIAN_ESTIMATORS = frozenset({Estimator.bayesian_count.value, Estimator.bayesian_harm.value})


class VerdictLabel(StrEnum):
    """The five verdicts the Board sees."""

    works = "works"
    promising = "promising"
    no_effect = "no effect found"
    harmful = "harmful"
    too_early = "too early to say"


#: The rules, in the order they are tried; the first that holds gives the verdict.
RULES: tuple[tuple[VerdictLabel, str], ...] = (
    (
        VerdictLabel.too_early,
        "The trial is still running (status before 'completed'), or it has no analysed primary "
        "estimate with an interval yet.",
    ),
    (
        VerdictLabel.harmful,
        "The primary interval lies wholly above 0 (an increase), or the Bayesian model (when it "
        f"passed its checks) gives P(reduction) <= {1 - P_STRONG:.2f}.",
    ),
    (
        VerdictLabel.works,
        "A reduction is shown - the primary interval lies wholly below 0, or, when the registered "
        f"primary analysis is Bayesian, P(reduction) >= {P_STRONG:.2f} - and the design is "
        "SMS level 4 or 5.",
    ),
    (
        VerdictLabel.promising,
        "A reduction is shown but the design is SMS level 3; or the point estimate is a reduction "
        f"and the Bayesian model gives P(reduction) >= {P_PROBABLE:.2f} without meeting the rule "
        "for 'works'.",
    ),
    (
        VerdictLabel.no_effect,
        "Otherwise: the interval includes 0. This is not proof of no effect - the trial may have "
        "been too small to detect one.",
    ),
)

#: The Maryland SMS mapping used, as printed on the Board page.
SMS_MAPPING: tuple[tuple[str, int, str], ...] = (
    ("Randomised (any randomised design)", 5, "random assignment of comparable units"),
    (
        f"Matched controls, before/after DiD, >= {MULTIPLE_UNITS} units per arm",
        4,
        "multiple treated and control units, controlling for baseline differences by matching",
    ),
    (
        f"Matched controls, before/after DiD, fewer than {MULTIPLE_UNITS} units in an arm",
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


def sms_level(trial: Trial, n_units: dict[str, Any] | None = None) -> SmsLevel:
    """SMS level of a trial's design; ``n_units`` is results.json's ``n_units`` block if any.

    Randomised designs are level 5. A matched-control before/after DiD is level 4 when each arm
    has at least :data:`MULTIPLE_UNITS` units (from the results, else the registration's
    ``matching.treated`` list and ``controls_per_treated``), otherwise level 3.
    """
    method = trial.design.method
    if method.randomised:
        return SmsLevel(5, f"randomised design ({method.value})")
    assert method is DesignMethod.matched_control
    n_t = n_c = None
    if n_units:
        n_t, n_c = n_units.get("treatment"), n_units.get("control")
    if n_t is None and trial.design.matching is not None:
        n_t = len(trial.design.matching.treated) or None
        if n_t is not None:
            n_c = n_t * trial.design.matching.controls_per_treated
    if n_t is not None and n_c is not None and min(n_t, n_c) >= MULTIPLE_UNITS:
        return SmsLevel(
            4, f"matched controls with before/after DiD, >= {MULTIPLE_UNITS} units per arm"
        )
    return SmsLevel(
        3,
        "matched controls with before/after DiD"
        + ("" if n_t is None else f", fewer than {MULTIPLE_UNITS} units in an arm"),
    )


@dataclass(frozen=True)
class Verdict:
    """A verdict, the rule that produced it and the figures it used."""

    label: VerdictLabel
    rule: str
    sms: int
    p_reduction: float | None
    reason: str = ""

    @property
    def css_class(self) -> str:
        return self.label.name.replace("_", "-")

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label.value,
            "rule": self.rule,
            "reason": self.reason,
            "sms": self.sms,
            "p_reduction": self.p_reduction,
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


def decide(trial: Trial, results: dict[str, Any] | None) -> Verdict:
    """The verdict for one trial from its registration and results.json (None if not analysed).

    Rules (:data:`RULES`) are tried in order; the first that holds wins. Intervals are the
    primary analysis' ``percent_ci_low``/``percent_ci_high`` (per cent change in the outcome).
    """
    rules = dict(RULES)
    n_units = (results or {}).get("n_units")
    sms = sms_level(trial, n_units).level
    p_shown = bayesian_p_reduction(results)
    primary = (results or {}).get("primary") or {}
    # A posterior about another outcome (e.g. crime counts when the primary outcome is harm) is
    # shown, but it does not decide the verdict on the primary outcome.
    b_measure = ((results or {}).get("bayesian") or {}).get("measure")
    p_measure = primary.get("measure") or trial.outcomes.primary.measure
    other_measure = bool(b_measure) and b_measure != p_measure
    p_red = None if other_measure else p_shown
    est = _num(primary.get("percent_change"))
    lo, hi = _num(primary.get("percent_ci_low")), _num(primary.get("percent_ci_high"))

    def make(label: VerdictLabel, reason: str) -> Verdict:
        return Verdict(label=label, rule=rules[label], sms=sms, p_reduction=p_shown, reason=reason)

    if trial.status.order < Status.completed.order:
        return make(VerdictLabel.too_early, f"the trial is {_NOT_FINISHED[trial.status]}")
    if results is None:
        return make(VerdictLabel.too_early, "no results yet")
    if est is None or lo is None or hi is None:
        return make(VerdictLabel.too_early, "the results have no primary estimate with an interval")
    if lo > 0:
        return make(VerdictLabel.harmful, "the interval lies wholly above 0")
    if p_red is not None and p_red <= 1 - P_STRONG:
        return make(VerdictLabel.harmful, f"P(reduction) is at most {1 - P_STRONG:.2f}")
    bayesian_primary = primary.get("estimator") in BAYESIAN_ESTIMATORS
    by_interval = hi < 0
    by_posterior = bayesian_primary and p_red is not None and p_red >= P_STRONG
    if by_interval or by_posterior:
        how = (
            "the interval lies wholly below 0"
            if by_interval
            else f"the Bayesian primary analysis gives P(reduction) >= {P_STRONG:.2f}"
        )
        if sms >= 4:
            return make(VerdictLabel.works, f"{how}, and the design is SMS level {sms}")
        return make(VerdictLabel.promising, f"{how}, but the design is only SMS level {sms}")
    if est < 0 and p_red is not None and p_red >= P_PROBABLE:
        return make(
            VerdictLabel.promising,
            f"the interval includes 0, but P(reduction) is at least {P_PROBABLE:.2f}",
        )
    bayes = (results or {}).get("bayesian") or {}
    if other_measure and p_shown is not None:
        why = (
            f"the interval includes 0 (the Bayesian P(reduction) is about {b_measure}, not the "
            f"primary outcome's {p_measure}, so it does not enter the verdict)"
        )
    elif p_red is None and bayes.get("status") == "failed":
        why = "the interval includes 0 (the Bayesian estimate failed its convergence checks)"
    elif p_red is None:
        why = "the interval includes 0 (no Bayesian estimate)"
    else:
        why = f"the interval includes 0 and P(reduction) is below {P_PROBABLE:.2f}"
    return make(VerdictLabel.no_effect, why)
