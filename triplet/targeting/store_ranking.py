"""Ranking, concentration and unit x month aggregates over a records store, out of core.

The same results as :func:`triplet.targeting.rank_units` and
:func:`triplet.records.unit_month` on the in-memory table (tested), computed by one lazy
Polars group-by over the store's Parquet partitions: records are never all in memory, only the
counts per (unit, offence code, crime type) or per (unit, month, offence code, crime type).
Harm is then the count times the weight of each offence (days of imprisonment, Cambridge Crime
Harm Index; Sherman, Neyroud & Neyroud 2016), so memory is bounded by units x months x
categories, not by records. Lorenz curves and the Gini coefficient follow from the ranking
(:func:`triplet.targeting.concentration`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import polars as pl

from triplet.errors import InputError, Problem
from triplet.records.aggregate import as_months
from triplet.records.store import RecordStore
from triplet.targeting.harm import HarmIndex, harm_of, load_index
from triplet.targeting.ranking import UNIT_ALIASES, Ranking, _rank_table

__all__ = ["rank_store", "store_unit_month"]

_KEYS = ("offence_code", "crime_type")


def _store(store: str | Path | RecordStore) -> RecordStore:
    return store if isinstance(store, RecordStore) else RecordStore(store)


def _weights(
    combos: pd.DataFrame, harm: HarmIndex | str | Path | None, unmatched: str
) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Days and basis (0 code, 1 category, 2 non-crime, 3 unmatched) per distinct offence."""
    index = (
        load_index(harm if harm is not None else "cambridge")
        if not isinstance(harm, HarmIndex)
        else harm
    )
    scores = harm_of(combos[list(_KEYS)], index, unmatched="exclude")
    days = scores.days.to_numpy(dtype=float, na_value=np.nan)
    basis = scores.basis.cat.codes.to_numpy()
    if unmatched == "raise" and (basis == 3).any():
        miss = combos[basis == 3]
        problems = [
            Problem(
                file="<records store>",
                field="offence_code/crime_type",
                message=f"no {index.name} weight for offence_code={r.offence_code!r}, "
                f"crime_type={r.crime_type!r} ({int(r.n)} records); pass unmatched='exclude' "
                "to leave them out with a count, or add the weight in a custom index CSV",
            )
            for r in miss.itertuples(index=False)
        ]
        raise InputError(problems)
    return days, basis, index.unit, index.name


def rank_store(
    store: str | Path | RecordStore,
    *,
    unit: str,
    harm: HarmIndex | str | Path | None = None,
    units: Iterable | None = None,
    months: Iterable | None = None,
    unmatched: Literal["raise", "exclude"] = "raise",
    include_non_crime: bool = False,
) -> Ranking:
    """Rank the units of a store by harm and count, out of core (see :func:`rank_units`).

    ``unit`` is a column alias (``lsoa``, ``offender``, ``victim``, ``month``) or a records
    column. ``months`` limits the partitions read. The result equals
    ``rank_units(store.records(), unit=unit, harm=harm, ...)``.
    """
    st = _store(store)
    column, kind = UNIT_ALIASES.get(unit, (unit, "place"))
    if column in ("grid_cell", "hotspot", "hour_of_week"):
        raise InputError(
            Problem(
                file=str(st.root),
                field="unit",
                message=f"unit {unit!r} is not a stored column; rank it in memory",
            )
        )
    lf = st.scan([column, *_KEYS], months=months)
    # pass 1: records per distinct offence (and how many have no unit): a small table
    combos = (
        lf.group_by(list(_KEYS))
        .agg(pl.len().alias("n"), pl.col(column).is_null().sum().alias("n_no_unit"))
        .collect(engine="streaming")
    )
    frame = combos.with_columns(pl.col(c).cast(pl.String) for c in _KEYS).to_pandas()
    days, basis, harm_unit, index_name = _weights(frame, harm, unmatched)
    n = frame["n"].to_numpy(dtype=np.int64)
    n_records = int(n.sum())
    n_no_unit = int(frame["n_no_unit"].sum())
    n_unmatched = int(n[basis == 3].sum())
    n_non_crime = int(n[basis == 2].sum())
    use = basis != 3
    if not include_non_crime:
        use &= basis != 2
    weights = combos.select(_KEYS).with_columns(pl.Series("__days", days)).filter(pl.Series(use))
    # pass 2: count and harm per unit (memory: one row per unit)
    per_unit = (
        lf.filter(pl.col(column).is_not_null())
        .join(weights.lazy(), on=list(_KEYS), how="inner", nulls_equal=True)
        .group_by(column)
        .agg(pl.len().alias("count"), pl.col("__days").sum().alias("harm"))
        .with_columns(pl.col(column).cast(pl.String))
        .collect(engine="streaming")
    )
    labels = per_unit[column].to_pandas().astype("str")
    if column == "month":
        labels = pd.PeriodIndex(labels, freq="M")
    count = per_unit["count"].to_numpy().astype(np.int64)
    total = per_unit["harm"].to_numpy().astype(np.float64)
    labels = pd.Index(labels)
    if units is not None:
        extra = pd.Index(pd.unique(pd.Index(list(units))))
        if column == "month":
            extra = pd.PeriodIndex(extra.astype(str), freq="M") if len(extra) else extra
        missing = extra.difference(labels) if len(extra) else extra
        if len(missing):
            labels = labels.append(pd.Index(missing))
            count = np.concatenate([count, np.zeros(len(missing), dtype=np.int64)])
            total = np.concatenate([total, np.zeros(len(missing))])
    return Ranking(
        table=_rank_table(labels, total, count),
        unit_name=column,
        kind=kind,
        harm_unit=harm_unit,
        index_name=index_name,
        n_records=n_records,
        n_no_unit=n_no_unit,
        n_unmatched=n_unmatched,
        n_non_crime=n_non_crime,
    )


def store_unit_month(
    store: str | Path | RecordStore,
    *,
    unit: str,
    months: pd.PeriodIndex | Iterable | str,
    harm: HarmIndex | str | Path | None = None,
    crime_types: Sequence[str] | str = "all",
    units: Iterable | None = None,
    unmatched: Literal["raise", "exclude"] = "raise",
) -> pd.DataFrame:
    """The unit x month panel of a store, out of core (see :func:`triplet.records.unit_month`).

    Columns ``unit, month, count, harm`` with zeros for unit-months without crime; ``harm``
    is the index name (default none: harm 0) whose weights score each record. Equals
    ``unit_month(records, unit=..., months=..., harm=harm_of(records, harm).days, ...)``.
    ``unmatched="exclude"`` scores offences with no weight 0 days (they still count) and puts
    their number in ``.attrs["n_unmatched_harm"]``, as the trial panel does.
    """
    st = _store(store)
    column = UNIT_ALIASES.get(unit, (unit, "place"))[0]
    month_idx = as_months(months)
    lf = st.scan([column, "month", *_KEYS], months=month_idx)
    if not (isinstance(crime_types, str) and crime_types == "all"):
        types = [crime_types] if isinstance(crime_types, str) else list(crime_types)
        lf = lf.filter(pl.col("crime_type").is_in(pl.Series(types, dtype=pl.String).implode()))
    month_pos = {str(m): i for i, m in enumerate(month_idx.astype(str))}
    if harm is not None:
        combos = lf.select(_KEYS).unique().collect(engine="streaming")
        frame = combos.with_columns(pl.col(c).cast(pl.String) for c in _KEYS).to_pandas()
        days = _weights(frame.assign(n=0), harm, unmatched)[0] if len(frame) else np.zeros(0)
        unmatched_combos = combos.filter(pl.Series(np.isnan(days)))
        days = np.nan_to_num(days, nan=0.0)
        weights = combos.with_columns(pl.Series("__days", days, dtype=pl.Float64))
        n_unmatched = (
            lf.join(unmatched_combos.lazy(), on=list(_KEYS), how="semi", nulls_equal=True)
            .select(pl.len())
            .collect()
            .item()
            if unmatched_combos.height
            else 0
        )
        lf = lf.join(weights.lazy(), on=list(_KEYS), how="left", nulls_equal=True)
    else:
        lf = lf.with_columns(pl.lit(0.0).alias("__days"))
        n_unmatched = 0
    counts = (
        lf.group_by([column, "month"])
        .agg(pl.len().alias("n"), pl.col("__days").sum().alias("harm"))
        .with_columns(
            pl.col("month")
            .cast(pl.String)
            .replace_strict(month_pos, default=-1, return_dtype=pl.Int64)
            .alias("__m"),
            pl.col(column).cast(pl.String),
        )
        .collect(engine="streaming")
    ).to_pandas()
    n_without_unit = int(counts.loc[counts[column].isna(), "n"].sum())
    counts = counts[counts[column].notna()]
    if units is None:
        unit_index = pd.Index(np.sort(counts[column].astype("str").unique()), dtype="str")
    else:
        unit_index = pd.Index([str(u) for u in units], dtype="str")
        if unit_index.has_duplicates:
            raise InputError("units: the same unit is listed twice")
    u_pos = unit_index.get_indexer(counts[column].astype("str"))
    m_pos = counts["__m"].to_numpy(dtype=np.int64)
    ok = (u_pos >= 0) & (m_pos >= 0)
    n_u, n_m = len(unit_index), len(month_idx)
    cell = u_pos[ok].astype(np.int64) * n_m + m_pos[ok]
    n = counts["n"].to_numpy(dtype=np.int64)[ok]
    count = np.bincount(cell, weights=n, minlength=n_u * n_m).astype(np.int64)
    harm_sum = np.bincount(
        cell, weights=counts["harm"].to_numpy(dtype=float)[ok], minlength=n_u * n_m
    )
    m_ord = np.asarray(month_idx.asi8)
    out = pd.DataFrame(
        {
            "unit": pd.Series(np.repeat(unit_index.to_numpy(), n_m), dtype="str"),
            "month": pd.PeriodIndex.from_ordinals(np.tile(m_ord, n_u), freq="M"),
            "count": count,
            "harm": harm_sum,
        }
    )
    out.attrs["n_records"] = int(n.sum())
    out.attrs["n_without_unit"] = n_without_unit
    if unmatched == "exclude":
        out.attrs["n_unmatched_harm"] = int(n_unmatched)
    return out
