"""Freeze a registration when its trial is assigned, and find later changes to it.

``trials/<id>/lock.json`` holds the *canonical registration* (the trial's fields, without
``status`` and ``deviations``, as sorted-key compact JSON), its SHA-256, the time it was locked,
the triplet version and whatever the assignment adds (assignment hash, seed, numpy version,
bit generator). After that, every change to a registered field must be recorded as a deviation
(``deviations: [{date, field, reason}]``, CONSORT 2010 item 6b; Schulz et al. 2010) whose
``field`` is the changed dotted path or one of its parents; :func:`check_lock` reports each
change that is not, at the line of the field in ``trial.yaml``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triplet import __version__
from triplet.errors import InputError, LockError, Problem
from triplet.io import write_json
from triplet.registry.loading import TrialFile
from triplet.registry.models import Trial
from triplet.registry.yamlio import parse_yaml

__all__ = [
    "EXCLUDED_FIELDS",
    "LOCKED_ARTEFACTS",
    "LOCK_FILE",
    "Lock",
    "canonical_registration",
    "changed_fields",
    "check_artefacts",
    "check_lock",
    "read_lock",
    "registration_sha256",
    "verify_artefacts",
    "write_lock",
]

LOCK_FILE = "lock.json"
EXCLUDED_FIELDS = frozenset({"status", "deviations"})
_RESERVED = frozenset({"registration", "registration_sha256", "locked_at", "triplet_version"})
#: Files of a trial folder frozen by the lock: file name -> the lock.json key of its SHA-256.
LOCKED_ARTEFACTS: dict[str, str] = {"assignment.csv": "assignment_sha256"}


def registration(trial: Trial) -> dict[str, Any]:
    """The locked part of a trial: every field (defaults included) but status and deviations."""
    return trial.model_dump(mode="json", exclude=set(EXCLUDED_FIELDS))


def canonical_json(obj: Any) -> str:
    """Sorted-key compact JSON, the form that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_registration(trial: Trial) -> str:
    """The canonical registration as sorted-key compact JSON text."""
    return canonical_json(registration(trial))


def registration_sha256(trial: Trial | Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical registration of ``trial`` (or of a registration dict)."""
    text = canonical_registration(trial) if isinstance(trial, Trial) else canonical_json(trial)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Lock:
    """The content of ``lock.json``. ``extra`` holds what the assignment added (seed, ...).

    Supports ``lock["seed"]`` and ``lock.get("assignment_sha256")`` for any key of the file.
    """

    path: Path
    registration: dict[str, Any]
    registration_sha256: str
    locked_at: str
    triplet_version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "registration": self.registration,
            "registration_sha256": self.registration_sha256,
            "locked_at": self.locked_at,
            "triplet_version": self.triplet_version,
            **self.extra,
        }

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    @property
    def locked_date(self) -> dt.date | None:
        try:
            return dt.datetime.fromisoformat(self.locked_at).date()
        except (TypeError, ValueError):
            return None

    @property
    def intact(self) -> bool:
        """True if the stored hash matches the stored registration (the lock is not tampered)."""
        return registration_sha256(self.registration) == self.registration_sha256


def write_lock(trial_file: TrialFile, **extra: Any) -> Path:
    """Write ``trials/<id>/lock.json`` atomically; refuse (OverwriteError) if a lock exists.

    ``extra`` (JSON values) is stored beside the registration, e.g. ``assignment_sha256``,
    ``seed``, ``numpy_version``, ``bit_generator``.
    """
    clash = (_RESERVED | {"deviations_at_lock"}) & extra.keys()
    if clash:
        raise TypeError(f"write_lock: {', '.join(sorted(clash))} are set by the lock itself")
    content = {
        "registration": registration(trial_file.trial),
        "registration_sha256": registration_sha256(trial_file.trial),
        "locked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "triplet_version": __version__,
        # Deviations already recorded when the lock is made are amendments made before it
        # (dated earlier by nature); only deviations added later must be dated on or after it.
        "deviations_at_lock": [d.model_dump(mode="json") for d in trial_file.trial.deviations],
        **extra,
    }
    return write_json(trial_file.lock_path, content)


def read_lock(trial_file: TrialFile) -> Lock | None:
    """The trial's lock, or None if it has none; InputError if lock.json is unreadable."""
    path = trial_file.lock_path
    if not path.exists():
        return None
    file = str(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(Problem(file, f"not valid JSON: {exc.msg}", line=exc.lineno)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Problem(file, f"cannot read: {exc}")) from None
    if not isinstance(content, dict):
        raise InputError(Problem(file, "lock.json must be a JSON object"))
    missing = [k for k in sorted(_RESERVED) if k not in content]
    if missing:
        raise InputError(Problem(file, f"lock.json lacks {', '.join(missing)}"))
    if not isinstance(content["registration"], dict):
        raise InputError(Problem(file, "registration must be a JSON object", field="registration"))
    extra = {k: v for k, v in content.items() if k not in _RESERVED}
    return Lock(
        path=path,
        registration=content["registration"],
        registration_sha256=str(content["registration_sha256"]),
        locked_at=str(content["locked_at"]),
        triplet_version=str(content["triplet_version"]),
        extra=extra,
    )


def changed_fields(locked: Any, current: Any, prefix: str = "") -> list[str]:
    """Dotted paths where ``current`` differs from ``locked`` (plain JSON values).

    Mappings are compared key by key; lists of mappings item by item (``data_sources.1.uri``);
    lists of plain values as a whole (``outcomes.primary.crime_types``). A key that is new in
    ``current`` only counts if its value is not null/empty (so a field added to the model in a
    later triplet version, left at its default, is not reported as a change).
    """
    if isinstance(locked, dict) and isinstance(current, dict):
        out: list[str] = []
        for key in sorted(set(locked) | set(current), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in locked:
                if current[key] not in (None, [], {}):
                    out.append(path)
            elif key not in current:
                out.append(path)
            else:
                out.extend(changed_fields(locked[key], current[key], path))
        return out
    if (
        isinstance(locked, list)
        and isinstance(current, list)
        and any(isinstance(v, dict | list) for v in [*locked, *current])
    ):
        out = []
        for i in range(max(len(locked), len(current))):
            path = f"{prefix}.{i}" if prefix else str(i)
            if i >= len(locked) or i >= len(current):
                out.append(path)
            else:
                out.extend(changed_fields(locked[i], current[i], path))
        return out
    same = type(locked) is type(current) and locked == current
    if not same and isinstance(locked, int | float) and isinstance(current, int | float):
        same = not isinstance(locked, bool) and not isinstance(current, bool) and locked == current
    return [] if same else [prefix]


def covers(deviation_field: str, path: str) -> bool:
    """True if a deviation on ``deviation_field`` covers a change at ``path`` (same or parent)."""
    dev = deviation_field.strip().strip(".")
    return path == dev or path.startswith(dev + ".")


def check_lock(trial_file: TrialFile) -> list[Problem]:
    """Problems with the trial's lock: tampering, and changes not recorded as deviations.

    Returns an empty list when the trial has no lock or nothing changed. Each unrecorded change
    is reported at the line of the changed field in trial.yaml.
    """
    try:
        lock = read_lock(trial_file)
    except InputError as exc:
        return list(exc.problems)
    if lock is None:
        return []
    problems: list[Problem] = []
    if not lock.intact:
        problems.append(
            Problem(
                str(lock.path),
                "registration_sha256 does not match the stored registration: lock.json was edited "
                "by hand; restore it from version control",
                field="registration_sha256",
            )
        )
    deviations = trial_file.trial.deviations
    current = registration(trial_file.trial)
    unrecorded = [
        path
        for path in changed_fields(lock.registration, current)
        if not any(covers(d.field, path) for d in deviations)
    ]
    locked_on = lock.locked_date
    before_lock = lock.extra.get("deviations_at_lock") or []
    early = [
        i
        for i, d in enumerate(deviations)
        if locked_on is not None
        and d.date < locked_on
        and d.model_dump(mode="json") not in before_lock
    ]
    known = _known_paths(lock.registration, current)
    unknown = [i for i, d in enumerate(deviations) if d.field.strip().strip(".") not in known]
    if not unrecorded and not early and not unknown:
        return problems
    parsed, _ = parse_yaml(trial_file.path)  # only now: for the lines of the problems

    def line_of(path: list[str | int]) -> int | None:
        return parsed.line_of(path) if parsed is not None else None

    file = parsed.file if parsed is not None else str(trial_file.path)
    for path in unrecorded:
        problems.append(
            Problem(
                file,
                f"changed after the registration was locked ({lock.locked_at}) without a "
                f"deviation; add one to deviations (date, field: {path}, reason) or undo the "
                "change",
                line=line_of(_split(path)),
                field=path,
            )
        )
    for i in early:
        d = deviations[i]
        problems.append(
            Problem(
                file,
                f"deviation dated {d.date.isoformat()}, before the lock "
                f"({locked_on.isoformat() if locked_on else '?'})",
                line=line_of(["deviations", i, "date"]),
                field=f"deviations.{i}.date",
            )
        )
    for i in unknown:
        d = deviations[i]
        problems.append(
            Problem(
                file,
                f"deviation names {d.field!r}, which is not a field of the registration "
                "(use a dotted path such as design.seed or periods.treatment.end)",
                line=line_of(["deviations", i, "field"]),
                field=f"deviations.{i}.field",
            )
        )
    return problems


def _split(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _leaf_paths(obj: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list) and any(isinstance(v, dict | list) for v in obj):
        for i, v in enumerate(obj):
            yield from _leaf_paths(v, f"{prefix}.{i}")
    else:
        yield prefix


def iter_locked_paths(trial: Trial) -> Iterator[str]:
    """Every dotted path :func:`changed_fields` can report for ``trial`` (its leaves)."""
    yield from _leaf_paths(registration(trial))


def _known_paths(*registrations: dict[str, Any]) -> set[str]:
    """Every leaf path of the registrations and every parent of one."""
    known: set[str] = set()
    for reg in registrations:
        for leaf in _leaf_paths(reg):
            parts = leaf.split(".")
            known.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return known


# --------------------------------------------------------------------------------------------
# Locked artefacts (issue 10, defect 1)
# --------------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_artefacts(trial_file: TrialFile) -> list[Problem]:
    """Problems with the trial's locked artefacts (:data:`LOCKED_ARTEFACTS`, e.g.
    ``assignment.csv``): each one the lock records must exist and have the SHA-256 the lock
    holds. Empty when the trial has no lock (or an unreadable one: :func:`check_lock` says so).
    """
    try:
        lock = read_lock(trial_file)
    except InputError:
        return []
    if lock is None:
        return []
    problems: list[Problem] = []
    for name, key in LOCKED_ARTEFACTS.items():
        expected = lock.get(key)
        if expected is None:
            continue
        path = Path(trial_file.dir) / name
        if not path.exists():
            problems.append(
                Problem(
                    str(path),
                    f"missing, but {lock.path.name} records it ({key}); restore it from "
                    "version control",
                )
            )
            continue
        try:
            actual = _sha256_file(path)
        except OSError as exc:
            problems.append(Problem(str(path), f"cannot read: {exc}"))
            continue
        if actual != expected:
            problems.append(
                Problem(
                    str(path),
                    f"changed after it was locked: its SHA-256 is {actual[:12]}..., "
                    f"{lock.path.name} records {str(expected)[:12]}... ({key}); the locked "
                    "file was edited or replaced: restore it from version control",
                )
            )
    return problems


def verify_artefacts(trial_file: TrialFile) -> None:
    """Refuse (LockError naming each file) if a locked artefact differs from ``lock.json``.

    Every command that reads a locked artefact calls this first (``triplet track``, ``report``,
    ``board``, performance populations); ``triplet validate`` lists the same problems.
    """
    problems = check_artefacts(trial_file)
    if problems:
        listing = "\n  ".join(str(p) for p in problems)
        raise LockError(
            f"trial {trial_file.id}: a locked file does not match lock.json; nothing was "
            f"read from it:\n  {listing}"
        )
