"""Statistical process control charts for monthly indicators, and the run rules read on them.

One construction covers the three charts (Wheeler 2000, *Understanding Variation*; Laney 2002,
"Improved control charts for attributes", *Quality Engineering* 14(4):531-537; Montgomery 2019,
*Introduction to Statistical Quality Control*, 6.4 and 10.4 on charts of model residuals):

* each month's value ``y`` has an expected value ``e`` (the centre line) and a scale ``s``;
* the standardised deviation is ``z = (y - e) / s``;
* ``sigma_z`` is the mean moving range of ``z`` over the baseline months divided by
  ``d2 = 1.128`` (the mean range of two normal values, in standard deviations);
* the control limits are ``e +/- 3 * s * sigma_z`` (the lower limit floored at 0).

With ``e`` the baseline mean and ``s = 1`` this is the **XmR chart** (limits at the mean
+/- 2.66 mean moving ranges; the NHS "Making Data Count" chart). With counts ``c`` over an
exposure ``n`` (residents), ``e = u n`` and ``s = sqrt(u n)`` it is **Laney's u' chart**
(on the count scale): a u-chart whose Poisson sigma is inflated (or deflated) by the
between-month variation actually seen, which is what over-dispersed crime counts need. With
``e`` from a seasonal model (:mod:`triplet.performance.expected`) and ``s = sqrt(e)`` it is a
**seasonal u' chart**: variation is judged around the month's own expected value, so a summer
peak of violence is not a signal.

Run rules (:func:`run_rules`) are read on ``z`` against 0 and +/-3 ``sigma_z``:
beyond the limits, a run of 8 on one side, a trend of 6 (see :data:`RULES` for their words and
:mod:`triplet.performance` docs for their false-alarm rates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = [
    "D2",
    "RULES",
    "ControlChart",
    "laney_u_chart",
    "run_rules",
    "seasonal_u_chart",
    "standardised_chart",
    "xmr_chart",
]

#: d2 for moving ranges of two consecutive values (expected range of 2 normals / sigma).
D2 = 1.128
#: Default run rules: a run of RUN points on one side of the centre, a trend of TREND points.
RUN = 8
TREND = 6
#: What each rule says, in words for the Board.
RULES = {
    "beyond": (
        "A point beyond the control limits: a month further from its expected value than the "
        "indicator's own month-to-month variation explains (expected by chance about once in "
        "370 months)."
    ),
    "run": (
        "A run of {run} months on the same side of the centre line (the expected value): the "
        "level has probably shifted, even though no single month is extreme."
    ),
    "trend": (
        "A trend of {trend} months, each further above (or below) its expected value than the "
        "month before, after allowing for the season: a sustained drift rather than noise."
    ),
}


@dataclass(frozen=True)
class ControlChart:
    """A control chart of one monthly series, with its limits and signals.

    ``table`` columns: ``month, value, centre, lcl, ucl, z, phase`` (``baseline`` /
    ``monitoring``), ``beyond``, ``run``, ``trend`` (bool: the point is part of that signal),
    ``signal`` (any), ``direction`` (+1 above / rising, -1 below / falling, 0 none).
    ``sigma_z`` is the standard deviation of ``z`` estimated from the baseline moving ranges.
    """

    table: pd.DataFrame
    method: str
    sigma_z: float
    n_baseline: int
    run: int = RUN
    trend: int = TREND
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        t = self.table.astype({"month": "str"}).astype(object)
        return jsonable(
            {
                "method": self.method,
                "sigma_z": _num(self.sigma_z),
                "n_baseline": self.n_baseline,
                "run": self.run,
                "trend": self.trend,
                "points": t.where(t.notna(), None).to_dict("records"),
            }
        )

    def plot(self, ax=None, *, title: str | None = None, ylabel: str | None = None):
        """The chart: points (orange = a signal), centre line, control limits."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3))
        t = self.table
        x = np.arange(len(t))
        ax.plot(x, t["centre"], color="#57606a", lw=1.0, label="centre (expected)")
        ax.plot(x, t["ucl"], color="#57606a", lw=0.8, ls="--", label="control limits")
        ax.plot(x, t["lcl"], color="#57606a", lw=0.8, ls="--")
        ax.plot(x, t["value"], color="#1f6feb", lw=1.0, marker="o", ms=3)
        sig = t["signal"].to_numpy(bool)
        ax.scatter(x[sig], t["value"].to_numpy(float)[sig], color="#e36209", zorder=3, s=22)
        if self.n_baseline < len(t):
            ax.axvline(self.n_baseline - 0.5, color="#8c959f", lw=0.8, ls=":")
        step = max(1, len(t) // 8)
        ax.set_xticks(x[::step], [str(m) for m in t["month"].iloc[::step]], fontsize=7)
        if title:
            ax.set_title(title, fontsize=9)
        if ylabel:
            ax.set_ylabel(ylabel, fontsize=8)
        return ax


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def run_rules(z: np.ndarray, limit: float, *, run: int = RUN, trend: int = TREND) -> pd.DataFrame:
    """Which points are part of a signal, read on standardised deviations ``z``.

    * ``beyond``: ``|z| > limit``;
    * ``run``: the point belongs to ``run`` or more consecutive points strictly on one side of
      0 (a point exactly on the centre line breaks a run);
    * ``trend``: the point belongs to ``trend`` or more consecutive points each strictly higher
      (or each strictly lower) than the one before (a tie breaks a trend).

    Missing values (NaN) break runs and trends and signal nothing. Returns columns ``beyond,
    run, trend, signal, direction``; ``direction`` is the sign of the latest rule that flagged
    the point (beyond/run: the side; trend: up or down). Nelson (1984), *J Qual Technol* 16(4);
    Western Electric (1956), *Statistical Quality Control Handbook*.
    """
    z = np.asarray(z, dtype=float)
    n = len(z)
    if run < 2 or trend < 3:
        raise InputError(f"run must be >= 2 and trend >= 3, got run={run}, trend={trend}")
    ok = np.isfinite(z)
    beyond = ok & (np.abs(np.where(ok, z, 0.0)) > limit)
    direction = np.where(beyond, np.sign(np.where(ok, z, 0.0)), 0).astype(int)

    side = np.where(ok, np.sign(np.where(ok, z, 0.0)), 0).astype(int)
    in_run = np.zeros(n, dtype=bool)
    run_dir = np.zeros(n, dtype=int)
    i = 0
    while i < n:  # maximal stretches of points on one side
        if side[i] == 0:
            i += 1
            continue
        k = i
        while k + 1 < n and side[k + 1] == side[i]:
            k += 1
        if k - i + 1 >= run:
            in_run[i : k + 1] = True
            run_dir[i : k + 1] = side[i]
        i = k + 1
    in_trend = np.zeros(n, dtype=bool)
    trend_dir = np.zeros(n, dtype=int)
    step = np.zeros(max(n - 1, 0), dtype=int)  # step[j]: from point j to point j + 1
    if n >= 2:
        both = ok[1:] & ok[:-1]
        diff = np.diff(np.where(ok, z, 0.0))
        step[both & (diff > 0)] = 1
        step[both & (diff < 0)] = -1
    j = 0
    while j < n - 1:  # maximal stretches of equal steps; L steps cover L + 1 points
        if step[j] == 0:
            j += 1
            continue
        k = j
        while k + 1 < n - 1 and step[k + 1] == step[j]:
            k += 1
        if k - j + 2 >= trend:
            in_trend[j : k + 2] = True
            trend_dir[j : k + 2] = step[j]
        j = k + 1
    direction = np.where(in_run, run_dir, direction)
    direction = np.where(beyond, np.sign(np.where(ok, z, 0.0)).astype(int), direction)
    direction = np.where((direction == 0) & in_trend, trend_dir, direction)
    return pd.DataFrame(
        {
            "beyond": beyond,
            "run": in_run,
            "trend": in_trend,
            "signal": beyond | in_run | in_trend,
            "direction": direction.astype(int),
        }
    )


def standardised_chart(
    values: pd.Series | np.ndarray,
    expected: pd.Series | np.ndarray,
    scale: pd.Series | np.ndarray,
    *,
    n_baseline: int | None = None,
    months: pd.Index | None = None,
    method: str = "standardised",
    sigma_z: float | None = None,
    run: int = RUN,
    trend: int = TREND,
    k: float = 3.0,
) -> ControlChart:
    """The general chart: ``z = (value - expected) / scale``; ``sigma_z`` from the baseline's
    mean moving range of ``z`` / 1.128 (unless given); limits ``expected +/- k scale sigma_z``.

    ``n_baseline``: the first months whose moving ranges set ``sigma_z`` (default: all).
    """
    y = np.asarray(values, dtype=float)
    e = np.asarray(expected, dtype=float)
    s = np.asarray(scale, dtype=float)
    n = len(y)
    if not (len(e) == len(s) == n):
        raise InputError("values, expected and scale must have the same length")
    nb = n if n_baseline is None else int(n_baseline)
    if not 0 < nb <= n:
        raise InputError(f"n_baseline must be in 1..{n}, got {nb}")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (y - e) / s, np.nan)
    if sigma_z is None:
        mr = np.abs(np.diff(z[:nb]))
        mr = mr[np.isfinite(mr)]
        if len(mr) < 1:
            raise InputError(
                f"a control chart needs at least 2 baseline months with values, got {nb}"
            )
        sigma_z = float(mr.mean() / D2)
    lcl = np.maximum(e - k * s * sigma_z, 0.0)
    ucl = e + k * s * sigma_z
    if sigma_z > 0:
        zz = z / sigma_z
    else:  # no variation at all in the baseline: any departure is a signal
        zz = np.where(np.isfinite(z), np.sign(z) * np.inf, np.nan)
        zz = np.where(z == 0, 0.0, zz)
    signals = run_rules(zz, k, run=run, trend=trend)
    if months is not None:
        idx = months
    else:
        idx = values.index if isinstance(values, pd.Series) else pd.RangeIndex(n)
    table = pd.DataFrame(
        {
            "month": list(idx),
            "value": y,
            "centre": e,
            "lcl": lcl,
            "ucl": ucl,
            "z": zz,
            "phase": np.where(np.arange(n) < nb, "baseline", "monitoring"),
        }
    )
    table = pd.concat([table, signals], axis=1)
    return ControlChart(
        table=table, method=method, sigma_z=sigma_z, n_baseline=nb, run=run, trend=trend
    )


def xmr_chart(
    values: pd.Series | np.ndarray,
    *,
    n_baseline: int | None = None,
    months: pd.Index | None = None,
    run: int = RUN,
    trend: int = TREND,
) -> ControlChart:
    """XmR (individuals) chart: centre = baseline mean, limits = mean +/- 2.66 x mean moving
    range (3 / 1.128 = 2.66). Wheeler (2000); NHS England, *Making Data Count* (2019)."""
    y = np.asarray(values, dtype=float)
    nb = len(y) if n_baseline is None else int(n_baseline)
    base = y[:nb][np.isfinite(y[:nb])]
    if len(base) < 2:
        raise InputError(f"an XmR chart needs at least 2 baseline values, got {len(base)}")
    centre = np.full(len(y), base.mean())
    chart = standardised_chart(
        values,
        centre,
        np.ones(len(y)),
        n_baseline=nb,
        months=months,
        method="xmr",
        run=run,
        trend=trend,
    )
    return chart


def laney_u_chart(
    counts: pd.Series | np.ndarray,
    exposure: pd.Series | np.ndarray,
    *,
    n_baseline: int | None = None,
    months: pd.Index | None = None,
    run: int = RUN,
    trend: int = TREND,
) -> ControlChart:
    """Laney u' chart on the count scale: ``u = sum c / sum n`` over the baseline, expected
    ``u n``, scale ``sqrt(u n)`` (Poisson), inflated by ``sigma_z`` from the moving ranges of
    the z-scores. Laney (2002), *Quality Engineering* 14(4):531-537."""
    c = np.asarray(counts, dtype=float)
    n = np.asarray(exposure, dtype=float)
    nb = len(c) if n_baseline is None else int(n_baseline)
    if (n <= 0).any() or not np.isfinite(n).all():
        raise InputError("exposure (denominators) must be positive numbers")
    u = np.nansum(c[:nb]) / n[:nb][np.isfinite(c[:nb])].sum()
    if u <= 0:
        raise InputError("a u' chart needs a positive baseline rate (all baseline counts are 0)")
    e = u * n
    return standardised_chart(
        counts,
        e,
        np.sqrt(e),
        n_baseline=nb,
        months=months,
        method="laney_u",
        run=run,
        trend=trend,
    )


def seasonal_u_chart(
    values: pd.Series | np.ndarray,
    expected: pd.Series | np.ndarray,
    *,
    n_baseline: int | None = None,
    months: pd.Index | None = None,
    leverage: pd.Series | np.ndarray | None = None,
    run: int = RUN,
    trend: int = TREND,
) -> ControlChart:
    """u'-style chart around a model's expected value ``e`` (e.g. the seasonal GLM): scale
    ``sqrt(e)`` (variance proportional to the mean, as in a quasi-Poisson model).

    ``leverage``: the fit's hat values ``h``; the baseline deviations are divided by
    ``sqrt(1 - h)`` before their moving ranges are taken, because a model fitted to the same
    months pulls its fitted values towards the data and would otherwise give too-narrow limits
    (Montgomery 2019, 10.4; McCullagh & Nelder 1989, 12.5 on standardised residuals); a later
    month's scale is multiplied by ``sqrt(1 + h)``, the usual inflation of a prediction error.
    """
    y = np.asarray(values, dtype=float)
    e = np.asarray(expected, dtype=float)
    nb = len(y) if n_baseline is None else int(n_baseline)
    s = np.sqrt(np.maximum(e, 1e-12))
    sigma_z = None
    if leverage is not None:
        h_all = np.asarray(leverage, dtype=float)
        h = h_all[:nb]
        with np.errstate(divide="ignore", invalid="ignore"):
            zb = (y[:nb] - e[:nb]) / s[:nb] / np.sqrt(np.clip(1 - h, 1e-6, None))
        # a later month's deviation also carries the error of the extrapolated mean
        s = s * np.where(np.arange(len(y)) < nb, 1.0, np.sqrt(1 + np.clip(h_all, 0, None)))
        mr = np.abs(np.diff(zb))
        mr = mr[np.isfinite(mr)]
        if len(mr):
            sigma_z = float(mr.mean() / D2)
    return standardised_chart(
        values,
        e,
        s,
        n_baseline=nb,
        months=months,
        method="seasonal_u",
        sigma_z=sigma_z,
        run=run,
        trend=trend,
    )
