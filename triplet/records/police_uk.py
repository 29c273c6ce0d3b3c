"""Reader for the public data.police.uk street-level crime CSV files.

The files (``YYYY-MM-<force>-street.csv`` from https://data.police.uk/data/) have exactly these
columns: Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
LSOA name, Crime type, Last outcome category, Context. Their known quirks are handled:

- anti-social behaviour rows have a blank Crime ID: a stable id ``g_`` + 16 hex (SHA-256 of
  the file name and line number) is generated, so the same file always gives the same ids;
- some crimes have no location (blank LSOA and coordinates, Location "No Location"): they are
  kept and counted as "no location";
- Month is ``YYYY-MM``.

Rows that cannot be used (blank or malformed Month, unknown Crime type, non-numeric or
out-of-range coordinates, a Crime ID already seen) are skipped and listed in
:attr:`RecordsRead.skipped` with file, line, column, value and reason: nothing is dropped
silently. With ``strict=True`` they raise :class:`~triplet.errors.InputError` instead.
Line numbers assume no quoted line breaks inside fields (police.uk files have none).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.records.result import RecordsRead, empty_skipped, skipped_problems, skipped_table
from triplet.records.schema import (
    POLICE_UK_CRIME_TYPES,
    POLICE_UK_HISTORIC_CRIME_TYPES,
    empty_records,
    record_column_names,
)

__all__ = [
    "POLICE_UK_COLUMNS",
    "POLICE_UK_REQUIRED",
    "months_from_text",
    "read_police_uk",
    "read_police_uk_file",
]

#: The columns of a data.police.uk street-level CSV, in file order.
POLICE_UK_COLUMNS: tuple[str, ...] = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)

#: Columns a file must have; the others are filled with blanks when absent.
POLICE_UK_REQUIRED: tuple[str, ...] = (
    "Crime ID",
    "Month",
    "Longitude",
    "Latitude",
    "LSOA code",
    "Crime type",
)

_RENAME = {
    "Crime ID": "crime_id",
    "Month": "month",
    "Reported by": "force",
    "Longitude": "longitude",
    "Latitude": "latitude",
    "Location": "location",
    "LSOA code": "lsoa_code",
    "LSOA name": "lsoa_name",
    "Crime type": "crime_type",
    "Last outcome category": "outcome",
}

_VALID_TYPES = frozenset(POLICE_UK_CRIME_TYPES) | frozenset(POLICE_UK_HISTORIC_CRIME_TYPES)
_MONTH_RE = r"^\d{4}-(?:0[1-9]|1[0-2])$"


def months_from_text(text: pd.Series) -> pd.Series:
    """Convert validated ``YYYY-MM`` strings to ``Period[M]`` quickly (factorised; NaN -> NaT)."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    periods = pd.PeriodIndex([pd.Period(u, freq="M") for u in uniques], freq="M")
    taken = periods.take(codes, allow_fill=True, fill_value=pd.NaT)
    return pd.Series(taken, index=text.index)


def _generated_ids(file_name: str, lines: np.ndarray) -> np.ndarray:
    """Stable ids for blank Crime IDs: ``g_`` + 16 hex of SHA-256("<file name>:<line>")."""
    return np.array(
        ["g_" + hashlib.sha256(f"{file_name}:{n}".encode()).hexdigest()[:16] for n in lines],
        dtype=object,
    )


#: Columns stripped of surrounding spaces before the row checks.
_CHECKED = ("Crime ID", "Month", "Longitude", "Latitude", "LSOA code", "Crime type")


def _to_float(values: pd.Series) -> pd.Series:
    """Text to float64; values that are not numbers become NaN (flagged by the caller)."""
    try:
        return values.astype("float64")  # fast path: every value is a number or blank
    except (ValueError, TypeError):
        return pd.to_numeric(values, errors="coerce").astype("float64")


def _has_duplicates(values: pd.Series) -> bool:
    """Does a text column repeat a value? (A Python set is cheaper here than duplicated().)"""
    valid = values.dropna()
    return len(set(valid.tolist())) < len(valid)


def _expand(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.rglob("*.csv"))
            if not found:
                raise InputError("folder holds no .csv files", file=p)
            out.extend(found)
        elif not p.exists():
            raise InputError("file not found", file=p)
        else:
            out.append(p)
    if not out:
        raise InputError("no files given")
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    """Read every column as text; blank cells become NaN and nothing else does."""
    kwargs = {"dtype": "str", "keep_default_na": False, "na_values": [""]}
    try:
        frame = pd.read_csv(path, engine="pyarrow", **kwargs)
    except Exception:  # pyarrow refuses some malformed files; the C engine explains better
        try:
            frame = pd.read_csv(path, engine="c", encoding="utf-8-sig", **kwargs)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"cannot be read as CSV: {exc}", file=path) from exc
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    return frame


def read_police_uk_file(
    path: str | Path,
    *,
    strict: bool = False,
    seen: set[str] | None = None,
    remember: bool = True,
) -> RecordsRead:
    """Read one data.police.uk street-level CSV; see :func:`read_police_uk`.

    ``seen`` holds crime ids kept from earlier files: a repeat is skipped. With ``remember``
    this file's kept ids are added to it.
    """
    path = Path(path)
    name = str(path)
    raw = _read_csv(path)
    missing = [c for c in POLICE_UK_REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(
            [
                Problem(
                    file=name,
                    line=1,
                    field=c,
                    message="column missing from the header (expected the data.police.uk "
                    "street-level columns: " + ", ".join(POLICE_UK_COLUMNS) + ")",
                )
                for c in missing
            ]
        )
    n = len(raw)
    lines = np.arange(2, n + 2)  # header is line 1
    for c in POLICE_UK_COLUMNS:
        if c not in raw.columns:
            raw[c] = pd.Series(np.nan, index=raw.index, dtype="str")
    for c in _CHECKED:  # stray spaces around the values the checks read
        raw[c] = raw[c].str.strip()
        raw[c] = raw[c].where(raw[c] != "", np.nan)

    # Row checks, in column order; a row is skipped for its first problem.
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)

    def flag(mask: np.ndarray, col: str, why: str) -> None:
        new = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        reason[new] = why
        column[new] = col

    month = raw["Month"]
    flag(month.isna().to_numpy(), "Month", "month is blank")
    flag((~month.str.match(_MONTH_RE, na=True)).to_numpy(), "Month", "month is not YYYY-MM")
    lon, lat = _to_float(raw["Longitude"]), _to_float(raw["Latitude"])
    flag(
        (lon.isna() & raw["Longitude"].notna()).to_numpy(), "Longitude", "longitude is not a number"
    )
    flag((lat.isna() & raw["Latitude"].notna()).to_numpy(), "Latitude", "latitude is not a number")
    flag((lon.abs() > 180).to_numpy(), "Longitude", "longitude outside -180..180")
    flag((lat.abs() > 90).to_numpy(), "Latitude", "latitude outside -90..90")
    ctype = raw["Crime type"]
    flag(ctype.isna().to_numpy(), "Crime type", "crime type is blank")
    flag((~ctype.isin(_VALID_TYPES) & ctype.notna()).to_numpy(), "Crime type", "unknown crime type")

    id_series = raw["Crime ID"]
    blank = id_series.isna().to_numpy()
    if blank.any():
        generated = pd.Series(_generated_ids(path.name, lines[blank]), index=raw.index[blank])
        id_series = id_series.fillna(generated.astype("str"))
    ok = reason == None  # noqa: E711 - a repeat of a row skipped for another reason is kept
    if _has_duplicates(id_series[ok]):
        dup = np.zeros(n, dtype=bool)
        dup[ok] = id_series[ok].duplicated(keep="first").to_numpy()
        flag(dup, "Crime ID", "duplicate crime id (an earlier row has the same Crime ID)")
    if seen:
        flag(id_series.isin(seen).to_numpy(), "Crime ID", "duplicate crime id (in an earlier file)")

    bad = reason != None  # noqa: E711
    skipped = empty_skipped()
    if bad.any():
        values = np.array(
            [raw.at[i, c] for i, c in zip(np.flatnonzero(bad), column[bad], strict=True)],
            dtype=object,
        )
        skipped = skipped_table(name, lines[bad], column[bad], values, reason[bad])
        if strict:
            raise InputError(skipped_problems(skipped))

    keep = ~bad
    if keep.all():  # no row skipped: avoid copying every column through a mask
        kept = raw[list(_RENAME)].rename(columns=_RENAME)
        kept["crime_id"] = id_series.astype("str")
    else:
        kept = raw.loc[keep, list(_RENAME)].rename(columns=_RENAME).reset_index(drop=True)
        kept["crime_id"] = id_series[keep].reset_index(drop=True).astype("str")
    kept["month"] = months_from_text(kept["month"])
    kept["longitude"] = lon.to_numpy(dtype="float64")[keep]
    kept["latitude"] = lat.to_numpy(dtype="float64")[keep]
    loc = kept["location"]
    kept["location"] = loc.where(loc.str.lower() != "no location", np.nan)
    records = empty_records().reindex(range(len(kept)))
    for c in kept.columns:
        records[c] = kept[c]
    records = records[record_column_names()]
    if seen is not None and remember:
        seen.update(records["crime_id"].tolist())
    return RecordsRead(records=records, skipped=skipped, n_read=n, files=(name,))


def read_police_uk(
    paths: str | Path | Iterable[str | Path],
    *,
    strict: bool = False,
    progress: bool = False,
) -> RecordsRead:
    """Read data.police.uk street-level CSV files into the canonical records table.

    ``paths`` is a file, a folder (every ``.csv`` under it, sorted) or a list of them.
    Returns a :class:`RecordsRead`: the records, the skipped rows (file, 1-based line, column,
    value, reason) and counts (``.report()``). Crime IDs must be unique across all files: a
    repeated one is skipped as a duplicate. A file without a required column (see
    :data:`POLICE_UK_REQUIRED`) raises :class:`~triplet.errors.InputError` naming the file and
    the column. Source: https://data.police.uk/about/ (street-level crime data).
    """
    files = _expand(paths)
    parts: list[RecordsRead] = []
    if progress and len(files) > 1:
        from rich.progress import track

        iterator = track(files, description="Reading police.uk files", transient=True)
    else:
        iterator = files
    seen: set[str] = set()
    for i, f in enumerate(iterator):
        last = i == len(files) - 1  # no later file needs the ids seen so far
        parts.append(read_police_uk_file(f, strict=strict, seen=seen, remember=not last))
    return _combine(parts)


def _combine(parts: list[RecordsRead]) -> RecordsRead:
    """Concatenate per-file results."""
    if len(parts) == 1:
        return parts[0]
    skipped = [p.skipped for p in parts if not p.skipped.empty]
    return RecordsRead(
        records=pd.concat([p.records for p in parts], ignore_index=True),
        skipped=pd.concat(skipped, ignore_index=True) if skipped else empty_skipped(),
        n_read=sum(p.n_read for p in parts),
        files=tuple(f for p in parts for f in p.files),
        notes=tuple(n for p in parts for n in p.notes),
    )
