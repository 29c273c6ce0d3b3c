"""From pings to visits, and visits to a unit x day table (docs/delivery.md).

A **stay** is a run of consecutive pings of one device inside one unit's patrol area. Stays of
the same device in the same area with only pings outside every area between them, less than
``join_gap_minutes`` apart, are **joined**; so are consecutive pings inside less than
``join_gap_minutes`` apart, and a longer gap (the radio silent or away) ends the visit. A stay lasts from its first ping inside to its last (elapsed time, UTC,
so a stay across a clock change is not an hour out). A **visit** is a stay of at least
``min_minutes``; shorter ones are passes, counted but not visits.

The unit x day table has every unit (treatment and control alike) and every day of the period,
zeros included: ``minutes`` of visits (a visit across midnight is split between the two days),
``visits`` (counted on the day they start) and ``has_data`` (any ping or log entry that day).
Days are calendar days in the registered time zone (Europe/London).

All steps are vectorised numpy over pings sorted by device and time (ten million pings in
seconds; ``make bench``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = [
    "PatrolAreaMap",
    "VisitRulesSpec",
    "Visits",
    "assign_areas",
    "circles_areas",
    "pings_to_visits",
    "unit_day",
]


@dataclass(frozen=True)
class VisitRulesSpec:
    """The registered visit rules (see :class:`triplet.registry.models.VisitRules`)."""

    min_minutes: float = 5.0
    join_gap_minutes: float = 3.0
    timezone: str = "Europe/London"

    @classmethod
    def of(cls, rules: Any) -> VisitRulesSpec:
        if isinstance(rules, cls):
            return rules
        return cls(
            min_minutes=float(rules.min_minutes),
            join_gap_minutes=float(rules.join_gap_minutes),
            timezone=str(rules.timezone),
        )


# ------------------------------------------------------------------------------ patrol areas


@dataclass(frozen=True)
class PatrolAreaMap:
    """Patrol areas in British National Grid metres: circles, polygons or grid cells.

    ``kind`` is ``circles`` (``table``: ``unit, x, y, radius_m``), ``polygons`` (``frame``: a
    GeoDataFrame with ``unit``) or ``grid`` (``size_m``; units are cell ids).
    """

    kind: str
    units: tuple[str, ...]
    table: pd.DataFrame | None = None
    frame: Any = None
    size_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_units": len(self.units), "grid_size_m": self.size_m}


def circles_areas(
    table: pd.DataFrame,
    *,
    id_column: str = "unit",
    crs: str = "EPSG:27700",
    radius_m: float | None = None,
    file: str = "<patrol areas>",
) -> PatrolAreaMap:
    """Circle patrol areas from a table of ``unit, x, y[, radius_m]`` (or longitude/latitude)."""
    from triplet.geography.grid import to_bng

    cols = set(table.columns)
    if id_column not in cols:
        raise InputError(Problem(file=file, line=1, field=id_column, message="no such column"))
    xc, yc = ("longitude", "latitude") if {"longitude", "latitude"} <= cols else ("x", "y")
    for c in (xc, yc):
        if c not in cols:
            raise InputError(Problem(file=file, line=1, field=c, message="no such column"))
    if "radius_m" in cols:
        r = pd.to_numeric(table["radius_m"], errors="coerce").to_numpy(dtype=float)
    elif radius_m is not None:
        r = np.full(len(table), float(radius_m))
    else:
        raise InputError(
            Problem(
                file=file,
                field="radius_m",
                message="circles need a radius_m column or delivery.patrol_areas.radius_m",
            )
        )
    src_crs = "EPSG:4326" if xc == "longitude" else crs
    x, y = to_bng(table[xc].to_numpy(dtype=float), table[yc].to_numpy(dtype=float), src_crs)
    bad = ~(np.isfinite(x) & np.isfinite(y) & np.isfinite(r) & (r > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            Problem(file=file, line=i + 2, field=xc, message="circle centre or radius missing")
        )
    units = table[id_column].astype("str").to_numpy()
    if len(set(units)) != len(units):
        raise InputError(Problem(file=file, field=id_column, message="unit ids repeat"))
    out = pd.DataFrame({"unit": pd.Series(units, dtype="str"), "x": x, "y": y, "radius_m": r})
    return PatrolAreaMap("circles", tuple(units), table=out)


def assign_areas(x: np.ndarray, y: np.ndarray, areas: PatrolAreaMap) -> np.ndarray:
    """Index (into ``areas.units``) of the patrol area holding each point; -1 when none.

    Circles: the nearest centre whose radius reaches the point. Polygons: the first polygon in
    row order (:func:`triplet.geography.join_points`). Grid: the cell, if it is a unit.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.full(len(x), -1, dtype=np.int64)
    ok = np.isfinite(x) & np.isfinite(y)
    if areas.kind == "circles":
        from scipy.spatial import cKDTree

        t = areas.table
        tree = cKDTree(np.column_stack([t["x"], t["y"]]))
        rmax = float(t["radius_m"].max())
        # a point can be in several circles: take the nearest centre within its radius
        k = min(4, len(t))
        d, i = tree.query(np.column_stack([x[ok], y[ok]]), k=k, distance_upper_bound=rmax)
        d = d.reshape(len(d), -1)
        i = i.reshape(len(i), -1)
        radius = np.append(t["radius_m"].to_numpy(dtype=float), -1.0)
        inside = d <= radius[np.minimum(i, len(t))]
        first = np.where(inside.any(axis=1), i[np.arange(len(i)), inside.argmax(axis=1)], -1)
        out[ok] = first
    elif areas.kind == "grid":
        from triplet.geography.grid import bng_cell_ids

        cells = bng_cell_ids(x, y, areas.size_m)
        lookup = {u: j for j, u in enumerate(areas.units)}
        out = np.array([lookup.get(c, -1) if c is not None else -1 for c in cells], dtype=np.int64)
    else:
        from triplet.geography.join import join_points

        pts = pd.DataFrame({"x": x, "y": y})
        j = join_points(pts, areas.frame, id_column="unit", x="x", y="y", crs="EPSG:27700")
        lookup = {u: k for k, u in enumerate(areas.units)}
        out = j.areas.map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    return out


# ------------------------------------------------------------------------------ visits


@dataclass(frozen=True)
class Visits:
    """Visits derived from pings: ``table`` (``unit, device, start, end, minutes, pings``).

    ``n_stays`` counts stays before the minimum-stay rule, ``n_passes`` the stays shorter than
    ``min_minutes``, ``n_joined`` the joins of stays less than ``join_gap_minutes`` apart.
    """

    table: pd.DataFrame
    rules: VisitRulesSpec
    n_pings: int
    n_inside: int
    n_stays: int
    n_passes: int
    n_joined: int

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                ("pings", self.n_pings),
                ("pings inside a patrol area", self.n_inside),
                ("stays", self.n_stays),
                ("stays joined (gap < join_gap_minutes)", self.n_joined),
                ("passes (stay < min_minutes)", self.n_passes),
                ("visits", len(self.table)),
            ],
            columns=["item", "n"],
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "rules": {
                    "min_minutes": self.rules.min_minutes,
                    "join_gap_minutes": self.rules.join_gap_minutes,
                    "timezone": self.rules.timezone,
                },
                **{k: int(v) for k, v in self.summary().itertuples(index=False)},
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        ax.hist(self.table["minutes"], bins=40, color="#4C72B0")
        ax.axvline(self.rules.min_minutes, color="0.3", ls="--", lw=1)
        ax.set_xlabel("visit length (minutes)")
        ax.set_ylabel("visits")
        return ax


def pings_to_visits(
    pings: pd.DataFrame,
    areas: PatrolAreaMap | np.ndarray,
    rules: Any = None,
    *,
    device: str = "device",
    time: str = "time",
) -> Visits:
    """Turn pings (``device``, ``time`` tz-aware, ``x``, ``y``) into visits (module docstring).

    ``areas`` is a :class:`PatrolAreaMap`, or an integer array of area indices already
    assigned (-1 = outside); with an array, units are named by the index as text.
    ``pings`` is not modified.
    """
    rules = VisitRulesSpec() if rules is None else VisitRulesSpec.of(rules)
    n = len(pings)
    if isinstance(areas, PatrolAreaMap):
        area = assign_areas(pings["x"].to_numpy(), pings["y"].to_numpy(), areas)
        names = np.asarray(areas.units, dtype=object)
    else:
        area = np.asarray(areas, dtype=np.int64)
        names = np.array([str(i) for i in range(int(area.max(initial=-1)) + 1)], dtype=object)
    tcol = pings[time]
    if getattr(tcol.dt, "tz", None) is None:
        raise InputError(
            Problem(file="<pings>", field=time, message="times must be time-zone aware (UTC)")
        )
    t = tcol.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]").astype("int64")
    dev_codes, dev_names = pd.factorize(pings[device], sort=True)
    order = np.lexsort((t, dev_codes))
    d, a, tt = dev_codes[order], area[order], t[order]
    inside = a >= 0
    n_inside = int(inside.sum())
    gap_ns = rules.join_gap_minutes * 60e9
    # keep only pings inside an area; a "stay" breaks on a new device, a new area, or a gap
    di, ai, ti = d[inside], a[inside], tt[inside]
    if len(ti) == 0:
        return Visits(_empty_visits(), rules, n, 0, 0, 0, 0)
    new_dev = np.concatenate([[True], di[1:] != di[:-1]])
    new_area = np.concatenate([[True], ai[1:] != ai[:-1]])
    gap = np.concatenate([[np.inf], np.diff(ti).astype(float)])
    # position in the full sequence: were there pings in another area in between?
    pos = np.flatnonzero(inside)
    # a ping of another area between two inside pings of the same area breaks the stay: it
    # shows up as new_area on the inside-only sequence already (areas differ in between)
    starts_stay_raw = (
        new_dev | new_area | (np.concatenate([[0], np.diff(pos)]) > 1) | (gap >= gap_ns)
    )
    n_stays_raw = int(starts_stay_raw.sum())
    # join: a new stay of the same device and area less than gap minutes after the last one
    # (only outside pings or missing pings in between) continues the visit
    joined = starts_stay_raw & ~new_dev & ~new_area & (gap < gap_ns)
    visit_start = starts_stay_raw & ~joined
    n_joined = int(joined.sum())
    first = np.flatnonzero(visit_start)
    last = np.concatenate([first[1:] - 1, [len(ti) - 1]])
    start_ns, end_ns = ti[first], ti[last]
    minutes = (end_ns - start_ns) / 60e9
    npings = np.diff(np.concatenate([first, [len(ti)]]))
    keep = minutes >= rules.min_minutes
    n_visits_all = len(first)
    table = pd.DataFrame(
        {
            "unit": pd.Series(names[ai[first][keep]], dtype="str"),
            "device": pd.Series(np.asarray(dev_names, dtype=object)[di[first][keep]], dtype="str"),
            "start": pd.to_datetime(start_ns[keep], utc=True),
            "end": pd.to_datetime(end_ns[keep], utc=True),
            "minutes": minutes[keep],
            "pings": npings[keep].astype(np.int64),
        }
    )
    return Visits(
        table=table,
        rules=rules,
        n_pings=n,
        n_inside=n_inside,
        n_stays=n_stays_raw,
        n_passes=int(n_visits_all - keep.sum()),
        n_joined=n_joined,
    )


def _empty_visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": pd.Series([], dtype="str"),
            "device": pd.Series([], dtype="str"),
            "start": pd.Series([], dtype="datetime64[ns, UTC]"),
            "end": pd.Series([], dtype="datetime64[ns, UTC]"),
            "minutes": pd.Series([], dtype=float),
            "pings": pd.Series([], dtype=np.int64),
        }
    )


def unit_day(
    visits: pd.DataFrame,
    *,
    units: list[str] | pd.Index,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    timezone: str = "Europe/London",
    data_days: pd.Index | None = None,
) -> pd.DataFrame:
    """Unit x day table of ``minutes`` and ``visits`` over every unit and day (zeros included).

    ``start``/``end``: first and last day (inclusive). A visit across local midnight has its
    minutes split between the days (elapsed time); it counts as a visit on the day it starts.
    ``data_days``: the local days with any delivery data (``has_data``); None = every day.
    Columns ``unit, day (datetime64 date), minutes, visits, has_data``.
    """
    days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D")
    units = pd.Index([str(u) for u in units], dtype="str")
    nd, nu = len(days), len(units)
    minutes = np.zeros((nu, nd))
    counts = np.zeros((nu, nd), dtype=np.int64)
    if len(visits):
        uix = units.get_indexer(visits["unit"].astype("str"))
        s = visits["start"].dt.tz_convert(timezone)
        e = visits["end"].dt.tz_convert(timezone)
        sday = s.dt.tz_localize(None).dt.normalize()
        eday = e.dt.tz_localize(None).dt.normalize()
        d0 = days[0]
        si = ((sday - d0).dt.days).to_numpy()
        ei = ((eday - d0).dt.days).to_numpy()
        s_ns = visits["start"].to_numpy(dtype="datetime64[ns]").astype("int64")
        e_ns = visits["end"].to_numpy(dtype="datetime64[ns]").astype("int64")
        ok_u = uix >= 0
        # one piece per (visit, local day it touches); most visits touch one day
        span = np.where(ok_u, ei - si + 1, 0)
        rep = np.repeat(np.arange(len(visits)), span)
        offs = np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
        day_i = si[rep] + offs
        # local midnights as UTC instants (midnight exists in every UK day)
        lo_day = days[0] + pd.to_timedelta(np.clip(day_i, -1, nd), unit="D")
        mid = pd.DatetimeIndex(lo_day).tz_localize(
            timezone, ambiguous="NaT", nonexistent="shift_forward"
        )
        nxt = pd.DatetimeIndex(lo_day + pd.Timedelta(days=1)).tz_localize(
            timezone, ambiguous="NaT", nonexistent="shift_forward"
        )
        day_lo = mid.tz_convert("UTC").as_unit("ns").asi8
        day_hi = nxt.tz_convert("UTC").as_unit("ns").asi8
        piece = (np.minimum(e_ns[rep], day_hi) - np.maximum(s_ns[rep], day_lo)) / 60e9
        inrange = (day_i >= 0) & (day_i < nd)
        np.add.at(minutes, (uix[rep][inrange], day_i[inrange]), np.maximum(piece[inrange], 0))
        first_piece = offs == 0
        sel = inrange & first_piece
        np.add.at(counts, (uix[rep][sel], day_i[sel]), 1)
    has = np.ones(nd, dtype=bool) if data_days is None else days.isin(data_days)
    out = pd.DataFrame(
        {
            "unit": np.repeat(units.to_numpy(), nd),
            "day": np.tile(days.to_numpy(), nu),
            "minutes": minutes.ravel(),
            "visits": counts.ravel(),
            "has_data": np.tile(has, nu),
        }
    )
    out["unit"] = out["unit"].astype("str")
    return out


def local_days(times: pd.Series, timezone: str) -> pd.DatetimeIndex:
    """The distinct local calendar days (naive midnight timestamps) of tz-aware ``times``."""
    if len(times) == 0:
        return pd.DatetimeIndex([])
    # offsets are whole hours in the UK, so one conversion of the distinct UTC hours suffices
    hours = pd.DatetimeIndex(times.dt.floor("h").unique())
    local = hours.tz_convert(timezone).tz_localize(None).normalize()
    return pd.DatetimeIndex(local.unique()).sort_values()
