"""Points to areas: hand-made cases and the real City of London files on real 2011 LSOAs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from triplet.errors import InputError
from triplet.geography import join_points, read_boundaries


@pytest.fixture
def squares():
    return gpd.GeoDataFrame(
        {"unit": ["a", "b"]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)],
        crs=27700,
    )


def test_hand_made_statuses(squares):
    pts = pd.DataFrame(
        {
            "x": [5.0, 15.0, 10.0, 50.0, np.nan],
            "y": [5.0, 5.0, 5.0, 5.0, 1.0],
            "keep": list("pqrst"),
        },
        index=[10, 11, 12, 13, 14],
    )
    before = pts.copy()
    j = join_points(pts, squares, x="x", y="y", crs=27700)
    pd.testing.assert_frame_equal(pts, before)  # input not modified
    assert j.table.index.tolist() == [10, 11, 12, 13, 14]
    assert j.table["area"].tolist()[:3] == ["a", "b", "a"]  # boundary point: first polygon
    assert j.table["area"].isna().tolist() == [False, False, False, True, True]
    assert j.status.tolist() == ["inside", "inside", "several", "outside", "no coordinates"]
    assert (j.n_inside, j.n_several, j.n_outside, j.n_no_coordinates) == (3, 1, 1, 1)
    assert j.n_per_area.set_index("area")["n"].to_dict() == {"a": 2, "b": 1}
    assert j.summary()["n"].sum() == 5
    assert "1 fall outside every area" in j.report()
    assert j.to_dict()["n_outside"] == 1


def test_lonlat_points_projected(squares):
    # a real place: Trafalgar Square; its BNG coordinates (OS) are about 530,000 E, 180,400 N
    sq = gpd.GeoDataFrame(
        {"unit": ["tq"]}, geometry=[shapely.box(529_900, 180_300, 530_100, 180_500)], crs=27700
    )
    pts = pd.DataFrame({"longitude": [-0.1281], "latitude": [51.5080]})
    j = join_points(pts, sq)
    assert j.table["area"].tolist() == ["tq"]
    g = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts["longitude"], pts["latitude"]), crs=4326)
    assert join_points(g, sq).table["area"].tolist() == ["tq"]


def test_errors(squares):
    pts = pd.DataFrame({"x": [1.0], "y": [1.0], "area": ["z"]})
    with pytest.raises(InputError, match="already have a column 'area'"):
        join_points(pts, squares, x="x", y="y", crs=27700)
    with pytest.raises(InputError, match="need columns"):
        join_points(pts, squares, crs=27700, column="c")
    with pytest.raises(InputError, match="id column"):
        join_points(pts, squares, id_column="code", x="x", y="y", column="c")


def test_real_city_records_agree_with_their_lsoa_codes(city_records, lsoa2011_path):
    """police.uk files carry LSOA 2011 codes; a plain spatial join to the real generalised 2011
    polygons must agree for >= 95% of located records (about 97% is expected: points are
    snapped to streets, often LSOA borders)."""
    b = read_boundaries(lsoa2011_path)
    assert b.vintage == 2011
    j = join_points(city_records, b.frame, column="joined_lsoa")
    assert j.n_points == len(city_records)  # nothing dropped
    located = j.status.isin(["inside", "several"])
    has_code = j.table["lsoa_code"].notna()
    both = located & has_code
    share = float((j.table.loc[both, "joined_lsoa"] == j.table.loc[both, "lsoa_code"]).mean())
    print(
        f"\nCity of London 2016-01..2017-06: {j.n_points} records, {int(both.sum())} located with "
        f"a code; agreement with the files' LSOA code {share:.1%}; {j.report()}"
    )
    assert share >= 0.95
    # every record without coordinates also has no code in these files, and is counted
    assert j.n_no_coordinates == int(city_records["longitude"].isna().sum()) > 0
