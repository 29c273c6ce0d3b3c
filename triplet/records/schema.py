"""The canonical crime-records table: one row per recorded crime.

Every reader (:func:`triplet.records.read_police_uk`, :func:`triplet.records.read_extract`), the
example borough and every data source produce this table, and every later stage (targeting,
testing, tracking) reads it. :data:`RECORD_COLUMNS` is the single list of its columns;
:func:`validate_records` checks and coerces any frame to it.

Months are pandas ``Period[M]`` in memory and ``YYYY-MM`` on disk; identifiers are strings;
coordinates are WGS84 floats. Person identifiers (``suspect_id``, ``victim_id``) must already be
pseudonymised (see :func:`triplet.records.pseudonymise`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem

__all__ = [
    "POLICE_UK_CRIME_TYPES",
    "POLICE_UK_HISTORIC_CRIME_TYPES",
    "RECORD_COLUMNS",
    "RecordColumn",
    "empty_records",
    "record_column_names",
    "validate_records",
]


@dataclass(frozen=True)
class RecordColumn:
    """One column of the canonical records table."""

    name: str
    dtype: str
    required: bool
    description: str


RECORD_COLUMNS: tuple[RecordColumn, ...] = (
    RecordColumn(
        "crime_id",
        "str",
        True,
        "Unique row key: the police.uk Crime ID (#2, #3 ... on later rows repeating it), "
        "or generated when blank.",
    ),
    RecordColumn("month", "period[M]", True, "Month the crime was recorded (YYYY-MM on disk)."),
    RecordColumn(
        "date",
        "datetime64[ns]",
        False,
        "Date and time of the offence if known (force extracts); NaT otherwise.",
    ),
    RecordColumn("offence_code", "str", False, "Home Office offence code, e.g. 28E."),
    RecordColumn("crime_type", "str", True, "data.police.uk crime category, e.g. Burglary."),
    RecordColumn("lsoa_code", "str", False, "LSOA 2021 code of the place (the usual place unit)."),
    RecordColumn("lsoa_name", "str", False, "LSOA name."),
    RecordColumn(
        "longitude", "float64", False, "WGS84 longitude (police.uk: an anonymised snap point)."
    ),
    RecordColumn("latitude", "float64", False, "WGS84 latitude."),
    RecordColumn(
        "location", "str", False, "police.uk snap-point description, e.g. 'On or near High Street'."
    ),
    RecordColumn("suspect_id", "str", False, "Pseudonymised suspect id (p_ + 16 hex)."),
    RecordColumn("victim_id", "str", False, "Pseudonymised victim id (p_ + 16 hex)."),
    RecordColumn("outcome", "str", False, "Last outcome category."),
    RecordColumn("force", "str", False, "Reporting police force."),
)

#: data.police.uk street-level crime categories (current list, since May 2013).
POLICE_UK_CRIME_TYPES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

#: Categories used in older data.police.uk files (before May 2013); accepted by the readers.
POLICE_UK_HISTORIC_CRIME_TYPES: tuple[str, ...] = (
    "Violent crime",
    "Public disorder and weapons",
    "Other crime",
)

_STR = [c.name for c in RECORD_COLUMNS if c.dtype == "str"]
_FLOAT = [c.name for c in RECORD_COLUMNS if c.dtype == "float64"]


def record_column_names() -> list[str]:
    """Names of the canonical columns, in order."""
    return [c.name for c in RECORD_COLUMNS]


def empty_records() -> pd.DataFrame:
    """An empty records table with every canonical column and its dtype."""
    data: dict[str, pd.Series] = {}
    for col in RECORD_COLUMNS:
        if col.dtype == "period[M]":
            data[col.name] = pd.Series(pd.PeriodIndex([], freq="M"))
        elif col.dtype == "datetime64[ns]":
            data[col.name] = pd.Series([], dtype="datetime64[ns]")
        elif col.dtype == "float64":
            data[col.name] = pd.Series([], dtype="float64")
        else:
            data[col.name] = pd.Series([], dtype="str")
    return pd.DataFrame(data)


def _as_month(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Coerce to Period[M]; return the result and a mask of values that could not be parsed."""
    if isinstance(values.dtype, pd.PeriodDtype):
        out = values.dt.asfreq("M") if values.dt.freq != "M" else values
        return out, np.zeros(len(values), dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.to_period("M")
        return out, np.zeros(len(values), dtype=bool)
    text = values.astype("str").str.strip()
    parsed = pd.to_datetime(text, format="%Y-%m", errors="coerce")
    if parsed.isna().any():  # also accept full ISO dates (YYYY-MM-DD ...)
        retry = pd.to_datetime(text[parsed.isna()], format="ISO8601", errors="coerce")
        parsed = parsed.fillna(retry)
    bad = (parsed.isna() & values.notna()).to_numpy() | values.isna().to_numpy()
    return parsed.dt.to_period("M"), bad


def validate_records(df: pd.DataFrame, file: str | Path = "<records>") -> pd.DataFrame:
    """Check ``df`` against :data:`RECORD_COLUMNS` and return a copy with canonical dtypes.

    Missing optional columns are added (empty); extra columns are kept after the canonical ones.
    ``month`` becomes ``Period[M]`` (from ``YYYY-MM`` text, dates or periods); ids and other
    text become ``str``; coordinates ``float64``; ``date`` ``datetime64[ns]``.

    Raises :class:`~triplet.errors.InputError` naming ``file``, the row (1-based data row; the
    line in a CSV with a header is row + 1), the column and the value for: a missing required
    column, a blank required value, an unparseable month, date or coordinate, and duplicate
    ``crime_id`` values. Every problem is reported at once (up to 20 per column).
    """
    file = str(file)
    problems: list[Problem] = []
    missing = [c.name for c in RECORD_COLUMNS if c.required and c.name not in df.columns]
    for name in missing:
        problems.append(Problem(file=file, field=name, message="required column is missing"))
    if problems:
        raise InputError(problems)

    out = df.copy()
    out.index = pd.RangeIndex(len(out))
    for col in RECORD_COLUMNS:
        if col.name not in out.columns:
            out[col.name] = empty_records()[col.name].reindex(out.index)

    def bad_rows(mask: np.ndarray, column: str, message: str) -> None:
        rows = np.flatnonzero(mask)
        for i in rows[:20]:
            value = df[column].iloc[i] if column in df.columns else None
            problems.append(
                Problem(
                    file=file,
                    line=int(i) + 1,
                    field=column,
                    message=f"{message} (value {value!r})",
                )
            )
        if len(rows) > 20:
            problems.append(
                Problem(file=file, field=column, message=f"... and {len(rows) - 20} more rows")
            )

    month, bad_month = _as_month(out["month"])
    bad_rows(bad_month, "month", "month is blank or not YYYY-MM")
    out["month"] = month

    if not pd.api.types.is_datetime64_any_dtype(out["date"]):
        parsed = pd.to_datetime(out["date"], errors="coerce", format="ISO8601")
        bad_rows((parsed.isna() & out["date"].notna()).to_numpy(), "date", "not a date")
        out["date"] = parsed
    if getattr(out["date"].dt, "tz", None) is not None:
        out["date"] = out["date"].dt.tz_localize(None)
    out["date"] = out["date"].astype("datetime64[ns]")

    for name in _FLOAT:
        if not pd.api.types.is_float_dtype(out[name]):
            num = pd.to_numeric(out[name], errors="coerce")
            bad_rows((num.isna() & out[name].notna()).to_numpy(), name, "not a number")
            out[name] = num
        out[name] = out[name].astype("float64")

    for name in _STR:
        s = out[name]
        if s.dtype != "str":
            s = (
                s.astype("str")
                if not s.isna().all()
                else pd.Series(np.nan, index=s.index, dtype="str")
            )
        s = s.str.strip()
        out[name] = s.where(s != "", np.nan)

    for col in RECORD_COLUMNS:
        if col.required and col.name != "month":
            bad_rows(out[col.name].isna().to_numpy(), col.name, "required value is blank")

    dup = out["crime_id"].duplicated(keep="first") & out["crime_id"].notna()
    bad_rows(dup.to_numpy(), "crime_id", "duplicate crime_id")

    if problems:
        raise InputError(problems)
    names = record_column_names()
    return out[names + [c for c in out.columns if c not in names]]
