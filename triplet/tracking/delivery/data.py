"""A trial's delivery data as registered: sources read, patrol areas, visits and unit-days.

:func:`load_delivery` resolves the ``delivery`` section of trial.yaml: each source (a CSV or
Parquet file with its mapping YAML, or ``example://borough/pings?seed=N``), the patrol areas
(``circles`` from a table or ``example://borough/hotspots?seed=N``, ``polygons`` / ``lsoa``
from a boundary file, ``grid`` cells), then pings -> visits with the registered rules and the
unit x day table of every assigned unit over the treatment period up to the last day with data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.records.result import empty_skipped
from triplet.tracking.delivery.read import DeliveryRead, read_delivery
from triplet.tracking.delivery.visits import (
    PatrolAreaMap,
    VisitRulesSpec,
    Visits,
    circles_areas,
    local_days,
    pings_to_visits,
    unit_day,
)

__all__ = ["DeliveryData", "load_delivery", "patrol_areas"]


@dataclass(frozen=True)
class DeliveryData:
    """Everything read for one trial's delivery.

    ``visits``: ``unit, device, start, end, minutes, source`` (``gps`` or ``log``);
    ``unit_day``: ``unit, arm, day, minutes, visits, has_data``; ``skipped``: rows of the
    sources that were not used (file, row, column, value, reason); ``reads``: per source counts.
    """

    visits: pd.DataFrame
    unit_day: pd.DataFrame
    skipped: pd.DataFrame
    reads: tuple[dict[str, Any], ...]
    gps: Visits | None
    first_day: str
    last_day: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def _example_seed(uri: str, file: str, fld: str) -> tuple[str, int]:
    parsed = urlparse(uri)
    query = parse_qs(parsed.query)
    table = parsed.path.strip("/")
    if parsed.netloc != "borough" or set(query) - {"seed"}:
        raise InputError(Problem(file=file, field=fld, message=f"unknown example {uri!r}"))
    try:
        seed = int(query.get("seed", ["2013"])[-1])
    except ValueError:
        raise InputError(
            Problem(file=file, field=fld, message=f"seed must be an integer in {uri!r}")
        ) from None
    return table, seed


def patrol_areas(tf, assignment: pd.DataFrame) -> PatrolAreaMap:
    """The registered patrol areas of every assigned unit (British National Grid metres)."""
    spec = tf.trial.delivery.patrol_areas
    file = str(tf.path)
    fld = "delivery.patrol_areas.uri"
    units = assignment["unit"].astype("str").tolist()
    if spec.kind == "grid":
        return PatrolAreaMap("grid", tuple(units), size_m=float(spec.grid_size_m))
    uri = spec.uri
    if uri.startswith("example://"):
        table_name, seed = _example_seed(uri, file, fld)
        if table_name != "hotspots" or spec.kind != "circles":
            raise InputError(
                Problem(
                    file=file,
                    field=fld,
                    message="the example patrol areas are "
                    "example://borough/hotspots?seed=N (kind: circles)",
                )
            )
        from triplet.example.pings import example_hotspots

        table = example_hotspots(seed)
        table = table[table["unit"].isin(units)].rename(columns={"unit": spec.id_column})
        return circles_areas(table, id_column=spec.id_column, radius_m=spec.radius_m, file=uri)
    path = tf.resolve(uri)
    if not Path(path).exists():
        raise InputError(Problem(file=file, field=fld, message=f"{path}: file not found"))
    if spec.kind == "circles":
        table = (
            pd.read_parquet(path)
            if str(path).lower().endswith((".parquet", ".pq"))
            else pd.read_csv(path, dtype={spec.id_column: "str"})
        )
        table = table[table[spec.id_column].astype("str").isin(units)]
        return circles_areas(
            table, id_column=spec.id_column, crs=spec.crs, radius_m=spec.radius_m, file=str(path)
        )
    from triplet.geography.boundaries import read_boundaries

    id_column = None if spec.id_column == "unit" else spec.id_column
    frame = read_boundaries(path, id_column=id_column).frame  # "unit" holds the id
    frame["unit"] = frame["unit"].astype("str")
    frame = frame[frame["unit"].isin(units)]
    return PatrolAreaMap("polygons", tuple(frame["unit"]), frame=frame)


def load_delivery(
    tf, assignment: pd.DataFrame, *, key: str | bytes | None = None, until: str | None = None
) -> DeliveryData:
    """Read the trial's delivery sources and derive visits and the unit x day table.

    ``until`` (YYYY-MM-DD) ends the unit-days early (default: the last day with data, or the
    end of the treatment period if sooner).
    """
    trial = tf.trial
    if trial.delivery is None:
        raise InputError(
            Problem(
                file=str(tf.path),
                field="delivery",
                message="the trial registers no "
                "delivery section (sources, patrol areas, visit rules); see docs/delivery.md",
            )
        )
    d = trial.delivery
    rules = VisitRulesSpec.of(d.visit_rules)
    arm = assignment.assign(unit=assignment["unit"].astype("str"))
    pings, logs, reads, skipped = [], [], [], [empty_skipped()]
    notes: list[str] = []
    for i, src in enumerate(d.sources):
        fld = f"delivery.sources[{i}]"
        if src.uri.startswith("example://"):
            table, seed = _example_seed(src.uri, str(tf.path), f"{fld}.uri")
            if table != "pings" or src.kind != "pings":
                raise InputError(
                    Problem(
                        file=str(tf.path),
                        field=f"{fld}.uri",
                        message="the example source is example://borough/pings (kind: pings)",
                    )
                )
            from triplet.example.pings import example_pings

            ex = example_pings(trial, arm, seed)
            pings.append(ex.pings)
            reads.append(
                {
                    "name": src.name,
                    "kind": "pings",
                    "uri": src.uri,
                    "n_read": len(ex.pings),
                    "n_kept": len(ex.pings),
                    "n_skipped": 0,
                }
            )
            notes.append("delivery data are SYNTHETIC example pings")
            continue
        if src.mapping is None:
            raise InputError(
                Problem(
                    file=str(tf.path),
                    field=f"{fld}.mapping",
                    message="a delivery file needs a column-mapping YAML (mapping:)",
                )
            )
        path = tf.resolve(src.uri)
        r: DeliveryRead = read_delivery(
            path, tf.resolve(src.mapping), key=key, max_speed_kmh=d.visit_rules.max_speed_kmh
        )
        if r.kind != src.kind:
            raise InputError(
                Problem(
                    file=str(tf.path),
                    field=f"{fld}.kind",
                    message=f"the source is {src.kind} but its mapping reads {r.kind}",
                )
            )
        (pings if r.kind == "pings" else logs).append(r.table)
        reads.append({"name": src.name, **r.to_dict()})
        skipped.append(r.skipped)
    areas = patrol_areas(tf, arm)
    gps = None
    vis = []
    times = []
    if pings:
        allp = pd.concat(pings, ignore_index=True)
        gps = pings_to_visits(allp, areas, rules)
        vis.append(gps.table.drop(columns=["pings"]).assign(source="gps"))
        times.append(allp["time"])
    for log in logs:
        vis.append(
            log.assign(source="log")[["unit", "device", "start", "end", "minutes", "source"]]
        )
        times.extend([log["start"], log["end"]])
    visits = (
        pd.concat(vis, ignore_index=True)
        if vis
        else pd.DataFrame(columns=["unit", "device", "start", "end", "minutes", "source"])
    )
    data_days = (
        local_days(pd.concat(times, ignore_index=True), rules.timezone)
        if times
        else pd.DatetimeIndex([])
    )
    months = trial.periods.treatment.months
    first = months[0].start_time.normalize()
    last = months[-1].end_time.normalize()
    if until is not None:
        last = min(last, pd.Timestamp(until))
    elif len(data_days):
        last = min(last, data_days.max())
    if last < first:
        raise InputError(
            Problem(
                file=str(tf.path),
                field="periods.treatment",
                message="no delivery data in the treatment period yet",
            )
        )
    ud = unit_day(
        visits,
        units=arm["unit"].tolist(),
        start=first,
        end=last,
        timezone=rules.timezone,
        data_days=data_days,
    )
    ud = ud.merge(arm[["unit", "arm"]], on="unit", how="left")[
        ["unit", "arm", "day", "minutes", "visits", "has_data"]
    ]
    outside = ~visits["unit"].astype("str").isin(arm["unit"]) if len(visits) else np.array([])
    if len(visits) and outside.any():
        notes.append(f"{int(outside.sum())} logged visits name units not in the assignment")
    return DeliveryData(
        visits=visits,
        unit_day=ud,
        skipped=pd.concat(skipped, ignore_index=True),
        reads=tuple(reads),
        gps=gps,
        first_day=str(first.date()),
        last_day=str(pd.Timestamp(last).date()),
        notes=tuple(dict.fromkeys(notes)),
    )
