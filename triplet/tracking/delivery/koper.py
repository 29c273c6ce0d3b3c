"""The Koper curve: time to the next crime in a hot spot after a visit ends, by visit length.

Koper (1995) found that police presence deters longest after stays of about 10-15 minutes
("residual deterrence"). Here each visit's end starts a clock; the event is the next crime
recorded in the same unit; the time is censored at the unit's next visit (the next visit
restarts the clock), at ``horizon_hours`` or at the end of the records. Survival curves are
Kaplan-Meier by visit-length band (statsmodels ``SurvfuncRight``) and a Cox proportional
hazards model of the visit length (statsmodels ``PHReg``, hazard ratio per 5 minutes longer).

**Caveat**: this needs the time of each crime, which only a force's own extract gives;
data.police.uk publishes months only, so the curve cannot be drawn from police.uk data. Crime
times are recording times (often when reported, not when committed). Visit length is not
randomised: longer visits may go to busier places (confounding), so this is exploratory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem

__all__ = ["KOPER_BANDS", "KoperCurve", "koper_curve"]

#: Visit-length bands (minutes): [low, high).
KOPER_BANDS = ((0, 10), (10, 15), (15, 20), (20, np.inf))

CAVEAT = (
    "Needs crime times (force extracts): data.police.uk gives months only. Times are recording "
    "times; visit length is not randomised, so the curve is exploratory."
)


def _band_label(lo: float, hi: float) -> str:
    return f"{lo:g}+ min" if not np.isfinite(hi) else f"{lo:g}-{hi:g} min"


@dataclass(frozen=True)
class KoperCurve:
    """Per visit: ``unit, minutes, band, hours, event`` (``table``); KM medians by band; Cox."""

    table: pd.DataFrame
    hazard_ratio_per_5min: float | None
    hr_ci_low: float | None
    hr_ci_high: float | None
    p_value: float | None
    horizon_hours: float
    caveat: str = CAVEAT

    def summary(self) -> pd.DataFrame:
        from statsmodels.duration.survfunc import SurvfuncRight

        rows = []
        for band, g in self.table.groupby("band", sort=True, observed=True):
            sf = SurvfuncRight(g["hours"].to_numpy(), g["event"].to_numpy())
            med = sf.quantile(0.5)
            rows.append(
                {
                    "band": band,
                    "visits": len(g),
                    "crimes": int(g["event"].sum()),
                    "median_hours_to_next_crime": None if np.isnan(med) else float(med),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        from triplet.io import jsonable

        return jsonable(
            {
                "visits": len(self.table),
                "crimes_followed": int(self.table["event"].sum()),
                "horizon_hours": self.horizon_hours,
                "hazard_ratio_per_5min": self.hazard_ratio_per_5min,
                "hr_ci_low": self.hr_ci_low,
                "hr_ci_high": self.hr_ci_high,
                "p_value": self.p_value,
                "bands": self.summary().to_dict(orient="records"),
                "caveat": self.caveat,
            }
        )

    def plot(self, ax=None):
        """Kaplan-Meier curves of time to the next crime, one per visit-length band."""
        import matplotlib.pyplot as plt
        from statsmodels.duration.survfunc import SurvfuncRight

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        colours = ["#999999", "#E69F00", "#0072B2", "#009E73"]
        for (band, g), c in zip(
            self.table.groupby("band", sort=True, observed=True), colours, strict=False
        ):
            sf = SurvfuncRight(g["hours"].to_numpy(), g["event"].to_numpy())
            ax.step(
                np.r_[0, sf.surv_times],
                np.r_[1, sf.surv_prob],
                where="post",
                color=c,
                label=f"{band} (n={len(g)})",
            )
        ax.set_xlabel("hours after the visit ended")
        ax.set_ylabel("share with no crime yet")
        ax.set_ylim(0, 1.02)
        hr = self.hazard_ratio_per_5min
        ax.legend(
            frameon=False,
            fontsize=8,
            title="visit length" + (f" (Cox HR per 5 min {hr:.2f})" if hr is not None else ""),
            title_fontsize=8,
        )
        ax.set_title("Koper curve: time to the next crime after a visit", fontsize=10)
        return ax


def koper_curve(
    visits: pd.DataFrame,
    events: pd.DataFrame,
    *,
    event_time: str = "date",
    event_unit: str = "unit",
    timezone: str = "Europe/London",
    horizon_hours: float = 24.0,
    bands=KOPER_BANDS,
) -> KoperCurve:
    """Time from each visit's end to the next crime in its unit (module docstring).

    ``visits``: ``unit, start, end, minutes`` (tz-aware). ``events``: crimes with ``event_unit``
    and ``event_time`` (naive local clock times are localised to ``timezone``; an hour that
    does not exist or occurs twice is shifted/taken as the first).
    """
    if event_time not in events.columns or events[event_time].isna().all():
        raise InputError(
            Problem(
                file="<records>",
                field=event_time,
                message="no crime times: the Koper curve needs a force extract with times "
                "(data.police.uk gives months only)",
            )
        )
    ev = events[[event_unit, event_time]].dropna()
    t = pd.to_datetime(ev[event_time])
    if getattr(t.dt, "tz", None) is None:
        if (t.dt.hour.eq(0) & t.dt.minute.eq(0)).mean() > 0.9:
            raise InputError(
                Problem(
                    file="<records>",
                    field=event_time,
                    message="crime times are dates only (midnight): the Koper curve needs "
                    "times of day",
                )
            )
        t = t.dt.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    ev_ns = t.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]").astype("int64")
    ev_unit = ev[event_unit].astype("str").to_numpy()
    v = visits.sort_values(["unit", "start"]).reset_index(drop=True)
    v_unit = v["unit"].astype("str").to_numpy()
    v_end = v["end"].to_numpy(dtype="datetime64[ns]").astype("int64")
    v_start = v["start"].to_numpy(dtype="datetime64[ns]").astype("int64")
    horizon_ns = horizon_hours * 3.6e12
    data_end = ev_ns.max() if len(ev_ns) else 0
    hours = np.full(len(v), np.nan)
    event = np.zeros(len(v), dtype=bool)
    order = np.lexsort((ev_ns, ev_unit))
    eu, et = ev_unit[order], ev_ns[order]
    for u in np.unique(v_unit):
        vi = np.flatnonzero(v_unit == u)
        lo, hi = np.searchsorted(eu, u, "left"), np.searchsorted(eu, u, "right")
        times = np.append(et[lo:hi].astype(float), np.inf)  # inf: no later crime
        nxt = times[np.searchsorted(times[:-1], v_end[vi], side="right")]
        next_visit = np.r_[v_start[vi][1:], np.inf]
        censor = np.minimum.reduce(
            [next_visit, v_end[vi] + horizon_ns, np.full(len(vi), float(data_end))]
        )
        got = nxt <= censor
        hours[vi] = (np.where(got, nxt, censor) - v_end[vi]) / 3.6e12
        event[vi] = got
    ok = np.isfinite(hours) & (hours >= 0)
    labels = [_band_label(lo, hi) for lo, hi in bands]
    edges = [b[0] for b in bands] + [np.inf]
    band = pd.cut(v["minutes"], bins=edges, right=False, labels=labels)
    table = pd.DataFrame(
        {
            "unit": v_unit,
            "minutes": v["minutes"].to_numpy(),
            "band": band,
            "hours": hours,
            "event": event.astype(int),
        }
    )[ok].reset_index(drop=True)
    hr = lo_ci = hi_ci = p = None
    if table["event"].sum() >= 5 and table["minutes"].nunique() > 1:
        from statsmodels.duration.hazard_regression import PHReg

        x = (table[["minutes"]] / 5.0).to_numpy()
        fit = PHReg(
            table["hours"].to_numpy(), x, status=table["event"].to_numpy(), ties="efron"
        ).fit()
        b, se = float(fit.params[0]), float(fit.bse[0])
        hr, lo_ci, hi_ci = np.exp(b), np.exp(b - 1.96 * se), np.exp(b + 1.96 * se)
        p = float(fit.pvalues[0])
    return KoperCurve(table, hr, lo_ci, hi_ci, p, horizon_hours)
