"""Ranking units by harm: hand-computed answers, ties, zero units, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError, OverwriteError
from triplet.targeting.ranking import (
    RANKING_COLUMNS,
    grid_cell_centres,
    grid_cells,
    hour_of_week,
    rank_units,
)


def _records():
    # harm by hand (CCHI days: robbery 365, rape 1825, shoplifting 1):
    # A = 365 + 1 = 366 (2 crimes); B = 1825 (1); C = 1 * 3 = 3 (3)
    return pd.DataFrame(
        {
            "lsoa_code": ["A", "A", "B", "C", "C", "C", None],
            "offence_code": ["34B", "46", "19C", "46", "46", "46", "1"],
            "crime_type": [
                "Robbery",
                "Shoplifting",
                "Violence and sexual offences",
                "Shoplifting",
                "Shoplifting",
                "Shoplifting",
                "Violence and sexual offences",
            ],
        }
    )


def test_known_answer_ranking():
    r = rank_units(_records(), unit="lsoa", units=["A", "B", "C", "D"])
    t = r.table
    assert list(t.columns) == list(RANKING_COLUMNS)
    assert t["unit"].tolist() == ["B", "A", "C", "D"]
    assert t["rank"].tolist() == [1, 2, 3, 4]
    assert t["harm"].tolist() == [1825, 366, 3, 0]
    assert t["count"].tolist() == [1, 2, 3, 0]
    total = 1825 + 366 + 3
    assert t["share"].tolist() == pytest.approx([1825 / total, 366 / total, 3 / total, 0])
    assert t["cumulative_share"].tolist() == pytest.approx(
        [1825 / total, (1825 + 366) / total, 1, 1]
    )
    assert t["harm_per_crime"].tolist()[:3] == pytest.approx([1825, 183, 1])
    assert np.isnan(t["harm_per_crime"].iloc[3])
    # by count: C (3), A (2), B (1), D (0)
    assert t.set_index("unit")["count_rank"].to_dict() == {"C": 1, "A": 2, "B": 3, "D": 4}
    assert t.set_index("unit")["count_cumulative_share"].to_dict() == pytest.approx(
        {"C": 0.5, "A": 5 / 6, "B": 1.0, "D": 1.0}
    )
    assert r.n_no_unit == 1
    s = r.summary().iloc[0]
    assert s["n_units"] == 4 and s["n_units_with_crime"] == 3 and s["crimes"] == 6


def test_ties_broken_by_count_then_unit():
    rec = pd.DataFrame(
        {
            "lsoa_code": ["Z", "Y", "X", "X"],
            "crime_type": ["Robbery", "Robbery", "Shoplifting", "Shoplifting"],
        }
    )
    harm = pd.Series([10.0, 10.0, 5.0, 5.0], name="days")
    t = rank_units(rec, unit="lsoa", harm=harm).table
    # X: 10 days in 2 crimes beats Y and Z (10 days, 1 crime); Y before Z by id
    assert t["unit"].tolist() == ["X", "Y", "Z"]


def test_asb_excluded_from_count_unless_asked():
    rec = pd.DataFrame(
        {"lsoa_code": ["A", "A"], "crime_type": ["Robbery", "Anti-social behaviour"]}
    )
    r = rank_units(rec, unit="lsoa")
    assert r.table["count"].tolist() == [1] and r.n_non_crime == 1
    r2 = rank_units(rec, unit="lsoa", include_non_crime=True)
    assert r2.table["count"].tolist() == [2] and r2.table["harm"].tolist() == [365]


def test_unmatched_exclude_counts():
    rec = pd.DataFrame({"lsoa_code": ["A", "B"], "crime_type": ["Robbery", "Made up"]})
    with pytest.raises(InputError):
        rank_units(rec, unit="lsoa")
    r = rank_units(rec, unit="lsoa", unmatched="exclude")
    assert r.table["unit"].tolist() == ["A"] and r.n_unmatched == 1


def test_offender_victim_month_units():
    rec = pd.DataFrame(
        {
            "suspect_id": ["p_1", "p_1", "p_2"],
            "victim_id": ["v1", "v2", "v2"],
            "month": pd.PeriodIndex(["2024-01", "2024-01", "2024-02"], freq="M"),
            "crime_type": ["Robbery", "Shoplifting", "Shoplifting"],
        }
    )
    off = rank_units(rec, unit="offender")
    assert off.kind == "offender" and off.is_person
    assert off.table["unit"].tolist() == ["p_1", "p_2"]
    vic = rank_units(rec, unit="victim")
    assert vic.table.set_index("unit")["count"].to_dict() == {"v1": 1, "v2": 2}
    mon = rank_units(rec, unit="month", units=pd.period_range("2024-01", "2024-03", freq="M"))
    assert mon.table["count"].tolist() == [1 + 1, 1, 0]
    assert str(mon.table["unit"].iloc[2]) == "2024-03"


def test_hour_of_week():
    rec = pd.DataFrame({"date": pd.to_datetime(["2024-01-01 00:30", "2024-01-07 23:10", None])})
    assert hour_of_week(rec).tolist()[:2] == [0, 167]  # Monday 00h, Sunday 23h
    with pytest.raises(InputError):
        hour_of_week(pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-02"])}))


def test_grid_cells_xy_and_lonlat():
    """x/y are British National Grid metres; ids name the size and the south-west corner."""
    rec = pd.DataFrame({"x": [10.0, 90.0, 110.0, np.nan], "y": [5.0, 99.0, 5.0, 1.0]})
    cells = grid_cells(rec, 100, x="x", y="y")
    assert cells.iloc[0] == cells.iloc[1] == "BNG100mE0N0"
    assert cells.iloc[2] == "BNG100mE100N0"
    assert pd.isna(cells.iloc[3])
    centres = grid_cell_centres(["BNG100mE100N0"])
    assert centres.loc[0, "x"] == 150 and centres.loc[0, "y"] == 50
    # 0.001 degree of latitude is about 111 m: two points 0.002 apart fall in different 100 m cells
    ll = pd.DataFrame({"longitude": [-0.1, -0.1], "latitude": [51.5, 51.502]})
    c = grid_cells(ll, 100)
    assert c.iloc[0] != c.iloc[1]
    # Trafalgar Square (about 530,000 E, 180,400 N on the Ordnance Survey grid)
    tq = grid_cells(pd.DataFrame({"longitude": [-0.1281], "latitude": [51.5080]}), 1000)
    assert tq.iloc[0] == "BNG1000mE530000N180000"


def test_write_csv_parquet_never_overwrites(tmp_path):
    r = rank_units(_records(), unit="lsoa")
    out = r.write(tmp_path / "ranking.csv")
    back = pd.read_csv(out)
    assert back["unit"].tolist() == ["B", "A", "C"]
    with pytest.raises(OverwriteError):
        r.write(tmp_path / "ranking.csv")
    pq = r.write(tmp_path / "ranking.parquet")
    assert pd.read_parquet(pq)["harm"].tolist() == [1825, 366, 3]


def test_plot_and_to_dict():
    r = rank_units(_records(), unit="lsoa")
    ax = r.plot(top=2)
    assert len(ax.patches) == 4
    d = r.to_dict()
    assert d["table"][0]["unit"] == "B" and d["summary"]["crimes"] == 6


_units = st.lists(st.sampled_from(list("ABCDEFG")), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(_units, st.data())
def test_properties_cumulative_monotone_and_order_invariant(units, data):
    harm = data.draw(
        st.lists(st.floats(0, 2000, allow_nan=False), min_size=len(units), max_size=len(units))
    )
    rec = pd.DataFrame({"lsoa_code": units, "crime_type": "Robbery"})
    days = pd.Series(harm)
    t = rank_units(rec, unit="lsoa", harm=days).table
    if t["harm"].sum() > 0:
        assert np.all(np.diff(t["cumulative_share"]) >= -1e-12)
        assert t["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert t["count"].sum() == len(units)
    assert np.all(np.diff(t["harm"]) <= 0)
    perm = np.random.default_rng(len(units)).permutation(len(units))
    t2 = rank_units(
        rec.iloc[perm].reset_index(drop=True),
        unit="lsoa",
        harm=days.iloc[perm].reset_index(drop=True),
    ).table
    pd.testing.assert_frame_equal(t, t2)


def test_hot_spot_polygons():
    from triplet.targeting.ranking import hot_spots

    rec = pd.DataFrame(
        {
            "x": [0.5, 1.5, 5.0, 0.9, np.nan],
            "y": [0.5, 0.5, 5.0, 0.1, 0.0],
            "crime_type": ["Robbery"] * 5,
        }
    )
    polys = {"H1": [(0, 0), (1, 0), (1, 1), (0, 1)], "H2": [(0, 0), (2, 0), (2, 1), (0, 1)]}
    ids = hot_spots(rec, polys, x="x", y="y")
    # the first polygon wins where they overlap; outside and missing coordinates are NA
    assert ids.tolist()[:2] == ["H1", "H2"] and ids.iloc[3] == "H1"
    assert ids.isna().tolist() == [False, False, True, False, True]
    r = rank_units(rec, unit=ids)
    assert r.table.set_index("unit")["count"].to_dict() == {"H1": 2, "H2": 1}
    assert r.n_no_unit == 2


def test_harm_series_with_missing_values():
    rec = pd.DataFrame({"lsoa_code": ["A", "B", "B"]})
    days = pd.Series([1.0, np.nan, 2.0])
    with pytest.raises(InputError, match="row 2"):
        rank_units(rec, unit="lsoa", harm=days)
    r = rank_units(rec, unit="lsoa", harm=days, unmatched="exclude")
    assert r.n_unmatched == 1
    assert r.table.set_index("unit")["count"].to_dict() == {"B": 1, "A": 1}
