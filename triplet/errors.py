"""Errors that users see: each names the file, line and field where it can.

The CLI turns every :class:`TripletError` into a clear message and a non-zero exit code; no
traceback is ever shown for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is and what is wrong.

    ``line`` is 1-based; ``field`` is a dotted path such as ``design.seed`` or a column name.
    """

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class TripletError(Exception):
    """Base class for errors caused by input or state, reported without a traceback."""

    exit_code = 1


class InputError(TripletError):
    """One or more problems in an input file (YAML, CSV, Parquet)."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str | Path | None = None):
        if isinstance(problems, str):
            problems = [Problem(file=str(file or "<input>"), message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class OverwriteError(TripletError):
    """Refused to replace a file that already exists (assignments, locks, results)."""


class LockError(TripletError):
    """A locked registration was changed without a recorded deviation, or a lock is invalid."""


class StateError(TripletError):
    """An action does not fit the trial's status (e.g. assigning a trial twice)."""


class ConvergenceError(TripletError):
    """A Bayesian fit failed its convergence checks; its estimates must not be reported."""
