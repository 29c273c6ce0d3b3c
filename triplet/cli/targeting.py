"""Targeting command: ``triplet target RECORDS --unit ...``.

Ranks units by harm (Cambridge Crime Harm Index by default), prints the top units and the
concentration statements, writes the ranking (CSV/Parquet, never overwriting) and, with
``--candidates N``, chooses trial candidates and prints the ``units.candidates`` YAML block.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from triplet.errors import InputError, OverwriteError, Problem

out = Console()
err = Console(stderr=True)


class UnitChoice(StrEnum):
    lsoa = "lsoa"
    grid = "grid"
    offender = "offender"
    victim = "victim"
    month = "month"
    hour_of_week = "hour_of_week"


def _is_police_uk(path: Path) -> bool:
    if path.is_dir():
        return True
    if path.suffix.lower() != ".csv":
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    return header.startswith("Crime ID,") or ",Crime ID," in header


def load_records(source: str) -> tuple[pd.DataFrame, bool, str]:
    """Records from ``example://borough``, a data.police.uk CSV/folder, or a canonical table.

    Returns the records, whether they are SYNTHETIC, and a note on skipped rows.
    """
    from triplet.records.sources import load_source
    from triplet.registry.models import DataSource

    if source.startswith("example://"):
        ds = DataSource(name="records", kind="records", uri=source)
        return load_source(ds, Path.cwd(), file="command line"), True, ""
    path = Path(source)
    if not path.exists():
        raise InputError(Problem(file=source, message="file not found"))
    if _is_police_uk(path):
        from triplet.records.police_uk import read_police_uk

        read = read_police_uk(path)
        note = f"read {read.n_read:,} rows from data.police.uk files; kept {read.n_kept:,}"
        if read.n_skipped:
            note += f"; skipped {read.n_skipped:,} (use `triplet records read` to list them)"
        return read.records, False, note
    ds = DataSource(name="records", kind="records", uri=str(path.resolve()))
    return load_source(ds, Path.cwd(), file=source), False, ""


def _load_units(source: str) -> pd.DataFrame:
    if source.startswith("example://"):
        from triplet.records.sources import load_source
        from triplet.registry.models import DataSource

        ds = DataSource(name="units", kind="units", uri=source)
        return load_source(ds, Path.cwd(), file="command line")
    path = Path(source)
    if not path.exists():
        raise InputError(Problem(file=source, field="--units", message="file not found"))
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    ids = {c: "str" for c in ("lsoa_code", "unit", "unit_id", "grid_cell", "neighbours")}
    return pd.read_csv(path, dtype=ids)


def _fmt(v: float, digits: int = 1) -> str:
    if pd.isna(v):
        return ""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.{digits}f}"


def target(
    records: str = typer.Argument(
        ...,
        help="Canonical records (.parquet/.csv), a data.police.uk CSV or folder, "
        "or example://borough[?seed=N].",
    ),
    unit: UnitChoice = typer.Option(UnitChoice.lsoa, "--unit", "-u", help="What to rank."),
    unit_column: str | None = typer.Option(
        None,
        "--unit-column",
        help="Rank by any column of the records instead (e.g. a hot-spot id); overrides --unit.",
    ),
    index: str = typer.Option(
        "cambridge", "--index", help="Harm index: cambridge, ons_css or a CSV of weights."
    ),
    out_path: Path | None = typer.Option(
        None, "--out", "-o", help="Write the full ranking (.csv or .parquet); never overwrites."
    ),
    top: int = typer.Option(15, "--top", "-n", min=1, help="Rows to print."),
    grid_size: float = typer.Option(250.0, "--grid-size", help="Grid cell size in metres."),
    unmatched: str = typer.Option(
        "raise",
        "--unmatched",
        help="Offences with no weight: raise (stop and list them) or exclude (drop, counted).",
    ),
    candidates: int | None = typer.Option(
        None, "--candidates", min=1, help="Choose N trial candidates (places)."
    ),
    units_path: str | None = typer.Option(
        None,
        "--units",
        help="Units table for candidates (unit id, x, y, neighbours), e.g. lsoas.csv or "
        "example://borough/lsoas. Units with no crime are ranked with zero.",
    ),
    min_distance: float | None = typer.Option(
        None, "--min-distance", help="Candidates at least this many metres apart (needs x, y)."
    ),
    buffer: float | None = typer.Option(
        None, "--buffer", help="Buffer ring radius in metres (default: --min-distance)."
    ),
    min_harm: float | None = typer.Option(None, "--min-harm", help="Minimum harm (days)."),
    min_count: int | None = typer.Option(None, "--min-count", help="Minimum crime count."),
    exclude: list[str] = typer.Option([], "--exclude", help="Unit ids never to choose."),
    boundaries: Path | None = typer.Option(
        None,
        "--boundaries",
        help="Boundary file (.geojson/.gpkg/.shp) of the units: the units table comes from it "
        "when --units is not given, and buffer rings are measured from the polygons.",
    ),
    boundary_filter: list[str] = typer.Option(
        [], "--filter", help="Keep boundary areas where COLUMN=VALUE (e.g. LAD22NM=Croydon)."
    ),
    boundary_id_col: str | None = typer.Option(
        None, "--id-col", help="Id column of the boundary file (default: its ONS code column)."
    ),
) -> None:
    """Rank units by harm and count; print concentration statements; optionally pick candidates."""
    from triplet.targeting.candidates import select_candidates
    from triplet.targeting.concentration import concentration
    from triplet.targeting.ranking import grid_cell_centres, rank_units

    if unmatched not in ("raise", "exclude"):
        raise InputError(
            Problem(file="command line", field="--unmatched", message="use raise or exclude")
        )
    if out_path is not None:
        if out_path.suffix.lower() not in (".csv", ".parquet"):
            raise InputError(
                Problem(file=str(out_path), field="--out", message="use a .csv or .parquet name")
            )
        if out_path.exists():
            raise OverwriteError(f"{out_path}: already exists; refusing to overwrite it")
    if (
        candidates is not None
        and unit_column is None
        and unit.value in ("offender", "victim", "month", "hour_of_week")
    ):
        raise InputError(
            Problem(
                file="command line",
                field="--candidates",
                message="candidates are places: use --unit lsoa or --unit grid",
            )
        )

    frame, synthetic, note = load_records(records)
    if not synthetic and "force" in frame.columns:
        synthetic = bool(frame["force"].astype("str").str.contains("SYNTHETIC", na=False).any())
    if note:
        err.print(note, highlight=False)
    units_table = _load_units(units_path) if units_path else None
    polygons = None
    if boundaries is not None:
        from triplet.cli.geography import _where
        from triplet.geography import read_boundaries, units_from_boundaries

        bnd = read_boundaries(
            boundaries, id_column=boundary_id_col, where=_where(boundary_filter) or None
        )
        polygons = bnd.frame
        if units_table is None:
            units_table = units_from_boundaries(bnd).table
            units_path = str(boundaries)
        for note in bnd.notes:
            err.print(note, highlight=False)
    id_col = None
    all_units = None
    if units_table is not None:
        id_col = next(
            (c for c in ("lsoa_code", "unit", "unit_id", "grid_cell") if c in units_table.columns),
            None,
        )
        if id_col is None:
            raise InputError(
                Problem(
                    file=str(units_path),
                    field="lsoa_code/unit",
                    message="units table needs a lsoa_code or unit column",
                )
            )
        all_units = units_table[id_col].astype(str).tolist()

    if all_units is None and unit_column is None:
        # times: every hour of the week / every month in range, so empty ones rank with zero
        if unit is UnitChoice.hour_of_week:
            all_units = list(range(168))
        elif unit is UnitChoice.month and "month" in frame.columns and len(frame):
            months = frame["month"].dropna()
            all_units = pd.period_range(months.min(), months.max(), freq="M")
    ranking = rank_units(
        frame,
        unit=unit_column or unit.value,
        harm=index,
        units=all_units,
        grid_size_m=grid_size,
        unmatched=unmatched,  # type: ignore[arg-type]
    )
    report = concentration(ranking)
    label = " (SYNTHETIC)" if synthetic else ""

    table = Table(
        title=f"{ranking.unit_name} ranked by harm ({ranking.index_name}, {ranking.harm_unit})"
        + label
    )
    table.add_column("rank", justify="right")
    table.add_column("unit", no_wrap=True, min_width=9)
    for col, just in (
        ("harm", "right"),
        ("count", "right"),
        ("harm/crime", "right"),
        ("share", "right"),
        ("cum. share", "right"),
        ("count rank", "right"),
    ):
        table.add_column(col, justify=just)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    for r in ranking.top(top).itertuples(index=False):
        name = str(r.unit)
        if ranking.unit_name == "hour_of_week":
            name = f"{days[int(r.unit) // 24]} {int(r.unit) % 24:02d}:00"
        table.add_row(
            str(r.rank),
            name,
            _fmt(r.harm),
            f"{r.count:,}",
            _fmt(r.harm_per_crime),
            f"{100 * r.share:.1f}%" if pd.notna(r.share) else "",
            f"{100 * r.cumulative_share:.1f}%" if pd.notna(r.cumulative_share) else "",
            str(r.count_rank),
        )
    out.print(table)
    s = ranking.summary().iloc[0]
    extra = []
    if s["n_no_unit"]:
        extra.append(f"{s['n_no_unit']:,} records had no {ranking.unit_name} and were left out")
    if s["n_unmatched"]:
        extra.append(f"{s['n_unmatched']:,} records had no harm weight and were left out")
    if s["n_non_crime"]:
        extra.append(
            f"{s['n_non_crime']:,} anti-social behaviour incidents are not crimes "
            "and were left out of harm and count"
        )
    out.print(
        f"{s['n_units']:,} units, {s['crimes']:,} crimes, {s['harm']:,.0f} {ranking.harm_unit} "
        f"of harm." + ("" if not extra else " " + "; ".join(extra) + "."),
        highlight=False,
    )
    if ranking.is_person:
        out.print(
            "Ids are pseudonymised; keep person-level tables out of Board papers "
            "(the statements below carry no ids).",
            highlight=False,
        )
    out.print("")
    for sentence in report.statements():
        out.print(f"- {sentence}{label}", highlight=False)

    if out_path is not None:
        ranking.write(out_path)
        out.print(f"wrote {out_path}", highlight=False)

    if candidates is not None:
        units_frame = ranking.table[["unit", "harm", "count"]].astype({"unit": "str"})
        if units_table is not None:
            extra_cols = [c for c in ("x", "y", "neighbours") if c in units_table.columns]
            units_frame = units_frame.merge(
                units_table[[id_col, *extra_cols]]
                .rename(columns={id_col: "unit"})
                .astype({"unit": "str"}),
                on="unit",
                how="left",
            )
        elif unit is UnitChoice.grid and unit_column is None:
            units_frame = units_frame.merge(grid_cell_centres(units_frame["unit"]), on="unit")
        if polygons is not None:
            inside = units_frame["unit"].isin(set(polygons["unit"].astype(str)))
            if not inside.all():
                err.print(
                    f"{int((~inside).sum())} ranked units are not areas of {boundaries} "
                    "and cannot be candidates",
                    highlight=False,
                )
            units_frame = units_frame[inside.to_numpy()].reset_index(drop=True)
        chosen = select_candidates(
            units_frame,
            n=candidates,
            min_harm=min_harm,
            min_count=min_count,
            exclude=exclude,
            min_distance_m=min_distance,
            buffer_m=buffer,
        )
        if polygons is not None and (buffer is not None or min_distance is not None):
            from triplet.geography.rings import candidates_with_polygon_buffers

            radius = buffer if buffer is not None else min_distance
            chosen = candidates_with_polygon_buffers(chosen, polygons, radius)
        ctable = Table(title=f"Trial candidates ({chosen.separation} separation){label}")
        ctable.add_column("rank", justify="right")
        ctable.add_column("unit", no_wrap=True, min_width=9)
        for col in ("harm", "count"):
            ctable.add_column(col, justify="right")
        ctable.add_column("buffer ring")
        for r in chosen.table.itertuples(index=False):
            ctable.add_row(str(r.rank), str(r.unit), _fmt(r.harm), f"{r.count:,.0f}", r.buffer)
        out.print(ctable)
        shared = sorted({u for r in chosen.table["shared_buffer"] for u in r.split(";") if u})
        if shared:
            err.print(
                f"{len(shared)} buffer units lie in more than one candidate's ring "
                "(see shared_buffer); displacement there cannot be attributed to one site",
                style="yellow",
            )
        if len(chosen.table) < candidates:
            err.print(
                f"only {len(chosen.table)} of {candidates} candidates meet the rules",
                style="yellow",
            )
        out.print(chosen.yaml_snippet(), highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``triplet target`` to the CLI."""
    app.command("target")(target)
