"""Units from boundaries: id, name, centroid x/y, area and contiguity neighbours.

The units table the rest of triplet takes (``triplet target --units``, candidates and buffer
rings, matching, displacement) has one row per area with ``x``/``y`` (metres) and
``neighbours`` (``;``-separated ids). :func:`units_from_boundaries` makes it from polygons in
British National Grid. Neighbours are queen (a shared boundary point) or rook (a shared
boundary segment) contiguity, built with libpysal's ``Graph.build_contiguity`` in its strict
(geometric-predicate) mode, which does not depend on neighbouring polygons sharing identical
vertices (Anselin 1988, *Spatial Econometrics*; Rey & Anselin 2007, "PySAL").

A centroid can lie outside its polygon (crescent or multi-part areas). ``x``/``y`` stay the
centroid, ``centroid_inside`` flags those areas and ``inside_x``/``inside_y`` give a point
guaranteed inside (shapely ``point_on_surface``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.geography.boundaries import Boundaries
from triplet.io import jsonable

__all__ = ["UNITS_COLUMNS", "Units", "units_from_boundaries"]

UNITS_COLUMNS = (
    "unit",
    "name",
    "x",
    "y",
    "area_m2",
    "neighbours",
    "n_neighbours",
    "centroid_inside",
    "inside_x",
    "inside_y",
)


@dataclass(frozen=True)
class Units:
    """The units table and how it was made.

    ``table`` columns: ``unit, name, x, y`` (centroid, metres EPSG:27700), ``area_m2``,
    ``neighbours`` (``;``-separated ids, symmetric), ``n_neighbours``, ``centroid_inside``
    (bool), ``inside_x, inside_y`` (a point inside the polygon); LSOA boundaries also get
    ``lsoa_code`` and ``lsoa_name`` (the columns crime records carry). ``islands`` are units
    with no neighbour.
    """

    table: pd.DataFrame
    contiguity: str
    boundaries: Boundaries

    @property
    def islands(self) -> list[str]:
        return self.table.loc[self.table["n_neighbours"] == 0, "unit"].tolist()

    @property
    def centroids_outside(self) -> list[str]:
        return self.table.loc[~self.table["centroid_inside"], "unit"].tolist()

    def summary(self) -> pd.DataFrame:
        """One row: units, contiguity, neighbours per unit, islands, centroids outside."""
        n = self.table["n_neighbours"]
        return pd.DataFrame(
            [
                {
                    "n_units": len(self.table),
                    "contiguity": self.contiguity,
                    "mean_neighbours": float(n.mean()) if len(n) else float("nan"),
                    "min_neighbours": int(n.min()) if len(n) else 0,
                    "max_neighbours": int(n.max()) if len(n) else 0,
                    "n_islands": len(self.islands),
                    "n_centroid_outside": len(self.centroids_outside),
                    "area_km2": float(self.table["area_m2"].sum()) / 1e6,
                }
            ]
        )

    def to_dict(self) -> dict:
        """JSON-ready summary, islands and flagged centroids."""
        row = {
            k: (v.item() if isinstance(v, np.generic) else v)
            for k, v in self.summary().iloc[0].to_dict().items()
        }
        row["mean_neighbours"] = None if pd.isna(row["mean_neighbours"]) else row["mean_neighbours"]
        row.update(
            {
                "islands": self.islands,
                "centroid_outside": self.centroids_outside,
                "boundaries": self.boundaries.to_dict(),
            }
        )
        return jsonable(row)

    def report(self) -> str:
        """Plain sentences for the command line."""
        s = self.summary().iloc[0]
        lines = [
            f"{s['n_units']:,} units from {self.boundaries.path} ({self.boundaries.id_column}), "
            f"{s['area_km2']:.1f} km²; {self.contiguity} contiguity: "
            f"{s['mean_neighbours']:.1f} neighbours per unit on average "
            f"({s['min_neighbours']}-{s['max_neighbours']})."
        ]
        lines += list(self.boundaries.notes)
        if self.islands:
            lines.append(
                f"{len(self.islands)} units have no neighbour (islands): "
                + ", ".join(self.islands[:10])
            )
        if self.centroids_outside:
            lines.append(
                f"{len(self.centroids_outside)} centroids lie outside their polygon "
                "(flagged centroid_inside = false; inside_x/inside_y is inside): "
                + ", ".join(self.centroids_outside[:10])
            )
        return "\n".join(lines)

    def plot(self, ax=None):
        """Outline map with each unit's neighbour links (centroid to centroid)."""
        from triplet.geography.maps import outline_map

        ax = outline_map(
            self.boundaries.frame, ax=ax, title=f"{len(self.table)} units, {self.contiguity}"
        )
        xy = self.table.set_index("unit")[["x", "y"]]
        segs = [
            [(xy.at[u, "x"], xy.at[u, "y"]), (xy.at[v, "x"], xy.at[v, "y"])]
            for u, ring in zip(self.table["unit"], self.table["neighbours"], strict=True)
            for v in (ring.split(";") if ring else [])
            if u < v
        ]
        from matplotlib.collections import LineCollection

        ax.add_collection(
            LineCollection(segs, colors="#0072B2", linewidths=0.5, label="neighbours")
        )
        ax.legend(loc="lower right", fontsize="small")
        return ax

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the table (CSV or Parquet) through :mod:`triplet.io`."""
        from triplet.io import write_dataframe

        path = Path(path)
        if path.suffix.lower() not in (".csv", ".parquet"):
            raise InputError(Problem(file=str(path), message="write units as .csv or .parquet"))
        return write_dataframe(path, self.table, overwrite=overwrite)


def units_from_boundaries(
    boundaries: Boundaries, *, contiguity: Literal["queen", "rook"] = "queen"
) -> Units:
    """The units table of ``boundaries``: centroids, areas and contiguity neighbours.

    Queen: areas sharing any boundary point are neighbours; rook: a boundary segment of
    positive length. Neighbour lists are symmetric by construction.
    """
    import shapely
    from libpysal.graph import Graph

    if contiguity not in ("queen", "rook"):
        raise InputError(
            Problem(file=boundaries.path, field="contiguity", message="use queen or rook")
        )
    frame = boundaries.frame
    ids = frame["unit"].astype(str).to_numpy()
    geoms = frame.geometry.values
    cent = shapely.centroid(geoms)
    inside_pt = shapely.point_on_surface(geoms)
    inside = shapely.contains(geoms, cent)
    neighbours: list[list[str]] = [[] for _ in ids]
    if len(ids) > 1:
        indexed = frame.set_index("unit")
        graph = Graph.build_contiguity(indexed, rook=contiguity == "rook", strict=True)
        adj = graph.adjacency.reset_index()
        adj.columns = ["focal", "neighbor", "weight"]
        adj = adj[(adj["focal"] != adj["neighbor"]) & (adj["weight"] > 0)]
        pos = {u: i for i, u in enumerate(ids)}
        for f, n in zip(adj["focal"].astype(str), adj["neighbor"].astype(str), strict=True):
            neighbours[pos[f]].append(n)
        # symmetric by construction of contiguity; make it explicit against float noise
        for i, ring in enumerate(neighbours):
            for n in ring:
                j = pos[n]
                if ids[i] not in neighbours[j]:
                    neighbours[j].append(ids[i])
    order = {u: i for i, u in enumerate(ids)}
    neighbours = [sorted(set(r), key=order.__getitem__) for r in neighbours]
    table = pd.DataFrame(
        {
            "unit": pd.Series(ids, dtype="str"),
            "name": frame["name"].astype("str").to_numpy(),
            "x": np.round(shapely.get_x(cent), 2),
            "y": np.round(shapely.get_y(cent), 2),
            "area_m2": np.round(shapely.area(geoms), 1),
            "neighbours": pd.Series([";".join(r) for r in neighbours], dtype="str"),
            "n_neighbours": np.array([len(r) for r in neighbours], dtype=np.int64),
            "centroid_inside": inside.astype(bool),
            "inside_x": np.round(shapely.get_x(inside_pt), 2),
            "inside_y": np.round(shapely.get_y(inside_pt), 2),
        }
    )
    if boundaries.entity == "LSOA":
        table.insert(1, "lsoa_code", table["unit"])
        table.insert(3, "lsoa_name", table["name"])
    return Units(table=table, contiguity=contiguity, boundaries=boundaries)
