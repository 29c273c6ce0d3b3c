"""Crime harm indices: weights per offence in days of imprisonment, and harm per crime record.

The Cambridge Crime Harm Index (CCHI) weighs each crime by the days of imprisonment that the
Sentencing Council for England and Wales sets as the starting point for a first offender
(Sherman, Neyroud & Neyroud 2016, *Policing* 10(3), 171-183). Each row of the shipped table
says whether its weight is *verified* against a copy of the published CCHI values or *derived*
by us from the Sentencing Council starting point (community orders low/medium/high = 8/15/30
days; fines by band, an approximation the official CCHI computes differently, as days of
minimum-wage work): see ``data/README.md``. A partnership holding the official CCHI sheet
should load it with ``load_index(path)``. The ONS Crime Severity Score (ONS 2016) is shipped for
the offences whose weights we could cite.

Weights are matched by Home Office offence code first and by data.police.uk category second.
A record with neither is *unmatched*: it is reported (``HarmScores.unmatched``), never scored 0
silently; the caller chooses to raise (the default) or to exclude it with a count.
Anti-social behaviour is not a crime and has no CCHI weight: it is scored 0 days and flagged
``non_crime`` (counted in ``HarmScores.n_non_crime``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable
from triplet.records.schema import POLICE_UK_CRIME_TYPES

__all__ = [
    "NON_CRIME_CATEGORIES",
    "POLICE_UK_CATEGORIES",
    "HarmIndex",
    "HarmScores",
    "category_weights",
    "harm_of",
    "load_index",
]

#: The 14 data.police.uk street-level crime categories (defined with the records schema).
POLICE_UK_CATEGORIES: tuple[str, ...] = POLICE_UK_CRIME_TYPES

#: Categories that are incidents, not notifiable crimes: scored 0 and flagged, never unmatched.
NON_CRIME_CATEGORIES: frozenset[str] = frozenset({"Anti-social behaviour"})

IndexName = Literal["cambridge", "ons_css"]

_DATA = "triplet.targeting.data"


@dataclass(frozen=True)
class HarmIndex:
    """A harm index: a weight per offence code and per police.uk category.

    ``by_code`` and ``by_category`` map to weights in ``unit`` (``"days"`` of imprisonment for
    the CCHI; ``"points"`` for the ONS CSS). ``non_crime`` categories score 0 and are flagged.
    """

    name: str
    unit: str
    by_code: pd.Series
    by_category: pd.Series
    non_crime: frozenset[str] = field(default_factory=lambda: NON_CRIME_CATEGORIES)
    source: str = ""

    def summary(self) -> pd.DataFrame:
        """The weights as a tidy table: level (code/category), key, weight."""
        codes = pd.DataFrame(
            {"level": "offence_code", "key": self.by_code.index, "weight": self.by_code.to_numpy()}
        )
        cats = pd.DataFrame(
            {
                "level": "crime_type",
                "key": self.by_category.index,
                "weight": self.by_category.to_numpy(),
            }
        )
        return pd.concat([codes, cats], ignore_index=True)

    def to_dict(self) -> dict:
        """JSON-ready description of the index."""
        return {
            "name": self.name,
            "unit": self.unit,
            "source": self.source,
            "by_code": {str(k): float(v) for k, v in self.by_code.items()},
            "by_category": {str(k): float(v) for k, v in self.by_category.items()},
            "non_crime": sorted(self.non_crime),
        }


@dataclass(frozen=True)
class HarmScores:
    """Harm of each crime record under one index.

    ``days`` is aligned to the records (NaN where unmatched and excluded); ``basis`` says how
    each weight was found (``offence_code``, ``crime_type``, ``non_crime``, ``unmatched``);
    ``unmatched`` lists offences with no weight: ``offence_code, crime_type, count``.
    """

    days: pd.Series
    basis: pd.Series
    unmatched: pd.DataFrame
    index_name: str
    unit: str

    @property
    def n_unmatched(self) -> int:
        """Records with no weight (excluded from harm totals)."""
        return int(self.unmatched["count"].sum()) if len(self.unmatched) else 0

    @property
    def n_non_crime(self) -> int:
        """Records in non-crime categories (anti-social behaviour), scored 0."""
        return int((self.basis == "non_crime").sum())

    @property
    def total(self) -> float:
        """Total harm of the matched records (in ``unit``)."""
        return float(np.nansum(self.days.to_numpy()))

    def summary(self) -> pd.DataFrame:
        """Records and harm by how the weight was found."""
        frame = pd.DataFrame({"basis": self.basis.to_numpy(), "days": self.days.to_numpy()})
        grouped = frame.groupby("basis", observed=True)["days"]
        out = pd.DataFrame({"records": grouped.size(), "harm": grouped.sum(min_count=1)})
        return out.reset_index()

    def to_dict(self) -> dict:
        """JSON-ready totals and the unmatched offences."""
        return jsonable(
            {
                "index": self.index_name,
                "unit": self.unit,
                "total": self.total,
                "n_records": len(self.days),
                "n_unmatched": self.n_unmatched,
                "n_non_crime": self.n_non_crime,
                "unmatched": self.unmatched.to_dict(orient="records"),
            }
        )

    def plot(self, ax=None):
        """Bar chart of harm by basis (how each record's weight was found)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        s = self.summary()
        ax.barh(s["basis"].astype(str), s["harm"])
        ax.set_xlabel(f"harm ({self.unit})")
        ax.set_title(f"Harm by weight basis ({self.index_name})")
        return ax


def _read_packaged(name: str) -> pd.DataFrame:
    with resources.files(_DATA).joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"offence_code": "str"}, keep_default_na=True)


def category_weights(
    offences: pd.DataFrame, *, weight: str = "days", share: str = "volume_share"
) -> pd.Series:
    """Category-level weight: the volume-weighted mean of the offence weights in each category.

    ``offences`` has ``police_uk_category``, ``weight`` and ``share`` (the approximate national
    share of each offence within its category). An approximation: a place's own offence mix
    may differ from the national one (see docs/harm-indices.md).
    """
    w = offences[share].astype(float)
    num = (offences[weight].astype(float) * w).groupby(offences["police_uk_category"]).sum()
    den = w.groupby(offences["police_uk_category"]).sum()
    return (num / den).rename("weight")


def _load_cambridge() -> HarmIndex:
    codes = _read_packaged("cambridge_crime_harm_index.csv")
    cats = _read_packaged("police_uk_category_weights.csv")
    by_cat = cats.dropna(subset=["cambridge_days"]).set_index("crime_type")["cambridge_days"]
    return HarmIndex(
        name="cambridge",
        unit="days",
        by_code=codes.set_index("offence_code")["days"].astype(float),
        by_category=by_cat.astype(float),
        source="Sherman, Neyroud & Neyroud (2016) Policing 10(3); Sentencing Council guidelines",
    )


def _load_ons_css() -> HarmIndex:
    codes = _read_packaged("ons_crime_severity_score.csv")
    cats = _read_packaged("police_uk_category_weights.csv")
    by_cat = cats.dropna(subset=["ons_css"]).set_index("crime_type")["ons_css"]
    return HarmIndex(
        name="ons_css",
        unit="points",
        by_code=codes.set_index("offence_code")["weight"].astype(float),
        by_category=by_cat.astype(float),
        source="ONS (2016) Crime Severity Score (experimental statistics)",
    )


def _load_custom(path: Path) -> HarmIndex:
    """A custom CSV: ``offence_code`` and/or ``crime_type`` and a ``days`` (or ``weight``) column."""
    if not path.exists():
        raise InputError(Problem(file=str(path), message="harm index file not found"))
    try:
        table = pd.read_csv(path, dtype={"offence_code": "str", "crime_type": "str"})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(Problem(file=str(path), message=f"cannot read CSV: {exc}")) from exc
    weight_col = (
        "days" if "days" in table.columns else "weight" if "weight" in table.columns else None
    )
    problems: list[Problem] = []
    if weight_col is None:
        problems.append(
            Problem(
                file=str(path), line=1, field="days", message="needs a 'days' (or 'weight') column"
            )
        )
    if "offence_code" not in table.columns and "crime_type" not in table.columns:
        problems.append(
            Problem(
                file=str(path),
                line=1,
                field="offence_code",
                message="needs an 'offence_code' or a 'crime_type' column",
            )
        )
    if problems:
        raise InputError(problems)
    values = pd.to_numeric(table[weight_col], errors="coerce")
    for i in np.flatnonzero(values.isna().to_numpy() | (values < 0).to_numpy()):
        problems.append(
            Problem(
                file=str(path),
                line=int(i) + 2,
                field=weight_col,
                message=f"weight must be a number >= 0, got {table[weight_col].iloc[i]!r}",
            )
        )
    if problems:
        raise InputError(problems)
    table = table.assign(**{weight_col: values})
    by_code = pd.Series(dtype=float)
    by_cat = pd.Series(dtype=float)
    if "offence_code" in table.columns:
        rows = table.dropna(subset=["offence_code"])
        by_code = rows.set_index(rows["offence_code"].str.strip())[weight_col].astype(float)
    if "crime_type" in table.columns:
        rows = table.dropna(subset=["crime_type"])
        if "offence_code" in table.columns:
            rows = rows[rows["offence_code"].isna()]
        by_cat = rows.set_index(rows["crime_type"].str.strip())[weight_col].astype(float)
    for name, s in (("offence_code", by_code), ("crime_type", by_cat)):
        dup = s.index[s.index.duplicated()]
        if len(dup):
            raise InputError(
                Problem(
                    file=str(path), field=name, message=f"duplicate keys: {sorted(set(dup))[:5]}"
                )
            )
    return HarmIndex(
        name=path.stem,
        unit="days" if weight_col == "days" else "points",
        by_code=by_code,
        by_category=by_cat,
        source=str(path),
    )


def load_index(name: str | Path = "cambridge") -> HarmIndex:
    """Load a harm index: ``"cambridge"`` (CCHI, days), ``"ons_css"`` (points) or a CSV path.

    A custom CSV has ``offence_code`` and/or ``crime_type`` rows and a ``days`` (or ``weight``)
    column; rows with a code are matched by code, rows with only a category by category.
    """
    if isinstance(name, str) and name == "cambridge":
        return _load_cambridge()
    if isinstance(name, str) and name == "ons_css":
        return _load_ons_css()
    path = Path(name)
    if path.suffix.lower() != ".csv":
        raise InputError(
            Problem(
                file=str(name),
                field="index",
                message="unknown harm index; use 'cambridge', 'ons_css' or a path to a .csv",
            )
        )
    return _load_custom(path)


def harm_of(
    records: pd.DataFrame,
    index: HarmIndex | str = "cambridge",
    *,
    unmatched: Literal["raise", "exclude"] = "raise",
) -> HarmScores:
    """Harm of each record (days of imprisonment for the CCHI): offence code first, then category.

    ``unmatched="raise"`` raises :class:`InputError` listing every offence with no weight and
    how many records it has; ``"exclude"`` leaves their harm NaN and reports them in
    ``HarmScores.unmatched`` (callers count them; totals skip them). Sherman et al. (2016).
    """
    if isinstance(index, str | Path):
        index = load_index(index)
    if "crime_type" not in records.columns and "offence_code" not in records.columns:
        raise InputError(
            Problem(
                file="<records>",
                field="crime_type",
                message="records need a 'crime_type' or 'offence_code' column",
            )
        )
    n = len(records)
    days = np.full(n, np.nan)
    # basis codes: 0 offence_code, 1 crime_type, 2 non_crime, 3 unmatched
    basis = np.full(n, 3, dtype=np.int8)

    if "offence_code" in records.columns and len(index.by_code):
        w = _lookup(records["offence_code"], index.by_code)
        hit = ~np.isnan(w)
        days[hit] = w[hit]
        basis[hit] = 0
    if "crime_type" in records.columns:
        todo = basis == 3
        non_crime_map = pd.Series(0.0, index=sorted(index.non_crime))
        non_crime = ~np.isnan(_lookup(records["crime_type"], non_crime_map)) & todo
        days[non_crime] = 0.0
        basis[non_crime] = 2
        todo &= ~non_crime
        if len(index.by_category):
            w = _lookup(records["crime_type"], index.by_category)
            hit = todo & ~np.isnan(w)
            days[hit] = w[hit]
            basis[hit] = 1

    miss = basis == 3
    if miss.any():
        cols = [c for c in ("offence_code", "crime_type") if c in records.columns]
        table = (
            records.loc[miss, cols]
            .astype("str")
            .fillna("")
            .value_counts(dropna=False)
            .rename("count")
            .reset_index()
        )
        table = table.sort_values(["count", *cols], ascending=[False] + [True] * len(cols))
        table = table.reset_index(drop=True)
    else:
        table = pd.DataFrame(
            {
                "offence_code": pd.Series(dtype="str"),
                "crime_type": pd.Series(dtype="str"),
                "count": pd.Series(dtype="int64"),
            }
        )
    if miss.any() and unmatched == "raise":
        cols = [c for c in table.columns if c != "count"]
        keys = records[cols].astype("str").fillna("")
        problems = [
            Problem(
                file="<records>",
                field="offence_code/crime_type",
                message=(
                    f"no {index.name} weight for "
                    + ", ".join(f"{c}={r[c]!r}" for c in table.columns if c != "count")
                    + f" ({r['count']} records; first at row "
                    + f"{_first_row(keys, miss, r, cols)})"
                    + "; pass unmatched='exclude' (CLI: --unmatched exclude) to leave them "
                    "out with a count, or add the weight in a custom index CSV"
                ),
            )
            for _, r in table.head(20).iterrows()
        ]
        if len(table) > 20:
            problems.append(
                Problem(
                    file="<records>",
                    field="offence_code/crime_type",
                    message=f"... and {len(table) - 20} more offences with no {index.name} weight",
                )
            )
        raise InputError(problems)
    return HarmScores(
        days=pd.Series(days, index=records.index, name="harm"),
        basis=pd.Series(
            pd.Categorical.from_codes(
                basis, categories=["offence_code", "crime_type", "non_crime", "unmatched"]
            ),
            index=records.index,
            name="basis",
        ),
        unmatched=table,
        index_name=index.name,
        unit=index.unit,
    )


def _lookup(keys: pd.Series, weights: pd.Series) -> np.ndarray:
    """Weight of each key (NaN if none): factorize once, look up the distinct keys only."""
    codes, uniques = pd.factorize(keys, sort=False)
    stripped = pd.Index(uniques).astype("str").str.strip()
    w = pd.Series(stripped).map(weights).to_numpy(dtype=float, na_value=np.nan)
    out = np.append(w, np.nan)[codes]  # code -1 (missing key) -> NaN
    return out


def _first_row(keys: pd.DataFrame, miss: np.ndarray, row: pd.Series, cols: list[str]) -> int:
    """1-based position of the first unmatched record with this key (for error messages)."""
    hit = miss.copy()
    for c in cols:
        hit &= (keys[c] == row[c]).to_numpy()
    return int(np.flatnonzero(hit)[0]) + 1


def _build_category_table() -> pd.DataFrame:
    """Rebuild ``police_uk_category_weights.csv`` from the offence table (used by tests)."""
    codes = _read_packaged("cambridge_crime_harm_index.csv")
    cchi = category_weights(codes)
    rows = []
    for cat in POLICE_UK_CATEGORIES:
        if cat in NON_CRIME_CATEGORIES:
            rows.append(
                (
                    cat,
                    0.0,
                    np.nan,
                    "non-crime: anti-social behaviour is not a notifiable crime and has no "
                    "sentencing starting point; scored 0 days and flagged non_crime",
                )
            )
        elif cat == "Other crime":
            rows.append(
                (
                    cat,
                    5.0,
                    np.nan,
                    "convention: a miscellany of offences with no single guideline; "
                    "scored as a Band B fine (5 working days). Approximation",
                )
            )
        else:
            members = codes.loc[codes["police_uk_category"] == cat, "offence_code"].tolist()
            rows.append(
                (
                    cat,
                    round(float(cchi[cat]), 2),
                    np.nan,
                    "volume-weighted mean of CCHI days over offences "
                    + "; ".join(members)
                    + " using approximate national shares (volume_share). Approximation",
                )
            )
    return pd.DataFrame(rows, columns=["crime_type", "cambridge_days", "ons_css", "derivation"])
