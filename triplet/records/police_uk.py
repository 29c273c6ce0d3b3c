"""Reader for the public data.police.uk crime files (street-level CSVs and the archive folders).

The street files (``YYYY-MM-<force>-street.csv`` from https://data.police.uk/data/) have exactly
these columns: Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA
code, LSOA name, Crime type, Last outcome category, Context. The archive download has one folder
per month holding ``-street.csv``, ``-outcomes.csv`` and ``-stop-and-search.csv`` files. Their
known quirks are handled:

- anti-social behaviour rows have a blank Crime ID: a stable id ``g_`` + 16 hex (8 hex of
  SHA-256 of the file name, then the line number in hex) is generated, so the same file always
  gives the same ids;
- some crimes have no location (blank LSOA and coordinates, Location "No Location"): they are
  kept and counted as "no location";
- recent files repeat some Crime IDs within a month with different locations or outcomes: each
  published row is a record; the second and later rows sharing a Crime ID get ``#2``, ``#3`` ...
  appended, so the row key (``crime_id``) is unique and the published id is its prefix. Only rows
  identical in every column to an earlier row are dropped (listed in ``skipped``);
- a folder is read as an archive: its street files are the records, its outcomes files give
  each crime's latest outcome (it replaces "Last outcome category" where present), stop-and-search
  files are not crimes and are left out (with a note);
- files that are not UTF-8 (saved by Excel, cp1252) are read with ``encoding=``; otherwise the
  first undecodable byte is reported with its line, column and field.

Rows that cannot be used (blank or malformed Month, unknown Crime type, non-numeric or
out-of-range coordinates, an exact repeat of an earlier row) are skipped and listed in
:attr:`RecordsRead.skipped` with file, line, column, value and reason: nothing is dropped
silently. With ``strict=True`` they raise :class:`~triplet.errors.InputError` instead. Line
numbers assume no quoted line breaks inside fields (police.uk files have none).

Validation is vectorised and columnar: a well-formed UTF-8 street file is checked in Arrow
compute and kept in Arrow (the fast path); other files, and the few rows that fail a check or
share a Crime ID, go through Polars expressions (the careful path). Both give the same records
and skipped rows (tested). See docs/records.md "Engine" and "Performance at force scale".
"""

from __future__ import annotations

import codecs
import hashlib
import io
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from triplet.errors import InputError, Problem
from triplet.records.result import RecordsRead, empty_skipped, skipped_problems
from triplet.records.schema import (
    POLICE_UK_CRIME_TYPES,
    POLICE_UK_HISTORIC_CRIME_TYPES,
    record_column_names,
)

__all__ = [
    "POLICE_UK_COLUMNS",
    "POLICE_UK_OUTCOME_COLUMNS",
    "POLICE_UK_REQUIRED",
    "RECORDS_ARROW_SCHEMA",
    "PoliceUkFiles",
    "PoliceUkFrame",
    "find_police_uk_files",
    "months_from_text",
    "police_uk_frame",
    "read_police_uk",
    "read_police_uk_file",
    "records_to_pandas",
    "skipped_to_pandas",
    "table_to_pandas",
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

#: The columns of a data.police.uk outcomes CSV (one row per outcome of a crime).
POLICE_UK_OUTCOME_COLUMNS: tuple[str, ...] = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Outcome type",
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
    "month": "Month",
    "force": "Reported by",
    "location": "Location",
    "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name",
    "crime_type": "Crime type",
}

_VALID_TYPES = frozenset(POLICE_UK_CRIME_TYPES) | frozenset(POLICE_UK_HISTORIC_CRIME_TYPES)
_MONTH_RE = r"^\d{4}-(?:0[1-9]|1[0-2])$"
#: Columns stripped of surrounding spaces before the row checks.
_CHECKED = ("Crime ID", "Month", "Longitude", "Latitude", "LSOA code", "Crime type")
_IDENTICAL = "duplicate row (identical in every column to an earlier row)"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def months_from_text(text: pd.Series) -> pd.Series:
    """Convert validated ``YYYY-MM`` strings to ``Period[M]`` quickly (factorised; NaN -> NaT)."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    periods = pd.PeriodIndex([pd.Period(u, freq="M") for u in uniques], freq="M")
    taken = periods.take(codes, allow_fill=True, fill_value=pd.NaT)
    return pd.Series(taken, index=text.index)


def _hex8(values: np.ndarray) -> np.ndarray:
    """Each non-negative integer (< 2**32) as 8 lower-case hex digits (vectorised)."""
    v = np.asarray(values, dtype=np.uint64)
    shifts = np.arange(28, -1, -4, dtype=np.uint64)
    digits = _HEX[((v[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]
    return np.ascontiguousarray(digits).view("S8").ravel()


def _file_tag(file_name: str) -> str:
    """The first 8 hex digits of SHA-256 of a file name (the file part of generated ids)."""
    return hashlib.sha256(file_name.encode()).hexdigest()[:8]


# ---------------------------------------------------------------------------------------------
# Finding the files of a folder (the data.police.uk archive layout)


@dataclass(frozen=True)
class PoliceUkFiles:
    """The files of a data.police.uk download: street files (records), outcomes, left out."""

    street: tuple[Path, ...]
    outcomes: tuple[Path, ...] = ()
    ignored: tuple[Path, ...] = ()


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith("-outcomes.csv"):
        return "outcomes"
    if name.endswith("-stop-and-search.csv"):
        return "stop-and-search"
    return "street"


def find_police_uk_files(paths: str | Path | Iterable[str | Path]) -> PoliceUkFiles:
    """Sort the given files and folders into street, outcomes and ignored files.

    A folder is searched recursively. When it holds ``*-street.csv`` files (the archive layout)
    those are the records, ``*-outcomes.csv`` the outcomes and every other CSV (stop and search)
    is ignored; otherwise every ``*.csv`` in it is read as a street-level file. A file named
    ``*-outcomes.csv`` given directly is used as outcomes; a stop-and-search file is an error.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    street: list[Path] = []
    outcomes: list[Path] = []
    ignored: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.rglob("*.csv"))
            if not found:
                raise InputError("folder holds no .csv files", file=p)
            if any(f.name.lower().endswith("-street.csv") for f in found):
                for f in found:
                    kind = _kind(f)
                    if kind == "outcomes":
                        outcomes.append(f)
                    elif kind == "street" and f.name.lower().endswith("-street.csv"):
                        street.append(f)
                    else:
                        ignored.append(f)
            else:
                street.extend(found)
        elif not p.exists():
            raise InputError("file not found", file=p)
        elif _kind(p) == "outcomes":
            outcomes.append(p)
        elif _kind(p) == "stop-and-search":
            raise InputError(
                "a stop-and-search file holds searches, not crimes: give the street-level "
                "files (or the archive folder, whose stop-and-search files are left out)",
                file=p,
            )
        else:
            street.append(p)
    if not street:
        raise InputError(
            "no street-level crime files given (outcomes alone are not records)",
            file=str(outcomes[0]) if outcomes else "command line",
        )
    return PoliceUkFiles(tuple(street), tuple(outcomes), tuple(ignored))


# ---------------------------------------------------------------------------------------------
# Reading one CSV as text


def _field_at(prefix: str) -> int:
    """0-based index of the CSV field a line prefix ends in (double quotes respected)."""
    quoted, field = False, 0
    for ch in prefix:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            field += 1
    return field


def _decode_error(path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str) -> InputError:
    """An InputError naming the line, column and field of the first undecodable byte."""
    start = exc.start
    line = data.count(b"\n", 0, start) + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    prefix = data[line_start:start].decode(encoding, errors="replace")
    column = len(prefix) + 1
    header_end = data.find(b"\n")
    header = data[: header_end if header_end >= 0 else len(data)].decode(encoding, errors="replace")
    names = [h.strip().strip('"').lstrip("\ufeff") for h in header.split(",")]
    idx = _field_at(prefix)
    field = names[idx] if line > 1 and idx < len(names) else None
    return InputError(
        Problem(
            file=str(path),
            line=line,
            field=field,
            message=(
                f"column {column}: byte 0x{data[start]:02X} is not valid {encoding} "
                "(data.police.uk files are UTF-8; a file saved by Excel is often cp1252): "
                "read it with --encoding cp1252 (or latin-1)"
            ),
        )
    )


def _check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise InputError(
            Problem(
                file="command line",
                field="encoding",
                message=f"unknown encoding {encoding!r} (use utf-8, cp1252 or latin-1)",
            )
        ) from exc


def _read_text_csv(path: Path, encoding: str = "utf-8") -> pl.DataFrame:
    """Read every column of a CSV as text; blank cells become null and nothing else does."""
    enc = _check_encoding(encoding)
    if path.stat().st_size == 0:
        raise InputError("cannot be read as CSV: the file is empty", file=path)
    source: Path | io.BytesIO = path
    if enc not in ("utf-8", "utf-8-sig"):
        data = path.read_bytes()
        try:
            source = io.BytesIO(data.decode(enc).encode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _decode_error(path, data, exc, enc) from exc
    try:
        frame = pl.read_csv(source, infer_schema=False, has_header=True)
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            data = path.read_bytes()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as dec:
                raise _decode_error(path, data, dec, "utf-8") from exc
        raise _csv_error(path) from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _csv_error(path) from exc
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    return frame


def _csv_error(path: Path) -> InputError:
    """Let pandas' C parser explain a malformed file (it names the line)."""
    try:
        pd.read_csv(path, dtype="str", encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        return InputError(f"cannot be read as CSV: {exc}", file=path)
    return InputError("cannot be read as CSV (malformed rows or repeated column names)", file=path)


def _missing_columns(path: Path, columns: list[str], required, expected) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            [
                Problem(
                    file=str(path),
                    line=1,
                    field=c,
                    message="column missing from the header (expected the data.police.uk "
                    "street-level columns: " + ", ".join(expected) + ")",
                )
                for c in missing
            ]
        )


def _raw_street(path: Path, encoding: str, file_no: int) -> pl.DataFrame:
    """One street file as text with its file number and 1-based line numbers."""
    raw = _read_text_csv(path, encoding)
    if "Outcome type" in raw.columns and "Crime type" not in raw.columns:
        raise InputError(
            Problem(
                file=str(path),
                line=1,
                field="Crime type",
                message="this is a data.police.uk outcomes file, not a street-level file: "
                "give the month's folder (outcomes are joined to the street records) or name "
                "it *-outcomes.csv",
            )
        )
    _missing_columns(path, raw.columns, POLICE_UK_REQUIRED, POLICE_UK_COLUMNS)
    n = raw.height
    exprs = [
        (pl.col(c) if c in raw.columns else pl.lit(None, dtype=pl.String)).alias(c)
        for c in POLICE_UK_COLUMNS
    ]
    return raw.select(
        pl.lit(file_no, dtype=pl.Int32).alias("__file"),
        pl.int_range(2, n + 2, dtype=pl.Int64).alias("__line"),
        *exprs,
    )


# ---------------------------------------------------------------------------------------------
# Validation (vectorised, one pass over all files)


def _blank_to_null(c: str) -> pl.Expr:
    s = pl.col(c).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s).alias(c)


#: Text columns held as Polars Categorical by the careful path (few distinct values).
_DICT_COLUMNS = (
    "Month",
    "Reported by",
    "Falls within",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)


def _check_rows(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Row checks in Polars: (kept rows, bad rows with ``__reason`` and ``__column``).

    ``raw`` has ``__file``, ``__line`` and the street columns as text. A row is skipped for its
    first problem, in column order. Kept rows gain ``__lon``/``__lat`` (float64).
    """
    f = raw.with_columns([_blank_to_null(c) for c in _CHECKED])
    lon = pl.col("Longitude").cast(pl.Float64, strict=False)
    lat = pl.col("Latitude").cast(pl.Float64, strict=False)
    f = f.with_columns(lon.alias("__lon"), lat.alias("__lat"))
    lon, lat = pl.col("__lon"), pl.col("__lat")
    month, ctype = pl.col("Month"), pl.col("Crime type")
    valid_types = pl.Series(sorted(_VALID_TYPES), dtype=pl.String)
    checks: list[tuple[pl.Expr, str, str]] = [
        (month.is_null(), "Month", "month is blank"),
        (~month.str.contains(_MONTH_RE), "Month", "month is not YYYY-MM"),
        (
            pl.col("Longitude").is_not_null() & (lon.is_null() | lon.is_nan()),
            "Longitude",
            "longitude is not a number",
        ),
        (
            pl.col("Latitude").is_not_null() & (lat.is_null() | lat.is_nan()),
            "Latitude",
            "latitude is not a number",
        ),
        (lon.abs() > 180, "Longitude", "longitude outside -180..180"),
        (lat.abs() > 90, "Latitude", "latitude outside -90..90"),
        (ctype.is_null(), "Crime type", "crime type is blank"),
        (~ctype.is_in(valid_types.implode()), "Crime type", "unknown crime type"),
    ]
    reason = pl.when(checks[0][0].fill_null(False)).then(pl.lit(checks[0][2]))
    column = pl.when(checks[0][0].fill_null(False)).then(pl.lit(checks[0][1]))
    for cond, col, why in checks[1:]:
        reason = reason.when(cond.fill_null(False)).then(pl.lit(why))
        column = column.when(cond.fill_null(False)).then(pl.lit(col))
    f = f.with_columns(
        reason.otherwise(None).alias("__reason"), column.otherwise(None).alias("__column")
    )
    bad = f.filter(pl.col("__reason").is_not_null())
    kept = f.filter(pl.col("__reason").is_null()).drop("__reason", "__column")
    location = pl.col("Location").str.strip_chars()
    kept = kept.with_columns(
        _blank_to_null("LSOA name"),
        _blank_to_null("Reported by"),
        _blank_to_null("Last outcome category"),
        pl.when((location == "") | (location.str.to_lowercase() == "no location"))
        .then(None)
        .otherwise(location)
        .alias("Location"),
    )
    return kept.with_columns([pl.col(c).cast(pl.Categorical) for c in _DICT_COLUMNS]), bad


def _dedupe(kept: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None, int]:
    """Drop exact repeats of an earlier kept row; number the rows sharing a Crime ID.

    Only rows with a published Crime ID take part (identical anti-social behaviour rows with
    no id are separate incidents). Returns (kept with ``__occurrence``, dropped rows with
    ``__reason``/``__column``, rows sharing a Crime ID).
    """
    kept = kept.with_row_index("__row")
    ids = kept["Crime ID"]
    present = ids.drop_nulls()
    if present.n_unique() == present.len():  # the common case: every Crime ID once
        return kept.with_columns(pl.lit(None, dtype=pl.UInt32).alias("__occurrence")), None, 0
    dups = kept.filter(pl.col("Crime ID").is_not_null() & pl.col("Crime ID").is_duplicated())
    dups = dups.with_columns(
        pl.struct(list(POLICE_UK_COLUMNS)).is_first_distinct().alias("__first")
    )
    identical = dups.filter(~pl.col("__first"))["__row"]
    rest = dups.filter(pl.col("__first")).with_columns(
        (pl.int_range(pl.len()).over("Crime ID") + 1).alias("__occurrence")
    )
    n_repeated = int(rest.filter(pl.col("Crime ID").is_duplicated()).height)
    dropped = kept.filter(pl.col("__row").is_in(identical.implode())).with_columns(
        pl.lit(_IDENTICAL).alias("__reason"), pl.lit("Crime ID").alias("__column")
    )
    kept = kept.filter(~pl.col("__row").is_in(identical.implode()))
    kept = kept.join(rest.select("__row", "__occurrence"), on="__row", how="left")
    return kept, dropped.drop("__row"), n_repeated


def _row_keys(kept: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """``crime_id``: the Crime ID (#n for the n-th row sharing it) or a generated id."""
    blank = kept["Crime ID"].is_null()
    if blank.any():  # ids only for the blank rows, scattered into a column of nulls
        where = blank.arg_true()
        tags = pl.Series("__tag", ["g_" + _file_tag(Path(n).name) for n in names])
        hexes = pl.Series("__hex", _hex8(kept["__line"].gather(where).to_numpy())).cast(pl.String)
        ids = tags.gather(kept["__file"].gather(where)) + hexes
        generated = pl.Series("__generated", [None] * 0, dtype=pl.String).extend_constant(
            None, kept.height
        )
        kept = kept.with_columns(generated.scatter(where, ids))
    else:
        kept = kept.with_columns(pl.lit(None, dtype=pl.String).alias("__generated"))
    occ = pl.col("__occurrence")
    key = (
        pl.when(pl.col("Crime ID").is_null())
        .then(pl.col("__generated"))
        .when(occ.is_not_null() & (occ > 1))
        .then(pl.col("Crime ID") + pl.lit("#") + occ.cast(pl.String))
        .otherwise(pl.col("Crime ID"))
    )
    return kept.with_columns(key.alias("crime_id"))


def _skipped_frame(bad: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """file, row, column, value, reason of the skipped rows (value = the offending cell)."""
    if bad.height == 0:
        return pl.DataFrame(
            schema={
                "file": pl.String,
                "row": pl.Int64,
                "column": pl.String,
                "value": pl.String,
                "reason": pl.String,
            }
        )
    cols = sorted(set(bad["__column"].to_list()))
    value = pl.when(pl.col("__column") == cols[0]).then(pl.col(cols[0]))
    for c in cols[1:]:
        value = value.when(pl.col("__column") == c).then(pl.col(c))
    file_names = pl.Series(names, dtype=pl.String)
    return bad.select(
        file_names.gather(bad["__file"]).alias("file"),
        pl.col("__line").alias("row"),
        pl.col("__column").alias("column"),
        value.otherwise(None).alias("value"),
        pl.col("__reason").alias("reason"),
    )


# ---------------------------------------------------------------------------------------------
# The fast path: a well-formed UTF-8 street file checked in Arrow, kept in Arrow
#
# Measured (docs/records.md "Performance at force scale"): dictionary-encoding while parsing and
# converting every file to Polars cost more than the parse itself. So a file is read with plain
# string columns (as a bare pyarrow read is), each check runs once per distinct value or on the
# raw buffers, and a clean file stays in Arrow to the store's Parquet or the pandas table. Only
# the rows that fail a check (re-checked by :func:`_check_rows`, the careful path, for their
# reasons) and the rows sharing a Crime ID (numbered by the rules of :func:`_dedupe`) go through
# Polars. ``police_uk_frame(..., fast=False)`` runs the careful path on every file; the tests
# check both give identical tables and skipped rows.

_PLAIN = {c: pa.string() for c in POLICE_UK_COLUMNS}
#: Text columns trimmed, blank -> null, on kept rows (as :func:`_check_rows` does; "Falls
#: within" and "Context" are left as read there too).
_TRIMMED = (
    "Crime ID",
    "Month",
    "LSOA code",
    "Crime type",
    "LSOA name",
    "Reported by",
    "Last outcome category",
    "Location",
)
_NO_LOCATION = "no location"
_VALID_TYPES_PA = pa.array(sorted(_VALID_TYPES), pa.string())
#: Two lower-case hex digits of each byte value (the line part of generated ids).
_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), np.uint8).reshape(
    256, 2
)


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a string array as numpy views (offsets sliced to the array)."""
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
    return offsets, data


def _may_need_trim(col: pa.ChunkedArray) -> bool:
    """Whether some value might start or end with whitespace, or is empty but not null
    (a quoted ``""``), checked on the first and last bytes and the lengths.

    An empty value's "first byte" is its neighbour's: a false alarm at worst (the column is
    then trimmed exactly), never a miss.
    """
    for arr in col.chunks:
        if len(arr) == 0 or arr.null_count == len(arr):
            continue
        offsets, data = _string_buffers(arr)
        empty = np.diff(offsets) == 0
        if arr.null_count:
            empty &= np.asarray(arr.is_valid(), dtype=bool)
        if empty.any():  # a quoted "" is text, not null: blank -> null by the trim
            return True
        if len(data) == 0:
            continue
        at = offsets.astype(np.intp)
        for idx in (at[:-1], at[1:] - 1):
            edge = data.take(idx, mode="clip") - np.uint8(0x21) >= np.uint8(0x5F)
            if edge.any():  # byte < 0x21 (controls, space) or >= 0x80 (non-ASCII)
                return True
    return False


def _null_where(col: pa.ChunkedArray, mask: np.ndarray) -> pa.ChunkedArray:
    """``col`` with the rows of ``mask`` set to null (a new validity bitmap; data shared)."""
    out, start = [], 0
    for arr in col.chunks:
        m = mask[start : start + len(arr)]
        start += len(arr)
        if not m.any():
            out.append(arr)
            continue
        if arr.offset != 0:
            out.append(pc.if_else(pa.array(m), pa.scalar(None, arr.type), arr))
            continue
        valid = np.asarray(arr.is_valid(), dtype=bool) & ~m
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        bufs = arr.buffers()
        out.append(pa.Array.from_buffers(arr.type, len(arr), [bitmap, bufs[1], bufs[2]]))
    return pa.chunked_array(out, type=col.type)


def _trim_blank(col: pa.ChunkedArray, no_location: bool = False) -> pa.ChunkedArray:
    """Values trimmed of whitespace, blanks (and, for Location, "No Location") -> null."""
    if _may_need_trim(col):
        col = pc.utf8_trim_whitespace(col)
        col = _null_where(col, np.asarray(pc.fill_null(pc.equal(col, ""), False)))
    if no_location and col.null_count < len(col):
        # a value lower-casing to "no location" is 11 ASCII bytes (checked on those alone)
        lengths = np.concatenate(
            [np.diff(_string_buffers(a)[0]) for a in col.chunks if len(a)] or [np.zeros(0)]
        )
        idx = np.flatnonzero(lengths == len(_NO_LOCATION))
        if len(idx):
            lower = pc.ascii_lower(col.take(pa.array(idx)))
            hit = np.asarray(pc.fill_null(pc.equal(lower, _NO_LOCATION), False))
            if hit.any():
                mask = np.zeros(len(col), dtype=bool)
                mask[idx[hit]] = True
                col = _null_where(col, mask)
    return col


def _check_by_value(
    col: pa.ChunkedArray, value_is_bad
) -> tuple[pa.ChunkedArray, np.ndarray | None]:
    """Trim a column and find the rows failing a check, once per distinct value.

    Returns (the column trimmed, blanks null; the failing rows, or None when none fails).
    ``value_is_bad(values)`` gets the distinct non-null values and returns a boolean array;
    a null (blank) value always fails.
    """
    present = pc.unique(col).drop_null()
    if len(present) and not pc.all(pc.equal(present, pc.utf8_trim_whitespace(present))).as_py():
        col = pc.utf8_trim_whitespace(col)
        col = _null_where(col, np.asarray(pc.fill_null(pc.equal(col, ""), False)))
        present = pc.unique(col).drop_null()
    bad_values = present.filter(pa.array(np.asarray(value_is_bad(present), dtype=bool)))
    if len(bad_values) == 0 and col.null_count == 0:
        return col, None
    bad = np.asarray(pc.is_in(col, value_set=bad_values), dtype=bool)
    if col.null_count:
        bad |= ~np.asarray(col.is_valid(), dtype=bool)
    return col, bad


def _month_is_bad(values: pa.Array) -> np.ndarray:
    return ~np.asarray(pc.match_substring_regex(values, _MONTH_RE), dtype=bool)


def _type_is_bad(values: pa.Array) -> np.ndarray:
    return ~np.asarray(pc.is_in(values, value_set=_VALID_TYPES_PA), dtype=bool)


@dataclass
class _FastPart:
    """One street file's rows in Arrow: the 12 columns (checked columns trimmed, blanks null),
    ``__lon``/``__lat``, line numbers and which rows passed the checks (None: all)."""

    table: pa.Table
    lines: np.ndarray
    file_no: int
    keep: np.ndarray | None


#: Parse blocks of 4 MB (pyarrow's default is 1 MB): fewer chunks per column for the checks
#: that walk the chunks, still several blocks per monthly file for the reader's threads.
_BLOCK_SIZE = 4 << 20


def _check_file_fast(
    path: Path, encoding: str, file_no: int
) -> tuple[_FastPart, pa.Table | None] | None:
    """The row checks on a well-formed UTF-8 street file, in Arrow (see the section comment).

    Returns (the file's rows, its failing rows as read: ``__file``, ``__line`` and the 12
    columns as text, for :func:`_check_rows` to give their reasons) or None when the file
    needs the careful path (another encoding, a header that is not the street layout, text
    in a coordinate column, a malformed CSV).
    """
    if _check_encoding(encoding) not in ("utf-8", "utf-8-sig"):
        return None
    try:
        with path.open("rb") as fh:
            header = fh.readline().decode("utf-8-sig").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if header.split(",") != list(POLICE_UK_COLUMNS):
        return None
    try:
        t = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=_BLOCK_SIZE),
            # as the careful path's reader: an empty cell is null, a quoted "" is empty text
            convert_options=pcsv.ConvertOptions(
                column_types=_PLAIN,
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=False,
            ),
        )
        lon = pc.cast(t["Longitude"], pa.float64())
        lat = pc.cast(t["Latitude"], pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None
    n = t.num_rows
    cols = {c: t[c] for c in POLICE_UK_COLUMNS}
    for c in _TRIMMED:
        if c not in ("Month", "Crime type"):  # these two are trimmed by value below
            cols[c] = _trim_blank(cols[c], no_location=c == "Location")
    bad = np.zeros(n, dtype=bool)
    for c, test in (("Month", _month_is_bad), ("Crime type", _type_is_bad)):
        cols[c], b = _check_by_value(cols[c], test)
        if b is not None:
            bad |= b
    lon_v = lon.to_numpy()
    lat_v = lat.to_numpy()
    with np.errstate(invalid="ignore"):
        for v, arr in ((lon_v, lon), (lat_v, lat)):
            nan = np.isnan(v)
            if int(nan.sum()) > arr.null_count:  # "NaN" text, not a blank
                bad |= nan & np.asarray(arr.is_valid())
        bad |= np.abs(lon_v) > 180
        bad |= np.abs(lat_v) > 90
    lines = np.arange(2, n + 2, dtype=np.int64)
    bad_rows = None
    keep = None
    if bad.any():  # the text as read, for the careful checks to give the reasons
        k = int(bad.sum())
        bad_rows = t.filter(pa.array(bad))
        bad_rows = bad_rows.add_column(0, "__line", pa.array(lines[bad]))
        bad_rows = bad_rows.add_column(0, "__file", pa.array(np.full(k, file_no, np.int32)))
        keep = ~bad
    table = pa.table({**cols, "__lon": lon, "__lat": lat})
    return _FastPart(table, lines, file_no, keep), bad_rows


def _careful_part(kept: pl.DataFrame, file_no: int) -> _FastPart:
    """A file read by the careful path (its kept rows) in the fast path's layout."""
    table = kept.select(*POLICE_UK_COLUMNS, "__lon", "__lat").to_arrow()
    table = pa.table(
        {
            **{c: table[c].cast(pa.string()) for c in POLICE_UK_COLUMNS},
            "__lon": table["__lon"].cast(pa.float64()),
            "__lat": table["__lat"].cast(pa.float64()),
        }
    )
    return _FastPart(table, kept["__line"].to_numpy().astype(np.int64), file_no, None)


def _repeated_ids(
    table: pa.Table, key: pl.Series, keep: np.ndarray, files: np.ndarray, lines: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pl.DataFrame | None, int]:
    """Rows sharing a published Crime ID, by the rules of :func:`_dedupe`.

    Candidates are found from 64-bit hashes of the ids (equal ids have equal hashes), then
    only those rows are compared exactly in Polars. Returns (rows dropped as identical
    repeats, rows numbered #2 and later, their occurrence numbers, the dropped rows with
    ``__reason``/``__column``, rows sharing a Crime ID).
    """
    none = np.zeros(0, dtype=np.int64)
    ids = table["Crime ID"]
    valid = np.asarray(ids.is_valid(), dtype=bool) & keep
    if valid.sum() < 2:
        return none, none, none, None, 0
    hashes = key.hash().to_numpy()
    present = np.sort(hashes[valid])
    repeated = present[1:][present[1:] == present[:-1]]
    if len(repeated) == 0:  # the common case: every Crime ID once
        return none, none, none, None, 0
    rows = np.flatnonzero(valid & np.isin(hashes, repeated))
    sub = pl.from_arrow(table.select(list(POLICE_UK_COLUMNS)).take(pa.array(rows)))
    sub = sub.with_columns(
        pl.Series("__row", rows),
        pl.Series("__file", files[rows]).cast(pl.Int32),
        pl.Series("__line", lines[rows]),
    )
    dups = sub.filter(pl.col("Crime ID").is_duplicated())
    if dups.height == 0:  # hash collisions only
        return none, none, none, None, 0
    dups = dups.with_columns(
        pl.struct(list(POLICE_UK_COLUMNS)).is_first_distinct().alias("__first")
    )
    dropped = dups.filter(~pl.col("__first")).with_columns(
        pl.lit(_IDENTICAL).alias("__reason"), pl.lit("Crime ID").alias("__column")
    )
    rest = dups.filter(pl.col("__first")).with_columns(
        (pl.int_range(pl.len()).over("Crime ID") + 1).alias("__occurrence")
    )
    n_repeated = int(rest.filter(pl.col("Crime ID").is_duplicated()).height)
    later = rest.filter(pl.col("__occurrence") > 1)
    return (
        dropped["__row"].to_numpy(),
        later["__row"].to_numpy(),
        later["__occurrence"].to_numpy(),
        dropped.drop("__row", "__first"),
        n_repeated,
    )


def _generated_ids(
    null_rows: np.ndarray, files: np.ndarray, lines: np.ndarray, names: list[str]
) -> np.ndarray:
    """The generated ids (``g_`` + file tag + line in 8 hex digits: 18 bytes each) of the
    rows ``null_rows``, as a (rows, 18) byte array."""
    k = len(null_rows)
    tags = np.frombuffer(
        b"".join(_file_tag(Path(nm).name).encode() for nm in names) or b"", np.uint8
    ).reshape(-1, 8)
    out = np.empty((k, 18), dtype=np.uint8)
    out[:, 0], out[:, 1] = ord("g"), ord("_")
    out[:, 2:10] = tags[files[null_rows]]
    be = lines[null_rows].astype(">u4").view(np.uint8).reshape(k, 4)
    out[:, 10:18] = _HEX_PAIRS[be].reshape(k, 8)
    return out


def _take_rows(table: pa.Table, keep: np.ndarray) -> pa.Table:
    """The rows of ``keep``: zero-copy slices between the dropped rows when they are few (a
    filter copies every column: measured 100 times slower for a few bad rows in a million)."""
    if keep.all():
        return table
    dropped = np.flatnonzero(~keep)
    if len(dropped) > 2_000:
        return table.filter(pa.array(keep))
    starts = np.concatenate([[0], dropped + 1])
    ends = np.concatenate([dropped, [len(keep)]])
    pieces = [table.slice(a, b - a) for a, b in zip(starts, ends, strict=True) if b > a]
    return pa.concat_tables(pieces) if pieces else table.slice(0, 0)


def _checked_files(street: Iterable, encoding: str) -> Iterator[tuple[int, Path, tuple | None]]:
    """(file number, path, :func:`_check_file_fast` result) in file order.

    With more than one core the next file is parsed and checked while this one's result is
    used (pyarrow's reader and compute kernels and numpy release the GIL): the bare pyarrow
    read uses every core for its parse, the checks would otherwise run on one. At most one
    file per worker is in flight, so memory stays bounded by a few files.
    """
    workers = max(1, min(2, pa.cpu_count()))
    if workers == 1:
        for i, p in street:
            yield i, p, _check_file_fast(p, encoding, i)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for i, p in street:
            pending.append((i, p, pool.submit(_check_file_fast, p, encoding, i)))
            if len(pending) >= workers:
                j, q, future = pending.popleft()
                yield j, q, future.result()
        while pending:
            j, q, future = pending.popleft()
            yield j, q, future.result()


def _frame_fast(
    street: Iterable, encoding: str, names: list[str]
) -> tuple[pa.Table, list[pl.DataFrame], int, int] | None:
    """Validated rows of the street files (fast path where it applies, careful otherwise).

    Returns (kept rows: ``crime_id``, the 12 columns, ``__lon``/``__lat``; the bad-row frames
    with ``__reason``/``__column``; rows read; rows sharing a Crime ID), or None if the
    careful checks did not confirm every row the fast checks failed (never seen; the caller
    then reads every file by the careful path).
    """
    parts: list[_FastPart] = []
    bad_parts: list[pl.DataFrame] = []
    bad_text: list[pa.Table] = []
    n_read = 0
    for i, p, fast in _checked_files(street, encoding):
        if fast is None:
            raw = _raw_street(p, encoding, i)
            k, b = _check_rows(raw)
            n_read += raw.height
            parts.append(_careful_part(k, i))
            if b.height:
                bad_parts.append(b)
        else:
            part, rows = fast
            n_read += part.table.num_rows
            parts.append(part)
            if rows is not None:
                bad_text.append(rows)
    if bad_text:  # the reasons for the rows the fast checks failed, all files at once
        rows = pl.from_arrow(pa.concat_tables(bad_text))
        kept_back, b = _check_rows(rows.with_columns(pl.col(POLICE_UK_COLUMNS).cast(pl.String)))
        if kept_back.height or b.height != rows.height:
            return None
        bad_parts.append(b)
    table = pa.concat_tables([p.table for p in parts])
    n = table.num_rows
    lines = np.concatenate([p.lines for p in parts])
    files = np.repeat(
        np.array([p.file_no for p in parts], dtype=np.int64),
        [p.table.num_rows for p in parts],
    )
    keep = np.concatenate(
        [p.keep if p.keep is not None else np.ones(p.table.num_rows, bool) for p in parts]
    )
    ids = table["Crime ID"]
    key = pl.from_arrow(ids) if n else pl.Series("Crime ID", [], dtype=pl.String)
    dropped_rows, later_rows, occurrence, dropped, n_repeated = _repeated_ids(
        table, key, keep, files, lines
    )
    if dropped is not None and dropped.height:
        bad_parts.append(dropped)
        keep[dropped_rows] = False
    # the row key: generated ids for blank ones, #n for the n-th row sharing an id (Polars
    # scatter: measured 5x faster than filling the Arrow strings)
    if len(later_rows):
        suffixed = key.gather(later_rows) + "#" + pl.Series(occurrence).cast(pl.String)
        key = key.scatter(later_rows, suffixed)
    if ids.null_count:
        null_rows = np.flatnonzero(~np.asarray(ids.is_valid(), dtype=bool))
        generated = _generated_ids(null_rows, files, lines, names)
        generated = pa.array(generated.view("S18").ravel(), pa.binary(18)).cast(pa.string())
        key = key.scatter(null_rows, pl.from_arrow(generated))
    crime_id = key.to_arrow().cast(pa.string()) if n else pa.array([], pa.string())
    table = table.add_column(0, "crime_id", pa.chunked_array([crime_id]))
    return _take_rows(table, keep), bad_parts, n_read, n_repeated


# ---------------------------------------------------------------------------------------------
# Outcomes files: each crime's latest outcome


def _latest_outcomes(
    paths: tuple[Path, ...], encoding: str, *, keep_rows: bool = False
) -> tuple[pl.DataFrame | None, list[str]]:
    """crime id -> latest outcome (latest Month; within a month the last row of the last file).

    data.police.uk gives outcomes by month only, so two outcomes of one crime in one month are
    ordered as published (file order, then row order). Rows with a blank Crime ID or a Month
    that is not ``YYYY-MM`` cannot be attached and are counted in a note.
    """
    if not paths:
        return None, []
    parts = []
    for i, p in enumerate(paths):
        raw = _read_text_csv(p, encoding)
        _missing_columns(
            p, raw.columns, ("Crime ID", "Month", "Outcome type"), POLICE_UK_OUTCOME_COLUMNS
        )
        parts.append(
            raw.select(
                _blank_to_null("Crime ID"),
                _blank_to_null("Month"),
                pl.col("Outcome type").str.strip_chars().alias("outcome"),
                pl.lit(i, dtype=pl.Int32).alias("__file"),
                pl.int_range(2, raw.height + 2, dtype=pl.Int64).alias("__line"),
            )
        )
    out = pl.concat(parts)
    usable = (
        pl.col("Crime ID").is_not_null()
        & pl.col("Month").str.contains(_MONTH_RE).fill_null(False)
        & pl.col("outcome").is_not_null()
        & (pl.col("outcome") != "")
    )
    n_bad = out.height - out.filter(usable).height
    if keep_rows:  # every usable row (the store keeps them and takes the latest at scan time)
        rows = out.filter(usable).select("Crime ID", "Month", "outcome", "__line")
        return rows, []
    latest = (
        out.filter(usable)
        .sort(["Month", "__file", "__line"])
        .group_by("Crime ID", maintain_order=True)
        .agg(pl.col("outcome").last(), pl.col("Month").last().alias("outcome_month"))
    )
    notes = [f"outcomes: {out.height:,} rows in {len(paths)} outcomes files"]
    if n_bad:
        notes.append(
            f"outcomes: {n_bad:,} rows had a blank Crime ID, Month or Outcome type and "
            "could not be attached to a crime"
        )
    return latest, notes


# ---------------------------------------------------------------------------------------------
# Public API


#: The canonical records as Arrow (what :class:`PoliceUkFrame` holds; month as ``YYYY-MM``).
RECORDS_ARROW_SCHEMA = pa.schema(
    [
        (
            c,
            {"date": pa.timestamp("ns"), "longitude": pa.float64(), "latitude": pa.float64()}.get(
                c, pa.string()
            ),
        )
        for c in record_column_names()
    ]
)


@dataclass(frozen=True)
class PoliceUkFrame:
    """Validated police.uk rows (what the Parquet store is written from).

    ``table`` is the canonical records as an Arrow table (:data:`RECORDS_ARROW_SCHEMA`,
    ``month`` as ``YYYY-MM`` text; ``records`` is the same as a Polars frame); ``skipped`` has
    the columns of :data:`~triplet.records.result.SKIPPED_COLUMNS`.
    """

    table: pa.Table
    skipped: pl.DataFrame
    n_read: int
    files: tuple[str, ...]
    notes: tuple[str, ...]
    n_repeated_ids: int

    @property
    def records(self) -> pl.DataFrame:
        """The records as a Polars frame (converted on each access)."""
        return pl.from_arrow(self.table)


def _canonical_table(table: pa.Table) -> pa.Table:
    """An Arrow table of the canonical columns cast to :data:`RECORDS_ARROW_SCHEMA`."""
    return pa.table(
        [table[f.name].cast(f.type) for f in RECORDS_ARROW_SCHEMA], schema=RECORDS_ARROW_SCHEMA
    )


def _file_iterator(street: tuple[Path, ...], progress: bool) -> Iterable:
    iterator: Iterable = enumerate(street)
    if progress and len(street) > 1:
        from rich.progress import track

        iterator = track(
            list(enumerate(street)), description="Reading police.uk files", transient=True
        )
    return iterator


def _repeated_note(n_repeated: int) -> list[str]:
    if not n_repeated:
        return []
    return [
        f"kept: {n_repeated:,} rows share a Crime ID with another row (police.uk publishes "
        "some crimes more than once with different locations or outcomes); each is a "
        "record, its crime_id suffixed #2, #3, ..."
    ]


def _joined_note(n_joined: int, n_unmatched: int) -> str:
    return (
        f"outcomes: latest outcome attached to {n_joined:,} records (replacing Last outcome "
        f"category); {n_unmatched:,} crimes with outcomes are not in the street files read"
    )


def _ignored_note(found: PoliceUkFiles) -> list[str]:
    if not found.ignored:
        return []
    return [
        f"left out: {len(found.ignored)} files that are not street-level crime or outcomes "
        "(stop and search)"
    ]


def police_uk_frame(
    paths: str | Path | Iterable[str | Path],
    *,
    strict: bool = False,
    encoding: str = "utf-8",
    progress: bool = False,
    join_outcomes: bool = True,
    fast: bool = True,
) -> PoliceUkFrame:
    """Read and validate police.uk files into the canonical columns as an Arrow table.

    See :func:`read_police_uk` for the rules; ``join_outcomes=False`` leaves outcomes files
    aside (the store keeps them and attaches them at scan time). ``fast=False`` reads every
    file by the careful path (Polars over every row): the results are the same (tested), it
    is the reference the fast path is checked against.
    """
    found = find_police_uk_files(paths)
    if not fast:
        return _police_uk_frame_careful(found, strict, encoding, progress, join_outcomes)
    names = [str(p) for p in found.street]
    fast_read = _frame_fast(_file_iterator(found.street, progress), encoding, names)
    if fast_read is None:
        return _police_uk_frame_careful(found, strict, encoding, progress, join_outcomes)
    kept, bad_parts, n_read, n_repeated = fast_read
    bad = (
        pl.concat(bad_parts, how="diagonal_relaxed").sort(["__file", "__line"])
        if bad_parts
        else None
    )
    skipped = _skipped_frame(bad if bad is not None else pl.DataFrame(), names)
    if strict and skipped.height:
        raise InputError(skipped_problems(skipped.to_pandas()))
    notes = _repeated_note(n_repeated)
    outcome = kept["Last outcome category"]
    latest, onotes = _latest_outcomes(found.outcomes if join_outcomes else (), encoding)
    notes.extend(onotes)
    if latest is not None:
        latest_ids = latest["Crime ID"].to_arrow().cast(pa.string())
        latest_outcome = latest["outcome"].to_arrow().cast(pa.string())
        joined = pc.take(latest_outcome, pc.index_in(kept["Crime ID"], value_set=latest_ids))
        n_joined = len(joined) - joined.null_count
        n_unmatched = len(latest_ids) - int(
            pc.sum(pc.is_in(latest_ids, value_set=kept["Crime ID"])).as_py() or 0
        )
        notes.append(_joined_note(n_joined, n_unmatched))
        outcome = pc.coalesce(joined, outcome)
    notes.extend(_ignored_note(found))
    n = kept.num_rows
    text_null = pa.nulls(n, pa.string())
    columns = {
        "crime_id": kept["crime_id"],
        "month": kept["Month"],
        "date": pa.nulls(n, pa.timestamp("ns")),
        "offence_code": text_null,
        "crime_type": kept["Crime type"],
        "lsoa_code": kept["LSOA code"],
        "lsoa_name": kept["LSOA name"],
        "longitude": kept["__lon"],
        "latitude": kept["__lat"],
        "location": kept["Location"],
        "suspect_id": text_null,
        "victim_id": text_null,
        "outcome": outcome,
        "force": kept["Reported by"],
    }
    table = pa.table(columns, schema=RECORDS_ARROW_SCHEMA)
    return PoliceUkFrame(table, skipped, n_read, tuple(names), tuple(notes), n_repeated)


def _police_uk_frame_careful(
    found: PoliceUkFiles, strict: bool, encoding: str, progress: bool, join_outcomes: bool
) -> PoliceUkFrame:
    """The careful path: every file read as text and checked in Polars over every row."""
    names = [str(p) for p in found.street]
    kept_parts: list[pl.DataFrame] = []
    bad_parts: list[pl.DataFrame] = []
    n_read = 0
    for i, p in _file_iterator(found.street, progress):
        raw = _raw_street(p, encoding, i)
        k, b = _check_rows(raw)
        n_read += raw.height
        kept_parts.append(k)
        if b.height:
            bad_parts.append(b)
    kept = pl.concat(kept_parts, how="vertical_relaxed")
    del kept_parts
    kept, dropped, n_repeated = _dedupe(kept)
    if dropped is not None and dropped.height:
        bad_parts.append(dropped)
    bad = pl.concat(bad_parts, how="diagonal_relaxed") if bad_parts else None
    if bad is not None:
        bad = bad.sort(["__file", "__line"])
    skipped = _skipped_frame(bad if bad is not None else kept.head(0), names)
    kept = _row_keys(kept, names)
    if strict and skipped.height:
        raise InputError(skipped_problems(skipped.to_pandas()))
    notes = _repeated_note(n_repeated)
    outcome = pl.col("Last outcome category")
    latest, onotes = _latest_outcomes(found.outcomes if join_outcomes else (), encoding)
    notes.extend(onotes)
    if latest is not None:
        kept = kept.join(latest, on="Crime ID", how="left")
        n_joined = int(kept["outcome"].is_not_null().sum())
        n_unmatched = latest.height - int(
            latest["Crime ID"].is_in(kept["Crime ID"].implode()).sum()
        )
        notes.append(_joined_note(n_joined, n_unmatched))
        outcome = pl.coalesce(pl.col("outcome"), outcome.cast(pl.String)).cast(pl.Categorical)
    notes.extend(_ignored_note(found))
    text_null = pl.lit(None, dtype=pl.String)
    columns = {
        "crime_id": pl.col("crime_id"),
        "month": pl.col("Month"),
        "date": pl.lit(None, dtype=pl.Datetime("ns")),
        "offence_code": text_null,
        "crime_type": pl.col("Crime type"),
        "lsoa_code": pl.col("LSOA code"),
        "lsoa_name": pl.col("LSOA name"),
        "longitude": pl.col("__lon"),
        "latitude": pl.col("__lat"),
        "location": pl.col("Location"),
        "suspect_id": text_null,
        "victim_id": text_null,
        "outcome": outcome,
        "force": pl.col("Reported by"),
    }
    records = kept.select([e.alias(c) for c, e in columns.items()])
    assert list(records.columns) == record_column_names()
    table = _canonical_table(records.to_arrow())
    return PoliceUkFrame(table, skipped, n_read, tuple(names), tuple(notes), n_repeated)


def _month_periods(col: pa.ChunkedArray) -> pd.PeriodIndex:
    """``YYYY-MM`` text (dictionary-encoded or not) to a monthly PeriodIndex, parsing each
    distinct value once."""
    col = col.cast(pa.dictionary(pa.int32(), pa.string())).combine_chunks()
    uniques = [pd.Period(v, freq="M") for v in col.dictionary.to_pylist()]
    periods = pd.PeriodIndex(uniques, freq="M")
    codes = pc.fill_null(col.indices, -1).to_numpy(zero_copy_only=False)
    return periods.take(codes, allow_fill=True, fill_value=pd.NaT)


def records_to_pandas(records: pl.DataFrame) -> pd.DataFrame:
    """The canonical pandas table (months as ``Period[M]``) from a Polars records frame."""
    return table_to_pandas(records.select(record_column_names()).to_arrow())


def table_to_pandas(table: pa.Table) -> pd.DataFrame:
    """The canonical pandas table (months as ``Period[M]``) from an Arrow records table."""
    cols = {}
    for name in record_column_names():
        col = table[name]
        if name == "month":
            continue
        target = RECORDS_ARROW_SCHEMA.field(name).type
        cols[name] = col if col.type == target else col.cast(target)
    str_dtype = pd.StringDtype(storage="pyarrow", na_value=np.nan)
    df = pa.table(cols).to_pandas(types_mapper={pa.string(): str_dtype}.get)
    df.insert(1, "month", pd.Series(_month_periods(table["month"]), index=df.index))
    return df[record_column_names()]


def read_police_uk(
    paths: str | Path | Iterable[str | Path],
    *,
    strict: bool = False,
    progress: bool = False,
    encoding: str = "utf-8",
) -> RecordsRead:
    """Read data.police.uk street-level CSV files (or archive folders) into the records table.

    ``paths`` is a file, a folder or a list of them. A folder holding ``*-street.csv`` files is
    read as the data.police.uk archive: street files are the records, the outcomes files give
    each crime's latest outcome, stop-and-search files are left out (see
    :func:`find_police_uk_files`). ``encoding`` is the files' text encoding (``utf-8``, or
    ``cp1252``/``latin-1`` for files re-saved by Excel).

    Returns a :class:`RecordsRead`: the records, the skipped rows (file, 1-based line, column,
    value, reason) and counts (``.report()``). Each published row is a record: rows sharing a
    Crime ID are kept (the row key ``crime_id`` gets ``#2``, ``#3`` ...), only rows identical
    in every column to an earlier row are skipped. A file without a required column (see
    :data:`POLICE_UK_REQUIRED`) raises :class:`~triplet.errors.InputError` naming the file and
    the column. Source: https://data.police.uk/about/ (street-level crime and outcomes data).
    """
    frame = police_uk_frame(paths, strict=strict, encoding=encoding, progress=progress)
    return RecordsRead(
        records=table_to_pandas(frame.table),
        skipped=skipped_to_pandas(frame.skipped),
        n_read=frame.n_read,
        files=frame.files,
        notes=frame.notes,
        n_repeated_ids=frame.n_repeated_ids,
    )


def skipped_to_pandas(skipped: pl.DataFrame) -> pd.DataFrame:
    """The pandas skipped-rows table from a Polars one."""
    if skipped.height == 0:
        return empty_skipped()
    sk = skipped.to_pandas()
    return pd.DataFrame(
        {
            "file": sk["file"].astype("str"),
            "row": sk["row"].astype("int64"),
            "column": sk["column"].astype("str"),
            "value": sk["value"].astype("str"),
            "reason": sk["reason"].astype("str"),
        }
    )


def read_police_uk_file(
    path: str | Path, *, strict: bool = False, encoding: str = "utf-8"
) -> RecordsRead:
    """Read one data.police.uk street-level CSV; see :func:`read_police_uk`."""
    return read_police_uk([Path(path)], strict=strict, encoding=encoding)
