"""What a records reader returns: the canonical records and every row it skipped, with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from triplet.errors import Problem
from triplet.io import jsonable

__all__ = ["SKIPPED_COLUMNS", "RecordsRead", "empty_skipped", "skipped_problems", "skipped_table"]

#: Columns of :attr:`RecordsRead.skipped`: ``row`` is the 1-based line in the file (CSV, header
#: is line 1) or the 1-based row of a Parquet file.
SKIPPED_COLUMNS = ("file", "row", "column", "value", "reason")


def empty_skipped() -> pd.DataFrame:
    """An empty table of skipped rows."""
    return pd.DataFrame(
        {
            "file": pd.Series([], dtype="str"),
            "row": pd.Series([], dtype="int64"),
            "column": pd.Series([], dtype="str"),
            "value": pd.Series([], dtype="str"),
            "reason": pd.Series([], dtype="str"),
        }
    )


def skipped_table(
    file: str, rows: np.ndarray, columns: np.ndarray, values: np.ndarray, reasons: np.ndarray
) -> pd.DataFrame:
    """The skipped-rows table (file, 1-based row, column, value as text, reason)."""
    return pd.DataFrame(
        {
            "file": pd.Series([file] * len(rows), dtype="str"),
            "row": np.asarray(rows).astype("int64"),
            "column": pd.Series(columns, dtype="str"),
            "value": pd.Series([None if pd.isna(v) else str(v) for v in values], dtype="str"),
            "reason": pd.Series(reasons, dtype="str"),
        }
    )


def skipped_problems(skipped: pd.DataFrame) -> list[Problem]:
    """One :class:`Problem` per skipped row, for readers run in strict mode."""
    return [
        Problem(
            file=r.file, line=int(r.row), field=r.column, message=f"{r.reason} (value {r.value!r})"
        )
        for r in skipped.itertuples(index=False)
    ]


@dataclass(frozen=True)
class RecordsRead:
    """Result of reading crime records: nothing is dropped without a row in ``skipped``.

    ``records`` is the canonical table (:data:`triplet.records.schema.RECORD_COLUMNS`);
    ``skipped`` has one row per skipped input row (``file, row, column, value, reason``);
    ``n_read`` counts data rows read from the input (``n_read == len(records) + len(skipped)``).
    """

    records: pd.DataFrame
    skipped: pd.DataFrame
    n_read: int
    files: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Kept rows sharing a published crime id with another row (police.uk repeats some).
    n_repeated_ids: int = 0

    @property
    def n_kept(self) -> int:
        """Rows kept in ``records``."""
        return len(self.records)

    @property
    def n_skipped(self) -> int:
        """Rows skipped (each listed in ``skipped``)."""
        return len(self.skipped)

    @property
    def n_no_location(self) -> int:
        """Kept rows with no LSOA code and no coordinates (police.uk publishes some)."""
        r = self.records
        if r.empty:
            return 0
        return int((r["lsoa_code"].isna() & (r["longitude"].isna() | r["latitude"].isna())).sum())

    @property
    def n_generated_ids(self) -> int:
        """Kept rows whose blank crime id was generated (police.uk anti-social behaviour)."""
        if self.records.empty:
            return 0
        return int(self.records["crime_id"].str.startswith("g_").sum())

    def summary(self) -> pd.DataFrame:
        """Counts: read, kept, generated ids, no location, and skipped rows by reason."""
        rows = [
            ("read", self.n_read),
            ("kept", self.n_kept),
            ("kept: crime id generated (blank in file)", self.n_generated_ids),
            ("kept: no location (no LSOA, no coordinates)", self.n_no_location),
            ("skipped", self.n_skipped),
        ]
        if self.n_repeated_ids:
            rows.append(
                (
                    "kept: crime id shared with another row (row key made unique)",
                    self.n_repeated_ids,
                )
            )
        if self.n_skipped:
            for reason, n in self.skipped["reason"].value_counts().sort_index().items():
                rows.append((f"skipped: {reason}", int(n)))
        return pd.DataFrame(rows, columns=["item", "rows"])

    def report(self, max_rows: int = 20) -> str:
        """A plain-text report: the counts, then the first ``max_rows`` skipped rows."""
        lines = [f"{item}: {n:,}" for item, n in self.summary().itertuples(index=False)]
        if self.n_skipped:
            lines.append("")
            lines.append("skipped rows (file:row: column: reason (value)):")
            for r in self.skipped.head(max_rows).itertuples(index=False):
                value = "blank" if pd.isna(r.value) else repr(r.value)
                lines.append(f"  {r.file}:{r.row}: {r.column}: {r.reason} (value {value})")
            if self.n_skipped > max_rows:
                lines.append(f"  ... and {self.n_skipped - max_rows:,} more")
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready counts and the skipped rows."""
        return jsonable(
            {
                "files": list(self.files),
                "n_read": int(self.n_read),
                "n_kept": self.n_kept,
                "n_skipped": self.n_skipped,
                "n_no_location": self.n_no_location,
                "n_generated_ids": self.n_generated_ids,
                "n_repeated_ids": int(self.n_repeated_ids),
                "skipped": [
                    {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                    for row in self.skipped.to_dict(orient="records")
                ],
                "notes": list(self.notes),
            }
        )

    def plot(self, ax=None):
        """Bar chart of records kept per month (and a note of rows skipped)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        if not self.records.empty:
            per_month = self.records.groupby("month").size().sort_index()
            ax.bar([str(m) for m in per_month.index], per_month.to_numpy(), color="#4C72B0")
            ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.set_ylabel("records")
        ax.set_title(f"{self.n_kept:,} records kept, {self.n_skipped:,} rows skipped")
        return ax
