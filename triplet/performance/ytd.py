"""Year to date against the same months of the year before, with an interval.

``R = Y1 / Y0`` where ``Y1`` is the total from January to the as-of month and ``Y0`` the total
of the same months a year earlier (so seasonality cancels). Under a quasi-Poisson model with
dispersion ``phi`` (variance ``phi x mean``; the indicator's baseline fit,
:mod:`triplet.performance.expected`), ``var(log R) ~= phi (1/Y1 + 1/Y0)`` (delta method; the
two periods independent), and the interval is ``R exp(+/- z sqrt(var))``. With ``phi = 1``
this is the usual interval for a ratio of two Poisson rates (e.g. Rothman, Greenland & Lash
2008, *Modern Epidemiology*, ch. 14). The change is reported in per cent with its interval and
said in words only when the interval excludes no change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = ["YearToDate", "year_to_date"]


@dataclass(frozen=True)
class YearToDate:
    """``this_year`` / ``last_year`` totals over ``months`` (Jan..as-of) and the change in per
    cent with its interval (``None`` when a total is 0)."""

    as_of: str
    months: int
    this_year: float
    last_year: float
    percent_change: float | None
    ci_low: float | None
    ci_high: float | None
    level: float
    dispersion: float

    @property
    def words(self) -> str:
        if self.percent_change is None:
            return "not comparable (a zero total)"
        if self.ci_low is not None and self.ci_low > 0:
            return "higher than last year"
        if self.ci_high is not None and self.ci_high < 0:
            return "lower than last year"
        return "no clear change from last year"

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict[str, Any]:
        return jsonable({**asdict(self), "words": self.words})

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(3, 2))
        ax.bar(["last year", "this year"], [self.last_year, self.this_year], color="#8c959f")
        return ax


def year_to_date(
    series: pd.Series, as_of: pd.Period | str, *, dispersion: float = 1.0, level: float = 0.95
) -> YearToDate:
    """Year to date (January to ``as_of``) against the same months a year before.

    ``series`` is indexed by ``Period[M]``; every month of both periods must be present.
    """
    from scipy import stats

    as_of = pd.Period(as_of, freq="M")
    this = pd.period_range(pd.Period(year=as_of.year, month=1, freq="M"), as_of, freq="M")
    last = this - 12
    missing = [str(m) for m in [*last, *this] if m not in series.index]
    if missing:
        raise InputError(
            f"year to date needs every month of {last[0]}..{as_of}; missing {missing[:3]}"
        )
    y1 = float(series.loc[this].sum())
    y0 = float(series.loc[last].sum())
    phi = max(float(dispersion), 1e-12)
    if y1 <= 0 or y0 <= 0:
        pc = lo = hi = None
    else:
        r = y1 / y0
        z = stats.norm.ppf(0.5 + level / 2)
        half = z * np.sqrt(phi * (1 / y1 + 1 / y0))
        pc = 100 * (r - 1)
        lo = 100 * (r * np.exp(-half) - 1)
        hi = 100 * (r * np.exp(half) - 1)
    return YearToDate(
        as_of=str(as_of),
        months=len(this),
        this_year=y1,
        last_year=y0,
        percent_change=pc,
        ci_low=lo,
        ci_high=hi,
        level=level,
        dispersion=phi,
    )
