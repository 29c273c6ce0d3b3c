"""Per cent changes and their intervals, always from a ratio scale.

A per cent change is ``100 (R - 1)`` for a ratio ``R`` of the treated units' outcome to their
counterfactual; it can never fall below -100%. Two sources of ``R``:

* **ratio-scale models** (Poisson DiD, Bayesian count/harm models): the log rate ratio
  ``theta`` with its standard error and degrees of freedom; the interval is
  ``exp(theta +/- c se) - 1`` (:func:`from_log_ratio`).
* **additive models** (TWFE DiD, event study, randomisation inference): an effect ``b`` in
  outcome units per unit-month with interval ``(lo, hi)``, and the treated units' observed mean
  ``T`` over the treated months. The counterfactual mean is ``T - b``, so
  ``R(b) = T / (T - b)``. ``T`` is observed, not estimated (the estimand is the effect on these
  treated units in these months); all the uncertainty is in the counterfactual, i.e. in ``b``.
  ``R`` is increasing in ``b`` on ``b < T``, so the interval for ``R`` is the exact image
  ``(R(lo), R(hi))`` of the interval for ``b`` (Fieller's construction with a known numerator,
  Fieller 1954). When ``hi >= T`` the counterfactual could be 0 or negative: the upper bound is
  left blank with that reason. For pooling, the log ratio gets the delta-method standard error
  ``se(b) / (T - b)`` on the same degrees of freedom (:func:`from_additive`).

The old way divided ``lo`` and ``hi`` by the *point* counterfactual ``T - b``, treating the
counterfactual as known: mis-calibrated (on 300 simulated panels with a true 25% fall it covered
the realised ratio 99.3% of the time for a nominal 95%; the mapped interval 95.3%) and able to
fall below -100% (issue 10, defect 10; issue 14, item 5). The absolute effect (``b`` and its
interval) is reported beside the per cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from scipy import stats

from triplet.io import jsonable

__all__ = ["PercentChange", "from_additive", "from_log_ratio", "percent_of_log_ratio"]


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class PercentChange:
    """A per cent change with its interval, the log ratio behind it, and why a bound is blank.

    ``percent_*`` are per cents (-18.5 = an 18.5% fall), None when blank; ``log_effect``,
    ``log_se`` and ``log_df`` (None = normal reference) are what pooling reads.
    """

    percent_change: float | None
    percent_ci_low: float | None
    percent_ci_high: float | None
    log_effect: float | None
    log_se: float | None
    log_df: float | None
    method: str
    reason: str | None = None

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "percent_change": self.percent_change,
                "percent_ci_low": self.percent_ci_low,
                "percent_ci_high": self.percent_ci_high,
                "log_effect": self.log_effect,
                "log_se": self.log_se,
                "log_df": self.log_df,
                "percent_method": self.method,
                "percent_blank_reason": self.reason,
            }
        )

    def plot(self, ax=None):
        """The per cent change and its interval (an open end drawn as an arrow)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 1.6))
        if self.percent_change is not None:
            lo = self.percent_ci_low if self.percent_ci_low is not None else self.percent_change
            hi = self.percent_ci_high
            ax.plot([lo, hi if hi is not None else lo + 100], [0, 0], color="#333333")
            ax.plot([self.percent_change], [0], "o", color="#333333")
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks([])
        ax.set_xlabel("change (%)")
        return ax


def _crit(alpha: float, df: float | None) -> float:
    if df is None or not math.isfinite(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, max(df, 1.0)))


def _pct(r: float) -> float:
    return 100.0 * (r - 1.0)


def percent_of_log_ratio(log_ratio):
    """``100 (exp(theta) - 1)``, elementwise for arrays (posterior draws, pooled effects): the
    one per cent of a log ratio every module uses."""
    import numpy as np

    return 100.0 * np.expm1(log_ratio)


def from_log_ratio(
    log_effect: float, se: float, *, df: float | None = None, alpha: float = 0.05
) -> PercentChange:
    """Per cent change ``100 (exp(theta) - 1)`` and ``exp(theta +/- c se) - 1``.

    ``c`` is the t quantile on ``df`` degrees of freedom (normal when ``df`` is None).
    """
    if not (_finite(log_effect) and _finite(se) and se >= 0):
        return PercentChange(
            None, None, None, None, None, df, "log ratio", "no finite log ratio and standard error"
        )
    c = _crit(alpha, df)
    return PercentChange(
        percent_change=100.0 * math.expm1(log_effect),
        percent_ci_low=100.0 * math.expm1(log_effect - c * se),
        percent_ci_high=100.0 * math.expm1(log_effect + c * se),
        log_effect=float(log_effect),
        log_se=float(se),
        log_df=None if df is None else float(df),
        method="log ratio" + ("" if df is None else f", t({df:g})"),
    )


def from_additive(
    estimate: float,
    ci_low: float | None,
    ci_high: float | None,
    treated_mean: float,
    *,
    se: float | None = None,
    df: float | None = None,
) -> PercentChange:
    """Per cent change of an additive effect against the counterfactual ``T - b``.

    ``estimate`` (``b``), ``ci_low``, ``ci_high`` are in outcome units per unit-month,
    ``treated_mean`` (``T``) is the observed mean of the treated unit-months. The interval is
    the exact image of ``(ci_low, ci_high)`` under ``b -> T / (T - b)`` (so it has the
    interval's coverage); ``se``/``df`` give the log ratio's delta-method SE for pooling.
    """
    method = "ratio to the counterfactual T/(T - b), interval mapped from the effect's"
    if not (_finite(estimate) and _finite(treated_mean)):
        return PercentChange(
            None, None, None, None, None, df, method, "no finite estimate or treated mean"
        )
    t_mean, b = float(treated_mean), float(estimate)
    if t_mean <= 0:
        return PercentChange(
            None,
            None,
            None,
            None,
            None,
            df,
            method,
            "the treated units had no outcome in the treated months (mean 0), "
            "so a ratio to the counterfactual is undefined",
        )
    cf = t_mean - b
    if cf <= 0:
        return PercentChange(
            None,
            None,
            None,
            None,
            None,
            df,
            method,
            f"the estimated counterfactual mean ({cf:.3g}) is not positive, "
            "so a per cent change is undefined; see the absolute effect",
        )
    log_effect = math.log(t_mean) - math.log(cf)
    log_se = float(se) / cf if _finite(se) else None
    reasons = []
    lo = hi = None
    if _finite(ci_low):
        lo = _pct(t_mean / (t_mean - float(ci_low)))  # ci_low <= b < T, so positive
    else:
        reasons.append("no lower bound on the effect")
    if _finite(ci_high):
        if float(ci_high) < t_mean:
            hi = _pct(t_mean / (t_mean - float(ci_high)))
        else:
            reasons.append(
                "the upper end of the effect's interval allows a counterfactual mean of 0 or "
                "less, so the per cent interval is unbounded above"
            )
    else:
        reasons.append("no upper bound on the effect")
    return PercentChange(
        percent_change=_pct(t_mean / cf),
        percent_ci_low=lo,
        percent_ci_high=hi,
        log_effect=log_effect,
        log_se=log_se,
        log_df=None if df is None else float(df),
        method=method,
        reason="; ".join(reasons) or None,
    )
