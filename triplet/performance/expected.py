"""Expected monthly values with prediction intervals, from an indicator's own baseline.

A quasi-Poisson generalised linear model (log link) is fitted to the baseline months:

    log E[y_t] = b0 + sum_k (a_k sin(2 pi k m_t / 12) + c_k cos(2 pi k m_t / 12)) [+ d t]

with ``m_t`` the month of the year and ``K`` harmonics (default 2; Fourier seasonality as in
Stolwijk, Straatman & Zielhuis 1999, *J Epidemiol Community Health* 53:235-238, and common in
crime-seasonality work). Variance is ``phi * mean`` with the dispersion ``phi`` estimated by
Pearson's X^2 / df (McCullagh & Nelder 1989, ch. 4 and 9), so it serves counts and harm (days)
alike. The optional linear trend ``d`` is off by default: a trend fitted to two years and
extrapolated is a forecast, not a baseline.

For a later month the prediction interval is taken from a gamma distribution with the
model's mean ``mu`` and predictive variance ``phi mu + mu^2 var(eta)`` (the new month's own
variation plus the uncertainty of the fitted mean, by the delta method), which is positive and
right-skewed like the counts. Seasonal terms need at least 24 baseline months; with fewer the
model has no seasonality and says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = ["Expected", "design_matrix", "expected_values"]

MIN_SEASONAL_MONTHS = 24


@dataclass(frozen=True)
class Expected:
    """Expected values of one monthly series.

    ``table`` columns: ``month, value, expected, pi_low, pi_high, phase``; ``leverage`` holds the
    baseline fit's hat values and, for later months, the same quadratic form (the prediction's
    variance inflation; for :func:`triplet.performance.spc.seasonal_u_chart`);
    ``dispersion`` is phi; ``terms`` says what the model contains.
    """

    table: pd.DataFrame
    leverage: np.ndarray = field(repr=False)
    dispersion: float
    harmonics: int
    trend: bool
    level: float
    n_baseline: int
    notes: tuple[str, ...] = ()

    @property
    def terms(self) -> str:
        parts = ["a constant level"]
        if self.harmonics:
            parts.append(f"seasonality ({self.harmonics} harmonic{'s' * (self.harmonics > 1)})")
        if self.trend:
            parts.append("a linear trend")
        return " + ".join(parts)

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        t = self.table.astype({"month": "str"}).astype(object)
        return jsonable(
            {
                "model": "quasi-Poisson GLM, log link",
                "terms": self.terms,
                "dispersion": float(self.dispersion),
                "level": self.level,
                "n_baseline": self.n_baseline,
                "notes": list(self.notes),
                "months": t.where(t.notna(), None).to_dict("records"),
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3))
        t = self.table
        x = np.arange(len(t))
        ax.fill_between(x, t["pi_low"], t["pi_high"], color="#ddf4ff", label="prediction interval")
        ax.plot(x, t["expected"], color="#57606a", lw=1, label="expected")
        ax.plot(x, t["value"], color="#1f6feb", marker="o", ms=3, lw=1, label="observed")
        ax.legend(fontsize=7)
        return ax


def design_matrix(months: pd.PeriodIndex, *, harmonics: int, trend: bool) -> np.ndarray:
    """Columns: constant, sin/cos of each harmonic of the month of the year, months since the
    first month (if ``trend``)."""
    moy = np.asarray(months.month, dtype=float)
    cols = [np.ones(len(months))]
    for k in range(1, harmonics + 1):
        cols.append(np.sin(2 * np.pi * k * moy / 12))
        cols.append(np.cos(2 * np.pi * k * moy / 12))
    if trend:
        t = np.asarray([(m - months[0]).n for m in months], dtype=float)
        cols.append(t / 12.0)
    return np.column_stack(cols)


def expected_values(
    series: pd.Series,
    *,
    n_baseline: int,
    harmonics: int = 2,
    trend: bool = False,
    level: float = 0.95,
) -> Expected:
    """Fit the baseline (the first ``n_baseline`` months of ``series``, indexed by
    ``Period[M]``) and give every month its expected value and prediction interval.

    Baseline months get in-sample fitted values and intervals of the same form.
    """
    import statsmodels.api as sm
    from scipy import stats

    if not isinstance(series.index, pd.PeriodIndex):
        raise InputError("the series must be indexed by months (Period[M])")
    y = series.to_numpy(dtype=float)
    n = len(y)
    if not 2 <= n_baseline <= n:
        raise InputError(f"baseline must have 2..{n} months, got {n_baseline}")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    yb = y[:n_baseline]
    if not np.isfinite(yb).all() or (yb < 0).any():
        raise InputError("baseline values must be non-negative numbers")
    if yb.sum() <= 0:
        raise InputError("every baseline month is 0: there is no level to monitor against")
    notes = []
    if harmonics and n_baseline < MIN_SEASONAL_MONTHS:
        notes.append(
            f"no seasonality: the baseline has {n_baseline} months, seasonal terms need "
            f"{MIN_SEASONAL_MONTHS}"
        )
        harmonics = 0
    X = design_matrix(series.index, harmonics=harmonics, trend=trend)
    Xb = X[:n_baseline]
    model = sm.GLM(yb, Xb, family=sm.families.Poisson())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-integer harm values: quasi-likelihood on purpose
        try:
            fit = model.fit()
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise InputError(f"the baseline model could not be fitted: {exc}") from None
    beta = np.asarray(fit.params)
    mub = np.exp(Xb @ beta)
    df = max(n_baseline - Xb.shape[1], 1)
    phi = float(np.sum((yb - mub) ** 2 / mub) / df)  # Pearson X^2 / df
    cov = np.asarray(fit.cov_params()) * phi
    eta = X @ beta
    mu = np.exp(eta)
    var_eta = np.einsum("ij,jk,ik->i", X, cov, X)
    var_pred = np.maximum(phi * mu + mu**2 * var_eta, 1e-12 * mu)
    shape = mu**2 / var_pred
    scale = var_pred / mu
    a = (1 - level) / 2
    lo = stats.gamma.ppf(a, shape, scale=scale)
    hi = stats.gamma.ppf(1 - a, shape, scale=scale)
    # hat values of the weighted fit (weights = mu for the Poisson log link); for later months
    # the same quadratic form, x' (X'WX)^-1 x mu, inflates the prediction error (1 + h)
    Xw = X * np.sqrt(mu)[:, None]
    inv = np.linalg.pinv(Xw[:n_baseline].T @ Xw[:n_baseline])
    h = np.einsum("ij,jk,ik->i", Xw, inv, Xw)
    table = pd.DataFrame(
        {
            "month": series.index,
            "value": y,
            "expected": mu,
            "pi_low": lo,
            "pi_high": hi,
            "phase": np.where(np.arange(n) < n_baseline, "baseline", "monitoring"),
        }
    )
    return Expected(
        table=table,
        leverage=h,
        dispersion=phi,
        harmonics=harmonics,
        trend=trend,
        level=level,
        n_baseline=n_baseline,
        notes=tuple(notes),
    )
