"""Boundary files in: GeoJSON, GeoPackage or Shapefile, any CRS, to British National Grid.

Analysts hold area boundaries (LSOAs, wards, hot-spot polygons) as GeoJSON, GeoPackage or
Shapefile, in British National Grid (EPSG:27700) or WGS84 (EPSG:4326). :func:`read_boundaries`
reads any of them with geopandas/pyogrio, reprojects to EPSG:27700 (metres, the projection of
Ordnance Survey and ONS boundaries for England and Wales), recognises the ONS code and name
columns (``LSOA21CD``/``LSOA21NM``, ``LSOA11CD``, ``MSOA21CD``, ``WD22CD``, ``LAD22CD`` ...;
others are named by the user) and can keep one local authority (``where={"LAD22NM":
"Croydon"}``). Invalid rings are repaired with :func:`shapely.make_valid` and counted; polygons
with no area are reported, never dropped silently.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = [
    "BNG",
    "BOUNDARY_SUFFIXES",
    "Boundaries",
    "boundaries_from_frame",
    "ons_code_columns",
    "parse_where",
    "read_boundaries",
    "write_boundaries",
]

#: British National Grid (OSGB36 / British National Grid), metres.
BNG = "EPSG:27700"
#: File types read by :func:`read_boundaries` (a Shapefile is named by its ``.shp``).
BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")

# ONS geography code columns: entity + two-digit year + CD (code) / NM (name).
_ONS_CODE = re.compile(r"^(OA|LSOA|MSOA|WD|LAD|LTLA|UTLA|CTY|CSP|PFA|RGN|CTRY|PCON|BUA)(\d{2})CD$")
# smallest area first: the id of a boundary file is its finest geography
_ONS_ORDER = ("OA", "LSOA", "MSOA", "WD", "CSP", "LAD", "LTLA", "UTLA", "PFA", "PCON", "BUA")
_ONS_ORDER += ("CTY", "RGN", "CTRY")


def ons_code_columns(columns) -> list[tuple[str, str, str | None]]:
    """ONS code columns among ``columns``: (code column, entity, name column or None).

    Finest geography first (OA, LSOA, MSOA, ward, local authority ...), newest year first.
    """
    found = []
    cols = [str(c) for c in columns]
    upper = {c.upper(): c for c in cols}
    for c in cols:
        m = _ONS_CODE.match(c.upper())
        if m:
            name = upper.get(c.upper()[:-2] + "NM")
            found.append((c, m.group(1), name, int(m.group(2))))
    found.sort(key=lambda t: (_ONS_ORDER.index(t[1]), -t[3]))
    return [(c, e, n) for c, e, n, _ in found]


def parse_where(text: str | Mapping[str, str] | None, *, file: str = "<boundaries>") -> dict:
    """``"LAD22NM=Croydon"`` (several joined by ``;``) or a mapping -> ``{column: value}``."""
    if text is None:
        return {}
    if isinstance(text, Mapping):
        return {str(k): str(v) for k, v in text.items()}
    out = {}
    for part in str(text).split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise InputError(
                Problem(file=file, field="where", message=f"use COLUMN=VALUE, got {part!r}")
            )
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@dataclass(frozen=True)
class Boundaries:
    """Polygons in British National Grid with one id (and name) per area.

    ``frame``: GeoDataFrame (EPSG:27700) with ``unit`` (the id), ``name`` (or NA), the file's
    own columns and ``geometry``, in file order. ``id_column``/``name_column`` are the file's
    columns they came from, ``entity`` the ONS entity (``LSOA``, ``WD`` ...) when recognised,
    ``vintage`` its year (``2011``, ``2021``) when the id is an LSOA/OA/MSOA code.
    ``notes`` say what was repaired or filtered.
    """

    frame: object  # geopandas.GeoDataFrame
    path: str
    id_column: str
    name_column: str | None
    entity: str | None
    vintage: int | None
    source_crs: str
    n_read: int
    where: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_units(self) -> int:
        return len(self.frame)

    def summary(self) -> pd.DataFrame:
        """One row: file, id column, areas read and kept, CRS, total area (km²)."""
        return pd.DataFrame(
            [
                {
                    "file": self.path,
                    "id_column": self.id_column,
                    "entity": self.entity,
                    "vintage": self.vintage,
                    "source_crs": self.source_crs,
                    "n_read": self.n_read,
                    "n_units": self.n_units,
                    "area_km2": float(self.frame.geometry.area.sum()) / 1e6,
                }
            ]
        )

    def to_dict(self) -> dict:
        """JSON-ready description (no geometry)."""
        row = self.summary().iloc[0].to_dict()
        row = {k: (None if pd.isna(v) else v) for k, v in row.items()}
        row.update({"where": dict(self.where), "notes": list(self.notes)})
        return jsonable({k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()})

    def plot(self, ax=None):
        """Outline map of the areas (metres, British National Grid)."""
        from triplet.geography.maps import outline_map

        return outline_map(self.frame, ax=ax, title=f"{self.n_units} areas ({self.id_column})")


def _where_filter(frame, where: dict, file: str):
    mask = np.ones(len(frame), dtype=bool)
    for col, value in where.items():
        if col not in frame.columns:
            raise InputError(
                Problem(
                    file=file,
                    field=col,
                    message=f"no column {col!r} to filter on; columns: "
                    + ", ".join(c for c in frame.columns if c != "geometry"),
                )
            )
        vals = frame[col].astype("str").str.strip()
        hit = (vals == value).to_numpy() | (vals.str.casefold() == value.casefold()).to_numpy()
        if not hit.any():
            sample = ", ".join(sorted(vals.dropna().unique())[:8])
            raise InputError(
                Problem(
                    file=file,
                    field=col,
                    message=f"no area has {col} = {value!r}; values include: {sample}",
                )
            )
        mask &= hit
    return frame.loc[mask]


def boundaries_from_frame(
    frame,
    *,
    id_column: str | None = None,
    name_column: str | None = None,
    where: str | Mapping[str, str] | None = None,
    crs: str | int | None = None,
    path: str = "<boundaries>",
) -> Boundaries:
    """:class:`Boundaries` from a GeoDataFrame already in memory (see :func:`read_boundaries`)."""
    import geopandas as gpd
    import shapely

    file = str(path)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(Problem(file=file, message="boundaries must be a GeoDataFrame"))
    frame = frame.copy()
    if frame.crs is None:
        if crs is None:
            raise InputError(
                Problem(
                    file=file,
                    field="crs",
                    message="the file has no coordinate reference system; name it "
                    "(e.g. --crs EPSG:27700 for British National Grid metres, EPSG:4326 for "
                    "longitude/latitude)",
                )
            )
        frame = frame.set_crs(crs)
    source_crs = frame.crs.to_string()
    n_read = len(frame)
    notes: list[str] = []
    where_d = parse_where(where, file=file)
    if where_d:
        frame = _where_filter(frame, where_d, file)
        notes.append(
            "kept "
            + f"{len(frame):,} of {n_read:,} areas where "
            + ", ".join(f"{k} = {v}" for k, v in where_d.items())
        )

    ons = ons_code_columns(frame.columns)
    entity = None
    if id_column is None:
        if not ons:
            raise InputError(
                Problem(
                    file=file,
                    field="id_column",
                    message="no ONS code column (LSOA21CD, LSOA11CD, WD22CD ...) found; name the "
                    "id column (--id-column); columns: "
                    + ", ".join(c for c in frame.columns if c != "geometry"),
                )
            )
        id_column, entity, guessed_name = ons[0]
        if name_column is None:
            name_column = guessed_name
    else:
        if id_column not in frame.columns:
            raise InputError(
                Problem(
                    file=file,
                    field="id_column",
                    message=f"no column {id_column!r}; columns: "
                    + ", ".join(c for c in frame.columns if c != "geometry"),
                )
            )
        match = [t for t in ons if t[0] == id_column]
        if match:
            entity = match[0][1]
            if name_column is None:
                name_column = match[0][2]
    if name_column is not None and name_column not in frame.columns:
        raise InputError(
            Problem(file=file, field="name_column", message=f"no column {name_column!r}")
        )
    m = _ONS_CODE.match(id_column.upper())
    vintage = 2000 + int(m.group(2)) if m and m.group(1) in ("OA", "LSOA", "MSOA") else None

    ids = frame[id_column].astype("str").str.strip()
    missing = ids.isna() | (ids == "") | frame[id_column].isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())[:5].tolist()
        raise InputError(
            Problem(file=file, field=id_column, message=f"areas without an id at rows {rows}")
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(
            Problem(
                file=file,
                field=id_column,
                message=f"{dup.nunique()} ids appear more than once, e.g. {dup.iloc[0]!r}; "
                "dissolve multi-part areas into one row first",
            )
        )
    geom = frame.geometry
    if geom.isna().any() or geom.is_empty.any():
        bad = ids[(geom.isna() | geom.is_empty).to_numpy()].tolist()
        raise InputError(
            Problem(file=file, field="geometry", message=f"areas with no geometry: {bad[:5]}")
        )
    kinds = set(geom.geom_type.unique())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            Problem(
                file=file,
                field="geometry",
                message=f"boundaries must be polygons, found {sorted(kinds)}",
            )
        )
    invalid = ~geom.is_valid.to_numpy()
    if invalid.any():
        fixed = shapely.make_valid(geom.values[invalid])
        # make_valid may return a collection: keep its polygonal part
        fixed = [
            shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type.endswith("Polygon")])
            if g.geom_type == "GeometryCollection"
            else g
            for g in fixed
        ]
        values = geom.values.copy()
        values[invalid] = fixed
        frame = frame.set_geometry(gpd.GeoSeries(values, index=frame.index, crs=frame.crs))
        notes.append(
            f"repaired {int(invalid.sum())} invalid polygons (shapely.make_valid): "
            + ", ".join(ids[invalid].tolist()[:5])
        )
    if frame.crs.to_epsg() != 27700:
        frame = frame.to_crs(BNG)
        notes.append(f"reprojected from {source_crs} to {BNG} (British National Grid, metres)")
    zero = (frame.geometry.area <= 0).to_numpy()
    if zero.any():
        notes.append(
            f"{int(zero.sum())} areas have zero area: " + ", ".join(ids[zero].tolist()[:5])
        )

    names = (
        frame[name_column].astype("str")
        if name_column
        else pd.Series(pd.NA, index=frame.index, dtype="str")
    )
    out = frame.drop(columns=[c for c in ("unit", "name") if c in frame.columns])
    out.insert(0, "unit", ids.to_numpy())
    out.insert(1, "name", names.to_numpy())
    out = out.reset_index(drop=True)
    out["unit"] = out["unit"].astype("str")
    return Boundaries(
        frame=out,
        path=file,
        id_column=id_column,
        name_column=name_column,
        entity=entity,
        vintage=vintage,
        source_crs=source_crs,
        n_read=n_read,
        where=where_d,
        notes=tuple(notes),
    )


def read_boundaries(
    path: str | Path,
    *,
    id_column: str | None = None,
    name_column: str | None = None,
    where: str | Mapping[str, str] | None = None,
    crs: str | int | None = None,
    layer: str | None = None,
) -> Boundaries:
    """Read a boundary file (GeoJSON, GeoPackage, Shapefile) into British National Grid.

    ``id_column`` defaults to the finest ONS code column found (``LSOA21CD`` before
    ``MSOA21CD`` before ``LAD22CD``); ``name_column`` to its ``..NM`` partner. ``where``
    (``{"LAD22NM": "Croydon"}`` or ``"LAD22NM=Croydon"``) keeps matching areas (exact, then
    case-insensitive match). ``crs`` is used only when the file declares none. Coordinates
    are metres in EPSG:27700 afterwards.
    """
    import pyogrio

    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError(Problem(file=file, message="boundary file not found"))
    if path.suffix.lower() not in BOUNDARY_SUFFIXES:
        raise InputError(
            Problem(
                file=file,
                message=f"unknown boundary file type {path.suffix!r}; use "
                + ", ".join(BOUNDARY_SUFFIXES),
            )
        )
    import geopandas as gpd

    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputError(Problem(file=file, message=f"cannot read boundaries: {exc}")) from exc
    return boundaries_from_frame(
        frame, id_column=id_column, name_column=name_column, where=where, crs=crs, path=file
    )


def write_boundaries(path: str | Path, frame, *, overwrite: bool = False) -> Path:
    """Write polygons as GeoPackage (``.gpkg``) or GeoJSON (``.geojson``, WGS84 by RFC 7946).

    Atomic and non-overwriting (:mod:`triplet.io`).
    """
    from triplet.io import write_dataframe

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gpkg", ".geojson"):
        raise InputError(
            Problem(file=str(path), message="write polygons as .gpkg or .geojson (RFC 7946)")
        )

    def _write(f, tmp: Path) -> None:
        warnings.filterwarnings("ignore", message="The filename extension should be")
        if suffix == ".geojson":
            f.to_crs("EPSG:4326").to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=path.stem)
        else:
            f.to_file(tmp, driver="GPKG", engine="pyogrio", layer=path.stem)

    with warnings.catch_warnings():  # the temporary file's suffix is .tmp
        return write_dataframe(path, frame, overwrite=overwrite, writer=_write)
