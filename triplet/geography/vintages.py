"""LSOA vintages: map 2011 LSOA codes to 2021 (or back) with an ONS lookup file.

data.police.uk has published LSOA 2011 codes (to 2022) and LSOA 2021 codes (since). ONS
publishes the "LSOA (2011) to LSOA (2021) to Local Authority District (2022)" lookup for England
and Wales with columns ``LSOA11CD, LSOA21CD`` and a change indicator ``CHGIND``: ``U``
unchanged, ``S`` split (one 2011 area became several 2021 areas), ``M`` merged (several became
one), ``X`` redesigned. :func:`read_lsoa_lookup` reads that file (CSV; other column names can
be given) and :func:`convert_lsoa_codes` maps codes. A code with one target is mapped; a code
with several targets (a split) cannot be mapped from the code alone: it is left NA and reported
as ``split`` (or, with ``ambiguous="first"``, given the first target), and a record with
coordinates is better re-joined to the new polygons (:func:`triplet.geography.join_points`).
Codes missing from the lookup are reported as ``unmatched``; nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = ["LsoaLookup", "VintageMap", "convert_lsoa_codes", "read_lsoa_lookup"]

VINTAGE_STATUSES = ("mapped", "split", "unmatched", "missing")


@dataclass(frozen=True)
class LsoaLookup:
    """Pairs of codes ``LSOA11CD, LSOA21CD`` (and ``CHGIND`` when the file has it)."""

    table: pd.DataFrame
    path: str

    def summary(self) -> pd.DataFrame:
        """Pairs by change indicator."""
        if "CHGIND" in self.table.columns:
            return self.table["CHGIND"].value_counts().rename_axis("change").reset_index()
        return pd.DataFrame({"change": ["all"], "count": [len(self.table)]})


def read_lsoa_lookup(
    path: str | Path,
    *,
    code_2011: str = "LSOA11CD",
    code_2021: str = "LSOA21CD",
) -> LsoaLookup:
    """Read an ONS LSOA 2011 <-> 2021 lookup (CSV, or Parquet) into :class:`LsoaLookup`."""
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError(Problem(file=file, message="lookup file not found"))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype="str", encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(Problem(file=file, message=f"cannot read lookup: {exc}")) from exc
    upper = {str(c).upper(): c for c in frame.columns}
    cols = {}
    for want in (code_2011, code_2021):
        col = upper.get(want.upper())
        if col is None:
            raise InputError(
                Problem(
                    file=file,
                    field=want,
                    message="lookup column missing; columns: " + ", ".join(map(str, frame.columns)),
                )
            )
        cols[col] = want.upper()
    if "CHGIND" in upper:
        cols[upper["CHGIND"]] = "CHGIND"
    table = frame[list(cols)].rename(columns=cols).astype("str")
    table = table.rename(columns={code_2011.upper(): "LSOA11CD", code_2021.upper(): "LSOA21CD"})
    for c in ("LSOA11CD", "LSOA21CD"):
        table[c] = table[c].str.strip()
    bad = table["LSOA11CD"].isna() | table["LSOA21CD"].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # header is line 1
        raise InputError(Problem(file=file, line=row, message="a lookup row lacks a code"))
    return LsoaLookup(table=table.drop_duplicates(ignore_index=True), path=file)


@dataclass(frozen=True)
class VintageMap:
    """Codes mapped from one LSOA vintage to the other.

    ``codes``: the new code per input row (NA when split, unmatched or missing), aligned to the
    input. ``status``: ``mapped``, ``split``, ``unmatched`` (not in the lookup) or ``missing``
    (no code). ``problems``: one row per distinct unmapped code: ``code, status, n_rows,
    targets``.
    """

    codes: pd.Series
    status: pd.Series
    problems: pd.DataFrame
    source_vintage: int
    target_vintage: int

    def summary(self) -> pd.DataFrame:
        """Rows by status: ``status, n, share``."""
        n = self.status.value_counts().reindex(VINTAGE_STATUSES, fill_value=0)
        total = max(len(self.status), 1)
        return pd.DataFrame(
            {"status": list(VINTAGE_STATUSES), "n": n.to_numpy(), "share": n.to_numpy() / total}
        )

    def report(self) -> str:
        s = self.summary().set_index("status")["n"]
        parts = [
            f"{s['mapped']:,} of {len(self.status):,} rows mapped from LSOA "
            f"{self.source_vintage} to {self.target_vintage} codes"
        ]
        if s["split"]:
            parts.append(f"{s['split']:,} rows have a split code (several targets; left NA)")
        if s["unmatched"]:
            codes = self.problems.loc[self.problems["status"] == "unmatched", "code"].tolist()
            parts.append(f"{s['unmatched']:,} rows have codes not in the lookup: {codes[:5]}")
        if s["missing"]:
            parts.append(f"{s['missing']:,} rows have no code")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict:
        return jsonable(
            {
                "source_vintage": self.source_vintage,
                "target_vintage": self.target_vintage,
                "counts": {r.status: int(r.n) for r in self.summary().itertuples(index=False)},
                "unmapped_codes": self.problems.to_dict(orient="records"),
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        s = self.summary()
        ax.barh(s["status"], s["n"], color="#009E73")
        ax.invert_yaxis()
        ax.set_xlabel("rows")
        ax.set_title(f"LSOA {self.source_vintage} -> {self.target_vintage}")
        return ax


def convert_lsoa_codes(
    codes: pd.Series,
    lookup: LsoaLookup,
    *,
    to: Literal[2011, 2021] = 2021,
    ambiguous: Literal["na", "first"] = "na",
) -> VintageMap:
    """Map ``codes`` (a Series of LSOA codes) to the ``to`` vintage; see the module docstring.

    ``ambiguous="first"`` gives a split code its first target in lookup order (reported either
    way). The input is not modified.
    """
    if to not in (2011, 2021):
        raise InputError(Problem(file=lookup.path, field="to", message="use 2011 or 2021"))
    if ambiguous not in ("na", "first"):
        raise InputError(Problem(file=lookup.path, field="ambiguous", message="na or first"))
    src, dst = ("LSOA11CD", "LSOA21CD") if to == 2021 else ("LSOA21CD", "LSOA11CD")
    targets = lookup.table.groupby(src, sort=False)[dst].agg(list)
    values = codes.astype("str").str.strip()
    missing = values.isna() | (values == "")
    uniq = pd.unique(values[~missing])
    mapped: dict[str, str | None] = {}
    state: dict[str, str] = {}
    for c in uniq:
        t = targets.get(c)
        if t is None:
            mapped[c], state[c] = None, "unmatched"
        elif len(t) == 1:
            mapped[c], state[c] = t[0], "mapped"
        else:
            mapped[c], state[c] = (t[0] if ambiguous == "first" else None), "split"
    new = values.map(mapped).astype("str")
    new = new.where(~missing)
    status = values.map(state).astype("str")
    status = status.where(~missing, "missing")
    rows = []
    for c in uniq:
        if state[c] != "mapped":
            t = targets.get(c)
            rows.append((c, state[c], int((values == c).sum()), ";".join(t) if t else ""))
    problems = pd.DataFrame(rows, columns=["code", "status", "n_rows", "targets"])
    return VintageMap(
        codes=new.rename(f"lsoa{str(to)[2:]}_code"),
        status=status.rename("status"),
        problems=problems,
        source_vintage=2011 if to == 2021 else 2021,
        target_vintage=to,
    )
