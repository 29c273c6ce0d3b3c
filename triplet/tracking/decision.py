"""The registered decision rule: one rule per trial, symmetric, with known error rates.

A trial registers one rule (``analysis.decision_rule``; locked with the registration) that
turns its primary analysis into one of three findings about *this trial*: a reduction, an
increase, or no clear change.

* **frequentist** (default for an interval estimator): a reduction when the primary
  ``1 - alpha`` interval lies wholly below no change, an increase when wholly above. Each
  direction is a one-sided test at ``alpha / 2``: of trials with no effect, at most
  ``alpha / 2`` are called a reduction - if the interval has its nominal coverage, which the
  design diagnosis checks by simulation (:func:`rule_error_rates`).
* **bayesian** (default for a Bayesian primary): a reduction when P(reduction) >= ``p``, an
  increase when P(increase) >= ``p`` (same ``p`` both ways, default 0.975). With a posterior
  close to the likelihood, P(reduction) of a null trial is roughly uniform, so each direction
  fires for about ``1 - p`` of null trials; how close the model is to that on panels like the
  trial's is its calibration (docs/bayes.md).

There is no "promising" route for a single trial. The rule it replaces let a null trial
through as "promising" whenever the point estimate was a reduction and P(reduction) >= 0.80:
about 0.20 - 0.025 = 17.5% of null trials (:func:`old_promising_null_rate`; docs/verdicts.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from triplet.registry.models import DecisionRule, Trial

__all__ = [
    "Finding",
    "apply_rule",
    "describe_rule",
    "old_promising_null_rate",
    "rule_error_rates",
    "rule_of",
]

Direction = Literal["reduction", "increase", "no clear change", "undecided"]


def rule_of(trial: Trial) -> DecisionRule:
    """The trial's registered rule (or the default for its primary estimator)."""
    return trial.analysis.rule


def describe_rule(rule: DecisionRule, alpha: float, *, short: bool = False) -> str:
    """The rule in plain words, as the Board and the effect report print it (``short``: one
    line for a table cell)."""
    if short:
        if rule.kind == "frequentist":
            return (
                f"Frequentist rule (registered): the {100 * (1 - alpha):g}% interval decides, "
                f"at most {100 * alpha / 2:g}% of no-effect trials called a reduction."
            )
        return (
            f"Bayesian rule (registered): P(reduction) or P(increase) of at least "
            f"{rule.probability:g} decides."
        )
    if rule.kind == "frequentist":
        level = 100 * (1 - alpha)
        return (
            f"Frequentist rule (registered): a reduction if the {level:g}% interval of the "
            "primary analysis lies wholly below no change; an increase if wholly above; "
            "otherwise no clear change. A trial with no real effect is called a reduction at "
            f"most {100 * alpha / 2:g}% of the time, and an increase at most "
            f"{100 * alpha / 2:g}% of the time."
        )
    p = rule.probability
    return (
        f"Bayesian rule (registered): a reduction if the primary model gives P(reduction) of "
        f"at least {p:g}; an increase if P(increase) is at least {p:g}; otherwise no clear "
        f"change. If the model is calibrated, a trial with no real effect is called a "
        f"reduction about {100 * (1 - p):.3g}% of the time (and an increase as often)."
    )


@dataclass(frozen=True)
class Finding:
    """What the registered rule says about one trial, and why."""

    direction: Direction
    reason: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"direction": self.direction, "reason": self.reason, "rule": self.rule}


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def apply_rule(
    rule: DecisionRule,
    alpha: float,
    primary: dict[str, Any] | None,
    bayesian: dict[str, Any] | None = None,
) -> Finding:
    """Apply ``rule`` to results.json's ``primary`` block (and its ``bayesian`` block).

    Frequentist: the interval on the estimator's own scale (``ci_low``/``ci_high``; 0 = no
    change for both additive effects and log ratios), else the per cent interval. Bayesian:
    ``p_reduction`` of the primary block, else of a successful ``bayesian`` block.
    """
    words = describe_rule(rule, alpha)
    primary = primary or {}
    if rule.kind == "frequentist":
        # the per cent interval (what the page shows; the exact image of the effect's
        # interval, so the same decision), else the interval on the estimate's own scale
        # (0 = no change; a randomisation CI of a ratio is shifted by 1), e.g. when the per
        # cent interval is unbounded above
        lo, hi = _num(primary.get("percent_ci_low")), _num(primary.get("percent_ci_high"))
        scale = "per cent interval"
        if lo is None or hi is None:
            elo, ehi = _num(primary.get("ci_low")), _num(primary.get("ci_high"))
            if primary.get("null") == "multiplicative":
                elo = None if elo is None else elo - 1.0
                ehi = None if ehi is None else ehi - 1.0
            if elo is not None or ehi is not None:
                lo, hi, scale = elo, ehi, "interval"
        if lo is None and hi is None:
            return Finding("undecided", "the primary analysis has no interval", words)
        if hi is not None and hi < 0:
            return Finding("reduction", f"the primary {scale} lies wholly below 0", words)
        if lo is not None and lo > 0:
            return Finding("increase", f"the primary {scale} lies wholly above 0", words)
        return Finding("no clear change", f"the primary {scale} includes 0", words)
    p = _num(primary.get("p_reduction"))
    if p is None and bayesian and bayesian.get("status") == "ok":
        p = _num(bayesian.get("p_reduction"))
    if p is None:
        why = "the Bayesian primary model has no posterior"
        if bayesian and bayesian.get("status") == "failed":
            why += " (it failed its convergence checks)"
        return Finding("undecided", why, words)
    q = rule.probability
    if p >= q:
        return Finding("reduction", f"P(reduction) = {p:.3f} >= {q:g}", words)
    if 1 - p >= q:
        return Finding("increase", f"P(increase) = {1 - p:.3f} >= {q:g}", words)
    return Finding("no clear change", f"P(reduction) = {p:.3f}, neither side reaches {q:g}", words)


def rule_error_rates(
    estimates: np.ndarray,
    ci_low: np.ndarray,
    ci_high: np.ndarray,
) -> pd.DataFrame:
    """Shares of simulated trials the frequentist rule calls a reduction / an increase.

    Inputs are the primary estimates and interval ends of simulated trials (e.g. null trials
    for the error rates, trials with the minimum effect for the power). Returns one row with
    ``reduction_rate``, ``increase_rate``, ``no_clear_change_rate``, their Monte-Carlo SEs and
    ``n_sims``.
    """
    lo, hi = np.asarray(ci_low, float), np.asarray(ci_high, float)
    keep = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(np.asarray(estimates, float))
    lo, hi = lo[keep], hi[keep]
    k = int(keep.sum())
    red, inc = float(np.mean(hi < 0)), float(np.mean(lo > 0))
    return pd.DataFrame(
        [
            {
                "reduction_rate": red,
                "reduction_mcse": math.sqrt(red * (1 - red) / k),
                "increase_rate": inc,
                "increase_mcse": math.sqrt(inc * (1 - inc) / k),
                "no_clear_change_rate": 1 - red - inc,
                "n_sims": k,
            }
        ]
    )


def old_promising_null_rate(p_probable: float = 0.80, alpha: float = 0.05) -> float:
    """Null rate of the retired "promising" route (estimate < 0, P(reduction) >= p_probable,
    interval includes 0) when P(reduction) = Phi(-z) with z ~ N(0, 1) under the null (a
    posterior close to the likelihood): ``p_probable``-quantile minus the one-sided alpha."""
    return float(
        stats.norm.cdf(stats.norm.ppf(1 - p_probable)) - stats.norm.cdf(stats.norm.ppf(alpha / 2))
    )
