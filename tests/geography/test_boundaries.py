"""Reading boundary files: formats, CRS, ONS columns, local-authority filter."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from triplet.errors import InputError, OverwriteError
from triplet.geography import (
    boundaries_from_frame,
    ons_code_columns,
    read_boundaries,
    write_boundaries,
)


def test_ons_columns_finest_first():
    cols = ["LAD22NM", "LAD22CD", "MSOA21CD", "LSOA21NM", "LSOA21CD", "geometry"]
    assert ons_code_columns(cols) == [
        ("LSOA21CD", "LSOA", "LSOA21NM"),
        ("MSOA21CD", "MSOA", None),
        ("LAD22CD", "LAD", "LAD22NM"),
    ]


def test_real_file_one_borough(croydon):
    assert croydon.id_column == "LSOA21CD"
    assert croydon.name_column == "LSOA21NM"
    assert croydon.entity == "LSOA" and croydon.vintage == 2021
    assert croydon.n_read == 4994
    # ONS: Croydon has 220 LSOAs (2011) and 229 (2021 census geography)
    assert croydon.n_units == 229
    assert croydon.frame.crs.to_epsg() == 27700
    assert croydon.frame["name"].str.startswith("Croydon ").all()
    # Croydon is about 86.5 km2 (ONS Standard Area Measurements, land area 86.5)
    assert croydon.frame.geometry.area.sum() / 1e6 == pytest.approx(86.5, abs=1.0)
    assert croydon.to_dict()["where"] == {"LAD22NM": "Croydon"}


def test_any_crs_any_format_round_trip(croydon, tmp_path):
    """GeoJSON (WGS84) and GeoPackage both come back in British National Grid, same areas."""
    gj = write_boundaries(tmp_path / "croydon.geojson", croydon.frame.head(20))
    gp = write_boundaries(tmp_path / "croydon.gpkg", croydon.frame.head(20))
    with pytest.raises(OverwriteError):
        write_boundaries(gj, croydon.frame.head(20))
    a = read_boundaries(gj, id_column="unit")
    b = read_boundaries(gp, id_column="LSOA21CD")
    assert a.source_crs.endswith("4326") and a.frame.crs.to_epsg() == 27700
    assert a.frame["unit"].tolist() == croydon.frame["unit"].head(20).tolist()
    # reprojection there and back moves areas by well under a square metre per hectare
    ratio = a.frame.geometry.area.to_numpy() / croydon.frame.geometry.area.head(20).to_numpy()
    assert np.allclose(ratio, 1, atol=1e-6)
    assert b.frame["unit"].tolist() == a.frame["unit"].tolist()
    assert b.name_column == "LSOA21NM"


def test_filter_and_column_errors(lsoa2011_path):
    with pytest.raises(InputError, match="no area has LAD11NM = 'Atlantis'"):
        read_boundaries(lsoa2011_path, where="LAD11NM=Atlantis")
    with pytest.raises(InputError, match="no column 'LAD22NM'"):
        read_boundaries(lsoa2011_path, where="LAD22NM=Croydon")
    with pytest.raises(InputError, match="no column 'nope'"):
        read_boundaries(lsoa2011_path, id_column="nope")
    b = read_boundaries(lsoa2011_path, where="LAD11NM=city of london")  # any case
    assert b.n_units == 6  # the City of London has six 2011 LSOAs


def test_missing_crs_duplicates_and_repairs():
    sq = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    frame = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=sq)
    with pytest.raises(InputError, match="no coordinate reference system"):
        boundaries_from_frame(frame, id_column="code")
    with pytest.raises(InputError, match="no ONS code column"):
        boundaries_from_frame(frame, crs=27700)
    dup = gpd.GeoDataFrame({"code": ["a", "a"]}, geometry=sq, crs=27700)
    with pytest.raises(InputError, match="more than once"):
        boundaries_from_frame(dup, id_column="code")
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-intersecting
    bad = gpd.GeoDataFrame({"code": ["x"]}, geometry=[bowtie], crs=27700)
    b = boundaries_from_frame(bad, id_column="code")
    assert b.frame.geometry.is_valid.all()
    assert b.frame.geometry.area.iloc[0] == pytest.approx(2.0)
    assert any("repaired 1 invalid" in n for n in b.notes)


def test_not_found_and_wrong_type(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_boundaries(tmp_path / "none.gpkg")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(InputError, match="unknown boundary file type"):
        read_boundaries(tmp_path / "x.txt")
