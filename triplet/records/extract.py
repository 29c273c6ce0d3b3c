"""Reader for a police force's own crime extract (CSV or Parquet) with a YAML column mapping.

Forces export crime from their records systems (Niche, Athena, Connect, ...) with their own
column names and date formats. A small mapping file says how to turn that export into the
canonical records table::

    # crime-extract.mapping.yaml
    format: csv                      # csv | parquet; default: from the file suffix
    columns:                         # canonical column: the column in the force's file
      crime_id: CRIME_REF
      date: OFFENCE_DATETIME         # month is derived from date when not mapped
      offence_code: HO_CODE
      crime_type: CATEGORY
      lsoa_code: LSOA21CD
      suspect_id: SUSPECT_NOMINAL    # person ids are pseudonymised on read
      victim_id: VICTIM_NOMINAL
      outcome: OUTCOME
    date_format: "%d/%m/%Y %H:%M"    # strftime format of date (default: ISO 8601)
    month_format: "%Y-%m"            # strftime format of month, if month is mapped
    values:                          # optional value maps, per canonical column
      crime_type: {VIOL: Violence and sexual offences, BURG: Burglary}
    constants: {force: Example Constabulary}
    csv: {delimiter: ",", encoding: utf-8}

Person identifiers (``suspect_id``, ``victim_id``) are always pseudonymised with
:func:`triplet.records.pseudonymise` (key from ``TRIPLET_PSEUDONYM_KEY``) unless the mapping says
``already_pseudonymised: true``, in which case every value must already look like ``p_`` + 16
hex. Columns of the extract that the mapping does not name are not read.

Rows that cannot be used (blank id, unparseable date or month, crime type not a police.uk
category after the value map, non-numeric coordinates, repeated crime id) are skipped and listed
with file, row, column, value and reason; ``strict=True`` raises instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triplet.errors import InputError, Problem
from triplet.records.police_uk import _VALID_TYPES
from triplet.records.pseudonymise import PSEUDONYM_PATTERN, pseudonym_key, pseudonymise
from triplet.records.result import RecordsRead, empty_skipped, skipped_problems, skipped_table
from triplet.records.schema import empty_records, record_column_names

__all__ = ["ColumnMap", "ExtractMapping", "load_mapping", "read_extract"]

PERSON_COLUMNS = ("suspect_id", "victim_id")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnMap(_Strict):
    """Canonical column -> the force's column name. ``crime_type`` and ``month`` or ``date``
    are needed; the rest are optional."""

    crime_id: str | None = Field(default=None, description="Unique crime reference.")
    month: str | None = None
    date: str | None = None
    offence_code: str | None = None
    crime_type: str | None = None
    lsoa_code: str | None = None
    lsoa_name: str | None = None
    longitude: str | None = None
    latitude: str | None = None
    location: str | None = None
    suspect_id: str | None = None
    victim_id: str | None = None
    outcome: str | None = None
    force: str | None = None

    def mapped(self) -> dict[str, str]:
        """Canonical name -> source name, for the columns mapped."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class CsvOptions(_Strict):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"


class ExtractMapping(_Strict):
    """The column mapping of a force extract (validated once, at the edge)."""

    format: Literal["csv", "parquet"] | None = None
    columns: ColumnMap
    date_format: str | None = Field(default=None, description="strftime format; None = ISO 8601.")
    month_format: str = "%Y-%m"
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    already_pseudonymised: bool = False
    csv: CsvOptions = Field(default_factory=CsvOptions)

    @model_validator(mode="after")
    def _enough(self) -> ExtractMapping:
        names = set(record_column_names())
        mapped = self.columns.mapped()
        for field_name, section in (("values", self.values), ("constants", self.constants)):
            for key in section:
                if key not in names:
                    raise ValueError(f"{field_name}: {key!r} is not a canonical records column")
        if "crime_id" not in mapped:
            raise ValueError("columns.crime_id must be mapped (a unique crime reference)")
        if "month" not in mapped and "date" not in mapped:
            raise ValueError("map columns.month or columns.date (month is derived from date)")
        if "crime_type" not in mapped and "crime_type" not in self.constants:
            raise ValueError(
                "map columns.crime_type (with values.crime_type if the force's codes differ)"
            )
        clash = set(mapped) & set(self.constants)
        if clash:
            raise ValueError(f"columns and constants both set {sorted(clash)}")
        return self


def _line_of(node: Any, loc: tuple) -> int | None:
    """1-based line of the YAML node at ``loc`` (deepest node found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == str(key):
                    nxt, line = v, k.start_mark.line + 1
                    break
            if nxt is None:
                return line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def load_mapping(path: str | Path) -> ExtractMapping:
    """Read and validate a mapping YAML; every problem is reported as ``file:line: field``."""
    return load_yaml_model(path, ExtractMapping)


def load_yaml_model(path: str | Path, model: type[BaseModel]) -> Any:
    """Read a small YAML mapping file and validate it as ``model`` (a pydantic model): any
    problem (unreadable, not UTF-8, not YAML, not a mapping, invalid fields) is an InputError
    naming ``file:line: field``. Used by the force-extract and delivery column mappings."""
    from triplet.registry.yamlio import yaml_line

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read mapping: {exc.strerror}", file=path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = yaml_line(raw[: exc.start].decode("utf-8", errors="replace"))
        raise InputError(
            Problem(file=str(path), line=line, message="not UTF-8 text (binary file?)")
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        position = getattr(exc, "position", None)  # ReaderError: a character YAML refuses
        line = (
            mark.line + 1
            if mark
            else (yaml_line(text[:position]) if isinstance(position, int) else None)
        )
        what = str(getattr(exc, "problem", None) or exc).strip().splitlines()
        raise InputError(
            Problem(
                file=str(path),
                line=line,
                message=f"not valid YAML: {what[0] if what else type(exc).__name__}",
            )
        ) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. 2023-02-30
        raise InputError(
            Problem(file=str(path), line=None, field=None, message=f"not valid YAML: {exc}")
        ) from None
    if not isinstance(data, dict):
        raise InputError(Problem(file=str(path), line=1, message="mapping must be a YAML mapping"))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(x for x in e["loc"] if x != "__root__")
            problems.append(
                Problem(
                    file=str(path),
                    line=_line_of(node, loc),
                    field=".".join(str(x) for x in loc) or None,
                    message=e["msg"].removeprefix("Value error, "),
                )
            )
        raise InputError(problems) from exc


def _read_table(
    path: Path, mapping: ExtractMapping, columns: list[str]
) -> tuple[pd.DataFrame, int]:
    """Read the mapped columns as text; return the frame and the line offset of row 0."""
    fmt = mapping.format or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
    if not path.exists():
        raise InputError("file not found", file=path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            schema_names = pq.read_schema(path).names
        except Exception as exc:
            raise InputError(f"cannot be read as Parquet: {exc}", file=path) from exc
        _check_columns(path, mapping, schema_names)
        frame = pd.read_parquet(path, columns=columns)
        for c in frame.columns:
            if not pd.api.types.is_datetime64_any_dtype(frame[c]):
                s = frame[c]
                frame[c] = s.astype("str").where(s.notna(), np.nan)
        return frame, 1
    try:
        header = pd.read_csv(
            path, nrows=0, sep=mapping.csv.delimiter, encoding=mapping.csv.encoding
        ).columns
        _check_columns(path, mapping, [str(c).lstrip("\ufeff").strip() for c in header])
        frame = pd.read_csv(
            path,
            sep=mapping.csv.delimiter,
            encoding=mapping.csv.encoding,
            dtype="str",
            keep_default_na=False,
            na_values=[""],
            usecols=lambda c: str(c).lstrip("\ufeff").strip() in columns,
        )
    except (
        pd.errors.ParserError,
        UnicodeDecodeError,
        pd.errors.EmptyDataError,
        LookupError,
    ) as exc:
        raise InputError(f"cannot be read as CSV: {exc}", file=path) from exc
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    return frame, 2


def _check_columns(path: Path, mapping: ExtractMapping, present: list[str]) -> None:
    missing = [(k, v) for k, v in mapping.columns.mapped().items() if v not in present]
    if missing:
        raise InputError(
            [
                Problem(
                    file=str(path),
                    line=1,
                    field=v,
                    message=f"column named by the mapping (columns.{k}) is not in the file",
                )
                for k, v in missing
            ]
        )


def read_extract(
    path: str | Path,
    mapping: str | Path | ExtractMapping,
    *,
    key: str | bytes | None = None,
    strict: bool = False,
) -> RecordsRead:
    """Read a force extract (CSV or Parquet) into the canonical records table.

    ``mapping`` is the path of a mapping YAML (see the module docstring) or a loaded
    :class:`ExtractMapping`. Person ids are pseudonymised with ``key`` or
    ``$TRIPLET_PSEUDONYM_KEY``. Returns a :class:`RecordsRead` (records, skipped rows, counts).
    """
    path = Path(path)
    if not isinstance(mapping, ExtractMapping):
        mapping = load_mapping(mapping)
    name = str(path)
    mapped = mapping.columns.mapped()
    if not mapping.already_pseudonymised and set(PERSON_COLUMNS) & set(mapped):
        pseudonym_key(key)  # fail before reading if there is no key
    raw, offset = _read_table(path, mapping, sorted(set(mapped.values())))
    n = len(raw)
    lines = np.arange(offset, n + offset)
    data = pd.DataFrame({canon: raw[src] for canon, src in mapped.items()})
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    values = np.full(n, None, dtype=object)

    def flag(mask: np.ndarray, canon: str, why: str) -> None:
        new = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        reason[new] = why
        column[new] = mapped.get(canon, canon)
        if canon in data.columns:
            values[new] = data[canon].to_numpy(dtype=object)[new]

    for canon, s in list(data.items()):
        if s.dtype == "str":
            s = s.str.strip()
            data[canon] = s.where(s != "", np.nan)
        if canon in mapping.values:
            vmap = mapping.values[canon]
            data[canon] = data[canon].map(
                lambda v, m=vmap: m.get(v, v) if isinstance(v, str) else v
            )
            data[canon] = data[canon].astype("str")
    for canon, value in mapping.constants.items():
        data[canon] = pd.Series(value, index=data.index, dtype="str")

    flag(data["crime_id"].isna().to_numpy(), "crime_id", "crime id is blank")
    if "date" in data.columns:
        d = data["date"]
        if not pd.api.types.is_datetime64_any_dtype(d):
            fmt = mapping.date_format or "ISO8601"
            parsed = pd.to_datetime(d, format=fmt, errors="coerce")
            flag((parsed.isna() & d.notna()).to_numpy(), "date", f"date does not match {fmt}")
            data["date"] = parsed
        if getattr(data["date"].dt, "tz", None) is not None:
            data["date"] = data["date"].dt.tz_localize(None)
    if "month" in data.columns:
        m = data["month"]
        parsed = pd.to_datetime(m, format=mapping.month_format, errors="coerce")
        flag(m.isna().to_numpy(), "month", "month is blank")
        flag(
            (parsed.isna() & m.notna()).to_numpy(),
            "month",
            f"month does not match {mapping.month_format}",
        )
        data["month"] = parsed.dt.to_period("M")
    else:
        flag(data["date"].isna().to_numpy(), "date", "date is blank (month is derived from it)")
        data["month"] = data["date"].dt.to_period("M")
    ct = data["crime_type"]
    flag(ct.isna().to_numpy(), "crime_type", "crime type is blank")
    flag(
        (~ct.isin(_VALID_TYPES) & ct.notna()).to_numpy(),
        "crime_type",
        "not a data.police.uk crime type (add it to values.crime_type)",
    )
    for coord in ("longitude", "latitude"):
        if coord in data.columns:
            num = pd.to_numeric(data[coord], errors="coerce")
            flag((num.isna() & data[coord].notna()).to_numpy(), coord, f"{coord} is not a number")
            data[coord] = num
    if mapping.already_pseudonymised:
        for person in PERSON_COLUMNS:
            if person in data.columns:
                s = data[person]
                ok = s.isna() | s.str.fullmatch(PSEUDONYM_PATTERN, na=False)
                flag(
                    (~ok).to_numpy(),
                    person,
                    "not a pseudonym (p_ + 16 hex) although already_pseudonymised is true",
                )
    ok = (reason == None) & data["crime_id"].notna().to_numpy()  # noqa: E711
    dup = np.zeros(n, dtype=bool)
    dup[ok] = data["crime_id"][ok].duplicated(keep="first").to_numpy()
    flag(dup, "crime_id", "duplicate crime id")

    bad = reason != None  # noqa: E711
    skipped = empty_skipped()
    if bad.any():
        skipped = skipped_table(name, lines[bad], column[bad], values[bad], reason[bad])
        if strict:
            raise InputError(skipped_problems(skipped))
    data = data.loc[~bad].reset_index(drop=True)
    if not mapping.already_pseudonymised:
        for person in PERSON_COLUMNS:
            if person in data.columns:
                data[person] = pseudonymise(data[person], key=key)
    records = empty_records().reindex(range(len(data)))
    for c in data.columns:
        records[c] = data[c].to_numpy() if c not in ("month",) else data[c]
    for c in ("date",):
        records[c] = records[c].astype("datetime64[ns]")
    for c in ("longitude", "latitude"):
        records[c] = records[c].astype("float64")
    for c in record_column_names():
        if records[c].dtype == object:
            records[c] = records[c].astype("str")
    return RecordsRead(
        records=records[record_column_names()], skipped=skipped, n_read=n, files=(name,)
    )
