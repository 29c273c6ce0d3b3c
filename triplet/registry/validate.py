"""``triplet validate``: the registry, every trial, and every lock, with all problems at once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from triplet.errors import Problem
from triplet.registry.loading import (
    REGISTRY_FILE,
    RegistryCheck,
    TrialFile,
    check_registry,
    read_trial,
)
from triplet.registry.lock import check_artefacts, check_lock
from triplet.registry.models import Status
from triplet.registry.yamlio import parse_yaml

__all__ = ["lifecycle_problems", "validate_registry", "validate_trial"]


def lifecycle_problems(trial_file: TrialFile) -> list[Problem]:
    """A lock must exist from ``assigned`` on, and only then."""
    status = trial_file.trial.status
    locked = trial_file.lock_path.exists()
    if locked == (status.order >= Status.assigned.order):
        return []
    parsed, _ = parse_yaml(trial_file.path)
    line = parsed.line_of(("status",)) if parsed is not None else None
    file = parsed.file if parsed is not None else str(trial_file.path)
    if locked:
        message = (
            f"status is {status.value} but {trial_file.lock_path.name} exists: the trial "
            "was assigned; set the status forward, never back"
        )
    else:
        message = (
            f"status is {status.value} but there is no {trial_file.lock_path.name}: the "
            "registration was never frozen (run `triplet assign`)"
        )
    return [Problem(file, message, line=line, field="status")]


def validate_registry(path: str | Path = REGISTRY_FILE) -> RegistryCheck:
    """Check the registry and every trial (see :func:`check_registry`), then every lock.

    Returns the check with lock and lifecycle problems added; never raises for bad input.
    """
    check = check_registry(path)
    problems = list(check.problems)
    for tf in check.trials.values():
        problems.extend(check_lock(tf))
        problems.extend(check_artefacts(tf))
        problems.extend(lifecycle_problems(tf))
    return replace(check, problems=problems)


def validate_trial(path: str | Path) -> tuple[TrialFile | None, list[Problem]]:
    """Check one trial.yaml on its own (content, lock, lifecycle); never raises for bad input."""
    tf, _, problems = read_trial(path)
    if tf is None:
        return None, problems
    return tf, [*problems, *check_lock(tf), *check_artefacts(tf), *lifecycle_problems(tf)]
