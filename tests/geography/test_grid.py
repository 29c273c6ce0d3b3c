"""British National Grid cells: ids, corners, polygons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.geography import bng_cell_ids, grid_cells_bng, grid_polygons, parse_cell_ids


def test_ids_name_the_south_west_corner():
    ids = bng_cell_ids([530_249.9, 530_250.0, np.nan], [180_999.0, 180_500.0, 1.0], 250)
    assert ids.tolist() == ["BNG250mE530000N180750", "BNG250mE530250N180500", None]
    t = parse_cell_ids(["BNG250mE530250N180500"]).iloc[0]
    assert (t["easting"], t["northing"], t["x"], t["y"]) == (530250, 180500, 530375, 180625)
    with pytest.raises(InputError, match="not a grid cell id"):
        parse_cell_ids(["g250_E1_N2"])
    with pytest.raises(InputError, match="> 0"):
        bng_cell_ids([1.0], [1.0], 0)


def test_lonlat_records_to_bng_cells():
    # Nelson's Column: OS grid reference TQ 30015 80415 (easting 530015, northing 180415)
    rec = pd.DataFrame({"longitude": [-0.12803, None], "latitude": [51.50773, None]})
    cells = grid_cells_bng(rec, 100)
    assert cells.iloc[0] == "BNG100mE530000N180400"
    assert cells.isna().tolist() == [False, True]
    assert grid_cells_bng(rec, 1000).iloc[0] == "BNG1000mE530000N180000"  # = OS square TQ3080


@given(
    e=st.floats(0, 700_000, allow_nan=False),
    n=st.floats(0, 1_300_000, allow_nan=False),
    size=st.sampled_from([50.0, 100.0, 250.0, 500.0, 1000.0]),
)
def test_point_lies_in_its_cell_polygon(e, n, size):
    cell = bng_cell_ids([e], [n], size)[0]
    poly = grid_polygons([cell]).geometry.iloc[0]
    x0, y0, x1, y1 = poly.bounds
    assert x0 <= e < x1 and y0 <= n < y1
    assert x1 - x0 == size and poly.area == size * size


def test_polygons_are_bng_squares():
    g = grid_polygons(["BNG250mE530250N180500", "BNG250mE530500N180500"])
    assert g.crs.to_epsg() == 27700
    assert g.geometry.area.tolist() == [62_500.0, 62_500.0]
    assert g.geometry.iloc[0].touches(g.geometry.iloc[1])
