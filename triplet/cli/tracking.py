"""Tracking commands: ``triplet track`` (a registered trial) and ``triplet did`` (any panel)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from triplet.errors import InputError, Problem
from triplet.io import jsonable

out = Console()
err = Console(stderr=True)

REGISTRY_OPT = typer.Option(
    Path("registry.yaml"), "--registry", "-r", help="The registry file.", show_default=True
)


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def track(
    trial_id: str = typer.Argument(..., help="Id of an assigned trial."),
    registry: Path = REGISTRY_OPT,
    rerun: bool = typer.Option(
        False,
        "--rerun",
        help="Analyse again: the earlier results are moved to results/previous/<UTC time>/.",
    ),
    draws: int | None = typer.Option(
        None,
        "--draws",
        min=100,
        help="Randomisation draws (default: analysis.randomisation_draws; recorded if changed).",
    ),
    no_bayes: bool = typer.Option(
        False, "--no-bayes", help="Skip the Bayesian model (MCMC); recorded in the results."
    ),
) -> None:
    """Analyse an assigned trial as registered; write trials/<id>/results/.

    The registered primary analysis comes first; everything else is labelled exploratory.
    Refuses if the registration changed after locking without a recorded deviation.
    """
    from triplet.tracking.workflow import track_trial

    rep = track_trial(registry, trial_id, rerun=rerun, draws=draws, console=err, bayes=not no_bayes)
    if rep.archived is not None:
        out.print(f"moved the earlier results to {rep.archived}")
    t = Table(title=f"{trial_id}: results (primary first)", title_justify="left")
    for c in ("analysis", "role", "change %", "interval %", "p", "units"):
        t.add_column(c)
    for a in rep.results["analyses"]:
        lo, hi = a.get("percent_ci_low"), a.get("percent_ci_high")
        t.add_row(
            str(a["name"]),
            str(a["role"]),
            _fmt(a.get("percent_change")),
            "" if lo is None or hi is None else f"{lo:.1f} to {hi:.1f}",
            _fmt(a.get("p_value")),
            _fmt(a.get("n_units")),
        )
    out.print(t)
    d = rep.results.get("displacement")
    if d:
        w = d["wdq"]
        out.print(f"Displacement: WDQ = {_fmt(w['wdq'])} ({w['interpretation']})")
        if d.get("caution"):
            out.print(f"[yellow]caution[/yellow] {d['caution']}")
    b = rep.results.get("bayesian")
    if b:
        out.print(f"Bayesian ({b.get('model')}): status {b.get('status')}")
    for note in rep.results.get("notes", []):
        out.print(f"[yellow]note[/yellow] {note}")
    out.print(f"wrote {rep.results_path}; status: {rep.status}")


def did_command(
    file: Path = typer.Argument(..., help="A CSV (or Parquet) panel, one row per unit-period."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome column."),
    unit: str = typer.Option(..., "--unit", help="Unit id column."),
    time: str = typer.Option(..., "--time", help="Period column."),
    treated: str = typer.Option(
        ..., "--treated", help="Treatment-by-post indicator column (0/1 or true/false)."
    ),
    cluster: str | None = typer.Option(None, "--cluster", help="Cluster column (default: unit)."),
    weights: str | None = typer.Option(None, "--weights", help="Weight column (optional)."),
    block: str | None = typer.Option(
        None, "--block", help="Block or pair column: block x period effects replace period effects."
    ),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0001, max=0.5, help="1 - confidence."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Two-way fixed-effects difference-in-differences on any panel (cluster-robust SE).

    Matches R's fixest / pyfixest feols(y ~ d | unit + time, vcov={"CRV1": cluster}).
    """
    from triplet.tracking import did

    frame = _read_table(file)
    lines = _csv_record_lines(file, len(frame))
    try:
        r = did(
            frame,
            outcome=outcome,
            unit=unit,
            time=time,
            treated=treated,
            cluster=cluster,
            weights=weights,
            block=block,
            alpha=alpha,
        )
    except InputError as exc:  # name the user's file and line, not the panel's row
        raise InputError(
            [
                Problem(
                    str(file),
                    p.message,
                    line=(lines[p.line - 1] if lines and p.line and p.file == "panel" else None),
                    field=p.field,
                )
                for p in exc.problems
            ]
        ) from None
    if as_json:
        typer.echo(json.dumps(jsonable(r.to_dict()), indent=2))
        return
    t = Table(title=f"DiD of {outcome} ({r.fixed_effects} fixed effects)", title_justify="left")
    t.add_column("")
    t.add_column("value", justify="right")
    for k in (
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "percent_change",
        "percent_ci_low",
        "percent_ci_high",
        "n_obs",
        "n_units",
        "n_clusters",
    ):
        t.add_row(k, _fmt(r.to_dict()[k]))
    out.print(t)
    out.print(r.to_dict()["notes"])


def _csv_record_lines(file: Path, n_rows: int) -> list[int] | None:
    """The line (1-based, as a text editor counts them) where each data row of a CSV starts,
    or None when it cannot be matched row for row with what pandas read (e.g. Parquet)."""
    import csv

    if file.suffix.lower() == ".parquet":
        return None
    try:
        with file.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            if next(reader, None) is None:
                return None
            lines: list[int] = []
            start = reader.line_num + 1
            for record in reader:
                if record:  # pandas skips blank lines
                    lines.append(start)
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return lines if len(lines) == n_rows else None


def _read_table(file: Path) -> pd.DataFrame:
    if not file.exists():
        raise InputError("file not found", file=file)
    try:
        if file.suffix.lower() == ".parquet":
            return pd.read_parquet(file)
        return pd.read_csv(file)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read: {exc}", file=file) from None


def register(app: typer.Typer) -> None:
    """Add ``track`` and ``did`` to the ``triplet`` command."""
    app.command("track")(track)
    app.command("did")(did_command)
