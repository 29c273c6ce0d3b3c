"""Delivered against registered dose: per unit and week, both arms, gaps (``triplet delivery``).

No effect is estimated here: this is the field-period view of the third T's "track the
delivery" (docs/delivery.md). The registered dose is ``intervention.dosage``: minutes per visit
x visits per day, on ``days_per_week`` days a week. Days with no delivery data at all (a
radio-system outage) are gaps: they count neither as delivered nor as missed, and are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError

__all__ = [
    "DOSE_SHORTFALL",
    "SHORTFALL_TEXT",
    "DeliveryReport",
    "delivery_report",
    "planned_per_day",
]

#: Below this delivered share of the registered dose the trial tests the delivery, not the idea.
DOSE_SHORTFALL = 0.5
SHORTFALL_TEXT = "not delivered as planned: the result tests the delivery, not the idea"


def planned_per_day(dosage) -> tuple[float, float]:
    """(target minutes on a patrol day, average planned minutes per calendar day)."""
    if dosage is None or dosage.minutes_per_visit is None or dosage.visits_per_day is None:
        raise InputError(
            "intervention.dosage needs minutes_per_visit and visits_per_day to measure delivery"
        )
    day = float(dosage.minutes_per_visit) * float(dosage.visits_per_day)
    return day, day * float(dosage.days_per_week or 7) / 7


@dataclass(frozen=True)
class DeliveryReport:
    """Delivery of one trial to date.

    ``weekly``: ``unit, arm, week (Monday), minutes, visits, days, data_days, planned, share``;
    ``per_unit``: the same over the period. ``delivered_share``: treated minutes / registered
    minutes over the days with data. ``met_share``: share of treated unit-days (with data)
    reaching the day's target. ``control_minutes_per_day``: drift into control units.
    """

    trial_id: str
    first_day: str
    last_day: str
    target_minutes_per_day: float
    planned_minutes_per_day: float
    delivered_share: float | None
    met_share: float | None
    treated_minutes_per_day: float | None
    control_minutes_per_day: float | None
    control_share_of_treated: float | None
    gap_days: tuple[str, ...]
    weekly: pd.DataFrame = field(repr=False)
    per_unit: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def below_half(self) -> bool:
        return self.delivered_share is not None and self.delivered_share < DOSE_SHORTFALL

    def statement(self) -> str:
        if self.delivered_share is None:
            return "no delivery data yet"
        s = (
            f"{100 * self.delivered_share:.0f}% of the registered dose delivered to treated "
            f"units ({self.treated_minutes_per_day:.1f} of {self.planned_minutes_per_day:.0f} "
            f"minutes a day); {100 * (self.met_share or 0):.0f}% of treated unit-days met the "
            f"dose; control units got {self.control_minutes_per_day:.1f} minutes a day"
        )
        return s + (f". {SHORTFALL_TEXT[0].upper()}{SHORTFALL_TEXT[1:]}" if self.below_half else "")

    def summary(self) -> pd.DataFrame:
        rows = [
            ("period", f"{self.first_day} to {self.last_day}"),
            (
                "registered minutes per unit-day (target on a patrol day)",
                self.target_minutes_per_day,
            ),
            ("delivered share of the registered dose (treated)", self.delivered_share),
            ("treated unit-days meeting the dose", self.met_share),
            ("minutes per treated unit-day", self.treated_minutes_per_day),
            ("minutes per control unit-day (contamination)", self.control_minutes_per_day),
            ("days with no delivery data", len(self.gap_days)),
        ]
        return pd.DataFrame(rows, columns=["item", "value"])

    def to_dict(self) -> dict[str, Any]:
        from triplet.io import jsonable

        weekly = self.weekly.assign(week=self.weekly["week"].dt.strftime("%Y-%m-%d"))
        return jsonable(
            {
                "trial": self.trial_id,
                "first_day": self.first_day,
                "last_day": self.last_day,
                "target_minutes_per_day": self.target_minutes_per_day,
                "planned_minutes_per_day": self.planned_minutes_per_day,
                "delivered_share": self.delivered_share,
                "met_share": self.met_share,
                "treated_minutes_per_day": self.treated_minutes_per_day,
                "control_minutes_per_day": self.control_minutes_per_day,
                "control_share_of_treated": self.control_share_of_treated,
                "below_half": self.below_half,
                "statement": self.statement(),
                "gap_days": list(self.gap_days),
                "n_gap_days": len(self.gap_days),
                "per_unit": self.per_unit.to_dict(orient="records"),
                "weekly": weekly.to_dict(orient="records"),
                "notes": list(self.notes),
            }
        )

    def heatmap(self, ax=None):
        """Unit x week heat map of minutes per day (treated units first, then control)."""
        import matplotlib.pyplot as plt

        w = self.weekly.assign(per_day=self.weekly["minutes"] / self.weekly["data_days"].clip(1))
        order = self.per_unit.sort_values(["arm", "share"], ascending=[False, False])["unit"]
        grid = w.pivot(index="unit", columns="week", values="per_day").reindex(order)
        if ax is None:
            _, ax = plt.subplots(figsize=(10, max(3.0, 0.16 * len(grid) + 1.5)))
        vmax = max(self.target_minutes_per_day * 1.5, 1.0)
        im = ax.imshow(
            grid.to_numpy(),
            aspect="auto",
            cmap="viridis",
            vmin=0,
            vmax=vmax,
            interpolation="nearest",
        )
        arms = self.per_unit.set_index("unit").loc[order, "arm"].to_numpy()
        n_t = int((arms == "treatment").sum())
        ax.axhline(n_t - 0.5, color="white", lw=1.5)
        ax.set_yticks([n_t / 2 - 0.5, n_t + (len(arms) - n_t) / 2 - 0.5], ["treatment", "control"])
        weeks = grid.columns
        step = max(1, len(weeks) // 12)
        ax.set_xticks(
            range(0, len(weeks), step),
            [pd.Timestamp(x).strftime("%d %b") for x in weeks[::step]],
            rotation=45,
            ha="right",
            fontsize=7,
        )
        ax.set_title(
            "Minutes a day in each unit's patrol area, by week "
            f"(registered: {self.target_minutes_per_day:.0f})"
        )
        ax.figure.colorbar(im, ax=ax, label="minutes per day")
        return ax

    def plot(self, ax=None):
        """Treatment vs control minutes per unit-day, by week, against the registered dose."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5))
        w = self.weekly.groupby(["week", "arm"])[["minutes", "data_days"]].sum().reset_index()
        w["per_day"] = w["minutes"] / w["data_days"].where(w["data_days"] > 0)
        for arm, colour in (("treatment", "#0072B2"), ("control", "#D55E00")):
            s = w[w["arm"] == arm]
            ax.plot(s["week"], s["per_day"], marker="o", ms=3, color=colour, label=arm)
        ax.axhline(
            self.planned_minutes_per_day, color="0.3", ls="--", lw=1, label="registered dose"
        )
        ax.set_ylabel("minutes per unit-day")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize=8)
        ax.set_title("Delivered patrol minutes, treatment and control units")
        return ax


def delivery_report(
    unit_day: pd.DataFrame, dosage, *, trial_id: str = "", notes: tuple[str, ...] = ()
) -> DeliveryReport:
    """Delivered vs registered dose from a unit x day table (``unit, arm, day, minutes, visits,
    has_data``; :func:`triplet.tracking.delivery.load_delivery`)."""
    need = {"unit", "arm", "day", "minutes", "visits", "has_data"}
    missing = need - set(unit_day.columns)
    if missing:
        raise InputError(f"unit-day table lacks columns {sorted(missing)}", file="unit_day")
    target, planned = planned_per_day(dosage)
    ud = unit_day.copy()
    ud["week"] = ud["day"] - pd.to_timedelta(ud["day"].dt.day_of_week, unit="D")
    ud["data_minutes"] = ud["minutes"].where(ud["has_data"], 0.0)
    ud["met"] = (ud["minutes"] >= target - 1e-9) & ud["has_data"]

    def agg(keys: list[str]) -> pd.DataFrame:
        g = ud.groupby(keys, sort=True)
        out = g.agg(
            minutes=("data_minutes", "sum"),
            visits=("visits", "sum"),
            days=("day", "size"),
            data_days=("has_data", "sum"),
        ).reset_index()
        out["planned"] = np.where(out["arm"] == "treatment", planned * out["data_days"], 0.0)
        out["share"] = out["minutes"] / (planned * out["data_days"]).where(out["data_days"] > 0)
        return out

    weekly = agg(["unit", "arm", "week"])
    per_unit = agg(["unit", "arm"])
    t = ud[(ud["arm"] == "treatment") & ud["has_data"]]
    c = ud[(ud["arm"] != "treatment") & ud["has_data"]]
    t_mean = float(t["minutes"].mean()) if len(t) else None
    c_mean = float(c["minutes"].mean()) if len(c) else None
    days = ud.drop_duplicates("day")
    gaps = tuple(str(d.date()) for d in days.loc[~days["has_data"], "day"])
    return DeliveryReport(
        trial_id=trial_id,
        first_day=str(ud["day"].min().date()),
        last_day=str(ud["day"].max().date()),
        target_minutes_per_day=target,
        planned_minutes_per_day=planned,
        delivered_share=None if t_mean is None else t_mean / planned,
        met_share=float(t["met"].mean()) if len(t) else None,
        treated_minutes_per_day=t_mean,
        control_minutes_per_day=c_mean,
        control_share_of_treated=(c_mean / t_mean) if t_mean and c_mean is not None else None,
        gap_days=gaps,
        weekly=weekly,
        per_unit=per_unit,
        notes=tuple(notes),
    )
