"""Geography commands: ``triplet units from-boundaries`` and ``triplet geo join | grid | vintage``.

- ``units from-boundaries FILE``: the units table (id, name, centroid x/y, area, queen or rook
  neighbours) the rest of triplet takes (``triplet target --units``, buffers, matching), from a
  GeoJSON / GeoPackage / Shapefile in any CRS;
- ``geo join RECORDS BOUNDARIES``: records with coordinates joined to polygons; records outside
  every polygon or without coordinates are kept, counted and reported;
- ``geo grid RECORDS``: British National Grid cells (ids such as ``BNG250mE530250N180500``) with
  their counts, written as polygons a GIS can read;
- ``geo vintage TABLE --lookup``: LSOA 2011 <-> 2021 codes through an ONS lookup file, split and
  unmatched codes reported.

Every output is written atomically and never overwrites an existing file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from triplet.errors import InputError, OverwriteError, Problem

out = Console()
err = Console(stderr=True)

units_app = typer.Typer(
    help="Units tables: make one from a boundary file (GeoJSON, GeoPackage, Shapefile).",
    no_args_is_help=True,
)
geo_app = typer.Typer(
    help="Geography: points to areas, British National Grid cells, LSOA vintages.",
    no_args_is_help=True,
)

_TABLE_SUFFIXES = (".csv", ".parquet")
_POLYGON_SUFFIXES = (".gpkg", ".geojson")


def _check_out(path: Path, suffixes: tuple[str, ...], option: str = "--out") -> None:
    if path.suffix.lower() not in suffixes:
        raise InputError(
            Problem(
                file=str(path), field=option, message="use a " + " or ".join(suffixes) + " name"
            )
        )
    if path.exists():
        raise OverwriteError(f"{path}: already exists; refusing to overwrite it")


def _where(filters: list[str]) -> dict[str, str]:
    from triplet.geography.boundaries import parse_where

    where: dict[str, str] = {}
    for f in filters:
        where.update(parse_where(f, file="command line"))
    return where


def read_table(source: str) -> pd.DataFrame:
    """A table from data.police.uk CSVs (file or folder), canonical records or any CSV/Parquet."""
    from triplet.cli.targeting import _is_police_uk

    path = Path(source)
    if not path.exists():
        raise InputError(Problem(file=source, message="file not found"))
    if _is_police_uk(path):
        from triplet.records.police_uk import read_police_uk

        read = read_police_uk(path)
        if read.n_skipped:
            err.print(
                f"{source}: skipped {read.n_skipped:,} of {read.n_read:,} rows "
                "(use `triplet records read` to list them)",
                highlight=False,
            )
        return read.records
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".csv":
            ids = ("crime_id", "lsoa_code", "unit", "grid_cell", "LSOA11CD", "LSOA21CD")
            return pd.read_csv(path, dtype={c: "str" for c in ids}, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(Problem(file=source, message=f"cannot read: {exc}")) from exc
    raise InputError(
        Problem(file=source, message=f"unknown table type {suffix!r}; use .csv or .parquet")
    )


def from_boundaries(
    boundaries: Path = typer.Argument(
        ..., help="Boundary file: .geojson, .gpkg or .shp (any CRS; British National Grid used)."
    ),
    out_path: Path = typer.Option(
        ..., "--out", "-o", help="Units table to write (.csv or .parquet); never overwrites."
    ),
    layer: str | None = typer.Option(None, "--layer", help="Layer of a GeoPackage."),
    id_col: str | None = typer.Option(
        None, "--id-col", help="Id column (default: the finest ONS code column, e.g. LSOA21CD)."
    ),
    name_col: str | None = typer.Option(
        None, "--name-col", help="Name column (default: the id's ..NM partner)."
    ),
    filters: list[str] = typer.Option(
        [], "--filter", help="Keep areas where COLUMN=VALUE (e.g. LAD22NM=Croydon); repeatable."
    ),
    contiguity: str = typer.Option("queen", "--contiguity", help="Neighbours: queen or rook."),
    crs: str | None = typer.Option(
        None, "--crs", help="CRS of a file that declares none (e.g. EPSG:27700, EPSG:4326)."
    ),
    polygons_out: Path | None = typer.Option(
        None, "--polygons", help="Also write the kept polygons (.gpkg or .geojson) for maps."
    ),
) -> None:
    """Write the units table (id, name, centroid x/y, area, neighbours) from a boundary file."""
    from triplet.geography import read_boundaries, units_from_boundaries, write_boundaries

    if contiguity not in ("queen", "rook"):
        raise InputError(
            Problem(file="command line", field="--contiguity", message="use queen or rook")
        )
    _check_out(out_path, _TABLE_SUFFIXES)
    if polygons_out is not None:
        _check_out(polygons_out, _POLYGON_SUFFIXES, "--polygons")
    b = read_boundaries(
        boundaries,
        id_column=id_col,
        name_column=name_col,
        where=_where(filters) or None,
        crs=crs,
        layer=layer,
    )
    units = units_from_boundaries(b, contiguity=contiguity)  # type: ignore[arg-type]
    units.write(out_path)
    out.print(units.report(), highlight=False, markup=False)
    out.print(f"wrote {len(units.table):,} units to {out_path}", highlight=False)
    if polygons_out is not None:
        write_boundaries(polygons_out, b.frame)
        out.print(f"wrote {b.n_units:,} polygons to {polygons_out}", highlight=False)


def join(
    records: str = typer.Argument(
        ..., help="Records with coordinates: data.police.uk CSV/folder, .parquet or .csv."
    ),
    boundaries: Path = typer.Argument(..., help="Polygons: .geojson, .gpkg or .shp."),
    out_path: Path = typer.Option(
        ..., "--out", "-o", help="Records with the area column (.csv or .parquet)."
    ),
    column: str = typer.Option("area", "--column", help="Name of the new area-id column."),
    layer: str | None = typer.Option(None, "--layer", help="Layer of a GeoPackage."),
    id_col: str | None = typer.Option(None, "--id-col", help="Id column of the polygons."),
    filters: list[str] = typer.Option([], "--filter", help="Keep polygons where COLUMN=VALUE."),
    x: str = typer.Option("longitude", "--x", help="Column of the x coordinate."),
    y: str = typer.Option("latitude", "--y", help="Column of the y coordinate."),
    crs: str = typer.Option(
        "EPSG:4326", "--crs", help="CRS of the records' coordinates (EPSG:27700 for eastings)."
    ),
) -> None:
    """Give each record the id of the polygon it falls in; count those outside."""
    from triplet.geography import join_points, read_boundaries

    _check_out(out_path, _TABLE_SUFFIXES)
    table = read_table(records)
    b = read_boundaries(boundaries, id_column=id_col, where=_where(filters) or None, layer=layer)
    j = join_points(table, b.frame, column=column, x=x, y=y, crs=crs, file=records)
    result = j.table.copy()
    result[f"{column}_status"] = j.status.to_numpy()
    for c in result.columns:
        if isinstance(result[c].dtype, pd.PeriodDtype):
            result[c] = result[c].astype("str")
    from triplet.io import write_dataframe

    write_dataframe(out_path, result)
    out.print(j.report(), highlight=False)
    if j.n_outside or j.n_no_coordinates:
        err.print(
            f"{j.n_outside + j.n_no_coordinates:,} records have no area ({column} empty; "
            f"{column}_status says why); none was dropped",
            style="yellow",
            highlight=False,
        )
    out.print(f"wrote {j.n_points:,} records to {out_path}", highlight=False)


def grid(
    records: str = typer.Argument(
        ..., help="Records with coordinates: data.police.uk CSV/folder, .parquet or .csv."
    ),
    out_path: Path = typer.Option(
        ..., "--out", "-o", help="Cell polygons with counts (.gpkg or .geojson)."
    ),
    size: float = typer.Option(250.0, "--size", help="Cell size in metres."),
    x: str = typer.Option("longitude", "--x", help="Column of the x coordinate."),
    y: str = typer.Option("latitude", "--y", help="Column of the y coordinate."),
    crs: str = typer.Option("EPSG:4326", "--crs", help="CRS of the records' coordinates."),
    top: int | None = typer.Option(None, "--top", min=1, help="Keep the N busiest cells only."),
) -> None:
    """Write British National Grid cells (ids a GIS can read) with their record counts."""
    from triplet.geography import grid_cells_bng, grid_polygons, write_boundaries

    if size <= 0:
        raise InputError(Problem(file="command line", field="--size", message="must be > 0 m"))
    _check_out(out_path, _POLYGON_SUFFIXES)
    table = read_table(records)
    cells = grid_cells_bng(table, size, x=x, y=y, crs=crs)
    n_none = int(cells.isna().sum())
    counts = cells.dropna().value_counts().sort_values(ascending=False, kind="stable")
    if counts.empty:
        raise InputError(
            Problem(file=records, field=f"{x}/{y}", message="no record has coordinates")
        )
    if top is not None:
        counts = counts.head(top)
    poly = grid_polygons(counts.index)
    poly["count"] = counts.to_numpy(dtype="int64")
    write_boundaries(out_path, poly)
    msg = f"{len(poly):,} cells of {size:g} m from {len(table) - n_none:,} located records"
    if n_none:
        msg += f"; {n_none:,} records have no coordinates (no cell)"
    out.print(msg, highlight=False)
    out.print(f"wrote {out_path}", highlight=False)


def vintage(
    table_path: str = typer.Argument(
        ..., help="Table with LSOA codes (.csv, .parquet, police.uk)."
    ),
    lookup: Path = typer.Option(
        ..., "--lookup", help="ONS LSOA (2011) to LSOA (2021) lookup CSV (LSOA11CD, LSOA21CD)."
    ),
    out_path: Path = typer.Option(..., "--out", "-o", help="Table with the new code column."),
    column: str = typer.Option("lsoa_code", "--column", help="Column holding the LSOA codes."),
    to: int = typer.Option(2021, "--to", help="Target vintage: 2021 or 2011."),
    ambiguous: str = typer.Option(
        "na", "--ambiguous", help="Split codes: na (leave empty) or first (first target)."
    ),
    problems_out: Path | None = typer.Option(
        None, "--problems", help="Also write the unmapped codes (code, status, rows, targets)."
    ),
) -> None:
    """Map LSOA codes between the 2011 and 2021 vintages; report split and unmatched codes."""
    from triplet.geography import convert_lsoa_codes, read_lsoa_lookup
    from triplet.io import write_dataframe

    if to not in (2011, 2021):
        raise InputError(Problem(file="command line", field="--to", message="use 2011 or 2021"))
    if ambiguous not in ("na", "first"):
        raise InputError(
            Problem(file="command line", field="--ambiguous", message="use na or first")
        )
    _check_out(out_path, _TABLE_SUFFIXES)
    if problems_out is not None:
        _check_out(problems_out, _TABLE_SUFFIXES, "--problems")
    table = read_table(table_path)
    if column not in table.columns:
        raise InputError(
            Problem(
                file=table_path,
                field=column,
                message="no such column; columns: " + ", ".join(map(str, table.columns)),
            )
        )
    lk = read_lsoa_lookup(lookup)
    vm = convert_lsoa_codes(table[column], lk, to=to, ambiguous=ambiguous)  # type: ignore[arg-type]
    result = table.copy()
    name = vm.codes.name
    if name in result.columns:
        raise InputError(
            Problem(file=table_path, field=name, message="the table already has this column")
        )
    result[name] = vm.codes.to_numpy()
    result[f"{name}_status"] = vm.status.to_numpy()
    for c in result.columns:
        if isinstance(result[c].dtype, pd.PeriodDtype):
            result[c] = result[c].astype("str")
    write_dataframe(out_path, result)
    if problems_out is not None:
        write_dataframe(problems_out, vm.problems)
    out.print(vm.report(), highlight=False, markup=False)
    if len(vm.problems):
        shown = vm.problems.head(10)
        for r in shown.itertuples(index=False):
            err.print(
                f"{lookup}: {column} {r.code}: {r.status} ({r.n_rows} rows)"
                + (f"; targets {r.targets}" if r.targets else ""),
                highlight=False,
            )
    out.print(f"wrote {len(result):,} rows to {out_path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``triplet units ...`` and ``triplet geo ...`` to the CLI."""
    units_app.command("from-boundaries")(from_boundaries)
    geo_app.command("join")(join)
    geo_app.command("grid")(grid)
    geo_app.command("vintage")(vintage)
    app.add_typer(units_app, name="units")
    app.add_typer(geo_app, name="geo")
