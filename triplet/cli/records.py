"""Records commands: ``triplet records read | columns`` and ``triplet example``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from triplet.errors import InputError, OverwriteError

out = Console()
err = Console(stderr=True)

records_app = typer.Typer(
    help="Crime records: convert data.police.uk files or a force extract to the canonical table.",
    no_args_is_help=True,
)


class Format(StrEnum):
    police_uk = "police-uk"
    extract = "extract"


def read(
    files: list[Path] = typer.Argument(
        ..., help="Input files (police.uk CSVs or folders, or one extract)."
    ),
    fmt: Format = typer.Option(
        ..., "--format", "-f", help="police-uk (street-level CSV) or extract."
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", "-m", help="Column-mapping YAML (extract)."
    ),
    out_path: Path | None = typer.Option(
        None, "--out", "-o", help="Output records file (.parquet or .csv)."
    ),
    store_path: Path | None = typer.Option(
        None,
        "--store",
        "-s",
        help="Records store folder (partitioned Parquet, police-uk only): months are appended; "
        "a month read again replaces its partition.",
    ),
    encoding: str = typer.Option(
        "utf-8", "--encoding", "-e", help="Text encoding of the CSVs: utf-8, cp1252 or latin-1."
    ),
    skipped_path: Path | None = typer.Option(
        None, "--skipped", help="Also write the skipped rows (file, row, column, value, reason)."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Stop at bad rows instead of skipping them."
    ),
) -> None:
    """Read crime records, write the canonical table and report every skipped row.

    Person ids in an extract are pseudonymised with the key in $TRIPLET_PSEUDONYM_KEY.
    """
    from triplet.io import write_dataframe
    from triplet.records.extract import read_extract
    from triplet.records.police_uk import read_police_uk

    if (out_path is None) == (store_path is None):
        raise InputError("give exactly one of --out FILE or --store FOLDER", file="command line")
    if store_path is not None:
        from triplet.records.store import append_police_uk

        if fmt is not Format.police_uk:
            raise InputError("--store reads --format police-uk files", file="command line")
        if skipped_path is not None and skipped_path.exists():
            raise OverwriteError(f"{skipped_path}: already exists; refusing to overwrite it")
        update = append_police_uk(
            store_path, files, strict=strict, encoding=encoding, progress=True
        )
        if skipped_path is not None:
            write_dataframe(skipped_path, update.read.skipped)
        out.print(update.report(), highlight=False, markup=False)
        out.print(
            f"store {store_path}: {len(update.added)} months added, {len(update.replaced)} "
            f"replaced, {update.n_rows_after:,} records",
            highlight=False,
            soft_wrap=True,
        )
        return
    assert out_path is not None
    suffix = out_path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError("use a .parquet or .csv file name for --out", file=out_path)
    for p in (out_path, skipped_path):
        if p is not None and p.exists():
            raise OverwriteError(f"{p}: already exists; refusing to overwrite it")
    if fmt is Format.extract:
        if mapping is None:
            raise InputError("--format extract needs --mapping m.yaml", file="command line")
        if len(files) != 1:
            raise InputError("--format extract reads one file at a time", file="command line")
        result = read_extract(files[0], mapping, strict=strict)
    else:
        if mapping is not None:
            raise InputError("--mapping is only for --format extract", file="command line")
        result = read_police_uk(files, strict=strict, progress=True, encoding=encoding)
    records = result.records.copy()
    records["month"] = records["month"].astype("str")
    write_dataframe(out_path, records)
    if skipped_path is not None:
        write_dataframe(skipped_path, result.skipped)
    out.print(result.report(), highlight=False, markup=False)
    out.print(f"wrote {result.n_kept:,} records to {out_path}", highlight=False)
    if skipped_path is not None:
        out.print(f"wrote {result.n_skipped:,} skipped rows to {skipped_path}", highlight=False)


def columns() -> None:
    """List the columns of the canonical records table."""
    from triplet.records.schema import RECORD_COLUMNS

    table = Table(title="Canonical crime-records columns", title_justify="left")
    for col in ("column", "dtype", "required", "meaning"):
        table.add_column(col)
    for c in RECORD_COLUMNS:
        table.add_row(c.name, c.dtype, "yes" if c.required else "no", c.description)
    out.print(table)


def example(
    out_dir: Path = typer.Option(
        Path("example-borough"), "--out", "-o", help="Folder to write into."
    ),
    seed: int = typer.Option(2013, "--seed", help="Seed of the generator (PCG64).", min=0),
) -> None:
    """Write the SYNTHETIC example borough (records, LSOAs, people, README); never overwrites."""
    from triplet.example import generate_borough, write_borough

    with err.status("Generating the synthetic borough ..."):
        borough = generate_borough(seed=seed)
    paths = write_borough(borough, out_dir)
    table = Table(
        title=f"SYNTHETIC example borough (seed {seed}) in {out_dir}", title_justify="left"
    )
    table.add_column("file")
    table.add_column("rows", justify="right")
    sizes = {
        "records.parquet": len(borough.records),
        "lsoas.csv": len(borough.lsoas),
        "offenders.csv": len(borough.offenders),
        "victims.csv": len(borough.victims),
    }
    for p in paths:
        table.add_row(str(p), f"{sizes[p.name]:,}" if p.name in sizes else "")
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``triplet records ...`` and ``triplet example`` to the CLI."""
    records_app.command("read")(read)
    records_app.command("columns")(columns)
    app.add_typer(records_app, name="records")
    app.command("example")(example)
