"""Testing commands: ``triplet assign`` and ``triplet design``."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from triplet.testing.workflow import PlaceDayAssignReport, assign_trial, design_trial

out = Console()

REGISTRY_OPT = typer.Option(
    Path("registry.yaml"), "--registry", "-r", help="The registry file.", show_default=True
)


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.4g}"
    return str(v)


def _table(frame: pd.DataFrame, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for c in frame.columns:
        t.add_column(str(c))
    for row in frame.itertuples(index=False):
        t.add_row(*(_fmt(v) for v in row))
    return t


def assign(
    trial_id: str = typer.Argument(..., help="Id of a registered trial."),
    registry: Path = REGISTRY_OPT,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Preview arms per block and balance; write nothing."
    ),
    require_power: bool = typer.Option(
        False,
        "--require-power",
        help="Refuse (write nothing) when simulated power at the registered minimum effect "
        "is below power.target.",
    ),
    power_sims: int = typer.Option(
        500, "--power-sims", min=0, help="Simulated trials for the power guard (0 skips it)."
    ),
) -> None:
    """Assign a registered trial's units with its registered method, once.

    Writes trials/<id>/assignment.csv and lock.json atomically and sets the status to assigned.
    Refuses (exit 1) if the trial was already assigned. Checks power first: warns when the
    simulated power at the registered minimum effect is below the target (--require-power
    refuses); the check is recorded in lock.json.
    """
    rep = assign_trial(
        registry, trial_id, dry_run=dry_run, require_power=require_power, power_sims=power_sims
    )
    pc = rep.power_check or {}
    if pc.get("warning"):
        out.print(f"[bold red]WARNING[/bold red] {pc['warning']}")
    elif pc.get("power") is not None:
        out.print(
            f"power guard: simulated power {pc['power']:.2f} at a {pc['reduction']:.0%} fall "
            f"(target {pc['target']:.2f}; {pc['n_sims']} simulated trials)"
        )
    out.print(_table(rep.units.summary(), f"{trial_id}: eligibility (CONSORT flow)"))
    if isinstance(rep, PlaceDayAssignReport):
        _place_day_done(rep, trial_id)
        return
    a = rep.assignment
    out.print(_table(a.summary(), f"{trial_id}: {a.method} assignment, seed {a.seed}"))
    bal = rep.balance.summary()[
        ["covariate", "mean_treatment", "mean_control", "smd", "variance_ratio", "p_value"]
    ]
    out.print(_table(bal, "Balance (standardised mean differences, variance ratios)"))
    om = rep.balance.omnibus
    out.print(
        f"Omnibus balance test ({om['method']}): d2 = {om['statistic']:.3g}, df = {om['df']}, "
        f"p = {_fmt(om['p_value'])}"
    )
    for key, val in a.details.items():
        if key in ("odd_units", "unmatched_treated") and val:
            out.print(f"[yellow]{key.replace('_', ' ')}[/yellow]: {', '.join(map(str, val))}")
        elif key in ("draws_used", "acceptance_rate", "probability_note"):
            out.print(f"{key.replace('_', ' ')}: {_fmt(val)}")
    if rep.dry_run:
        out.print("[bold]dry run[/bold]: nothing written.")
        return
    if rep.resumed:
        out.print(f"[yellow]resumed an interrupted run[/yellow]: {rep.resumed}")
    for p in rep.written:
        out.print(f"wrote {p}")
    out.print(f"assignment sha256 {a.sha256()}; status: assigned")


def _place_day_done(rep: PlaceDayAssignReport, trial_id: str) -> None:
    a = rep.assignment
    r = a.rules
    out.print(
        _table(
            a.summary(),
            f"{trial_id}: place-day schedule, seed {a.seed} ({r.treated_per_day} a day, runs of "
            f"at most {r.max_consecutive}, {r.washout_days} washout day(s))",
        )
    )
    if rep.dry_run:
        out.print("[bold]dry run[/bold]: nothing written.")
        return
    if rep.resumed:
        out.print(f"[yellow]resumed an interrupted run[/yellow]: {rep.resumed}")
    for p in rep.written:
        out.print(f"wrote {p}")
    out.print("status: assigned")


def design(
    trial_id: str = typer.Argument(..., help="Id of a registered trial."),
    registry: Path = REGISTRY_OPT,
    sims: int = typer.Option(1000, "--sims", min=2, help="Simulated trials."),
    effect: float | None = typer.Option(
        None,
        "--effect",
        help="Proportional reduction injected, 0.2 = 20% less (default: the registered "
        "minimum effect).",
    ),
    rerun: bool = typer.Option(
        False, "--rerun", help="Archive an earlier diagnosis to design/previous/ and redo it."
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes (default: automatic; vectorised work is fast)."
    ),
) -> None:
    """Diagnose a trial's design by simulation on its baseline months (power, bias, RMSE,
    coverage, type-I error) and save a power curve to trials/<id>/design/."""
    rep = design_trial(
        registry,
        trial_id,
        n_sims=sims,
        reduction=effect,
        rerun=rerun,
        progress=True,
        workers=workers,
    )
    d = rep.diagnosis
    out.print(
        _table(
            d.summary(),
            f"{trial_id}: {d.method}, {d.n_units} units, {d.pre_months} pseudo-baseline + "
            f"{d.post_months} pseudo-treatment months, {d.n_sims} simulations, "
            f"{100 * d.reduction:.0f}% reduction in {d.outcome}",
        )
    )
    if d.note:
        out.print(f"[yellow]note[/yellow]: {d.note}")
    curve = d.table[["reduction", "power", "power_mcse", "power_analytic", "coverage"]]
    out.print(_table(curve, "Power curve"))
    if rep.archived:
        out.print(f"archived the earlier diagnosis to {rep.archived}")
    for p in rep.written:
        out.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    """Add the testing commands to the triplet CLI."""
    app.command("assign")(assign)
    app.command("design")(design)
