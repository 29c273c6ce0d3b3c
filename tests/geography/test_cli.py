"""Geography commands through triplet.cli.main.main, on the real London boundaries and City of
London files: units tables, joins, grid polygons, vintages, candidates with polygon buffers."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from triplet.cli.main import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err + cap.out
    assert "internal error" not in cap.err
    # rich wraps at the terminal width: compare text with whitespace collapsed
    return code, re.sub(r"\s+", " ", cap.out), re.sub(r"\s+", " ", cap.err)


def test_units_from_boundaries_writes_the_units_table(capsys, tmp_path, lsoa2021_path, croydon):
    out = tmp_path / "croydon.csv"
    poly = tmp_path / "croydon.gpkg"
    code, so, _ = run(
        capsys,
        "units",
        "from-boundaries",
        lsoa2021_path,
        "--filter",
        "LAD22NM=Croydon",
        "--contiguity",
        "rook",
        "--out",
        out,
        "--polygons",
        poly,
    )
    assert code == 0, so
    assert "229 units" in so and "rook contiguity" in so
    t = pd.read_csv(out, dtype={"neighbours": "str"}, keep_default_na=False)
    assert len(t) == 229
    for c in ("unit", "name", "x", "y", "area_m2", "neighbours", "lsoa_code"):
        assert c in t.columns
    assert t["unit"].tolist() == croydon.frame["unit"].tolist()
    nb = {u: set(r.split(";")) - {""} for u, r in zip(t["unit"], t["neighbours"], strict=True)}
    assert all(u in nb[v] for u in nb for v in nb[u])  # symmetric
    assert sum(map(len, nb.values())) == 1236  # rook, as in test_units (shapely reference)
    g = gpd.read_file(poly)
    assert len(g) == 229 and g.crs.to_epsg() == 27700

    # never overwrites, with a clear message
    code, _, se = run(capsys, "units", "from-boundaries", lsoa2021_path, "--out", out)
    assert code != 0 and "already exists" in se


def test_units_errors_name_file_and_field(capsys, tmp_path, lsoa2021_path):
    code, _, se = run(
        capsys,
        "units",
        "from-boundaries",
        lsoa2021_path,
        "--filter",
        "LAD22NM=Croydn",
        "--out",
        tmp_path / "u.csv",
    )
    assert code == 1
    assert f"{lsoa2021_path}: LAD22NM: no area has LAD22NM = 'Croydn'" in se
    code, _, se = run(
        capsys,
        "units",
        "from-boundaries",
        lsoa2021_path,
        "--id-col",
        "NOPE",
        "--out",
        tmp_path / "u.csv",
    )
    assert code == 1 and "id_column: no column 'NOPE'" in se
    code, _, se = run(
        capsys, "units", "from-boundaries", tmp_path / "none.shp", "--out", tmp_path / "u.csv"
    )
    assert code == 1 and "boundary file not found" in se
    assert not (tmp_path / "u.csv").exists()


def test_geo_join_real_city_records(capsys, tmp_path, lsoa2011_path, city_folder):
    folder = city_folder
    out = tmp_path / "joined.parquet"
    code, so, se = run(
        capsys, "geo", "join", folder, lsoa2011_path, "--out", out, "--column", "lsoa11"
    )
    assert code == 0
    t = pd.read_parquet(out)
    assert len(t) == 10_118  # every record kept
    st = t["lsoa11_status"].value_counts()
    assert st["outside"] == 57 and st["no coordinates"] == 465
    assert "57 fall outside every area" in so and "465 have no coordinates" in so
    assert "522 records have no area" in se
    both = t["lsoa11"].notna() & t["lsoa_code"].notna()
    share = float((t.loc[both, "lsoa11"] == t.loc[both, "lsoa_code"]).mean())
    assert share >= 0.95


def test_geo_grid_writes_bng_polygons(capsys, tmp_path):
    pts = pd.DataFrame(
        {
            "x": [530_010.0, 530_240.0, 530_260.0, np.nan],
            "y": [180_010.0, 180_100.0, 180_100.0, 1.0],
        }
    )
    src = tmp_path / "pts.csv"
    pts.to_csv(src, index=False)
    out = tmp_path / "cells.gpkg"
    code, so, _ = run(
        capsys,
        "geo",
        "grid",
        src,
        "--size",
        "250",
        "--x",
        "x",
        "--y",
        "y",
        "--crs",
        "EPSG:27700",
        "--out",
        out,
    )
    assert code == 0
    g = gpd.read_file(out).set_index("unit")
    assert g["count"].to_dict() == {"BNG250mE530000N180000": 2, "BNG250mE530250N180000": 1}
    # the id's corner is the square's south-west corner, in metres
    assert g.geometry["BNG250mE530250N180000"].bounds == (530250.0, 180000.0, 530500.0, 180250.0)
    assert "1 records have no coordinates" in so


def test_geo_vintage_reports_unmatched_and_split(capsys, tmp_path):
    lookup = tmp_path / "lookup.csv"
    lookup.write_text(
        "LSOA11CD,LSOA21CD,CHGIND\nE01000001,E01000001,U\nE01000002,E01035000,S\n"
        "E01000002,E01035001,S\nE01000003,E01000003,U\n"
    )
    table = tmp_path / "t.csv"
    pd.DataFrame({"lsoa_code": ["E01000001", "E01000002", "E01999999", None, "E01000003"]}).to_csv(
        table, index=False
    )
    out = tmp_path / "t21.csv"
    code, so, se = run(capsys, "geo", "vintage", table, "--lookup", lookup, "--out", out)
    assert code == 0
    t = pd.read_csv(out, dtype=str)
    assert t["lsoa21_code"].fillna("").tolist() == ["E01000001", "", "", "", "E01000003"]
    assert t["lsoa21_code_status"].tolist() == ["mapped", "split", "unmatched", "missing", "mapped"]
    assert "E01999999: unmatched (1 rows)" in se
    assert "E01000002: split (1 rows); targets E01035000;E01035001" in se
    assert "3 of 5 rows mapped" not in so and "2 of 5 rows mapped" in so
    # a lookup row without a code: file and line named
    bad = tmp_path / "bad.csv"
    bad.write_text("LSOA11CD,LSOA21CD\nE01000001,E01000001\nE01000002,\n")
    code, _, se = run(capsys, "geo", "vintage", table, "--lookup", bad, "--out", tmp_path / "x.csv")
    assert code == 1 and f"{bad}:3: a lookup row lacks a code" in se


def test_target_candidates_with_polygon_buffers_on_real_lsoas(
    capsys, tmp_path, lsoa2011_path, city_folder
):
    """Real City of London records, real 2011 LSOAs: candidates' buffer rings are the areas
    whose polygon lies within 100 m of the candidate's polygon (checked with shapely)."""
    folder = city_folder
    code, so, se = run(
        capsys,
        "target",
        folder,
        "--candidates",
        "2",
        "--boundaries",
        lsoa2011_path,
        "--filter",
        "LAD11NM=City of London",
        "--buffer",
        "100",
    )
    assert code == 0, se
    assert "18 ranked units are not areas" in se  # records' units outside the City
    assert "within 100 m of the candidate's" in so
    frame = gpd.read_file(lsoa2011_path)
    city = frame[frame["LAD11NM"] == "City of London"].set_index("LSOA11CD")
    # the highest-harm City LSOA is first; its ring by polygon distance
    first = "E01032739"
    ref = sorted(
        u
        for u in city.index
        if u != first and city.geometry[u].distance(city.geometry[first]) <= 100
    )
    assert f"{first} │ 84,000 │ 5,121 │ {';'.join(ref)}" in so


def test_polygon_buffers_differ_from_centroid_buffers(croydon, croydon_units):
    """On Croydon's LSOAs, a 0 m polygon ring is exactly the queen neighbours; a centroid
    radius misses large neighbours (checked on the largest-area LSOA)."""
    from triplet.geography.rings import polygon_buffers

    t = croydon_units.table.set_index("unit")
    big = t["area_m2"].idxmax()
    ring0 = polygon_buffers(croydon.frame, [big], 0.0)[big]
    assert ring0 == sorted(t.loc[big, "neighbours"].split(";"))
    ring300 = polygon_buffers(croydon.frame, [big], 300.0)[big]
    assert set(ring0) < set(ring300)
    d = np.hypot(t["x"] - t.loc[big, "x"], t["y"] - t.loc[big, "y"])
    by_centroid = set(t.index[(d <= 300) & (t.index != big)])
    assert by_centroid < set(ring300)  # the centroid rule misses polygons within 300 m
    geoms = croydon.frame.set_index("unit").geometry
    assert all(shapely.distance(geoms[big], geoms[u]) <= 300 + 1e-6 for u in ring300)
