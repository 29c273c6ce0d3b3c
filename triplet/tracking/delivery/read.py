"""Readers for delivery data: GPS pings and patrol/visit logs (CSV or Parquet, a YAML mapping).

A mapping file says which of the file's columns hold what, like a force's crime extract
(:mod:`triplet.records.extract`)::

    # pings.mapping.yaml
    kind: pings                      # pings | visit_log
    columns:
      device_id: RADIO_ID            # pings: device (radio, vehicle) id - pseudonymised on read
      officer_id: COLLAR_NO          # optional, pseudonymised on read
      timestamp: PING_TIME
      longitude: LON                 # or x: EASTING and y: NORTHING (British National Grid)
      latitude: LAT
    timestamp_format: "%d/%m/%Y %H:%M:%S"   # strftime; default ISO 8601
    timezone: Europe/London          # clock of timestamps written without an offset
    csv: {delimiter: ",", encoding: utf-8}

    # visits.mapping.yaml (a patrol log: one row per visit)
    kind: visit_log
    columns: {unit: HOTSPOT, start: ARRIVED, end: LEFT, officer_id: COLLAR_NO, team: TEAM}
    timezone: Europe/London

Timestamps with an offset (``2024-03-31T01:30:00+01:00``, ``...Z``) are read as written.
Timestamps without one are local clock times: they are localised to ``timezone`` (daylight
saving handled: Europe/London is GMT in winter and BST in summer). Without ``timezone`` such rows
are skipped ("timestamp has no time zone"), and a local time that occurs twice (the hour the
clocks go back) or never (the hour they go forward) is skipped as ambiguous or nonexistent: a
patrol log must neither gain nor lose an hour.

Every row is kept or listed in ``skipped`` (file, row, column, value, reason): blank device or
unit, unreadable or zone-less timestamps, missing or non-numeric coordinates, out-of-order and
duplicate pings of a device, pings implying an impossible speed, visits ending before they start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triplet.errors import InputError, Problem
from triplet.records.pseudonymise import PSEUDONYM_PATTERN, pseudonym_key, pseudonymise
from triplet.records.result import empty_skipped, skipped_problems, skipped_table

__all__ = [
    "DeliveryMapping",
    "DeliveryRead",
    "load_delivery_mapping",
    "localise",
    "read_delivery",
    "read_pings",
    "read_visit_log",
]

#: Columns of the canonical pings table.
PING_COLUMNS = ("device", "officer", "time", "x", "y", "file", "row")
#: Columns of the canonical visits table.
VISIT_COLUMNS = ("unit", "device", "start", "end", "minutes", "source")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliveryColumns(_Strict):
    """Canonical column -> the file's column name."""

    device_id: str | None = None
    officer_id: str | None = None
    timestamp: str | None = None
    longitude: str | None = None
    latitude: str | None = None
    x: str | None = None
    y: str | None = None
    unit: str | None = None
    start: str | None = None
    end: str | None = None
    team: str | None = None

    def mapped(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class CsvOptions(_Strict):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"


class DeliveryMapping(_Strict):
    """The column mapping of a delivery file (validated once, at the edge)."""

    kind: Literal["pings", "visit_log"]
    format: Literal["csv", "parquet"] | None = None
    columns: DeliveryColumns
    timestamp_format: str | None = Field(default=None, description="strftime; None = ISO 8601")
    timezone: str | None = Field(default=None, description="zone of offset-less timestamps")
    crs: str | None = Field(default=None, description="CRS of x/y (default EPSG:27700)")
    already_pseudonymised: bool = False
    csv: CsvOptions = Field(default_factory=CsvOptions)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name, e.g. Europe/London)"
            ) from None
        return v

    @model_validator(mode="after")
    def _enough(self) -> DeliveryMapping:
        m = self.columns.mapped()
        if self.kind == "pings":
            for need in ("device_id", "timestamp"):
                if need not in m:
                    raise ValueError(f"pings need columns.{need}")
            lonlat = "longitude" in m and "latitude" in m
            xy = "x" in m and "y" in m
            if lonlat == xy:
                raise ValueError("map either columns.longitude and latitude, or columns.x and y")
        else:
            for need in ("unit", "start", "end"):
                if need not in m:
                    raise ValueError(f"a visit log needs columns.{need}")
        return self

    @property
    def point_crs(self) -> str:
        if "longitude" in self.columns.mapped():
            return "EPSG:4326"
        return self.crs or "EPSG:27700"


def load_delivery_mapping(path: str | Path) -> DeliveryMapping:
    """Read and validate a delivery mapping YAML; problems are reported as ``file:line: field``
    (the same reader as force-extract mappings)."""
    from triplet.records.extract import load_yaml_model

    return load_yaml_model(path, DeliveryMapping)


@dataclass(frozen=True)
class DeliveryRead:
    """What a delivery reader returns: the table and every skipped row (nothing else dropped).

    ``table``: pings (``device, officer, time, x, y, file, row``; ``time`` in UTC, ``x``/``y``
    British National Grid metres) or visits (``unit, device, start, end, minutes, source``).
    ``skipped``: ``file, row, column, value, reason``. ``n_read == len(table) + len(skipped)``.
    """

    kind: str
    table: pd.DataFrame
    skipped: pd.DataFrame
    n_read: int
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_kept(self) -> int:
        return len(self.table)

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def summary(self) -> pd.DataFrame:
        rows = [("read", self.n_read), ("kept", self.n_kept), ("skipped", self.n_skipped)]
        for reason, n in self.skipped["reason"].value_counts().sort_index().items():
            rows.append((f"skipped: {reason}", int(n)))
        return pd.DataFrame(rows, columns=["item", "rows"])

    def report(self, max_rows: int = 20) -> str:
        lines = [f"{item}: {n:,}" for item, n in self.summary().itertuples(index=False)]
        for r in self.skipped.head(max_rows).itertuples(index=False):
            lines.append(f"  {r.file}:{r.row}: {r.column}: {r.reason} (value {r.value!r})")
        if self.n_skipped > max_rows:
            lines.append(f"  ... and {self.n_skipped - max_rows:,} more")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        from triplet.io import jsonable

        return jsonable(
            {
                "kind": self.kind,
                "files": list(self.files),
                "n_read": self.n_read,
                "n_kept": self.n_kept,
                "n_skipped": self.n_skipped,
                "skipped_by_reason": dict(self.skipped["reason"].value_counts().sort_index()),
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        s = self.summary().iloc[1:]
        ax.barh(s["item"], s["rows"], color="#4C72B0")
        ax.set_xlabel("rows")
        ax.set_title(f"{self.n_read:,} rows read")
        return ax


# ------------------------------------------------------------------------------- time stamps

_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def localise(naive: pd.Series, timezone: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Localise naive local clock times to ``timezone`` and convert to UTC.

    Returns ``(utc, ambiguous, nonexistent)``: ``utc`` is NaT where the local time occurs twice
    (clocks go back) or never (clocks go forward); the two boolean arrays say which.
    """
    naive = pd.Series(pd.to_datetime(naive), index=naive.index)
    n = len(naive)
    a = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
    b = naive.dt.tz_localize(timezone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    present = naive.notna().to_numpy()
    ambiguous = present & a.isna().to_numpy()
    nonexistent = present & b.isna().to_numpy()
    utc = a.where(~nonexistent).dt.tz_convert("UTC")
    return utc, ambiguous, nonexistent


def _parse_times(raw: pd.Series, mapping: DeliveryMapping, flag, canon: str) -> pd.Series:
    """Parse a timestamp column to UTC, flagging rows that cannot be placed in time."""
    n = len(raw)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_any_dtype(raw):
        if getattr(raw.dt, "tz", None) is not None:
            return raw.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        parsed_naive = raw
        with_offset = np.zeros(n, dtype=bool)
        flag(raw.isna().to_numpy(), canon, "timestamp is blank")
    else:
        text = raw.astype("str").str.strip()
        blank = raw.isna().to_numpy() | (text == "").to_numpy()
        flag(blank, canon, "timestamp is blank")
        with_offset = text.str.contains(_OFFSET, regex=True, na=False).to_numpy() & ~blank
        fmt = mapping.timestamp_format or "ISO8601"
        if with_offset.any():
            t = pd.to_datetime(text[with_offset], format=fmt, utc=True, errors="coerce")
            out[with_offset] = t.astype("datetime64[ns, UTC]")
        parsed_naive = pd.to_datetime(text.where(~with_offset), format=fmt, errors="coerce")
        bad = ~blank & (
            np.where(with_offset, out.isna().to_numpy(), parsed_naive.isna().to_numpy())
        )
        flag(bad, canon, f"timestamp does not match {fmt}")
    naive_ok = ~with_offset & parsed_naive.notna().to_numpy()
    if naive_ok.any():
        if mapping.timezone is None:
            flag(
                naive_ok,
                canon,
                "timestamp has no time zone (write an offset, or give timezone: Europe/London "
                "in the mapping for local clock time)",
            )
        else:
            utc, amb, non = localise(parsed_naive[naive_ok], mapping.timezone)
            idx = np.flatnonzero(naive_ok)
            a_mask = np.zeros(n, dtype=bool)
            n_mask = np.zeros(n, dtype=bool)
            a_mask[idx[amb]] = True
            n_mask[idx[non]] = True
            flag(
                a_mask,
                canon,
                f"ambiguous local time: occurs twice ({mapping.timezone} clocks go back)",
            )
            flag(n_mask, canon, f"nonexistent local time ({mapping.timezone} clocks go forward)")
            out[naive_ok] = utc.astype("datetime64[ns, UTC]").to_numpy()
    return out


# ------------------------------------------------------------------------------- reading


def _read_raw(path: Path, mapping: DeliveryMapping) -> tuple[pd.DataFrame, int]:
    from triplet.records.extract import ExtractMapping, _read_table

    # reuse the extract reader's table reading (CSV/Parquet, header check, text columns)
    class _Cols:
        def __init__(self, m: dict[str, str]):
            self._m = m

        def mapped(self) -> dict[str, str]:
            return self._m

    shim = ExtractMapping.model_construct(
        format=mapping.format, columns=_Cols(mapping.columns.mapped()), csv=mapping.csv
    )
    return _read_table(path, shim, sorted(set(mapping.columns.mapped().values())))


class _Flags:
    def __init__(self, n: int, data: pd.DataFrame, mapped: dict[str, str]):
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)
        self.values = np.full(n, None, dtype=object)
        self.data = data
        self.mapped = mapped

    def __call__(self, mask: np.ndarray, canon: str, why: str) -> None:
        new = np.asarray(mask, dtype=bool) & (self.reason == None)  # noqa: E711
        if not new.any():
            return
        self.reason[new] = why
        self.column[new] = self.mapped.get(canon, canon)
        if canon in self.data.columns:
            self.values[new] = self.data[canon].to_numpy(dtype=object)[new]

    @property
    def bad(self) -> np.ndarray:
        return self.reason != None  # noqa: E711

    def skipped(self, path: Path, offset: int, *, strict: bool) -> pd.DataFrame:
        """The skipped-rows table of the flagged rows (file lines from ``offset``); with
        ``strict``, an InputError naming each of them instead."""
        bad = self.bad
        if not bad.any():
            return empty_skipped()
        lines = np.arange(offset, offset + len(bad))
        skipped = skipped_table(
            str(path), lines[bad], self.column[bad], self.values[bad], self.reason[bad]
        )
        if strict:
            raise InputError(skipped_problems(skipped))
        return skipped


def _ids(data: pd.DataFrame, canon: str, mapping: DeliveryMapping, flag, key) -> None:
    s = data[canon].astype("str").str.strip()
    s = s.where(data[canon].notna() & (s != ""))
    data[canon] = s
    if mapping.already_pseudonymised:
        ok = s.isna() | s.str.fullmatch(PSEUDONYM_PATTERN, na=False)
        flag(
            (~ok).to_numpy(),
            canon,
            "not a pseudonym (p_ + 16 hex) although already_pseudonymised is true",
        )


def _speed_spikes(
    xs: np.ndarray, ys: np.ndarray, tt: np.ndarray, g: np.ndarray, max_kmh: float
) -> np.ndarray:
    """Pings (sorted by device, then time) reached too fast and left too fast (a spike); then,
    with the spikes removed, a device's last ping reached too fast."""

    def fast(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = np.flatnonzero(keep)
        same = g[i][1:] == g[i][:-1]
        dist = np.hypot(np.diff(xs[i]), np.diff(ys[i]))
        hours = np.diff(tt[i]) / 3.6e12
        f = same & (dist / 1000 > max_kmh * np.maximum(hours, 1e-12))
        return i, np.concatenate([[False], f]), np.concatenate([f, [False]])

    out = np.zeros(len(tt), dtype=bool)
    if len(tt) < 2:
        return out
    i, f_in, f_out = fast(np.ones(len(tt), dtype=bool))
    out[i[f_in & f_out]] = True
    i, f_in, _ = fast(~out)
    same_next = np.concatenate([g[i][1:] == g[i][:-1], [False]])
    out[i[f_in & ~same_next]] = True
    return out


def read_pings(
    path: str | Path,
    mapping: str | Path | DeliveryMapping,
    *,
    key: str | bytes | None = None,
    max_speed_kmh: float = 120.0,
    strict: bool = False,
) -> DeliveryRead:
    """Read GPS pings into ``device, officer, time (UTC), x, y (BNG metres), file, row``.

    Device and officer ids are pseudonymised with ``key`` or ``$TRIPLET_PSEUDONYM_KEY`` (the
    keyed hash of :func:`triplet.records.pseudonymise`). Per device, in file order: a ping
    earlier than one already read is skipped as out of order, one at the same time as one
    already read as a duplicate; a ping reached from the previous one faster than
    ``max_speed_kmh`` and left faster too (a spike) - or the device's last ping reached too
    fast - is skipped as an impossible speed. ``strict=True`` raises instead of skipping.
    """
    from triplet.geography.grid import to_bng

    path = Path(path)
    if not isinstance(mapping, DeliveryMapping):
        mapping = load_delivery_mapping(mapping)
    if mapping.kind != "pings":
        raise InputError(Problem(file=str(path), field="kind", message="mapping is not for pings"))
    if not mapping.already_pseudonymised:
        pseudonym_key(key)
    mapped = mapping.columns.mapped()
    raw, offset = _read_raw(path, mapping)
    n = len(raw)
    data = pd.DataFrame({c: raw[src] for c, src in mapped.items()})
    flag = _Flags(n, data, mapped)
    _ids(data, "device_id", mapping, flag, key)
    if "officer_id" in data:
        _ids(data, "officer_id", mapping, flag, key)
    flag(data["device_id"].isna().to_numpy(), "device_id", "device id is blank")
    time = _parse_times(data["timestamp"], mapping, flag, "timestamp")
    cx, cy = ("longitude", "latitude") if "longitude" in mapped else ("x", "y")
    coords = {}
    for c in (cx, cy):
        v = data[c]
        num = pd.to_numeric(v, errors="coerce")
        flag(v.isna().to_numpy(), c, "missing coordinates")
        flag((num.isna() & v.notna()).to_numpy(), c, "coordinate is not a number")
        coords[c] = num.to_numpy(dtype=float)
    if cx == "longitude":
        out_of_range = (np.abs(coords[cx]) > 180) | (np.abs(coords[cy]) > 90)
        flag(out_of_range, cx, "longitude/latitude out of range")
    x, y = to_bng(coords[cx], coords[cy], mapping.point_crs)

    # per device, in file order: out-of-order and duplicate pings, then speed spikes
    ok = ~flag.bad
    dev = data["device_id"].to_numpy(dtype=object)
    t = time.to_numpy(dtype="datetime64[ns]").astype("int64")  # ns since epoch (UTC)
    idx = np.flatnonzero(ok)
    if len(idx):
        codes, _ = pd.factorize(dev[idx])
        order = np.argsort(codes, kind="stable")
        rows = idx[order]
        g = codes[order]
        tt = t[rows]
        prev_max = pd.Series(tt).groupby(g).cummax().groupby(g).shift(1).to_numpy()
        has_prev = ~np.isnan(prev_max)
        earlier = has_prev & (tt < prev_max)
        same = has_prev & (tt == prev_max)
        m = np.zeros(n, dtype=bool)
        m[rows[earlier]] = True
        flag(m, "timestamp", "ping out of order (earlier than a previous ping of the device)")
        m = np.zeros(n, dtype=bool)
        m[rows[same]] = True
        flag(m, "timestamp", "duplicate ping (same device and time as a previous ping)")
        keep = ~(earlier | same)
        rows, g, tt = rows[keep], g[keep], tt[keep]
        spike = _speed_spikes(x[rows], y[rows], tt, g, max_speed_kmh)
        m = np.zeros(n, dtype=bool)
        m[rows[spike]] = True
        flag(m, cx, f"impossible speed (over {max_speed_kmh:g} km/h from the previous ping)")

    skipped = flag.skipped(path, offset, strict=strict)
    keep = ~flag.bad
    device = data.loc[keep, "device_id"]
    officer = (
        data.loc[keep, "officer_id"]
        if "officer_id" in data
        else pd.Series(np.nan, index=device.index, dtype="str")
    )
    if not mapping.already_pseudonymised:
        device = pseudonymise(device, key=key)
        if "officer_id" in data:
            officer = pseudonymise(officer, key=key)
    table = pd.DataFrame(
        {
            "device": device.astype("str").to_numpy(),
            "officer": officer.astype("str").to_numpy(),
            "time": time[keep].to_numpy(),
            "x": x[keep],
            "y": y[keep],
            "file": pd.Series([str(path)] * int(keep.sum()), dtype="str"),
            "row": np.arange(offset, n + offset)[keep].astype("int64"),
        }
    )
    table["time"] = table["time"].astype("datetime64[ns, UTC]")
    return DeliveryRead("pings", table, skipped, n, (str(path),))


def read_visit_log(
    path: str | Path,
    mapping: str | Path | DeliveryMapping,
    *,
    key: str | bytes | None = None,
    strict: bool = False,
) -> DeliveryRead:
    """Read a patrol/visit log into ``unit, device, start, end, minutes, source``.

    ``device`` is the pseudonymised officer id (or the team when no officer is mapped).
    Minutes are elapsed time (UTC), so a visit across a clock change is not an hour out.
    """
    path = Path(path)
    if not isinstance(mapping, DeliveryMapping):
        mapping = load_delivery_mapping(mapping)
    if mapping.kind != "visit_log":
        raise InputError(
            Problem(file=str(path), field="kind", message="mapping is not for a visit log")
        )
    mapped = mapping.columns.mapped()
    if "officer_id" in mapped and not mapping.already_pseudonymised:
        pseudonym_key(key)
    raw, offset = _read_raw(path, mapping)
    n = len(raw)
    data = pd.DataFrame({c: raw[src] for c, src in mapped.items()})
    flag = _Flags(n, data, mapped)
    u = data["unit"].astype("str").str.strip()
    data["unit"] = u.where(data["unit"].notna() & (u != ""))
    flag(data["unit"].isna().to_numpy(), "unit", "unit is blank")
    if "officer_id" in data:
        _ids(data, "officer_id", mapping, flag, key)
    start = _parse_times(data["start"], mapping, flag, "start")
    end = _parse_times(data["end"], mapping, flag, "end")
    flag((end <= start).to_numpy(), "end", "visit ends before it starts")
    skipped = flag.skipped(path, offset, strict=strict)
    keep = ~flag.bad
    if "officer_id" in data:
        who = data.loc[keep, "officer_id"]
        if not mapping.already_pseudonymised:
            who = pseudonymise(who, key=key)
    elif "team" in data:
        who = data.loc[keep, "team"]
    else:
        who = pd.Series(np.nan, index=data.index[keep], dtype="str")
    s, e = start[keep], end[keep]
    table = pd.DataFrame(
        {
            "unit": data.loc[keep, "unit"].astype("str").to_numpy(),
            "device": who.astype("str").to_numpy(),
            "start": s.to_numpy(),
            "end": e.to_numpy(),
            "minutes": ((e - s).dt.total_seconds() / 60).to_numpy(),
            "source": pd.Series(["log"] * int(keep.sum()), dtype="str"),
        }
    )
    for c in ("start", "end"):
        table[c] = table[c].astype("datetime64[ns, UTC]")
    return DeliveryRead("visit_log", table, skipped, n, (str(path),))


def read_delivery(
    path: str | Path, mapping: str | Path | DeliveryMapping, **kwargs: Any
) -> DeliveryRead:
    """Read pings or a visit log, as the mapping's ``kind`` says."""
    if not isinstance(mapping, DeliveryMapping):
        mapping = load_delivery_mapping(mapping)
    if mapping.kind == "pings":
        return read_pings(path, mapping, **kwargs)
    kwargs.pop("max_speed_kmh", None)
    return read_visit_log(path, mapping, **kwargs)
