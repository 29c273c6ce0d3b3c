"""Load ``registry.yaml`` and ``trials/<id>/trial.yaml`` with every problem reported at once.

Problems are reported as ``file:line: field: message`` (:class:`triplet.errors.Problem`): YAML
syntax errors at their line, duplicate keys, wrong types, unknown keys (with the nearest valid
name), missing fields, trial folders that are missing or named differently from the trial's id.
Nothing a user can put in a file makes these functions raise anything but
:class:`~triplet.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from triplet.errors import InputError, Problem
from triplet.registry.models import Registry, RegistryEntry, Status, Trial
from triplet.registry.yamlio import ParsedYaml, parse_yaml, validation_problems

__all__ = [
    "REGISTRY_FILE",
    "TRIAL_FILE",
    "LoadedRegistry",
    "RegistryCheck",
    "TrialFile",
    "check_registry",
    "find_trial",
    "load_registry",
    "load_trial",
]

TRIAL_FILE = "trial.yaml"
REGISTRY_FILE = "registry.yaml"


@dataclass(frozen=True)
class TrialFile:
    """A validated trial and where it lives.

    ``dir`` is the trial's folder (``trials/<id>``), which also holds ``lock.json``,
    ``assignment.csv`` and ``results/``. ``root`` is the registry root (the folder of
    ``registry.yaml``) against which data-source paths are resolved; when the trial was loaded
    on its own it is the nearest folder above it holding a ``registry.yaml``, else ``dir``.
    """

    trial: Trial
    path: Path
    dir: Path
    root: Path | None = None

    def __post_init__(self) -> None:
        if self.root is None:
            object.__setattr__(self, "root", _registry_root_above(self.dir))

    @property
    def id(self) -> str:
        return self.trial.id

    @property
    def lock_path(self) -> Path:
        """``trials/<id>/lock.json``: the frozen registration (see :mod:`triplet.registry.lock`)."""
        return self.dir / "lock.json"

    @property
    def assignment_path(self) -> Path:
        """``trials/<id>/assignment.csv``: written once by ``triplet assign``."""
        return self.dir / "assignment.csv"

    @property
    def results_dir(self) -> Path:
        """``trials/<id>/results/``: written by ``triplet track``."""
        return self.dir / "results"

    def resolve(self, uri: str) -> Path:
        """A data-source path relative to the registry root, as an absolute-ish Path."""
        p = Path(uri)
        return p if p.is_absolute() else (self.root or self.dir) / p


@dataclass(frozen=True)
class LoadedRegistry:
    """``registry.yaml`` and its trials, all validated."""

    root: Path
    path: Path
    registry: Registry
    trials: dict[str, TrialFile] = field(default_factory=dict)

    def __iter__(self) -> Iterator[TrialFile]:
        return iter(self.trials.values())

    def __getitem__(self, trial_id: str) -> TrialFile:
        return self.trials[trial_id]


@dataclass(frozen=True)
class RegistryCheck:
    """The outcome of checking a registry: what loaded, and every problem found.

    ``registry`` is None when ``registry.yaml`` itself could not be read; ``trials`` holds the
    trials that loaded cleanly (the others have problems).
    """

    path: Path
    root: Path
    registry: Registry | None
    trials: dict[str, TrialFile]
    problems: list[Problem]
    entries: list[RegistryEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def loaded(self) -> LoadedRegistry:
        """The registry as a :class:`LoadedRegistry`; raises InputError with every problem."""
        if self.problems or self.registry is None:
            raise InputError(self.problems or [Problem(str(self.path), "registry not loaded")])
        return LoadedRegistry(
            root=self.root, path=self.path, registry=self.registry, trials=dict(self.trials)
        )


def _registry_root_above(folder: Path) -> Path:
    here = folder
    for _ in range(4):
        if (here / REGISTRY_FILE).is_file():
            return here
        if here.parent == here:
            break
        here = here.parent
    return folder


def _first_content_line(text: str) -> int:
    """The line (as YAML counts lines) of the first line that is not blank or a comment: where
    a document that is a single value starts."""
    import re

    for i, line in enumerate(re.split("\r\n|[\r\n\x85\u2028\u2029]", text), 1):
        if line.strip() and not line.lstrip().startswith(("#", "%", "---")):
            return i
    return 1


def _validate_model(
    parsed: ParsedYaml, model: type[BaseModel], what: str
) -> tuple[BaseModel | None, list[Problem]]:
    data = parsed.data
    if data is None:
        return None, [Problem(parsed.file, f"file is empty; expected the fields of {what}", line=1)]
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        line = parsed.line_of(()) or _first_content_line(parsed.text)
        return None, [
            Problem(
                parsed.file,
                f"{what} must be a mapping of fields (key: value), not {kind}",
                line=line,
            )
        ]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, validation_problems(exc, parsed, model)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # pragma: no cover
        return None, [Problem(parsed.file, f"invalid {what}: {exc}", line=1)]


def read_trial(
    path: str | Path, *, root: Path | None = None, label: str | None = None
) -> tuple[TrialFile | None, ParsedYaml | None, list[Problem]]:
    """Parse and validate one trial.yaml; return ``(trial_file, parsed, problems)``, never raise.

    Only the file's own content is checked; :func:`check_registry` also checks that the data
    files a registered trial names exist.
    """
    path = Path(path)
    parsed, problems = parse_yaml(path, label=label)
    if parsed is None:
        return None, None, problems
    trial, problems = _validate_model(parsed, Trial, "a trial.yaml")
    if trial is None:
        return None, parsed, problems
    assert isinstance(trial, Trial)
    return TrialFile(trial=trial, path=path, dir=path.parent, root=root), parsed, []


def _content_problems(tf: TrialFile, parsed: ParsedYaml) -> list[Problem]:
    """Checks that need the file system: data-source files exist once a trial is registered."""
    problems: list[Problem] = []
    if tf.trial.status is Status.draft:
        return problems
    for i, source in enumerate(tf.trial.data_sources):
        if "://" in source.uri:
            continue
        if not tf.resolve(source.uri).exists():
            problems.append(
                Problem(
                    parsed.file,
                    f"data source file not found: {source.uri} (paths are relative to the "
                    f"registry root {tf.root})",
                    line=parsed.line_of(("data_sources", i, "uri")),
                    field=f"data_sources.{i}.uri",
                )
            )
        if source.mapping and not tf.resolve(source.mapping).exists():
            problems.append(
                Problem(
                    parsed.file,
                    f"mapping file not found: {source.mapping}",
                    line=parsed.line_of(("data_sources", i, "mapping")),
                    field=f"data_sources.{i}.mapping",
                )
            )
    return problems


def load_trial(path: str | Path) -> TrialFile:
    """Load and validate one ``trial.yaml``; raise :class:`InputError` listing every problem."""
    tf, _, problems = read_trial(path)
    if problems or tf is None:
        raise InputError(problems)
    return tf


def check_registry(path: str | Path = REGISTRY_FILE) -> RegistryCheck:
    """Check ``registry.yaml`` and every trial it lists; collect all problems, never raise.

    Besides each file's own problems it checks that every entry's folder and trial.yaml exist,
    that the trial's id equals the entry's id and the folder's name, that the intervention type
    agrees, and that no trial folder beside the listed ones is missing from the registry.
    """
    path = Path(path)
    root = path.parent
    parsed, problems = parse_yaml(path)
    if parsed is None:
        return RegistryCheck(path, root, None, {}, problems)
    registry, problems = _validate_model(parsed, Registry, "registry.yaml")
    entries = _entries(parsed, registry)
    trials: dict[str, TrialFile] = {}
    seen_folders: dict[str, int] = {}
    for i, entry in entries:
        folder_line = parsed.line_of(("trials", i, "folder"))
        where = dict(file=parsed.file, line=folder_line, field=f"trials.{i}.folder")
        norm = Path(entry.folder).as_posix().rstrip("/")
        if norm in seen_folders:
            problems.append(
                Problem(
                    **where,
                    message=f"folder {entry.folder} is also used by trials.{seen_folders[norm]}",
                )
            )
            continue
        seen_folders[norm] = i
        if Path(entry.folder).name != entry.id:
            problems.append(
                Problem(
                    **where,
                    message=f"folder {entry.folder} should be named "
                    f"after the trial id {entry.id!r}",
                )
            )
        folder = root / entry.folder
        trial_path = folder / "trial.yaml"
        if not folder.is_dir():
            problems.append(Problem(**where, message=f"folder not found: {folder}"))
            continue
        if not trial_path.is_file():
            problems.append(Problem(**where, message=f"{trial_path} not found"))
            continue
        tf, tparsed, tproblems = read_trial(trial_path, root=root)
        if tf is not None and tparsed is not None:
            tproblems = tproblems + _content_problems(tf, tparsed)
        problems.extend(tproblems)
        if tf is None or tparsed is None:
            continue
        ok = not tproblems
        if tf.trial.id != entry.id:
            problems.append(
                Problem(
                    tparsed.file,
                    f"id {tf.trial.id!r} differs from the registry "
                    f"entry {entry.id!r} ({parsed.file}:"
                    f"{parsed.line_of(('trials', i, 'id'))})",
                    line=tparsed.line_of(("id",)),
                    field="id",
                )
            )
            ok = False
        if tf.trial.intervention.type is not entry.intervention:
            problems.append(
                Problem(
                    tparsed.file,
                    f"intervention type {tf.trial.intervention.type.value} differs from the registry "
                    f"entry ({entry.intervention.value}, {parsed.file}:"
                    f"{parsed.line_of(('trials', i, 'intervention'))})",
                    line=tparsed.line_of(("intervention", "type")),
                    field="intervention.type",
                )
            )
            ok = False
        if ok:
            trials[entry.id] = tf
    named = set(seen_folders) | _raw_folders(parsed.data)
    problems.extend(_unlisted_trials(root, named, parsed.file))
    return RegistryCheck(
        path=path,
        root=root,
        registry=registry if isinstance(registry, Registry) else None,
        trials=trials,
        problems=problems,
        entries=[e for _, e in entries],
    )


def _entries(parsed: ParsedYaml, registry: BaseModel | None) -> list[tuple[int, RegistryEntry]]:
    """Entries that are valid on their own (so one bad entry does not hide the others)."""
    if isinstance(registry, Registry):
        return list(enumerate(registry.trials))
    data = parsed.data
    raw = data.get("trials") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return []
    out: list[tuple[int, RegistryEntry]] = []
    for i, item in enumerate(raw):
        try:
            out.append((i, RegistryEntry.model_validate(item)))
        except (ValidationError, ValueError, TypeError):
            continue
    ids = [e.id for _, e in out]
    return [(i, e) for i, e in out if ids.count(e.id) == 1]


def _raw_folders(data: object) -> set[str]:
    """Folders named by any entry, even one that is otherwise invalid."""
    raw = data.get("trials") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return set()
    return {
        Path(item["folder"]).as_posix().rstrip("/")
        for item in raw
        if isinstance(item, dict)
        and isinstance(item.get("folder"), str)
        and item["folder"]
        and not Path(item["folder"]).is_absolute()
        and ".." not in Path(item["folder"]).parts
    }


def _unlisted_trials(root: Path, listed: set[str], file: str) -> list[Problem]:
    parents = {(root / f).parent for f in listed}
    listed_dirs = {(root / f).resolve() for f in listed}
    problems = []
    for parent in sorted(parents):
        if not parent.is_dir():
            continue
        for candidate in sorted(parent.glob(f"*/{TRIAL_FILE}")):
            if candidate.parent.resolve() not in listed_dirs:
                problems.append(
                    Problem(
                        str(candidate),
                        f"trial is not listed in {file}: add it (triplet new does) or move it away",
                    )
                )
    return problems


def load_registry(path: str | Path = REGISTRY_FILE) -> LoadedRegistry:
    """Load ``registry.yaml`` and every trial; raise :class:`InputError` with every problem."""
    return check_registry(path).loaded()


def find_trial(registry_path: str | Path, trial_id: str) -> TrialFile:
    """Load the one trial ``trial_id`` of a registry (other trials are not read)."""
    registry_path = Path(registry_path)
    parsed, problems = parse_yaml(registry_path)
    if parsed is None:
        raise InputError(problems)
    data = parsed.data if isinstance(parsed.data, dict) else {}
    raw = data.get("trials") if isinstance(data.get("trials"), list) else []
    for i, item in enumerate(raw):
        if isinstance(item, dict) and item.get("id") == trial_id:
            try:
                entry = RegistryEntry.model_validate(item)
            except ValidationError as exc:
                raise InputError(
                    validation_problems(exc, parsed, RegistryEntry, prefix=("trials", i))
                ) from None
            trial_path = registry_path.parent / entry.folder / TRIAL_FILE
            tf, tparsed, tproblems = read_trial(trial_path, root=registry_path.parent)
            if tproblems or tf is None:
                raise InputError(tproblems)
            if tf.trial.id != trial_id:
                raise InputError(
                    Problem(
                        str(trial_path),
                        f"id {tf.trial.id!r} differs from the registry entry {trial_id!r}",
                        line=tparsed.line_of(("id",)) if tparsed else None,
                        field="id",
                    )
                )
            return tf
    known = sorted(str(t.get("id")) for t in raw if isinstance(t, dict) and "id" in t)
    raise InputError(
        Problem(
            str(registry_path),
            f"no trial {trial_id!r} in the registry"
            + (f"; known trials: {', '.join(known)}" if known else " (it lists no trials)"),
        )
    )
