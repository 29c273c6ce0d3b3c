"""Points to areas: a spatial join of records with coordinates to any polygons.

:func:`join_points` gives each point (crime records, GPS pings, visit logs) the id of the
polygon containing it: LSOAs, hot-spot polygons, patrol areas, street-segment buffers. Points
are projected to the polygons' CRS (British National Grid for :class:`Boundaries`). A point on
a boundary shared by two polygons, or inside overlapping polygons, goes to the first polygon in
the polygons' row order and is counted in ``n_several``. Points with no coordinates and points
outside every polygon keep their row (area NA) and are counted and reported: no row is
dropped.

The API is plain on purpose: a DataFrame (or GeoDataFrame) of points and a GeoDataFrame of
polygons in; the points with one new column, a per-row status and counts out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = ["JOIN_STATUSES", "PointsInAreas", "join_points"]

#: Per-point outcome of the join.
JOIN_STATUSES = ("inside", "several", "outside", "no coordinates")


@dataclass(frozen=True)
class PointsInAreas:
    """The join of points to polygons.

    ``table``: the input points (same index and order, every row) plus ``column`` (the area id,
    NA when outside or without coordinates). ``status`` (aligned Series): ``inside``,
    ``several`` (on a shared boundary or in overlapping polygons; the first polygon is used),
    ``outside``, ``no coordinates``. ``n_per_area``: ``area, n`` over every polygon (zeros
    included).
    """

    table: pd.DataFrame
    status: pd.Series
    column: str
    n_per_area: pd.DataFrame
    polygons_crs: str

    @property
    def areas(self) -> pd.Series:
        return self.table[self.column]

    @property
    def n_points(self) -> int:
        return len(self.table)

    @property
    def n_located(self) -> int:
        return int((self.status != "no coordinates").sum())

    @property
    def n_inside(self) -> int:
        return int(self.status.isin(("inside", "several")).sum())

    @property
    def n_several(self) -> int:
        return int((self.status == "several").sum())

    @property
    def n_outside(self) -> int:
        return int((self.status == "outside").sum())

    @property
    def n_no_coordinates(self) -> int:
        return int((self.status == "no coordinates").sum())

    def summary(self) -> pd.DataFrame:
        """Points by status: ``status, n, share`` (share of all points)."""
        n = self.status.value_counts().reindex(JOIN_STATUSES, fill_value=0)
        total = max(self.n_points, 1)
        return pd.DataFrame(
            {"status": list(JOIN_STATUSES), "n": n.to_numpy(), "share": n.to_numpy() / total}
        )

    def report(self) -> str:
        """One sentence for logs and the command line."""
        parts = [f"{self.n_inside:,} of {self.n_points:,} points fall in an area"]
        if self.n_several:
            parts.append(f"{self.n_several:,} of them on a shared boundary (first area used)")
        if self.n_outside:
            parts.append(f"{self.n_outside:,} fall outside every area")
        if self.n_no_coordinates:
            parts.append(f"{self.n_no_coordinates:,} have no coordinates")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict:
        """JSON-ready counts (no point-level data)."""
        return jsonable(
            {
                "column": self.column,
                "n_points": self.n_points,
                "n_inside": self.n_inside,
                "n_several": self.n_several,
                "n_outside": self.n_outside,
                "n_no_coordinates": self.n_no_coordinates,
                "n_areas": len(self.n_per_area),
                "n_empty_areas": int((self.n_per_area["n"] == 0).sum()),
            }
        )

    def plot(self, ax=None):
        """Bar chart of points by status."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        s = self.summary()
        ax.barh(s["status"], s["n"], color="#0072B2")
        ax.invert_yaxis()
        ax.set_xlabel("points")
        ax.set_title(self.report(), fontsize="small", wrap=True)
        return ax


def _point_xy(points: pd.DataFrame, x: str, y: str, crs, target_crs, file: str):
    import geopandas as gpd
    import shapely

    if isinstance(points, gpd.GeoDataFrame) and (
        x not in points.columns or y not in points.columns
    ):
        geom = points.geometry
        if geom.crs is None:
            raise InputError(Problem(file=file, field="geometry", message="points have no CRS"))
        if target_crs is not None and geom.crs != target_crs:
            geom = geom.to_crs(target_crs)
        ok = ~(geom.isna() | geom.is_empty).to_numpy()
        xs = np.full(len(geom), np.nan)
        ys = np.full(len(geom), np.nan)
        xs[ok] = shapely.get_x(geom.values[ok])
        ys[ok] = shapely.get_y(geom.values[ok])
        return xs, ys
    for col in (x, y):
        if col not in points.columns:
            raise InputError(
                Problem(file=file, field=col, message=f"points need columns {x!r} and {y!r}")
            )
    xs = pd.to_numeric(points[x], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ys = pd.to_numeric(points[y], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if target_crs is not None:
        from pyproj import CRS, Transformer

        src = CRS.from_user_input(crs)
        dst = CRS.from_user_input(target_crs)
        if src != dst:
            ok = np.isfinite(xs) & np.isfinite(ys)
            tr = Transformer.from_crs(src, dst, always_xy=True)
            px, py = tr.transform(xs[ok], ys[ok])
            xs, ys = xs.copy(), ys.copy()
            xs[ok], ys[ok] = px, py
    return xs, ys


def join_points(
    points: pd.DataFrame,
    polygons,
    *,
    id_column: str = "unit",
    column: str = "area",
    x: str = "longitude",
    y: str = "latitude",
    crs: str | int = "EPSG:4326",
    file: str = "<points>",
) -> PointsInAreas:
    """Give each point the id of the polygon containing it (see the module docstring).

    ``points``: a DataFrame with ``x``/``y`` columns in ``crs`` (default longitude/latitude,
    WGS84) or a GeoDataFrame of points. ``polygons``: a GeoDataFrame (e.g.
    ``Boundaries.frame``) with ``id_column``. The new column ``column`` holds the area id.
    ``points`` is not modified.
    """
    import geopandas as gpd
    import shapely

    if not isinstance(polygons, gpd.GeoDataFrame):
        raise InputError(Problem(file="<polygons>", message="polygons must be a GeoDataFrame"))
    if id_column not in polygons.columns:
        raise InputError(
            Problem(file="<polygons>", field=id_column, message="polygons have no such id column")
        )
    if polygons.crs is None:
        raise InputError(Problem(file="<polygons>", field="crs", message="polygons have no CRS"))
    if column in points.columns:
        raise InputError(
            Problem(
                file=file,
                field=column,
                message=f"points already have a column {column!r}; choose another name",
            )
        )
    xs, ys = _point_xy(points, x, y, crs, polygons.crs, file)
    ok = np.isfinite(xs) & np.isfinite(ys)
    ids = polygons[id_column].astype("str").to_numpy()
    geoms = polygons.geometry.values
    area_ix = np.full(len(xs), -1, dtype=np.int64)
    several = np.zeros(len(xs), dtype=bool)
    if ok.any() and len(geoms):
        pts = shapely.points(xs[ok], ys[ok])
        tree = shapely.STRtree(geoms)
        p_ix, g_ix = tree.query(pts, predicate="intersects")
        if len(p_ix):
            hits = pd.DataFrame({"p": p_ix, "g": g_ix})
            first = hits.groupby("p")["g"].min()
            n_hits = hits.groupby("p")["g"].size()
            located = np.flatnonzero(ok)
            area_ix[located[first.index.to_numpy()]] = first.to_numpy()
            several[located[n_hits.index[n_hits.to_numpy() > 1].to_numpy()]] = True
    area = pd.Series(
        np.where(area_ix >= 0, ids[np.maximum(area_ix, 0)] if len(ids) else None, None),
        index=points.index,
        dtype="str",
    )
    area = area.where(area_ix >= 0)
    status = np.where(
        ~ok,
        "no coordinates",
        np.where(area_ix < 0, "outside", np.where(several, "several", "inside")),
    )
    table = pd.DataFrame(points).copy()
    if isinstance(table, gpd.GeoDataFrame):
        table = pd.DataFrame(table)
    table[column] = area
    counts = area.value_counts().reindex(ids, fill_value=0)
    n_per_area = pd.DataFrame({"area": ids, "n": counts.to_numpy(dtype=np.int64)})
    return PointsInAreas(
        table=table,
        status=pd.Series(status, index=points.index, name="status", dtype="str"),
        column=column,
        n_per_area=n_per_area,
        polygons_crs=polygons.crs.to_string(),
    )
