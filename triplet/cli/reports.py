"""Report commands: ``triplet report`` (a trial's effect report) and ``triplet board``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from triplet.errors import InputError

out = Console()


def report(
    trial_id: str = typer.Argument(..., help="Id of the trial (as in registry.yaml)."),
    registry: Path = typer.Option(
        Path("registry.yaml"), "--registry", "-r", help="The registry file."
    ),
    out_dir: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for effect_report.html (default: trials/<id>/reports/).",
    ),
    rerun: bool = typer.Option(
        False, "--rerun", help="Archive an existing report to reports/previous/<time>/ first."
    ),
    code: bool = typer.Option(
        False, "--code", help="Keep the notebook's code cells in the HTML (for analysts)."
    ),
) -> None:
    """Run the effect-report notebook for a trial and write self-contained HTML.

    Contents: registration and deviations, CONSORT flow, balance, trends, event study, the
    registered primary estimate, randomisation inference, the posterior with P(reduction),
    displacement and caveats. An existing report is never overwritten (use --rerun).
    """
    from triplet.registry import find_trial
    from triplet.reports.effect_report import REPORT_FILE, build_effect_report

    tf = find_trial(registry, trial_id)
    target = out_dir / REPORT_FILE if out_dir is not None else None
    with out.status(f"running the effect-report notebook for {trial_id}..."):
        path = build_effect_report(tf, target, registry=registry, include_code=code, rerun=rerun)
    out.print(f"[green]wrote[/green] {path}")


def board(
    registry: Path = typer.Option(
        Path("registry.yaml"), "--registry", "-r", help="The registry file."
    ),
    out_path: Path | None = typer.Option(
        None, "--out", "-o", help="The HTML page to write (default: board.html beside registry)."
    ),
    pdf: bool = typer.Option(
        False, "--pdf", help="Also print the page to PDF with headless Chromium."
    ),
    threshold: int | None = typer.Option(
        None,
        "--threshold",
        help="Suppress counts below this (shown as <N); default 10 or board.yaml's threshold.",
    ),
    rerun: bool = typer.Option(
        False, "--rerun", help="Archive an existing page to previous/<time>/ first."
    ),
) -> None:
    """Write the Board's one-page "what works" summary across the registry.

    For each trial: the question, status, effect with its interval, P(reduction), strength of
    evidence (Maryland SMS) and a verdict with its rule; a forest plot; pooled results. Small
    counts are suppressed and the page is refused if it would show a person identifier.
    """
    from triplet.reports.board import build_board

    if threshold is not None and threshold < 1:
        raise InputError(f"--threshold must be >= 1, got {threshold}")
    with out.status("building the Board page..."):
        path = build_board(registry, out_path, threshold=threshold, pdf=pdf, rerun=rerun)
    out.print(f"[green]wrote[/green] {path}")
    if pdf:
        out.print(f"[green]wrote[/green] {path.with_suffix('.pdf')}")


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``board`` to the ``triplet`` command."""
    app.command("report")(report)
    app.command("board")(board)
