"""Pings -> visits -> unit x day: hand-made pings with exactly known visits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.tracking.delivery.visits import (
    PatrolAreaMap,
    VisitRulesSpec,
    circles_areas,
    pings_to_visits,
    unit_day,
)

RULES = VisitRulesSpec(min_minutes=5, join_gap_minutes=3, timezone="Europe/London")
AREAS = circles_areas(
    pd.DataFrame({"unit": ["A", "B"], "x": [0.0, 1000.0], "y": [0.0, 0.0], "radius_m": 100.0})
)
OUT = (500.0, 500.0)  # outside both circles


def pings(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(device, UTC time, where) -> a pings frame; where is A, B or out."""
    pos = {"A": (0.0, 0.0), "B": (1000.0, 0.0), "out": OUT}
    return pd.DataFrame(
        {
            "device": [d for d, _, _ in rows],
            "time": pd.to_datetime([t for _, t, _ in rows], utc=True),
            "x": [pos[w][0] for _, _, w in rows],
            "y": [pos[w][1] for _, _, w in rows],
        }
    )


def minute_pings(device: str, start: str, where: list[str]) -> list[tuple[str, str, str]]:
    t0 = pd.Timestamp(start, tz="UTC")
    return [(device, str(t0 + pd.Timedelta(minutes=i)), w) for i, w in enumerate(where)]


def test_one_stay_is_first_to_last_ping() -> None:
    v = pings_to_visits(
        pings(minute_pings("d1", "2024-05-01 10:00", ["out"] + ["A"] * 11 + ["out"])), AREAS, RULES
    )
    assert len(v.table) == 1
    row = v.table.iloc[0]
    assert (row.unit, row.device, row.minutes, row.pings) == ("A", "d1", 10.0, 11)
    assert row.start == pd.Timestamp("2024-05-01 10:01", tz="UTC")


def test_minimum_stay_boundary() -> None:
    # 6 pings one a minute = 5 minutes: a visit; 5 pings = 4 minutes: a pass
    v = pings_to_visits(
        pings(minute_pings("d1", "2024-05-01 10:00", ["A"] * 6 + ["out"] * 5 + ["A"] * 5)),
        AREAS,
        RULES,
    )
    assert v.table["minutes"].tolist() == [5.0]
    assert v.n_passes == 1 and v.n_stays == 2


def test_short_gap_outside_is_joined_long_gap_is_not() -> None:
    # A x4, out x2 (gap 3 min between A pings? pings at 0..3, out at 4,5, A at 6..9): gap 3 -> not < 3
    where = ["A"] * 4 + ["out"] * 2 + ["A"] * 4
    v = pings_to_visits(pings(minute_pings("d1", "2024-05-01 10:00", where)), AREAS, RULES)
    assert v.table.empty and v.n_passes == 2 and v.n_joined == 0  # 3 min each, not joined
    # one outside ping: gap of 2 minutes < 3 -> joined into one visit of 8 minutes
    where = ["A"] * 4 + ["out"] + ["A"] * 4
    v = pings_to_visits(pings(minute_pings("d1", "2024-05-01 10:00", where)), AREAS, RULES)
    assert v.table["minutes"].tolist() == [8.0] and v.n_joined == 1
    assert v.table["pings"].tolist() == [8]


def test_silent_radio_breaks_a_visit() -> None:
    rows = minute_pings("d1", "2024-05-01 10:00", ["A"] * 6) + minute_pings(
        "d1", "2024-05-01 10:30", ["A"] * 6
    )
    v = pings_to_visits(pings(rows), AREAS, RULES)
    assert v.table["minutes"].tolist() == [5.0, 5.0]


def test_another_area_in_between_is_not_joined() -> None:
    where = ["A"] * 6 + ["B"] + ["A"] * 6
    v = pings_to_visits(pings(minute_pings("d1", "2024-05-01 10:00", where)), AREAS, RULES)
    assert v.table["unit"].tolist() == ["A", "A"] and v.n_joined == 0


def test_devices_are_separate_and_order_of_rows_does_not_matter() -> None:
    rows = minute_pings("d1", "2024-05-01 10:00", ["A"] * 8) + minute_pings(
        "d2", "2024-05-01 10:02", ["A"] * 7
    )
    p = pings(rows)
    v1 = pings_to_visits(p, AREAS, RULES).table
    v2 = pings_to_visits(p.sample(frac=1, random_state=3), AREAS, RULES).table
    assert sorted(v1["minutes"]) == [6.0, 7.0]
    pd.testing.assert_frame_equal(v1, v2)


def test_midnight_split_between_days() -> None:
    # 22:50-23:10 UTC on 1 May = 23:50-00:10 BST: 10 minutes on each local day
    v = pings_to_visits(pings(minute_pings("d1", "2024-05-01 22:50", ["A"] * 21)), AREAS, RULES)
    assert v.table["minutes"].tolist() == [20.0]
    ud = unit_day(v.table, units=["A", "B"], start="2024-05-01", end="2024-05-03")
    a = ud[ud.unit == "A"].set_index("day")
    assert a["minutes"].tolist() == [10.0, 10.0, 0.0]
    assert a["visits"].tolist() == [1, 0, 0]
    assert ud.loc[ud.unit == "B", "minutes"].sum() == 0
    assert len(ud) == 6


def test_clock_change_crossings() -> None:
    # spring forward, 31 March 2024: 00:50-01:10 UTC is 00:50 GMT - 02:10 BST: 20 minutes
    v = pings_to_visits(pings(minute_pings("d1", "2024-03-31 00:50", ["A"] * 21)), AREAS, RULES)
    assert v.table["minutes"].tolist() == [20.0]
    ud = unit_day(v.table, units=["A"], start="2024-03-30", end="2024-03-31")
    assert ud["minutes"].tolist() == [0.0, 20.0]
    # fall back, 27 October 2024: 23:30 UTC 26 Oct (00:30 BST) to 01:30 UTC (01:30 GMT)
    v = pings_to_visits(pings(minute_pings("d1", "2024-10-26 23:30", ["A"] * 121)), AREAS, RULES)
    assert v.table["minutes"].tolist() == [120.0]
    ud = unit_day(v.table, units=["A"], start="2024-10-26", end="2024-10-27")
    assert ud["minutes"].tolist() == [0.0, 120.0]  # all of it on Sunday 27 (local)
    # across midnight on the long day: 22:00 UTC 26 Oct (23:00 BST) to 00:30 UTC (01:30 BST)
    v = pings_to_visits(pings(minute_pings("d1", "2024-10-26 22:00", ["A"] * 151)), AREAS, RULES)
    ud = unit_day(v.table, units=["A"], start="2024-10-26", end="2024-10-27")
    assert ud["minutes"].tolist() == [60.0, 90.0]


def test_data_days_and_no_visits() -> None:
    v = pings_to_visits(pings(minute_pings("d1", "2024-05-01 10:00", ["out"] * 3)), AREAS, RULES)
    assert v.table.empty and v.n_inside == 0
    ud = unit_day(
        v.table,
        units=["A"],
        start="2024-05-01",
        end="2024-05-02",
        data_days=pd.DatetimeIndex(["2024-05-01"]),
    )
    assert ud["has_data"].tolist() == [True, False]


def test_grid_areas() -> None:
    areas = PatrolAreaMap("grid", ("BNG250mE0N0",), size_m=250.0)
    p = pings(minute_pings("d1", "2024-05-01 10:00", ["A"] * 6 + ["B"] * 6))
    v = pings_to_visits(p, areas, RULES)
    assert v.table["unit"].tolist() == ["BNG250mE0N0"]


def test_naive_times_refused() -> None:
    p = pings(minute_pings("d1", "2024-05-01 10:00", ["A"] * 6))
    p["time"] = p["time"].dt.tz_localize(None)
    with pytest.raises(Exception, match="time-zone aware"):
        pings_to_visits(p, AREAS, RULES)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "out"]), min_size=1, max_size=80))
def test_minutes_never_exceed_time_inside(where: list[str]) -> None:
    """Property: every visit is at least min_minutes, visits of a device never overlap, and the
    unit x day table holds exactly the visits' minutes."""
    v = pings_to_visits(pings(minute_pings("d1", "2024-05-01 23:30", where)), AREAS, RULES)
    t = v.table.sort_values("start")
    assert (t["minutes"] >= RULES.min_minutes).all()
    assert (t["start"].iloc[1:].to_numpy() > t["end"].iloc[:-1].to_numpy()).all()
    ud = unit_day(t, units=["A", "B"], start="2024-05-01", end="2024-05-03")
    assert np.isclose(ud["minutes"].sum(), t["minutes"].sum())
    assert ud["visits"].sum() == len(t)


def test_polygon_areas_first_polygon_wins() -> None:
    """Polygons (hot-spot outlines): a point in two overlapping polygons goes to the first."""
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.GeoDataFrame(
        {"unit": ["P", "Q"]},
        geometry=[box(-50, -50, 50, 50), box(0, -50, 1050, 50)],
        crs="EPSG:27700",
    )
    areas = PatrolAreaMap("polygons", ("P", "Q"), frame=frame)
    # A is (0, 0): in both (P first); B is (1000, 0): in Q only
    v = pings_to_visits(
        pings(minute_pings("d1", "2024-05-01 10:00", ["A"] * 6 + ["B"] * 6)), areas, RULES
    )
    assert v.table["unit"].tolist() == ["P", "Q"]
