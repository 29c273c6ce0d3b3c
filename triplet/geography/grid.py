"""British National Grid cells with ids a GIS can read, and their polygons.

A grid cell is a square of ``size_m`` metres aligned to British National Grid (EPSG:27700), the
grid Ordnance Survey grid references and ONS grid statistics use. Its id names its size and its
south-west corner in whole metres, in the manner of the INSPIRE / EEA statistical grid ids
(``CRS3035RES1000mN2684000E4334000``, INSPIRE Data Specification on Statistical Units, Annex
III): ``BNG250mE530250N180500`` is the 250 m cell whose south-west corner is at easting
530 250 m, northing 180 500 m. The id can be split in any GIS (``E`` and ``N`` give the corner;
the cell is ``[E, E + size) x [N, N + size)``) and :func:`grid_polygons` writes the cells out as
polygons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem

__all__ = [
    "CELL_ID",
    "bng_cell_ids",
    "grid_cells_bng",
    "grid_polygons",
    "parse_cell_ids",
    "to_bng",
]

#: Pattern of a cell id: size in metres, south-west corner easting and northing in metres.
CELL_ID = re.compile(r"^BNG(\d+(?:\.\d+)?)mE(-?\d+)N(-?\d+)$")


def _size_text(size_m: float) -> str:
    return f"{size_m:g}" if float(size_m).is_integer() else f"{size_m:.3f}".rstrip("0")


def to_bng(xs, ys, crs: str | int = "EPSG:4326") -> tuple[np.ndarray, np.ndarray]:
    """Project coordinates from ``crs`` to British National Grid metres (NaN stays NaN)."""
    from pyproj import CRS, Transformer

    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    src = CRS.from_user_input(crs)
    if src.to_epsg() == 27700:
        return xs.copy(), ys.copy()
    ok = np.isfinite(xs) & np.isfinite(ys)
    ex = np.full(xs.shape, np.nan)
    ny = np.full(ys.shape, np.nan)
    tr = Transformer.from_crs(src, CRS.from_epsg(27700), always_xy=True)
    ex[ok], ny[ok] = tr.transform(xs[ok], ys[ok])
    return ex, ny


def bng_cell_ids(eastings, northings, size_m: float) -> np.ndarray:
    """Cell id of each (easting, northing) in metres; None where a coordinate is missing."""
    if not np.isfinite(size_m) or size_m <= 0:
        raise InputError(
            Problem(file="<grid>", field="size_m", message=f"grid size must be > 0 m, got {size_m}")
        )
    e = np.asarray(eastings, dtype=float)
    n = np.asarray(northings, dtype=float)
    ok = np.isfinite(e) & np.isfinite(n)
    ix = np.floor(np.where(ok, e, 0) / size_m).astype(np.int64)
    iy = np.floor(np.where(ok, n, 0) / size_m).astype(np.int64)
    pairs = pd.MultiIndex.from_arrays([ix, iy])
    codes, uniq = pairs.factorize()
    size = _size_text(size_m)
    labels = np.array(
        [f"BNG{size}mE{_corner(a, size_m)}N{_corner(b, size_m)}" for a, b in uniq], dtype=object
    )
    out = labels[codes] if len(codes) else np.array([], dtype=object)
    out = out.astype(object)
    out[~ok] = None
    return out


def _corner(index: int, size_m: float) -> str:
    v = index * size_m
    return str(round(v)) if float(v).is_integer() or abs(v - round(v)) < 1e-6 else f"{v:.3f}"


def grid_cells_bng(
    points: pd.DataFrame,
    size_m: float,
    *,
    x: str = "longitude",
    y: str = "latitude",
    crs: str | int = "EPSG:4326",
) -> pd.Series:
    """British National Grid cell id of each point (NA without coordinates), named ``grid_cell``.

    Points are in ``crs`` (default longitude/latitude, WGS84); pass ``crs="EPSG:27700"`` with
    eastings/northings.
    """
    for col in (x, y):
        if col not in points.columns:
            raise InputError(
                Problem(
                    file="<records>",
                    field=col,
                    message=f"grid cells need coordinates {x!r} and {y!r}",
                )
            )
    e, n = to_bng(
        pd.to_numeric(points[x], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        pd.to_numeric(points[y], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        crs,
    )
    ids = bng_cell_ids(e, n, size_m)
    return pd.Series(ids, index=points.index, name="grid_cell", dtype="str")


def parse_cell_ids(cells: Iterable[str]) -> pd.DataFrame:
    """``unit, size_m, easting, northing`` (south-west corner) and ``x, y`` (centre), metres."""
    rows = []
    for cell in cells:
        m = CELL_ID.match(str(cell))
        if not m:
            raise InputError(
                Problem(
                    file="<units>",
                    field="unit",
                    message=f"not a grid cell id: {cell!r} (expected e.g. BNG250mE530250N180500)",
                )
            )
        size, e, n = float(m.group(1)), float(m.group(2)), float(m.group(3))
        rows.append((str(cell), size, e, n, e + size / 2, n + size / 2))
    return pd.DataFrame(rows, columns=["unit", "size_m", "easting", "northing", "x", "y"])


def grid_polygons(cells: Iterable[str]):
    """The cells as square polygons (GeoDataFrame, EPSG:27700): ``unit, size_m, easting,
    northing, geometry``; write them with :func:`triplet.geography.write_boundaries`."""
    import geopandas as gpd
    import shapely

    t = parse_cell_ids(cells)
    geoms = shapely.box(
        t["easting"], t["northing"], t["easting"] + t["size_m"], t["northing"] + t["size_m"]
    )
    return gpd.GeoDataFrame(
        t[["unit", "size_m", "easting", "northing"]], geometry=geoms, crs="EPSG:27700"
    )
