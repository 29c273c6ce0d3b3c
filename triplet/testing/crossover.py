"""Place-day (crossover) assignment: places randomised to treatment day by day.

Each day, ``treated_per_day`` places are drawn at random (equal chances) from the places
*eligible* that day; a place is eligible unless it has been treated ``max_consecutive`` days
in a row up to yesterday, or it is within ``washout_days`` untreated days after its last
treated day. The untreated days right after a treated run are washout days: they are neither
treated nor controls in the analysis (carry-over; Senn 2002, *Cross-over Trials in Clinical
Research*, ch. 1). Designs of this kind: Southend-on-Sea (1,800 place-days randomised day by
day) and the West Midlands daily randomisation of patrol patterns.

Every place's chance of treatment on a day depends on its own earlier assignments only (never
on outcomes), so randomisation inference that re-draws the whole day-by-day scheme
(:func:`draw_place_days`) gives an exact test of the sharp null of no effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = [
    "PlaceDayAssignment",
    "PlaceDayRules",
    "assign_place_days",
    "draw_place_days",
    "read_schedule",
    "slot_of",
]


@dataclass(frozen=True)
class PlaceDayRules:
    """The day-by-day scheme: places treated per day, longest treated run, washout days."""

    treated_per_day: int
    max_consecutive: int = 1
    washout_days: int = 0

    def check(self, n_places: int) -> None:
        problems = []
        if not 1 <= self.treated_per_day < n_places:
            problems.append(
                Problem(
                    "design",
                    f"treated_per_day must be 1..{n_places - 1} "
                    f"(places: {n_places}), got {self.treated_per_day}",
                    field="treated_per_day",
                )
            )
        if self.max_consecutive < 1:
            problems.append(
                Problem("design", "max_consecutive must be at least 1", field="max_consecutive")
            )
        if self.washout_days < 0:
            problems.append(
                Problem("design", "washout_days must be 0 or more", field="washout_days")
            )
        if problems:
            raise InputError(*problems)


def draw_place_days(
    n_places: int, n_days: int, rules: PlaceDayRules, *, n_draws: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` independent runs of the scheme: ``(treated, washout)``, bool arrays of shape
    draws x places x days. Draw 0 is the realised assignment of :func:`assign_place_days`
    with the same ``seed`` (draws are generated together, so draw 0 does not depend on
    ``n_draws``: each draw has its own child stream of ``SeedSequence(seed)``)."""
    rules.check(n_places)
    if n_days < 1 or n_draws < 1:
        raise InputError(Problem("design", "need at least one day and one draw", field="days"))
    streams = [
        np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(n_draws)
    ]
    # one uniform key per draw x day x place, each draw from its own stream
    keys = np.stack([g.random((n_days, n_places)) for g in streams])
    treated = np.zeros((n_draws, n_places, n_days), dtype=bool)
    washout = np.zeros_like(treated)
    run = np.zeros((n_draws, n_places), dtype=np.int64)  # treated days in a row to yesterday
    big = np.iinfo(np.int32).max
    since = np.full((n_draws, n_places), big, dtype=np.int64)  # days since last treated day
    k = rules.treated_per_day
    for day in range(n_days):
        # continue a run (yesterday treated) under the cap, or start one after the washout
        eligible = np.where(since == 1, run < rules.max_consecutive, since > rules.washout_days)
        key = np.where(eligible, keys[:, day, :], np.inf)
        chosen = np.argsort(key, axis=1, kind="stable")[:, :k]
        today = np.zeros_like(eligible)
        np.put_along_axis(today, chosen, True, axis=1)
        today &= eligible
        treated[:, :, day] = today
        washout[:, :, day] = ~today & (since <= rules.washout_days)
        run = np.where(today, np.where(since == 1, run + 1, 1), 0)
        since = np.where(today, 1, np.minimum(since + 1, big))
    return treated, washout


@dataclass(frozen=True)
class PlaceDayAssignment:
    """A realised place-day assignment: ``table`` has one row per place x day with columns
    ``unit, day, treated, washout`` (washout days are untreated and not analysed)."""

    table: pd.DataFrame
    rules: PlaceDayRules
    seed: int

    def summary(self) -> pd.DataFrame:
        t = self.table
        return pd.DataFrame(
            {
                "places": [t["unit"].nunique()],
                "days": [t["day"].nunique()],
                "treated_place_days": [int(t["treated"].sum())],
                "washout_place_days": [int(t["washout"].sum())],
                "control_place_days": [int((~t["treated"] & ~t["washout"]).sum())],
            }
        )

    def to_dict(self) -> dict:
        return jsonable(
            {
                "rules": {
                    "treated_per_day": self.rules.treated_per_day,
                    "max_consecutive": self.rules.max_consecutive,
                    "washout_days": self.rules.washout_days,
                },
                "seed": self.seed,
                **{k: int(v) for k, v in self.summary().iloc[0].items()},
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        grid = self.table.assign(
            v=self.table["treated"].astype(int) - 0.5 * self.table["washout"].astype(int)
        ).pivot(index="unit", columns="day", values="v")
        ax.imshow(
            grid.to_numpy(dtype=float),
            aspect="auto",
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            interpolation="nearest",
        )
        ax.set_xlabel("day")
        ax.set_ylabel("place")
        ax.set_title("Place-day assignment (red treated, light blue washout)")
        return ax


def assign_place_days(units, days, rules: PlaceDayRules, *, seed: int) -> PlaceDayAssignment:
    """Randomise ``units`` (place ids) over ``days`` (dates or labels, in order) day by day."""
    units = pd.Index(units)
    days = pd.Index(days)
    if units.has_duplicates or days.has_duplicates:
        raise InputError(Problem("design", "places and days must be unique", field="units"))
    treated, washout = draw_place_days(len(units), len(days), rules, n_draws=1, seed=seed)
    table = pd.DataFrame(
        {
            "unit": np.repeat(units.to_numpy(), len(days)),
            "day": np.tile(days.to_numpy(), len(units)),
            "treated": treated[0].ravel(),
            "washout": washout[0].ravel(),
        }
    )
    return PlaceDayAssignment(table=table, rules=rules, seed=int(seed))


def slot_of(times, shifts=()) -> tuple[pd.Series, pd.Series | None]:
    """The randomised period each time falls into: its day (``YYYY-MM-DD``), and with
    ``shifts`` (``(name, "HH:MM")`` pairs in order of start) the shift too.

    A shift runs from its start to the next shift's start; the last runs past midnight to the
    first shift's start, so a time before the first shift starts belongs to the previous day's
    last shift (a 22:00-07:00 night shift is one slot, dated by the evening it starts).
    Returns ``(day, shift)`` (``shift`` None without shifts); missing times give missing slots.
    """
    t = pd.to_datetime(pd.Series(times)).reset_index(drop=True)
    if not shifts:
        return t.dt.strftime("%Y-%m-%d"), None
    names = [n for n, _ in shifts]
    mins = np.array([int(h) * 60 + int(m) for _, s in shifts for h, m in [s.split(":")]])
    shifted = t - pd.to_timedelta(int(mins[0]), unit="min")
    day = shifted.dt.floor("D")
    within = ((shifted - day).dt.total_seconds() // 60).to_numpy(dtype=float)
    idx = np.searchsorted(mins - mins[0], np.nan_to_num(within), side="right") - 1
    shift = pd.Series(np.asarray(names, dtype=object)[idx]).where(t.notna().to_numpy())
    return day.dt.strftime("%Y-%m-%d"), shift


SCHEDULE_COLUMNS = ("unit", "day", "treated", "washout")


def read_schedule(path, *, file=None) -> pd.DataFrame:
    """Read a place-day ``assignment.csv`` back: ``unit, day[, shift]`` as text, ``treated`` and
    ``washout`` as bool (written as 0/1), rows in the order of the file (places outer).

    ``path`` may be an open binary file (bytes already read, e.g. to hash exactly what is
    analysed); ``file`` then names it in errors."""
    from pathlib import Path

    source = path if hasattr(path, "read") else Path(path)
    path = Path(file) if file is not None else source
    try:
        frame = pd.read_csv(
            source, dtype={"unit": str, "day": str, "shift": str}, keep_default_na=False
        )
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the place-day schedule: {exc}", file=path) from exc
    missing = [c for c in SCHEDULE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing columns: {', '.join(missing)}", file=path)
    for col in ("treated", "washout"):
        bad = frame.index[~frame[col].isin([0, 1])]
        if len(bad):
            i = int(bad[0])
            raise InputError(f"row {i + 2}: {col}: {frame[col].iloc[i]!r} is not 0 or 1", file=path)
        frame[col] = frame[col].astype(bool)
    return frame
