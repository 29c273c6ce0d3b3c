"""Buffer rings from polygons: hand-made distances and bands."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from triplet.errors import InputError
from triplet.geography import buffer_rings


@pytest.fixture
def row_of_squares():
    # five 100 m squares in a row, x from 0 to 500; a sixth 1 km away
    boxes = [shapely.box(100 * i, 0, 100 * (i + 1), 100) for i in range(5)]
    boxes.append(shapely.box(1500, 0, 1600, 100))
    return gpd.GeoDataFrame({"unit": list("abcdef")}, geometry=boxes, crs=27700)


def test_bands_by_polygon_distance(row_of_squares):
    r = buffer_rings(row_of_squares, ["a"], distances_m=(0, 150))
    t = r.table.set_index("unit")
    assert t["role"].to_dict() == {
        "a": "treated",
        "b": "buffer",
        "c": "buffer",
        "d": "outside",
        "e": "outside",
        "f": "outside",
    }
    assert t.loc["b", "band"] == 1 and t.loc["b", "band_label"] == "touching (0 m)"
    assert t.loc["c", "band"] == 2 and t.loc["c", "band_label"] == "0-150 m"
    assert t.loc["c", "distance_m"] == 100.0  # edge to edge, not centroid to centroid (200 m)
    assert t.loc["f", "distance_m"] == 1400.0
    assert r.buffer_units() == ["b", "c"] and r.buffer_units(band=2) == ["c"]
    assert r.buffers().to_dict(orient="list") == {"unit": ["a", "a"], "buffer_unit": ["b", "c"]}
    # ring polygons: band 2 is the 150 m buffer of a minus a itself; exact area
    # pi * 150^2 + 4 * 100 * 150 (the buffer is a polygon: corners cut by < 0.5%)
    ring2 = r.rings.set_index("band").geometry.loc[2]
    assert ring2.area == pytest.approx(np.pi * 150**2 + 4 * 100 * 150, rel=0.005)
    assert ring2.area < np.pi * 150**2 + 4 * 100 * 150
    assert r.to_dict()["bands"] == {"touching (0 m)": ["b"], "0-150 m": ["c"]}


def test_nearest_treated_of_two(row_of_squares):
    r = buffer_rings(row_of_squares, ["a", "e"], distances_m=(0,))
    t = r.table.set_index("unit")
    assert t.loc["b", "nearest_treated"] == "a" and t.loc["d", "nearest_treated"] == "e"
    assert t.loc["c", "role"] == "outside"


def test_errors(row_of_squares):
    with pytest.raises(InputError, match="not areas"):
        buffer_rings(row_of_squares, ["zz"])
    with pytest.raises(InputError, match="increasing"):
        buffer_rings(row_of_squares, ["a"], distances_m=(200, 100))
    with pytest.raises(InputError, match="projected"):
        buffer_rings(row_of_squares.to_crs(4326), ["a"])
