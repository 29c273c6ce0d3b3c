"""Buffer rings from geometry: distance bands around the treated areas' polygons.

Displacement and diffusion of benefits are measured in a catchment around the treated places
(Bowers, Johnson, Guerette, Summers & Poynton 2011, "Spatial displacement and diffusion of
benefits among geographically focused policing initiatives", *J. Experimental Criminology* 7).
Centroid distances misjudge large or irregular areas, so :func:`buffer_rings` measures the
shortest distance from each area's polygon to the nearest treated polygon (metres, British
National Grid) and puts each untreated area in the first band that reaches it: with
``distances_m=(0, 400)`` band 1 holds the areas touching a treated area (distance 0) and band 2
those within 400 m. Areas beyond the last band are ``outside``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = ["BufferRings", "buffer_rings", "candidates_with_polygon_buffers", "polygon_buffers"]


def _band_label(lo: float | None, hi: float) -> str:
    if hi == 0:
        return "touching (0 m)"
    return f"{0 if lo is None else lo:g}-{hi:g} m"


@dataclass(frozen=True)
class BufferRings:
    """Each area's role around the treated polygons.

    ``table``: ``unit, role`` (``treated``, ``buffer``, ``outside``), ``band`` (1 = nearest, 0
    for treated, NA outside), ``band_label``, ``distance_m`` (to the nearest treated polygon)
    and ``nearest_treated``. ``rings``: GeoDataFrame of the band polygons (the treated union
    buffered by each distance, minus the previous band) for maps.
    """

    table: pd.DataFrame
    distances_m: tuple[float, ...]
    rings: object  # geopandas.GeoDataFrame

    def buffer_units(self, band: int | None = None) -> list[str]:
        """Ids of the buffer areas (all bands, or one band)."""
        t = self.table[self.table["role"] == "buffer"]
        if band is not None:
            t = t[t["band"] == band]
        return t["unit"].tolist()

    def buffers(self) -> pd.DataFrame:
        """Long table ``unit, buffer_unit``: each treated area's buffer areas (nearest treated)."""
        t = self.table[self.table["role"] == "buffer"]
        return pd.DataFrame(
            {"unit": t["nearest_treated"].to_numpy(), "buffer_unit": t["unit"].to_numpy()}
        ).sort_values(["unit", "buffer_unit"], ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Areas per role and band."""
        t = self.table.assign(band_label=self.table["band_label"].fillna("beyond the last band"))
        return t.groupby(["role", "band_label"], sort=False).size().rename("units").reset_index()

    def to_dict(self) -> dict:
        """JSON-ready bands and their areas."""
        return jsonable(
            {
                "distances_m": list(self.distances_m),
                "treated": self.table.loc[self.table["role"] == "treated", "unit"].tolist(),
                "bands": {
                    lab: self.table.loc[
                        (self.table["role"] == "buffer") & (self.table["band_label"] == lab), "unit"
                    ].tolist()
                    for lab in dict.fromkeys(self.table["band_label"].dropna())
                    if lab != "treated"
                },
            }
        )

    def plot(self, ax=None, polygons=None):
        """Map of treated areas, buffer bands and the rest (needs the polygons)."""
        from triplet.geography.maps import roles_map

        if polygons is None:
            raise InputError(
                Problem(file="<rings>", field="polygons", message="pass the polygons to map")
            )
        roles = self.table.set_index("unit")["role"]
        return roles_map(polygons, roles, ax=ax, title="Treated areas and buffer rings")


def buffer_rings(
    polygons,
    treated: Iterable[str],
    *,
    distances_m: Sequence[float] = (0.0, 400.0),
    id_column: str = "unit",
) -> BufferRings:
    """Distance bands around the ``treated`` areas' polygons (see the module docstring).

    ``polygons``: GeoDataFrame in a projected CRS (metres; British National Grid for
    :class:`~triplet.geography.Boundaries`). ``distances_m``: increasing band edges in metres
    (0 = touching). Areas are never dropped: each is ``treated``, ``buffer`` or ``outside``.
    """
    import geopandas as gpd
    import shapely

    if not isinstance(polygons, gpd.GeoDataFrame) or id_column not in polygons.columns:
        raise InputError(
            Problem(file="<polygons>", field=id_column, message="need a GeoDataFrame with ids")
        )
    if polygons.crs is not None and polygons.crs.is_geographic:
        raise InputError(
            Problem(
                file="<polygons>",
                field="crs",
                message="distances need a projected CRS in metres (e.g. EPSG:27700)",
            )
        )
    dist = [float(d) for d in distances_m]
    if not dist or any(d < 0 for d in dist) or any(b <= a for a, b in itertools.pairwise(dist)):
        raise InputError(
            Problem(
                file="<rings>",
                field="distances_m",
                message=f"band edges must be increasing and >= 0 metres, got {list(distances_m)}",
            )
        )
    ids = polygons[id_column].astype("str").to_numpy()
    treated = [str(u) for u in treated]
    unknown = sorted(set(treated) - set(ids))
    if unknown:
        raise InputError(
            Problem(
                file="<rings>",
                field="treated",
                message=f"{len(unknown)} treated ids are not areas: {unknown[:5]}",
            )
        )
    if not treated:
        raise InputError(Problem(file="<rings>", field="treated", message="no treated areas"))
    geoms = polygons.geometry.values
    is_t = np.isin(ids, treated)
    t_geoms = geoms[is_t]
    t_ids = ids[is_t]
    tree = shapely.STRtree(t_geoms)
    nearest = tree.query_nearest(geoms, return_distance=True, all_matches=False)
    (src, tgt), d = nearest
    near_id = np.empty(len(ids), dtype=object)
    near_d = np.full(len(ids), np.nan)
    near_id[src] = t_ids[tgt]
    near_d[src] = d
    # the touching band: polygons that share a boundary point (distance may be ~1e-9 from floats)
    touch = np.zeros(len(ids), dtype=bool)
    p_ix, _ = tree.query(geoms, predicate="intersects")
    touch[np.unique(p_ix)] = True
    band = np.full(len(ids), -1, dtype=np.int64)
    labels = np.empty(len(ids), dtype=object)
    for k in range(len(dist) - 1, -1, -1):
        within = near_d <= dist[k] + 1e-6 if dist[k] > 0 else touch
        band[within] = k + 1
        labels[within] = _band_label(dist[k - 1] if k else None, dist[k])
    role = np.where(is_t, "treated", np.where(band > 0, "buffer", "outside"))
    band = np.where(is_t, 0, band)
    labels[is_t] = "treated"
    labels[role == "outside"] = None
    near_d[is_t] = 0.0
    near_id[is_t] = ids[is_t]
    table = pd.DataFrame(
        {
            "unit": pd.Series(ids, dtype="str"),
            "role": pd.Series(role, dtype="str"),
            "band": pd.array(np.where(band >= 0, band, -1), dtype="Int64"),
            "band_label": pd.Series(labels, dtype="str"),
            "distance_m": np.round(near_d, 1),
            "nearest_treated": pd.Series(near_id, dtype="str"),
        }
    )
    table.loc[table["band"] < 0, "band"] = pd.NA
    union = shapely.union_all(t_geoms)
    rings, previous = [], union
    for k, dd in enumerate(dist):
        outer = shapely.buffer(union, dd) if dd > 0 else union
        rings.append(
            (k + 1, _band_label(dist[k - 1] if k else None, dd), outer.difference(previous))
        )
        previous = outer
    ring_frame = gpd.GeoDataFrame(
        pd.DataFrame([(b, lab) for b, lab, _ in rings], columns=["band", "band_label"]),
        geometry=[g for *_, g in rings],
        crs=polygons.crs,
    )
    return BufferRings(table=table, distances_m=tuple(dist), rings=ring_frame)


def polygon_buffers(
    polygons,
    units: Iterable[str],
    distance_m: float,
    *,
    id_column: str = "unit",
) -> dict[str, list[str]]:
    """Each of ``units``' buffer ring from geometry: the other areas whose polygon lies within
    ``distance_m`` metres of its polygon (0 = touching: sharing at least a boundary point).

    Distances are shortest polygon-to-polygon distances in the polygons' projected CRS, so a
    large area next door is in the ring even when its centroid is far away.
    """
    import geopandas as gpd
    import shapely

    if not isinstance(polygons, gpd.GeoDataFrame) or id_column not in polygons.columns:
        raise InputError(
            Problem(file="<polygons>", field=id_column, message="need a GeoDataFrame with ids")
        )
    if polygons.crs is not None and polygons.crs.is_geographic:
        raise InputError(
            Problem(file="<polygons>", field="crs", message="distances need a projected CRS")
        )
    if not np.isfinite(distance_m) or distance_m < 0:
        raise InputError(Problem(file="<rings>", field="distance_m", message="must be >= 0 metres"))
    ids = polygons[id_column].astype("str").to_numpy()
    geoms = polygons.geometry.values
    pos = {u: i for i, u in enumerate(ids)}
    units = [str(u) for u in units]
    unknown = [u for u in units if u not in pos]
    if unknown:
        raise InputError(
            Problem(
                file="<rings>",
                field=id_column,
                message=f"{len(unknown)} units have no polygon: {unknown[:5]}",
            )
        )
    tree = shapely.STRtree(geoms)
    out: dict[str, list[str]] = {}
    for u in units:
        g = geoms[pos[u]]
        if distance_m > 0:
            hit = tree.query(g, predicate="dwithin", distance=distance_m)
        else:
            hit = tree.query(g, predicate="intersects")
        out[u] = sorted(ids[j] for j in hit if ids[j] != u)
    return out


def candidates_with_polygon_buffers(candidates, polygons, distance_m: float, *, id_column="unit"):
    """``candidates`` (:class:`~triplet.targeting.candidates.Candidates`) with buffer rings
    measured from the candidates' polygons (:func:`polygon_buffers`) instead of centroids."""
    import dataclasses

    rings = polygon_buffers(polygons, candidates.units, distance_m, id_column=id_column)
    seen: dict[str, int] = {}
    for ring in rings.values():
        for v in ring:
            seen[v] = seen.get(v, 0) + 1
    table = candidates.table.copy()
    lists = [rings[str(u)] for u in table["unit"]]
    table["buffer"] = [";".join(r) for r in lists]
    table["n_buffer"] = [len(r) for r in lists]
    table["shared_buffer"] = [";".join(v for v in r if seen[v] > 1) for r in lists]
    what = "touching" if distance_m == 0 else f"within {distance_m:g} m of"
    rules = (*candidates.rules, f"buffer rings: areas whose polygon is {what} the candidate's")
    return dataclasses.replace(candidates, table=table, buffer_m=float(distance_m), rules=rules)
