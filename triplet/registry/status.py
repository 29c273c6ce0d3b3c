"""The trial lifecycle: draft -> registered -> assigned -> in_field -> completed -> analysed.

:func:`set_status` moves a trial forward by rewriting only the ``status:`` line of its
trial.yaml (every comment and the layout of the rest of the file are kept) with an atomic
write. Moving backwards, or to the same status, is refused with
:class:`~triplet.errors.StateError`: a registration's history must not be rewritten.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from triplet.errors import InputError, Problem, StateError
from triplet.io import write_text
from triplet.registry.loading import TrialFile, read_trial
from triplet.registry.models import Status, Trial
from triplet.registry.yamlio import parse_yaml_text, validation_problems

__all__ = ["LIFECYCLE", "next_statuses", "set_status"]

LIFECYCLE: tuple[Status, ...] = tuple(Status)

_STATUS_LINE = re.compile(
    r"^(?P<lead>status[ \t]*:[ \t]*)(?P<q>[\"']?)(?P<value>[A-Za-z_]+)(?P=q)(?P<tail>[ \t]*(#.*)?)$"
)


def next_statuses(status: Status) -> list[Status]:
    """The statuses a trial at ``status`` may move to (every later one)."""
    return [s for s in LIFECYCLE if s.order > status.order]


def set_status(trial_file: TrialFile, status: Status | str) -> TrialFile:
    """Move the trial to ``status`` (forward only) and return the reloaded :class:`TrialFile`.

    The current status is read from the file on disk, not from ``trial_file``, so two processes
    cannot both move the same trial on from a stale copy.
    """
    try:
        new = Status(status)
    except ValueError:
        allowed = ", ".join(s.value for s in LIFECYCLE)
        raise StateError(f"unknown status {status!r}; the lifecycle is {allowed}") from None
    path = trial_file.path
    current_tf, parsed, problems = read_trial(path, root=trial_file.root)
    if problems or current_tf is None or parsed is None:
        raise InputError(problems)
    current = current_tf.trial.status
    if new.order <= current.order:
        what = (
            f"is already {current.value}"
            if new is current
            else f"cannot move back from {current.value} to {new.value}"
        )
        raise StateError(
            f"{path}: trial {current_tf.id} {what}; statuses only move forward ("
            + " -> ".join(s.value for s in LIFECYCLE)
            + ")"
        )
    text = parsed.text
    lines = text.splitlines(keepends=True)
    line_no = parsed.line_of(("status",)) if "status" in parsed.data else None
    if line_no is not None:
        idx = line_no - 1
        body = lines[idx].rstrip("\r\n")
        ending = lines[idx][len(body) :]
        m = _STATUS_LINE.match(body)
        if m is None:
            raise InputError(
                Problem(
                    str(path),
                    "cannot rewrite the status line; write it as "
                    "`status: <value>` on a line of its own",
                    line=line_no,
                    field="status",
                )
            )
        lines[idx] = f"{m['lead']}{m['q']}{new.value}{m['q']}{m['tail']}{ending}"
    else:  # status omitted (draft by default): add it after the title, or the id
        anchor = next((k for k in ("title", "id") if k in parsed.data), None)
        at = parsed.line_of((anchor,)) if anchor else 0
        at = _end_of_value(at, lines) if anchor else 0
        newline = "\r\n" if "\r\n" in text else "\n"
        if at > 0 and not lines[at - 1].endswith(("\n", "\r")):
            lines[at - 1] += newline
        lines.insert(at, f"status: {new.value}{newline}")
    new_text = "".join(lines)
    check, check_problems = parse_yaml_text(new_text, file=str(path))
    if check is None or not isinstance(check.data, dict) or check.data.get("status") != new.value:
        raise InputError(
            check_problems
            or Problem(str(path), "status rewrite failed; file left unchanged", field="status")
        )
    try:
        Trial.model_validate(check.data)
    except ValidationError as exc:  # e.g. registered needs a registered date
        raise InputError(validation_problems(exc, check, Trial)) from None
    write_text(path, new_text, overwrite=True)  # documented: status moves rewrite in place
    reloaded, _, reload_problems = read_trial(path, root=trial_file.root)
    if reloaded is None:
        raise InputError(reload_problems)
    return reloaded


def _end_of_value(line_no: int, lines: list[str]) -> int:
    """Index of the line after ``key``'s (possibly folded, multi-line) value."""
    i = line_no  # 0-based index of the line after the key's line
    while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):
        i += 1
    while i > line_no and not lines[i - 1].strip():
        i -= 1
    return i
