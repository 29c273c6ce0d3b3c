"""Analytic power and minimum detectable effect (MDE) of a registered design.

The effect is estimated as a difference between arms of unit-level outcomes (a harm total, a
count, or a post-minus-pre difference). With ``N`` units, a treated fraction ``p`` and
outcome standard deviation ``sigma`` per unit-month,

    SE = sigma * sqrt( f * (1 - R2) * deff / (N p (1 - p)) )

where

- ``f`` is the variance factor of the estimator with ``m`` baseline and ``r`` follow-up months
  and a correlation ``rho`` between any two months of a unit (McKenzie 2012, eqs. 2-4):
  post only ``(1 + (r-1) rho) / r``; difference-in-differences ``(1 + (m-1) rho)/m +
  (1 + (r-1) rho)/r - 2 rho``; ANCOVA ``(1 + (r-1) rho)/r - m rho^2 / (1 + (m-1) rho)``;
- ``R2`` is the share of that variance explained by blocks or pairs (Bloom 2005; Gerber &
  Green 2012 s. 4.5);
- ``deff = 1 + (c - 1) ICC`` is the design effect of clusters of ``c`` units with
  intra-cluster correlation ``ICC`` (Kish 1965; Donner & Klar 2000).

The MDE (Bloom 1995) is ``(t_{1-alpha/2, df} + t_{power, df}) * SE`` and power at an effect
``delta`` is ``P(T > t_{1-alpha/2} - delta/SE) + P(T < -t_{1-alpha/2} - delta/SE)`` for ``T``
with ``df`` degrees of freedom (units minus strata minus 2, or clusters minus 2).

Over-dispersed counts (negative binomial, variance ``mu + mu^2 / k``) are compared on the log
rate ratio: ``Var(log RR) = (1/n_t)(1/(lambda RR) + 1/k) + (1/n_c)(1/lambda + 1/k)`` with
``lambda`` the expected count per unit over the follow-up (Keene et al. 2007; Zhu & Lakkis 2014).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = [
    "CountDesign",
    "PowerCurve",
    "PowerDesign",
    "estimator_factor",
    "mde",
    "mde_counts",
    "power",
    "power_counts",
    "power_curve",
    "serial_correlation",
]


@dataclass(frozen=True)
class PowerDesign:
    """Inputs of the analytic power calculation (outcome units: e.g. days of harm per month).

    ``n_units`` units (``cluster_size`` per cluster), ``treated_fraction``, ``sd`` of the
    outcome per unit-month, ``estimator`` (``difference`` of follow-up means, ``did`` or
    ``ancova``), ``pre_months`` / ``post_months``, ``rho`` (correlation between months of a
    unit), ``r2`` (variance explained by blocks/pairs), ``icc``, ``n_strata`` (blocks or
    pairs, for the degrees of freedom), ``alpha`` (two-sided).
    """

    n_units: int
    sd: float
    treated_fraction: float = 0.5
    estimator: Literal["difference", "did", "ancova"] = "did"
    pre_months: int = 1
    post_months: int = 1
    rho: float = 0.0
    r2: float = 0.0
    cluster_size: float = 1.0
    icc: float = 0.0
    n_strata: int = 1
    alpha: float = 0.05

    def __post_init__(self) -> None:
        checks = [
            (self.n_units >= 4, "n_units must be at least 4"),
            (self.sd > 0, "sd must be positive"),
            (0 < self.treated_fraction < 1, "treated_fraction must be in (0, 1)"),
            (self.pre_months >= 1 and self.post_months >= 1, "months must be at least 1"),
            (-1 < self.rho < 1, "rho must be in (-1, 1)"),
            (0 <= self.r2 < 1, "r2 must be in [0, 1)"),
            (0 <= self.icc < 1, "icc must be in [0, 1)"),
            (self.cluster_size >= 1, "cluster_size must be at least 1"),
            (0 < self.alpha < 1, "alpha must be in (0, 1)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(f"power design: {msg}")

    @property
    def n_clusters(self) -> float:
        return self.n_units / self.cluster_size

    @property
    def design_effect(self) -> float:
        """Kish's design effect ``1 + (c - 1) ICC``."""
        return 1.0 + (self.cluster_size - 1.0) * self.icc

    @property
    def df(self) -> float:
        """Degrees of freedom of the t reference."""
        if self.cluster_size > 1:
            return max(self.n_clusters - 2.0, 1.0)
        return max(self.n_units - max(self.n_strata, 1) - 1.0, 1.0)

    @property
    def se(self) -> float:
        """Standard error of the effect estimate (outcome units)."""
        p = self.treated_fraction
        f = estimator_factor(self.estimator, self.pre_months, self.post_months, self.rho)
        var = self.sd**2 * f * (1 - self.r2) * self.design_effect / (self.n_units * p * (1 - p))
        return float(np.sqrt(var))


def estimator_factor(estimator: str, pre: int, post: int, rho: float) -> float:
    """Variance of the estimator per unit, in units of sigma^2 (McKenzie 2012, eqs. 2-4)."""
    m, r = pre, post
    post_only = (1 + (r - 1) * rho) / r
    if estimator == "difference":
        return post_only
    if estimator == "did":
        return (1 + (m - 1) * rho) / m + post_only - 2 * rho
    if estimator == "ancova":
        return post_only - m * rho**2 / (1 + (m - 1) * rho)
    raise InputError(f"power design: unknown estimator {estimator!r} (difference, did, ancova)")


def _crit(alpha: float, df: float) -> float:
    return float(stats.t.ppf(1 - alpha / 2, df))


def power(design: PowerDesign, effect: float) -> float:
    """Power to detect an absolute ``effect`` (outcome units), two-sided test at ``alpha``."""
    se, df = design.se, design.df
    c = _crit(design.alpha, df)
    shift = abs(effect) / se
    return float(stats.t.sf(c - shift, df) + stats.t.cdf(-c - shift, df))


def mde(design: PowerDesign, target: float = 0.8) -> float:
    """Minimum detectable effect (outcome units) at power ``target`` (Bloom 1995):
    ``(t_{1-alpha/2} + t_{target}) * SE``."""
    if not 0 < target < 1:
        raise InputError(f"power target {target} must be in (0, 1)")
    df = design.df
    return float((_crit(design.alpha, df) + stats.t.ppf(target, df)) * design.se)


@dataclass(frozen=True)
class CountDesign:
    """Negative-binomial counts: ``mean`` per unit-month, dispersion ``k`` of the unit total
    over the follow-up (variance ``lambda + lambda^2/k``), ``n_units``, ``months`` of follow-up.
    """

    n_units: int
    mean: float
    k: float = float("inf")
    months: int = 1
    treated_fraction: float = 0.5
    alpha: float = 0.05

    def se_log_rr(self, rate_ratio: float) -> float:
        lam = self.mean * self.months
        nt = self.n_units * self.treated_fraction
        nc = self.n_units - nt
        inv_k = 0.0 if not np.isfinite(self.k) else 1.0 / self.k
        return float(np.sqrt((1 / (lam * rate_ratio) + inv_k) / nt + (1 / lam + inv_k) / nc))


def power_counts(design: CountDesign, rate_ratio: float) -> float:
    """Power of the Wald test of log rate ratio = 0 for NB counts (Zhu & Lakkis 2014)."""
    if rate_ratio <= 0:
        raise InputError(f"rate ratio {rate_ratio} must be positive")
    z = stats.norm.ppf(1 - design.alpha / 2)
    shift = abs(np.log(rate_ratio)) / design.se_log_rr(rate_ratio)
    return float(stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift))


def mde_counts(design: CountDesign, target: float = 0.8) -> float:
    """Smallest proportional reduction (0.2 = 20% fewer crimes) with power ``target``."""

    def gap(reduction: float) -> float:
        return power_counts(design, 1 - reduction) - target

    if gap(0.999) < 0:
        return float("nan")
    return float(optimize.brentq(gap, 1e-9, 0.999))


def serial_correlation(panel: pd.DataFrame, outcome: str = "harm") -> tuple[float, float, float]:
    """Mean, SD and the within-unit correlation ``rho`` of ``outcome`` in a unit x month panel
    (columns ``unit, month, <outcome>``); ``rho`` is the one-way ANOVA intra-class correlation
    of months within units (Shrout & Fleiss 1979, ICC(1)), the equicorrelation of McKenzie 2012.
    """
    wide = panel.pivot_table(index="unit", columns="month", values=outcome, aggfunc="sum")
    y = wide.to_numpy(dtype=float)
    if np.isnan(y).any():
        y = np.nan_to_num(y)
    n, t = y.shape
    grand = y.mean()
    msb = t * ((y.mean(axis=1) - grand) ** 2).sum() / max(n - 1, 1)
    msw = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum() / max(n * (t - 1), 1)
    rho = (msb - msw) / (msb + (t - 1) * msw) if (msb + (t - 1) * msw) > 0 else 0.0
    return float(grand), float(y.std(ddof=1)), float(np.clip(rho, 0.0, 0.99))


@dataclass(frozen=True)
class PowerCurve:
    """Analytic power over a grid of effects, with the MDE at the target power."""

    design: PowerDesign
    effects: np.ndarray
    power: np.ndarray
    target: float
    mde: float
    scale: float = 1.0  # outcome units per proportional unit (mean level), for proportional axes

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "effect": self.effects,
                "reduction": self.effects / self.scale,
                "power": self.power,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self.design)
        return jsonable(
            {
                "design": d,
                "se": self.design.se,
                "df": self.design.df,
                "target": self.target,
                "mde": self.mde,
                "mde_reduction": self.mde / self.scale,
                "curve": self.summary().to_dict("list"),
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(100 * self.effects / self.scale, self.power, color="#2c3e50", label="analytic")
        ax.axhline(self.target, color="#7f8c8d", ls=":", lw=1)
        ax.axvline(100 * self.mde / self.scale, color="#c0392b", ls="--", lw=1, label="MDE")
        ax.set_xlabel("effect (% reduction)")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.legend(frameon=False)
        return ax


def power_curve(
    design: PowerDesign,
    effects: np.ndarray | None = None,
    *,
    target: float = 0.8,
    scale: float = 1.0,
) -> PowerCurve:
    """Power at each effect (outcome units); ``scale`` converts to proportional effects."""
    m = mde(design, target)
    if effects is None:
        effects = np.linspace(0, 2 * m, 41)
    effects = np.asarray(effects, dtype=float)
    pw = np.array([power(design, e) for e in effects])
    return PowerCurve(design, effects, pw, target, m, scale)
