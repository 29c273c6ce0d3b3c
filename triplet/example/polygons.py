"""Polygons for the example borough's LSOAs (SYNTHETIC): a Voronoi tessellation, deterministic.

The example borough's LSOAs are points on a 630 m grid with small jitter. For maps, each gets a
polygon: the Voronoi cell of its centre (shapely/GEOS ``voronoi_polygons``) clipped to the
borough outline, the union of the 630 m grid squares the LSOAs occupy. Polygons are in British
National Grid (EPSG:27700): the local x/y (metres) are placed on the grid by the affine map that
takes them to the LSOAs' invented longitude/latitude projected to EPSG:27700 (fitted by least
squares; the map is nearly exact because the invented coordinates are linear in x/y), so the
synthetic crimes' longitude/latitude fall on the map where their LSOA is. Nothing here is a real
boundary. The same seed gives the same polygons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["borough_outline", "borough_polygons"]


def _affine(lsoas: pd.DataFrame) -> np.ndarray:
    """3 x 2 matrix taking ``[x, y, 1]`` (local metres) to British National Grid metres."""
    from triplet.geography.grid import to_bng

    e, n = to_bng(lsoas["longitude"], lsoas["latitude"], "EPSG:4326")
    a = np.column_stack([lsoas["x"].to_numpy(float), lsoas["y"].to_numpy(float), np.ones(len(e))])
    coef, *_ = np.linalg.lstsq(a, np.column_stack([e, n]), rcond=None)
    return coef


def _to_bng(geom, coef: np.ndarray):
    import shapely

    return shapely.transform(geom, lambda xy: np.column_stack([xy, np.ones(len(xy))]) @ coef)


def borough_outline(lsoas: pd.DataFrame, *, cell_m: float = 630.0):
    """The borough outline (shapely polygon, EPSG:27700): the union of occupied grid squares."""
    import shapely

    col = np.floor(lsoas["x"].to_numpy(float) / cell_m)
    row = np.floor(lsoas["y"].to_numpy(float) / cell_m)
    squares = shapely.box(col * cell_m, row * cell_m, (col + 1) * cell_m, (row + 1) * cell_m)
    return _to_bng(shapely.union_all(squares), _affine(lsoas))


def borough_polygons(lsoas: pd.DataFrame, *, cell_m: float = 630.0):
    """GeoDataFrame (EPSG:27700) of ``unit`` (= ``lsoa_code``), ``lsoa_code``, ``lsoa_name``,
    ``ward`` and the Voronoi polygon of each LSOA, clipped to the borough outline; LSOA order."""
    import geopandas as gpd
    import shapely

    coef = _affine(lsoas)
    pts = _to_bng(shapely.points(lsoas["x"].to_numpy(float), lsoas["y"].to_numpy(float)), coef)
    outline = borough_outline(lsoas, cell_m=cell_m)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline, ordered=True)
    )
    # ``ordered`` keeps the input order; match by containment anyway (a guard, not a repair)
    tree = shapely.STRtree(cells)
    p_ix, c_ix = tree.query(pts, predicate="within")
    owner = np.full(len(pts), -1)
    owner[p_ix] = c_ix
    if (owner < 0).any() or len(set(owner.tolist())) != len(pts):  # pragma: no cover
        raise RuntimeError("Voronoi cells do not match the LSOA points one to one")
    geoms = shapely.intersection(cells[owner], outline)
    frame = pd.DataFrame(
        {
            "unit": lsoas["lsoa_code"].astype("str").to_numpy(),
            "lsoa_code": lsoas["lsoa_code"].astype("str").to_numpy(),
            "lsoa_name": lsoas["lsoa_name"].astype("str").to_numpy(),
            "ward": lsoas["ward"].astype("str").to_numpy(),
        }
    )
    out = gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:27700")
    out.attrs["label"] = "SYNTHETIC"
    return out
