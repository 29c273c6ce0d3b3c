"""``triplet monitor``: the partnership's performance page from ``performance.yaml``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

out = Console()


def monitor(
    framework: Path = typer.Argument(
        Path("performance.yaml"), help="The performance framework (performance.yaml)."
    ),
    out_dir: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the page, CSV and JSON (default: performance/)."
    ),
    rerun: bool = typer.Option(
        False, "--rerun", help="Archive existing outputs to previous/<time>/ first."
    ),
    check: bool = typer.Option(
        False, "--check", help="Only validate the framework (every problem as file:line)."
    ),
    schema: bool = typer.Option(
        False, "--schema", help="Print the JSON Schema of performance.yaml and exit."
    ),
) -> None:
    """Build the Board's performance page: each indicator's chart, signals and icons.

    For every indicator of the framework: expected values with a 95% prediction interval from
    a seasonal model of the baseline months, a control chart with run rules (beyond the
    limits, a run of 8, a trend of 6), the Making Data Count variation and assurance icons,
    year to date against last year with an interval, and funnel plots of LSOA rates. Writes
    performance.html (linked with the Board's what-works page), performance.csv (every
    indicator-month) and performance.json. A monitored change is not an effect estimate.
    """
    from triplet.performance.framework import load_framework, render_schema
    from triplet.performance.monitor import build_monitor

    if schema:
        typer.echo(render_schema(), nl=False)
        return
    ff = load_framework(framework)
    if check:
        n = len(ff.framework.indicators)
        out.print(f"[green]ok[/green] {framework}: {n} indicators")
        return
    steps = 6 + len(ff.framework.indicators)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as bar:
        task = bar.add_task("monitor", total=steps)

        def tick(message: str) -> None:
            bar.update(task, advance=1, description=message)

        paths = build_monitor(framework, out_dir, rerun=rerun, progress=tick)
    for path in paths.values():
        out.print(f"[green]wrote[/green] {path}")


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the ``triplet`` command."""
    app.command("monitor")(monitor)
