"""A force's crime records as partitioned Parquet (one file per force and month), read lazily.

Layout under the store folder::

    store.json                       manifest: partitions, their rows and source files
    records/<force>/<YYYY-MM>.parquet  canonical records (month as YYYY-MM text)
    outcomes/<file stem>.parquet       data.police.uk outcomes (crime id, month, outcome, order)
    skipped/<file stem>.parquet        rows skipped when the file was read (file, row, ...)

:func:`append_police_uk` reads data.police.uk files into a store, file group by file group
(memory bounded by one month of one force). It is idempotent: a force-month read again
replaces its partition, so a month read twice is not counted twice and a monthly update is one
command. Every write is atomic (:mod:`triplet.io`); replacing a partition is the documented
overwrite.

:class:`RecordStore` scans the partitions lazily (Polars); the out-of-core ranking, unit x month
aggregate and panel work on it with memory bounded by units x months, not records. Outcomes
are attached at scan time: each crime's latest published outcome over every outcomes file in the
store replaces the street file's "Last outcome category" (so a later month's outcomes update
earlier crimes).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from triplet.errors import InputError, Problem
from triplet.io import atomic_path, jsonable, read_json, write_json
from triplet.records.police_uk import (
    _latest_outcomes,
    find_police_uk_files,
    police_uk_frame,
    records_to_pandas,
    skipped_to_pandas,
    table_to_pandas,
)
from triplet.records.result import RecordsRead
from triplet.records.schema import record_column_names

__all__ = [
    "CATEGORICAL",
    "RecordStore",
    "StoreUpdate",
    "append_police_uk",
    "force_slug",
    "to_store_schema",
]

MANIFEST = "store.json"
_FILE_MONTH = re.compile(r"^(\d{4}-\d{2})-(.+)-street\.csv$", re.IGNORECASE)


def force_slug(force: str | None) -> str:
    """Folder name of a force: lower case, runs of other characters -> '-' ('unknown' if blank)."""
    if force is None or not str(force).strip():
        return "unknown"
    return re.sub(r"[^a-z0-9]+", "-", str(force).lower()).strip("-") or "unknown"


@dataclass(frozen=True)
class StoreUpdate:
    """What one :func:`append_police_uk` call did: partitions added and replaced, and the read."""

    added: tuple[str, ...]
    replaced: tuple[str, ...]
    read: RecordsRead
    n_rows_before: int
    n_rows_after: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> pd.DataFrame:
        """Counts: partitions added/replaced, rows in the store before and after."""
        return pd.DataFrame(
            [
                ("partitions added", len(self.added)),
                ("partitions replaced (read again)", len(self.replaced)),
                ("records in store before", self.n_rows_before),
                ("records in store after", self.n_rows_after),
            ],
            columns=["item", "rows"],
        )

    def report(self, max_rows: int = 20) -> str:
        """The reader's report, then what changed in the store."""
        lines = [self.read.report(max_rows)]
        lines += [f"{item}: {n:,}" for item, n in self.summary().itertuples(index=False)]
        if self.replaced:
            lines.append("replaced: " + ", ".join(self.replaced))
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return jsonable(
            {
                "added": list(self.added),
                "replaced": list(self.replaced),
                "n_rows_before": self.n_rows_before,
                "n_rows_after": self.n_rows_after,
                "read": self.read.to_dict(),
                "notes": list(self.notes),
            }
        )

    def plot(self, ax=None):
        """Records kept per month in this update (see :meth:`RecordsRead.plot`)."""
        return self.read.plot(ax=ax)


class RecordStore:
    """A folder of partitioned Parquet records (see the module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # -- manifest --------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def manifest(self) -> dict:
        """The manifest (``{"partitions": {"<force>/<YYYY-MM>": {...}}}``); empty if new."""
        if not self.manifest_path.exists():
            return {"format": "triplet-records-store", "version": 1, "partitions": {}}
        data = read_json(self.manifest_path)
        if not isinstance(data, dict) or data.get("format") != "triplet-records-store":
            raise InputError(
                Problem(
                    file=str(self.manifest_path),
                    message="not a triplet records store manifest",
                )
            )
        return data

    def partitions(self) -> list[str]:
        """``<force>/<YYYY-MM>`` of every partition, sorted."""
        return sorted(self.manifest()["partitions"])

    def n_records(self) -> int:
        return int(sum(p["rows"] for p in self.manifest()["partitions"].values()))

    def months(self) -> pd.PeriodIndex:
        """The months held (any force), sorted."""
        ms = sorted({p.split("/")[1] for p in self.partitions()})
        return pd.PeriodIndex(ms, freq="M")

    # -- reading ---------------------------------------------------------------------------
    def _files(
        self, months: Iterable | None = None, forces: Iterable[str] | None = None
    ) -> list[Path]:
        parts = self.partitions()
        if not parts:
            raise InputError(
                Problem(file=str(self.root), message="the records store is empty (or missing)")
            )
        if months is not None:
            wanted = {str(m) for m in pd.PeriodIndex(list(months), freq="M").astype(str)}
            parts = [p for p in parts if p.split("/")[1] in wanted]
        if forces is not None:
            slugs = {force_slug(f) for f in forces}
            parts = [p for p in parts if p.split("/")[0] in slugs]
        return [self.root / "records" / f"{p}.parquet" for p in parts]

    def scan(
        self,
        columns: Sequence[str] | None = None,
        *,
        months: Iterable | None = None,
        forces: Iterable[str] | None = None,
    ) -> pl.LazyFrame:
        """A lazy frame of the records (canonical columns, month as ``YYYY-MM`` text).

        Only the partitions of ``months``/``forces`` are opened. When ``outcome`` is among the
        columns, the latest stored outcome of each crime replaces the street file's.
        """
        names = record_column_names()
        cols = list(columns) if columns is not None else names
        unknown = [c for c in cols if c not in names]
        if unknown:
            raise InputError(
                Problem(file=str(self.root), field=unknown[0], message="not a records column")
            )
        files = self._files(months, forces)
        if not files:
            return pl.LazyFrame(schema=_schema(cols))
        lf = pl.scan_parquet(files, schema=_schema(names)).select(cols)
        if "outcome" in cols and self.outcome_files():
            latest = self.latest_outcomes()
            key = pl.col("crime_id").str.replace(r"#\d+$", "")
            lf = (
                lf.with_columns(key.alias("__key"))
                .join(latest.lazy(), left_on="__key", right_on="Crime ID", how="left")
                .with_columns(
                    pl.coalesce(pl.col("__latest"), pl.col("outcome").cast(pl.String))
                    .cast(pl.Categorical)
                    .alias("outcome")
                )
                .select(cols)
            )
        return lf

    def records(self, *, months: Iterable | None = None) -> pd.DataFrame:
        """The records as the canonical pandas table (in memory: for small stores)."""
        return records_to_pandas(self.scan(months=months).collect())

    def outcome_files(self) -> list[Path]:
        folder = self.root / "outcomes"
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def latest_outcomes(self) -> pl.DataFrame:
        """Crime ID -> latest outcome over every stored outcomes file (``__latest``)."""
        files = self.outcome_files()
        out = pl.scan_parquet(files).sort(["Month", "__order", "__line"])
        return (
            out.group_by("Crime ID", maintain_order=True)
            .agg(pl.col("outcome").last().alias("__latest"))
            .collect()
        )

    def skipped(self) -> pd.DataFrame:
        """Every row skipped when the store's files were read (file, row, column, value, reason)."""
        folder = self.root / "skipped"
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if not files:
            return skipped_to_pandas(pl.DataFrame())
        return skipped_to_pandas(pl.read_parquet(files))


#: Low-cardinality text columns, stored dictionary-encoded (Polars Categorical).
CATEGORICAL = (
    "month",
    "offence_code",
    "crime_type",
    "lsoa_code",
    "lsoa_name",
    "location",
    "outcome",
    "force",
)


def _schema(cols: Sequence[str]) -> dict:
    types = {
        "date": pl.Datetime("ns"),
        "longitude": pl.Float64,
        "latitude": pl.Float64,
        **{c: pl.Categorical for c in CATEGORICAL},
    }
    return {c: types.get(c, pl.String) for c in cols}


def to_store_schema(records: pl.DataFrame) -> pl.DataFrame:
    """Canonical records (Polars) cast to the store's column types, in canonical order."""
    schema = _schema(record_column_names())
    return records.select([pl.col(c).cast(t) for c, t in schema.items()])


def _store_table(table: pa.Table) -> pa.Table:
    """Canonical records (Arrow) in the store's column types: the :data:`CATEGORICAL` columns
    dictionary-encoded (read back as Polars Categorical), in canonical order."""
    cols = {}
    for name in record_column_names():
        col = table[name]
        if name in CATEGORICAL:
            col = pc.dictionary_encode(col.cast(pa.string()))
        cols[name] = col
    return pa.table(cols)


def _partitions(table: pa.Table) -> list[tuple[tuple[str | None, str], pa.Table]]:
    """The rows of each (force, month), in order of first appearance (one group: no copy)."""
    forces, months = pc.unique(table["force"]), pc.unique(table["month"])
    if len(forces) <= 1 and len(months) <= 1:
        if table.num_rows == 0:
            return []
        return [((forces[0].as_py(), months[0].as_py()), table)]
    keys = pl.from_arrow(table.select(["force", "month"])).with_row_index("__row")
    groups = keys.group_by(["force", "month"], maintain_order=True).agg(pl.col("__row"))
    return [
        ((force, month), table.take(pa.array(np.asarray(rows, dtype=np.int64))))
        for force, month, rows in groups.iter_rows()
    ]


def _groups(street: tuple[Path, ...]) -> list[list[Path]]:
    """Street files grouped by month and force name (``YYYY-MM-<force>-street.csv``)."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in street:
        m = _FILE_MONTH.match(p.name)
        groups[m.group(1) + "/" + m.group(2).lower() if m else str(p)].append(p)
    return [groups[k] for k in sorted(groups)]


def _write_parquet(path: Path, frame: pl.DataFrame | pa.Table, *, overwrite: bool) -> None:
    with atomic_path(path, overwrite=overwrite) as tmp:
        if isinstance(frame, pa.Table):
            pq.write_table(frame, tmp, compression="zstd", compression_level=1)
        else:
            frame.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)


def append_police_uk(
    store: str | Path | RecordStore,
    paths: str | Path | Iterable[str | Path],
    *,
    strict: bool = False,
    encoding: str = "utf-8",
    progress: bool = False,
) -> StoreUpdate:
    """Read data.police.uk files (or archive folders) into a store; idempotent per force-month.

    Files are validated one month (file group) at a time with the rules of
    :func:`~triplet.records.read_police_uk`; each (force, month) they hold replaces that
    partition if the store has it. Outcomes files are stored and attached at scan time.
    Returns a :class:`StoreUpdate` with the read's report and the partitions added/replaced.
    """
    st = store if isinstance(store, RecordStore) else RecordStore(store)
    found = find_police_uk_files(paths)
    manifest = st.manifest()
    before = st.n_records()
    parts_before = set(manifest["partitions"])
    written: dict[str, list[str]] = {}
    reads: list[RecordsRead] = []
    notes: list[str] = []
    groups = _groups(found.street)
    iterator: Iterable = groups
    if progress and len(groups) > 1:
        from rich.progress import track

        iterator = track(groups, description="Reading police.uk files", transient=True)
    for group in iterator:
        frame = police_uk_frame(group, strict=strict, encoding=encoding, join_outcomes=False)
        for (force, month), part in _partitions(frame.table):
            part = _store_table(part)  # written from Arrow (no Polars copy of a clean file)
            slug = force_slug(force)
            key = f"{slug}/{month}"
            path = st.root / "records" / slug / f"{month}.parquet"
            if key in written:  # a second file group of the same force-month in this call
                earlier = pq.read_table(path).cast(part.schema)
                part = pa.concat_tables([earlier, part]).unify_dictionaries()
                notes.append(f"{key}: rows from {len(written[key]) + 1} file groups combined")
            _write_parquet(path, part, overwrite=True)  # documented: a month read again replaces
            written.setdefault(key, []).extend(frame.files)
            manifest["partitions"][key] = {
                "rows": part.num_rows,
                "files": sorted(set(written[key])),
                "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        for f in group:  # the skipped rows of each file (a file read again replaces them)
            sk = frame.skipped.filter(pl.col("file") == str(f))
            sk_path = st.root / "skipped" / f"{f.stem}.parquet"
            if sk.height:
                _write_parquet(sk_path, sk, overwrite=True)
            else:
                sk_path.unlink(missing_ok=True)
        r = frame.table
        no_loc = pc.and_(
            pc.is_null(r["lsoa_code"]),
            pc.or_(pc.is_null(r["longitude"]), pc.is_null(r["latitude"])),
        )
        reads.append(
            _CountsRead(
                records=table_to_pandas(r.slice(0, 0)),
                kept_count=r.num_rows,
                generated_count=int(pc.sum(pc.starts_with(r["crime_id"], "g_")).as_py() or 0),
                no_location_count=int(pc.sum(no_loc).as_py() or 0),
                skipped=skipped_to_pandas(frame.skipped),
                n_read=frame.n_read,
                files=frame.files,
                notes=frame.notes,
                n_repeated_ids=frame.n_repeated_ids,
            )
        )
        # keep the manifest in step with the partitions after each group (safe to interrupt)
        write_json(st.manifest_path, manifest, overwrite=True)
    for i, f in enumerate(found.outcomes):
        latest, _onotes = _latest_outcomes((f,), encoding, keep_rows=True)
        assert latest is not None
        month = f.name[:7]
        order = int(month.replace("-", "")) if re.match(r"^\d{4}-\d{2}$", month) else i
        latest = latest.with_columns(pl.lit(order, dtype=pl.Int64).alias("__order"))
        _write_parquet(st.root / "outcomes" / f"{f.stem}.parquet", latest, overwrite=True)
    if found.outcomes:
        notes.append(f"outcomes: {len(found.outcomes)} outcomes files stored")
    if found.ignored:
        notes.append(
            f"left out: {len(found.ignored)} files that are not street-level crime or outcomes "
            "(stop and search)"
        )
    keys = sorted(written)
    n_kept = sum(manifest["partitions"][k]["rows"] for k in keys)
    combined = _combine_reads(reads, n_kept)
    return StoreUpdate(
        added=tuple(k for k in keys if k not in parts_before),
        replaced=tuple(k for k in keys if k in parts_before),
        read=combined,
        n_rows_before=before,
        n_rows_after=st.n_records(),
        notes=tuple(notes),
    )


def _combine_reads(reads: list[RecordsRead], n_kept: int) -> RecordsRead:
    """One report over the file groups (records not held in memory: counts only)."""
    skipped = [r.skipped for r in reads if not r.skipped.empty]
    return _CountsRead(
        records=reads[0].records if reads else records_to_pandas(pl.DataFrame()),
        skipped=pd.concat(skipped, ignore_index=True)
        if skipped
        else skipped_to_pandas(pl.DataFrame()),
        n_read=sum(r.n_read for r in reads),
        files=tuple(f for r in reads for f in r.files),
        notes=tuple(n for r in reads for n in r.notes),
        n_repeated_ids=sum(r.n_repeated_ids for r in reads),
        kept_count=n_kept,
        generated_count=sum(r.n_generated_ids for r in reads),
        no_location_count=sum(r.n_no_location for r in reads),
    )


@dataclass(frozen=True)
class _CountsRead(RecordsRead):
    """A :class:`RecordsRead` whose records went to the store (only their count is kept)."""

    kept_count: int = 0
    generated_count: int = 0
    no_location_count: int = 0

    @property
    def n_kept(self) -> int:
        return self.kept_count

    @property
    def n_generated_ids(self) -> int:
        return self.generated_count

    @property
    def n_no_location(self) -> int:
        return self.no_location_count
