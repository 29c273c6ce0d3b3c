"""'What works' in the Maryland sense: a verdict on a body of evidence, per intervention type.

Sherman et al. (1997), *Preventing Crime: What Works, What Doesn't, What's Promising*, ch. 2
(restated in the 1998 NIJ Research in Brief, NCJ 171676), classify a *programme* - never a single
evaluation - from all the evaluations of it (paraphrased here; the wording of the source has
not been checked against a copy of it):

* **works**: at least two level 3 evaluations with significance tests showing effectiveness,
  and the preponderance of all available evidence supporting the same conclusion;
* **does not work**: the same criteria, with significance tests showing ineffectiveness;
* **promising**: at least one level 3 evaluation with significance tests showing effectiveness,
  and the preponderance of the remaining evidence supporting the same conclusion;
* **unknown**: any programme not in one of the three categories above.

How triplet reads them (stated on the Board and in docs/verdicts.md):

* an *evaluation* is an analysed trial of the type with a verdict other than "too early";
  its level is its SMS level (:func:`.verdict.sms_level`), so "level 3" means SMS >= 3;
* *significance test showing effectiveness*: the trial's registered rule found a reduction;
* *showing ineffectiveness*: the rule found an increase, or found no clear change with an
  interval that rules out the registered minimum effect worth acting on (the trial could have
  seen a worthwhile reduction and did not);
* *preponderance*: more than half of the evaluations counted point the same way (a point
  estimate below no change for "works" and "promising", not below for "does not work"), and
  none of them found the opposite with its rule.

The pooled estimate (:mod:`triplet.tracking.pooling`) is shown beside this verdict; it does not
replace the scale's conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from triplet.io import jsonable

__all__ = [
    "EVIDENCE_STANDARD",
    "EvidenceLabel",
    "EvidenceVerdict",
    "TrialEvidence",
    "board_rows",
    "body_of_evidence",
    "rates_words",
    "rule_error_rates",
    "trial_evidence",
]

#: How the Board cites the standard.
CITATION = (
    "Sherman, Gottfredson, MacKenzie, Eck, Reuter & Bushway (1997), Preventing Crime: What "
    "Works, What Doesn't, What's Promising, report to the US Congress, ch. 2 (summarised in "
    "the NIJ Research in Brief NCJ 171676, 1998)"
)


class EvidenceLabel(StrEnum):
    """The verdict label of a body of evidence: works, does not work, promising, ..."""

    works = "works"
    does_not_work = "does not work"
    promising = "promising"
    unknown = "unknown"


#: The standard in plain words, as printed on the Board page.
EVIDENCE_STANDARD: tuple[tuple[EvidenceLabel, str], ...] = (
    (
        EvidenceLabel.works,
        "at least two trials of the type, each SMS level 3 or better, found a reduction with "
        "their registered rule, and most of all its trials point the same way (none found an "
        "increase)",
    ),
    (
        EvidenceLabel.does_not_work,
        "at least two trials of level 3 or better showed it ineffective (an increase, or an "
        "interval that rules out the smallest effect worth acting on), and most of its trials "
        "point the same way",
    ),
    (
        EvidenceLabel.promising,
        "one trial of level 3 or better found a reduction, and most of the remaining trials "
        "point the same way",
    ),
    (EvidenceLabel.unknown, "anything else - including a single trial with no clear change"),
)


@dataclass(frozen=True)
class TrialEvidence:
    """One evaluation of an intervention type, as the Maryland standard counts it.

    ``direction`` is the registered rule's finding (``reduction``, ``increase``, ``no clear
    change``); ``estimate_below_zero`` the sign of the point estimate; ``rules_out_minimum``
    whether its interval excludes the registered minimum effect worth acting on.
    """

    trial: str
    sms: int
    direction: str
    estimate_below_zero: bool
    rules_out_minimum: bool

    @property
    def effective(self) -> bool:
        return self.sms >= 3 and self.direction == "reduction"

    @property
    def ineffective(self) -> bool:
        return self.sms >= 3 and (
            self.direction == "increase"
            or (self.direction == "no clear change" and self.rules_out_minimum)
        )


@dataclass(frozen=True)
class EvidenceVerdict:
    """The Maryland verdict on one intervention type, with the counts behind it."""

    intervention: str
    label: EvidenceLabel
    reason: str
    n_trials: int
    n_effective: int
    n_ineffective: int

    @property
    def css_class(self) -> str:
        return "ev-" + self.label.name.replace("_", "-")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "intervention": self.intervention,
                "label": self.label.value,
                "reason": self.reason,
                "n_trials": self.n_trials,
                "n_effective": self.n_effective,
                "n_ineffective": self.n_ineffective,
            }
        )

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def plot(self, ax=None):
        """Bar of evaluations: effective, ineffective, other."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 2))
        other = self.n_trials - self.n_effective - self.n_ineffective
        ax.barh(
            ["effective", "ineffective", "other"], [self.n_effective, self.n_ineffective, other]
        )
        ax.set_title(f"{self.intervention}: {self.label.value}")
        return ax


def _preponderance(items: list[TrialEvidence], *, reduction: bool) -> bool:
    if not items:
        return True
    agree = sum(t.estimate_below_zero == reduction for t in items)
    opposite = any(t.direction == ("increase" if reduction else "reduction") for t in items)
    return agree * 2 > len(items) and not opposite


def body_of_evidence(intervention: str, trials: list[TrialEvidence]) -> EvidenceVerdict:
    """Classify an intervention type by the Maryland standard (Sherman et al. 1997)."""
    eff = [t for t in trials if t.effective]
    ineff = [t for t in trials if t.ineffective]

    def make(label: EvidenceLabel, reason: str) -> EvidenceVerdict:
        return EvidenceVerdict(intervention, label, reason, len(trials), len(eff), len(ineff))

    n = len(trials)
    counted = f"{len(eff)} of {n} trial(s) of SMS level 3+ found a reduction"
    if len(eff) >= 2 and _preponderance(trials, reduction=True):
        return make(EvidenceLabel.works, f"{counted}, and most of the trials agree")
    if len(ineff) >= 2 and _preponderance(trials, reduction=False):
        return make(
            EvidenceLabel.does_not_work,
            f"{len(ineff)} of {n} trial(s) of SMS level 3+ showed it ineffective, and most agree",
        )
    if eff:
        rest = [t for t in trials if t is not eff[0]]
        if _preponderance(rest, reduction=True):
            why = (
                "one trial is not enough for 'works'"
                if len(eff) == 1
                else "the other trials do not agree enough for 'works'"
            )
            return make(EvidenceLabel.promising, f"{counted}; {why}")
    if not n:
        return make(EvidenceLabel.unknown, "no analysed trial yet")
    return make(EvidenceLabel.unknown, f"{counted}; the standard for a verdict is not met")


def trial_evidence(trial: Any, results: dict[str, Any] | None) -> TrialEvidence | None:
    """A trial's entry in the body of evidence, or None while it is too early to count it.

    ``rules_out_minimum``: the primary per cent interval's lower end lies above minus the
    registered minimum effect (e.g. above -10% for a 10% minimum effect).
    """
    from triplet.reports.verdict import VerdictLabel, decide, sms_level

    v = decide(trial, results)
    if v.label is VerdictLabel.too_early:
        return None
    primary = (results or {}).get("primary") or {}
    est = primary.get("percent_change")
    if est is None:
        est = primary.get("estimate")
    lo = primary.get("percent_ci_low")
    minimum = -100.0 * trial.analysis.minimum_effect.reduction
    direction = {
        VerdictLabel.reduction: "reduction",
        VerdictLabel.increase: "increase",
    }.get(v.label, "no clear change")
    return TrialEvidence(
        trial=trial.id,
        sms=sms_level(trial, results).level,
        direction=direction,
        estimate_below_zero=est is not None and float(est) < 0,
        rules_out_minimum=lo is not None and float(lo) > minimum,
    )


def rule_error_rates(trial_dir: Any) -> dict[str, Any] | None:
    """The decision rule's simulated error rates and power for a trial's design.

    From ``lock.json``'s ``power_check`` (written by ``triplet assign``), else from
    ``design/diagnosis.json`` (``triplet design``); None when neither exists.
    """
    import json
    from pathlib import Path

    if trial_dir is None:
        return None
    d = Path(trial_dir)
    lock = d / "lock.json"
    if lock.exists():
        try:
            pc = json.loads(lock.read_text(encoding="utf-8")).get("power_check")
        except (OSError, ValueError):
            pc = None
        if isinstance(pc, dict) and pc.get("power") is not None:
            return {**pc, "source": "lock.json (triplet assign)"}
    diag = d / "design" / "diagnosis.json"
    if diag.exists():
        try:
            dj = json.loads(diag.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if dj.get("null_reduction_rate") is None:
            return None
        power = dj.get("reduction_power")
        return {
            "power": power,
            "target": dj.get("target"),
            "reduction": dj.get("reduction"),
            "null_reduction_rate": dj.get("null_reduction_rate"),
            "null_increase_rate": dj.get("null_increase_rate"),
            "n_sims": dj.get("n_sims"),
            "below_target": power is not None and power < (dj.get("target") or 0),
            "source": "design/diagnosis.json (triplet design)",
        }
    return None


def rates_words(rates: dict[str, Any] | None, part: str = "all") -> str:
    """The rule's simulated error rates and power in plain words ('' when unknown).

    ``part``: ``"errors"`` (the null rates), ``"power"`` (the power sentence) or ``"all"``.
    """
    if not rates or rates.get("null_reduction_rate") is None:
        return ""
    errors = (
        f"Simulated for this design ({rates.get('n_sims')} trials with no effect): called a "
        f"reduction {100 * rates['null_reduction_rate']:.1f}% of the time, an increase "
        f"{100 * (rates.get('null_increase_rate') or 0):.1f}%."
    )
    power = ""
    if rates.get("power") is not None and rates.get("reduction") is not None:
        power = (
            f"Chance of finding the registered {100 * rates['reduction']:.0f}% reduction: "
            f"{100 * rates['power']:.0f}% (target {100 * (rates.get('target') or 0):.0f}%)"
            + (" - underpowered." if rates.get("below_target") else ".")
        )
    return {"errors": errors, "power": power}.get(part, f"{errors} {power}".strip())


def board_rows(entries: list[Any], pooled: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """One row per intervention type on the Board: the Maryland verdict and the pooled effect.

    ``entries`` are :class:`triplet.reports.board.BoardTrial`; ``pooled`` the Board's pooled
    table (its ``intervention`` column holds the type's label).
    """
    by_type: dict[Any, list[Any]] = {}
    for e in entries:
        by_type.setdefault(e.trial.intervention.type, []).append(e)
    pooled_by = {}
    if pooled is not None and len(pooled):
        pooled_by = {r["intervention"]: r for r in pooled.to_dict("records")}
    rows = []
    for kind in sorted(by_type, key=lambda k: k.value):
        members = by_type[kind]
        items = [trial_evidence(m.trial, m.results) for m in members]
        items = [i for i in items if i is not None]
        v = body_of_evidence(kind.label, items)
        p = pooled_by.get(kind.label) or {}
        rows.append(
            {
                **v.to_dict(),
                "css_class": v.css_class,
                "n_registered": len(members),
                "pooled_percent": p.get("percent_change"),
                "pooled_ci_low": p.get("ci_low"),
                "pooled_ci_high": p.get("ci_high"),
                "pooled_method": p.get("method"),
            }
        )
    return rows
