"""``trials/<id>/results/results.json``: writing, reading and archiving (the reports read it).

The layout is the contract in docs/architecture.md. Every ``<analysis>`` carries the same keys
(:data:`ANALYSIS_KEYS`; missing values are ``null``), so a reader never has to guess. Results
are never overwritten in place: a run writes into a temporary folder, and only when it has
succeeded does :func:`publish_results` move the earlier run to
``results/previous/<UTC timestamp>/`` (:func:`archive_results`) and the new files into place.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

from triplet.errors import InputError
from triplet.io import jsonable, read_json, write_json

__all__ = [
    "ANALYSIS_KEYS",
    "RESULTS_FILE",
    "analysis_record",
    "archive_results",
    "publish_results",
    "read_results",
    "software_versions",
    "write_results",
]

RESULTS_FILE = "results.json"

#: keys of every ``<analysis>`` entry, in this order (extra keys may follow)
ANALYSIS_KEYS = (
    "name",
    "estimator",
    "outcome",
    "measure",
    "role",
    "registered",
    "estimand",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n_obs",
    "n_units",
    "percent_change",
    "percent_ci_low",
    "percent_ci_high",
    "rate_ratio",
    "log_effect",
    "log_se",
    "log_df",
    "notes",
)

_PACKAGES = (
    "triplet",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "linearmodels",
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "pyfixest",
    "matplotlib",
)


def software_versions() -> dict[str, str | None]:
    """Versions of Python and the packages an analysis depends on (None if not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def analysis_record(fields: dict[str, Any], **labels: Any) -> dict[str, Any]:
    """An ``<analysis>`` dict with every key of :data:`ANALYSIS_KEYS` (extras kept after them)."""
    merged = {**fields, **labels}
    out = {k: jsonable(merged.get(k)) for k in ANALYSIS_KEYS}
    for k, v in merged.items():
        if k not in out:
            out[k] = jsonable(v)
    return out


def write_results(results_dir: str | Path, results: dict[str, Any]) -> Path:
    """Write ``results.json`` atomically into ``results_dir``; refuses if one exists."""
    missing = [k for k in ("trial", "primary", "analyses") if k not in results]
    if missing:
        raise ValueError(f"results lack {', '.join(missing)}")
    return write_json(Path(results_dir) / RESULTS_FILE, results)


def read_results(path: str | Path) -> dict[str, Any]:
    """Read ``results.json`` (a path to the file or to the results folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.exists():
        raise InputError("no results: run `triplet track` first", file=path)
    data = read_json(path)
    if not isinstance(data, dict) or "primary" not in data:
        raise InputError("not a triplet results file (no 'primary' analysis)", file=path)
    return data


#: Entries of ``results/`` that a track run leaves alone (written by ``triplet delivery``).
_KEPT = ("previous", "delivery.json", "delivery")


def archive_results(results_dir: str | Path, *, suffix: str = "") -> Path | None:
    """Move everything in ``results_dir`` except ``previous/`` to ``previous/<UTC time>/``.

    The delivery files (``delivery.json``, ``delivery/``; ``triplet delivery``) stay: they have
    their own runs and archive.

    Returns the archive folder, or None when there was nothing to move.
    """
    results_dir = Path(results_dir)
    if not results_dir.exists():
        return None
    items = [p for p in results_dir.iterdir() if p.name not in _KEPT]
    if not items:
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ") + suffix
    dest = results_dir / "previous" / stamp
    dest.mkdir(parents=True, exist_ok=False)
    for p in items:
        shutil.move(str(p), str(dest / p.name))
    return dest


def publish_results(stage: str | Path, results_dir: str | Path) -> Path | None:
    """Move a finished run's files from ``stage`` into ``results_dir``; the archive or None.

    Whatever ``results_dir`` holds besides ``previous/`` is archived first (with the suffix
    ``-incomplete`` when it has no ``results.json``: files of an interrupted run). ``stage``
    must be on the same file system (a folder beside ``results_dir``): each entry is moved
    with :func:`os.replace`, ``results.json`` last, so a reader never finds a results file
    whose figures and panel are not yet there.
    """
    stage, results_dir = Path(stage), Path(results_dir)
    complete = (results_dir / RESULTS_FILE).exists()
    archived = archive_results(results_dir, suffix="" if complete else "-incomplete")
    results_dir.mkdir(parents=True, exist_ok=True)
    for p in sorted(stage.iterdir(), key=lambda p: (p.name == RESULTS_FILE, p.name)):
        os.replace(p, results_dir / p.name)
    return archived
