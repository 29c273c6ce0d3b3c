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

Validation is vectorised and columnar (Polars expressions over the whole file; see
docs/records.md "Engine" for the measurements behind the choice).
"""

from __future__ import annotations

import codecs
import hashlib
import io
from collections.abc import Iterable
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
    "PoliceUkFiles",
    "PoliceUkFrame",
    "find_police_uk_files",
    "months_from_text",
    "police_uk_frame",
    "read_police_uk",
    "read_police_uk_file",
    "records_to_pandas",
    "skipped_to_pandas",
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


_DICT = pa.dictionary(pa.int32(), pa.string())
#: Text columns read dictionary-encoded (few distinct values): checks run on the dictionary.
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


def _check_rows_fast(
    path: Path, encoding: str, file_no: int
) -> tuple[pl.DataFrame, pl.DataFrame, int] | None:
    """The row checks on a well-formed UTF-8 file, vectorised in Arrow compute.

    The file is read with pyarrow's CSV reader, the low-cardinality columns dictionary-encoded so
    that trimming, the month pattern and the crime-type list are checked once per distinct
    value. Rows that fail are re-checked by :func:`_check_rows` (same reasons, few rows).
    Returns None when the file needs the general path (another encoding, a header that is
    not the street layout, text in a coordinate column, malformed CSV).
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
    types = {c: _DICT for c in _DICT_COLUMNS}
    types.update({"Crime ID": pa.string(), "Longitude": pa.string(), "Latitude": pa.string()})
    try:
        t = pcsv.read_csv(
            path,
            convert_options=pcsv.ConvertOptions(
                column_types=types, strings_can_be_null=True, null_values=[""]
            ),
        )
        lon = pc.cast(t["Longitude"], pa.float64())
        lat = pc.cast(t["Latitude"], pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None
    n = t.num_rows

    def per_row(col: str, bad_values) -> np.ndarray:
        """A per-dictionary-value test taken to the rows (null rows: the test of null)."""
        arr = t[col].combine_chunks() if t[col].num_chunks != 1 else t[col].chunk(0)
        d = arr.dictionary
        trimmed = pc.utf8_trim_whitespace(d)
        flags = np.asarray(bad_values(trimmed, d), dtype=bool)
        idx = pc.fill_null(arr.indices, 0).to_numpy(zero_copy_only=False)
        valid = np.asarray(arr.is_valid())
        out = np.empty(n, dtype=bool)
        out[valid] = flags[idx[valid]] if len(flags) else False
        out[~valid] = bad_values(pa.array([None], pa.string()), None)[0]
        return out

    def month_bad(trimmed, _d):
        if trimmed.null_count == len(trimmed):
            return [True] * len(trimmed)
        ok = pc.fill_null(pc.match_substring_regex(trimmed, _MONTH_RE), False)
        return np.asarray(pc.invert(ok))

    valid_types = pa.array(sorted(_VALID_TYPES))

    def type_bad(trimmed, _d):
        if trimmed.null_count == len(trimmed):
            return [True] * len(trimmed)
        return np.asarray(pc.invert(pc.fill_null(pc.is_in(trimmed, valid_types), False)))

    lon_v = lon.to_numpy(zero_copy_only=False)
    lat_v = lat.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        bad = per_row("Month", month_bad) | per_row("Crime type", type_bad)
        bad |= np.isnan(lon_v) & np.asarray(lon.is_valid())
        bad |= np.isnan(lat_v) & np.asarray(lat.is_valid())
        bad |= np.abs(lon_v) > 180
        bad |= np.abs(lat_v) > 90
    lines = np.arange(2, n + 2, dtype=np.int64)
    file_col = pl.lit(file_no, dtype=pl.Int32).alias("__file")
    if bad.any():
        bad_rows = pl.from_arrow(t.filter(pa.array(bad))).with_columns(pl.all().cast(pl.String))
        bad_rows = bad_rows.select(
            file_col, pl.Series("__line", lines[bad]), *[pl.col(c) for c in POLICE_UK_COLUMNS]
        )
        _, bad_frame = _check_rows(bad_rows)
        t = t.filter(pa.array(~bad))
        lon, lat = lon.filter(pa.array(~bad)), lat.filter(pa.array(~bad))
        lines = lines[~bad]
    else:
        bad_frame = None
    # trim (and blank "No Location") once per distinct value, then blanks -> null
    arrays = {}
    for c in t.column_names:
        col = t[c].combine_chunks() if t[c].num_chunks != 1 else t[c].chunk(0)
        if c in _DICT_COLUMNS:
            d = pc.utf8_trim_whitespace(col.dictionary)
            blank = pc.equal(d, "")
            if c == "Location":
                blank = pc.or_(blank, pc.equal(pc.utf8_lower(d), "no location"))
            indices = col.indices
            if pc.any(blank).as_py():  # rows pointing at a blank value become null
                to_null = pc.fill_null(pc.take(blank, indices), False)
                indices = pc.if_else(to_null, pa.scalar(None, indices.type), indices)
            col = pa.DictionaryArray.from_arrays(indices, d)
        arrays[c] = col
    kept = pl.from_arrow(pa.table(arrays))
    kept = kept.select(
        file_col,
        pl.Series("__line", lines),
        *[pl.col(c) for c in POLICE_UK_COLUMNS],
        pl.Series("__lon", lon.to_numpy(zero_copy_only=False)),
        pl.Series("__lat", lat.to_numpy(zero_copy_only=False)),
    )
    ids = t["Crime ID"]
    padded = any(
        pc.any(fn(ids, pattern=ch)).as_py()
        for fn in (pc.starts_with, pc.ends_with)
        for ch in (" ", "\t")
    )
    if padded:  # rare: trim every id (a blank one becomes null)
        kept = kept.with_columns(_blank_to_null("Crime ID"))
    return kept, bad_frame, n


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


@dataclass(frozen=True)
class PoliceUkFrame:
    """Validated police.uk rows as Polars frames (what the Parquet store is written from).

    ``records`` has the canonical columns with ``month`` as ``YYYY-MM`` text; ``skipped`` the
    columns of :data:`~triplet.records.result.SKIPPED_COLUMNS`.
    """

    records: pl.DataFrame
    skipped: pl.DataFrame
    n_read: int
    files: tuple[str, ...]
    notes: tuple[str, ...]
    n_repeated_ids: int


def police_uk_frame(
    paths: str | Path | Iterable[str | Path],
    *,
    strict: bool = False,
    encoding: str = "utf-8",
    progress: bool = False,
    join_outcomes: bool = True,
) -> PoliceUkFrame:
    """Read and validate police.uk files into canonical columns as Polars frames.

    See :func:`read_police_uk` for the rules; ``join_outcomes=False`` leaves outcomes files
    aside (the store keeps them and attaches them at scan time).
    """
    found = find_police_uk_files(paths)
    names = [str(p) for p in found.street]
    iterator: Iterable = enumerate(found.street)
    if progress and len(found.street) > 1:
        from rich.progress import track

        iterator = track(
            list(enumerate(found.street)),
            description="Reading police.uk files",
            transient=True,
        )
    kept_parts: list[pl.DataFrame] = []
    bad_parts: list[pl.DataFrame] = []
    n_read = 0
    for i, p in iterator:
        fast = _check_rows_fast(p, encoding, i)
        if fast is None:
            raw = _raw_street(p, encoding, i)
            k, b = _check_rows(raw)
            n_read += raw.height
        else:
            k, b, n = fast
            n_read += n
        kept_parts.append(k)
        if b is not None and b.height:
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
    notes: list[str] = []
    if n_repeated:
        notes.append(
            f"kept: {n_repeated:,} rows share a Crime ID with another row (police.uk publishes "
            "some crimes more than once with different locations or outcomes); each is a "
            "record, its crime_id suffixed #2, #3, ..."
        )
    outcome = pl.col("Last outcome category")
    latest, onotes = _latest_outcomes(found.outcomes if join_outcomes else (), encoding)
    notes.extend(onotes)
    if latest is not None:
        kept = kept.join(latest, on="Crime ID", how="left")
        n_joined = int(kept["outcome"].is_not_null().sum())
        n_unmatched = latest.height - int(
            latest["Crime ID"].is_in(kept["Crime ID"].implode()).sum()
        )
        notes.append(
            f"outcomes: latest outcome attached to {n_joined:,} records (replacing Last outcome "
            f"category); {n_unmatched:,} crimes with outcomes are not in the street files read"
        )
        outcome = pl.coalesce(pl.col("outcome"), outcome.cast(pl.String)).cast(pl.Categorical)
    if found.ignored:
        notes.append(
            f"left out: {len(found.ignored)} files that are not street-level crime or outcomes "
            "(stop and search)"
        )
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
    return PoliceUkFrame(records, skipped, n_read, tuple(names), tuple(notes), n_repeated)


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
    table = records.select(record_column_names()).to_arrow()
    cols = {}
    for name in table.column_names:
        col = table[name]
        if name == "month":
            continue
        if name == "date":
            col = col.cast(pa.timestamp("ns"))
        elif name not in ("longitude", "latitude"):
            col = col.cast(pa.string())
        cols[name] = col
    str_dtype = pd.StringDtype(storage="pyarrow", na_value=np.nan)
    df = pa.table(cols).to_pandas(types_mapper={pa.string(): str_dtype}.get)
    df.insert(1, "month", pd.Series(_month_periods(table["month"]), index=df.index))
    for c in ("longitude", "latitude"):
        df[c] = df[c].astype("float64")
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
        records=records_to_pandas(frame.records),
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
