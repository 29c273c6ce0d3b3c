"""``triplet delivery <trial>``: delivered vs registered dose to date (no effect estimated)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

out = Console()

REGISTRY_OPT = typer.Option(
    Path("registry.yaml"), "--registry", "-r", help="The registry file.", show_default=True
)


def delivery(
    trial_id: str = typer.Argument(..., help="Id of an assigned trial with a delivery section."),
    registry: Path = REGISTRY_OPT,
    rerun: bool = typer.Option(
        False,
        "--rerun",
        help="Measure again as data arrive: the earlier files move to "
        "results/delivery/previous/<UTC time>/.",
    ),
    until: str | None = typer.Option(
        None, "--until", help="Last day to include (YYYY-MM-DD; default: last day with data)."
    ),
) -> None:
    """Delivered vs registered dose per unit and week, both arms; writes results/delivery.json.

    Reads the registered delivery sources (GPS pings, patrol logs), turns pings into visits with
    the registered rules and reports the dose delivered to treated units, the minutes in
    control units and the days without data. It estimates no effect.
    """
    from triplet.tracking.delivery import run_delivery

    run = run_delivery(registry, trial_id, rerun=rerun, until=until)
    if run.archived is not None:
        out.print(f"moved the earlier delivery files to {run.archived}")
    t = Table(
        title=f"{trial_id}: delivery {run.report.first_day} to {run.report.last_day}",
        title_justify="left",
    )
    t.add_column("")
    t.add_column("value", justify="right")
    for item, value in run.report.summary().itertuples(index=False):
        t.add_row(str(item), f"{value:.3g}" if isinstance(value, float) else str(value))
    out.print(t)
    out.print(run.report.statement())
    if len(run.data.skipped):
        out.print(
            f"[yellow]{len(run.data.skipped):,} rows skipped[/yellow] "
            f"(listed in {run.path.parent / 'delivery' / 'skipped.csv'})"
        )
    for note in run.data.notes:
        out.print(f"[yellow]note[/yellow] {note}")
    out.print(f"wrote {run.path}")


def register(app: typer.Typer) -> None:
    """Add ``delivery`` to the ``triplet`` command."""
    app.command("delivery")(delivery)
