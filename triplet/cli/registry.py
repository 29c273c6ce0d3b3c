"""Registry commands: ``triplet validate | schema | new | list | status``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from triplet.errors import InputError, LockError, OverwriteError, Problem
from triplet.io import write_json
from triplet.registry.loading import REGISTRY_FILE, TRIAL_FILE, check_registry, find_trial
from triplet.registry.lock import read_lock
from triplet.registry.models import InterventionType, Status
from triplet.registry.scaffold import new_trial
from triplet.registry.schema import SCHEMA_FILE, trial_json_schema
from triplet.registry.status import set_status
from triplet.registry.validate import validate_registry, validate_trial

out = Console()
err = Console(stderr=True)

REGISTRY_ARG = typer.Argument(
    Path(REGISTRY_FILE), help="The registry file (default: ./registry.yaml).", show_default=False
)
VALIDATE_ARG = typer.Argument(
    Path(REGISTRY_FILE),
    help="registry.yaml (default: ./registry.yaml), a folder holding one, or one trial.yaml.",
    show_default=False,
)
REGISTRY_OPT = typer.Option(
    Path(REGISTRY_FILE), "--registry", "-r", help="The registry file.", show_default=True
)


def validate(registry: Path = VALIDATE_ARG) -> None:
    """Check registry.yaml, every trial.yaml and every lock; list every problem at once.

    Each problem is printed as file:line: field: message. Exits 1 if there is any. Also takes
    a folder (its registry.yaml) or a single trial.yaml.
    """
    if registry.is_dir():
        registry = registry / REGISTRY_FILE
    if registry.name == TRIAL_FILE:
        tf, problems = validate_trial(registry)
        if problems or tf is None:
            raise InputError(problems)
        out.print(f"[green]OK[/green]: {registry} ({tf.id}, {tf.trial.status.value}) is valid.")
        return
    check = validate_registry(registry)
    if check.problems:
        raise InputError(check.problems)
    table = Table(title=f"{registry}: {len(check.trials)} trial(s) valid", title_justify="left")
    for col in ("id", "status", "locked", "registration"):
        table.add_column(col)
    for tf in check.trials.values():
        lock = read_lock(tf)
        table.add_row(
            tf.id,
            tf.trial.status.value,
            "yes" if lock else "no",
            "unchanged"
            if lock and not tf.trial.deviations
            else (f"{len(tf.trial.deviations)} deviation(s) recorded" if lock else "-"),
        )
    out.print(table)
    out.print("[green]OK[/green]: no problems found.")


def schema(
    out_path: Path = typer.Option(
        Path(SCHEMA_FILE), "--out", "-o", help="Where to write the schema ('-' prints it)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write the JSON Schema of trial.yaml, for editors (yaml-language-server).

    Add `# yaml-language-server: $schema=<path>` as the first line of a trial.yaml to have the
    editor check it while you type.
    """
    content = trial_json_schema()
    if str(out_path) == "-":
        typer.echo(json.dumps(content, indent=2, sort_keys=True))
        return
    if out_path.exists() and not force:
        raise OverwriteError(f"{out_path}: already exists; pass --force to replace it")
    write_json(out_path, content, overwrite=force)  # --force: the user asked to replace it
    err.print(f"wrote {out_path}", highlight=False)


def new(
    trial_id: str = typer.Argument(..., metavar="ID", help="Trial id: a lower-case slug."),
    registry: Path = REGISTRY_OPT,
    intervention: str = typer.Option(
        InterventionType.other.value,
        "--intervention",
        "-i",
        help="Intervention type: " + ", ".join(t.value for t in InterventionType) + ".",
    ),
    title: str | None = typer.Option(None, "--title", help="Title of the trial."),
) -> None:
    """Scaffold a commented trials/<ID>/trial.yaml (status draft) and list it in the registry."""
    tf = new_trial(registry, trial_id, intervention=intervention, title=title)
    out.print(f"created {tf.path} (status draft)", highlight=False)
    out.print(f"added {trial_id} to {registry}", highlight=False)
    out.print(
        "next: fill in every section, run `triplet validate`, then "
        f"`triplet status {trial_id} registered`.",
        highlight=False,
    )


def list_trials(registry: Path = REGISTRY_ARG) -> None:
    """List the trials: id, title, intervention, status, lock, assignment, results."""
    check = check_registry(registry)
    if check.registry is None and not check.entries:
        raise InputError(check.problems)
    table = Table(
        title=check.registry.name if check.registry else str(registry), title_justify="left"
    )
    table.add_column("id", no_wrap=True)
    table.add_column("title", overflow="fold", ratio=1)
    table.add_column("intervention", overflow="fold")
    for col in ("status", "lock", "assigned", "results"):
        table.add_column(col, no_wrap=True)
    for entry in check.entries:
        tf = check.trials.get(entry.id)
        if tf is None:
            table.add_row(
                entry.id, "-", entry.intervention.label, "[red]invalid[/red]", "-", "-", "-"
            )
            continue
        table.add_row(
            tf.id,
            tf.trial.title,
            tf.trial.intervention.type.label,
            tf.trial.status.value,
            _yes(tf.lock_path.exists()),
            _yes(tf.assignment_path.exists()),
            _yes((tf.results_dir / "results.json").exists()),
        )
    out.print(table)
    if check.problems:
        n = len(check.problems)
        err.print(
            f"[yellow]warning[/yellow] {n} problem{'s' if n != 1 else ''} in the registry; "
            "run `triplet validate` to see them.",
            highlight=False,
        )


def status(
    trial_id: str = typer.Argument(..., metavar="ID", help="Trial id."),
    new_status: str = typer.Argument(
        ..., metavar="STATUS", help="New status: " + ", ".join(s.value for s in Status) + "."
    ),
    registry: Path = REGISTRY_OPT,
) -> None:
    """Move a trial forward in its lifecycle (draft -> registered -> assigned -> in_field ->
    completed -> analysed). Only the status line of trial.yaml is rewritten.
    """
    tf = find_trial(registry, trial_id)
    try:
        target = Status(new_status)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise InputError(
            Problem("<status>", f"unknown status {new_status!r}; one of {allowed}")
        ) from None
    if target.order >= Status.assigned.order and read_lock(tf) is None:
        raise LockError(
            f"{tf.id}: cannot move to {target.value} before the registration is locked; "
            "`triplet assign` locks it and moves the trial to assigned"
        )
    before = tf.trial.status
    tf = set_status(tf, target)
    out.print(f"{tf.id}: {before.value} -> {tf.trial.status.value} ({tf.path})", highlight=False)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def register(app: typer.Typer) -> None:
    """Add the registry commands to the triplet CLI."""
    app.command("validate")(validate)
    app.command("schema")(schema)
    app.command("new")(new)
    app.command("list")(list_trials)
    app.command("status")(status)
