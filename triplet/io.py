"""Atomic, non-overwriting file writes.

Every file triplet writes (assignments, locks, results, reports) goes through these helpers:
the content is written to a temporary file in the same folder, flushed and fsynced, then moved
into place with :func:`os.replace` (atomic on POSIX), so a process killed mid-way leaves either
the old file or the new one, never a partial file. By default an existing file is never
replaced: pass ``overwrite=True`` only where replacing is the documented behaviour.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import OverwriteError

__all__ = [
    "atomic_path",
    "jsonable",
    "read_json",
    "write_bytes",
    "write_dataframe",
    "write_json",
    "write_text",
]


@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it into place atomically.

    Raises :class:`OverwriteError` if ``path`` exists and ``overwrite`` is false. On any
    exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OverwriteError(f"{path}: already exists; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; use the usual file mode
        if not overwrite and path.exists():  # appeared while we were writing
            raise OverwriteError(f"{path}: already exists; refusing to overwrite it")
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Atomically write ``data`` to ``path`` (refusing to replace it unless ``overwrite``)."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def write_json(path: str | Path, obj: Any, *, overwrite: bool = False) -> Path:
    """Atomically write ``obj`` as indented, key-sorted JSON (NaN written as null)."""
    text = json.dumps(jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return write_text(path, text, overwrite=overwrite)


def write_dataframe(
    path: str | Path,
    frame: pd.DataFrame,
    *,
    overwrite: bool = False,
    writer: Callable[[pd.DataFrame, Path], None] | None = None,
) -> Path:
    """Atomically write ``frame`` as CSV or Parquet, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    with atomic_path(path, overwrite=overwrite) as tmp:
        if writer is not None:
            writer(frame, tmp)
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            raise ValueError(f"{path}: unknown table format {suffix!r}; use .csv or .parquet")
    return path


def read_json(path: str | Path) -> Any:
    """Read a JSON file; bad JSON is an :class:`InputError` naming the file and line."""
    from triplet.errors import InputError

    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"line {exc.lineno}: not valid JSON: {exc.msg}", file=path) from None


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values: the one converter every ``to_dict()`` and JSON write uses.

    Mappings become dicts with string keys; lists, tuples and arrays become lists; numpy
    scalars become Python ones; NaN, infinities, ``pd.NA`` and ``NaT`` become ``None``;
    paths, pandas timestamps/periods and dates become strings (ISO 8601). The result passes
    ``json.dumps(..., allow_nan=False)``.
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, pd.Timestamp | pd.Period):
        return str(obj)
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    return obj
