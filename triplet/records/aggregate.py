"""The unit x month aggregate: crime counts and harm per unit and calendar month, zeros included.

Most analyses of place-based and person-based trials work on this balanced panel (Sherman et
al. 2014, hot-spot trials; Braga et al. 2019). Unit-months with no crime are rows with count 0
and harm 0, never missing rows, so averages and models see the quiet months too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from triplet.errors import InputError

__all__ = ["as_months", "unit_month"]


def as_months(months: pd.PeriodIndex | Iterable | str) -> pd.PeriodIndex:
    """Coerce months (``PeriodIndex``, ``Period`` s, ``YYYY-MM`` strings) to a monthly PeriodIndex."""
    if isinstance(months, str):
        months = [months]
    idx = pd.PeriodIndex(
        list(months) if not isinstance(months, pd.PeriodIndex) else months, freq="M"
    )
    if idx.has_duplicates:
        raise InputError("months: the same month is listed twice")
    return idx


def unit_month(
    records: pd.DataFrame,
    *,
    unit: str,
    months: pd.PeriodIndex | Iterable | str,
    harm: pd.Series | None = None,
    crime_types: Sequence[str] | str = "all",
    units: Iterable | None = None,
) -> pd.DataFrame:
    """Count crimes and sum harm per unit and month, with zeros for unit-months without crime.

    Parameters
    ----------
    records : the canonical records table (``month`` as ``Period[M]``).
    unit : column of ``records`` holding the unit id (e.g. ``lsoa_code``, ``suspect_id``).
    months : the months of the panel; records in other months are left out.
    harm : harm per record in days of imprisonment (a Series aligned to ``records``' index, e.g.
        ``harm_of(records, index).days``); ``None`` gives harm 0.
    crime_types : ``"all"`` or a list of data.police.uk categories to keep.
    units : the units of the panel, in this order; records of other units are left out. If
        ``None``, every unit seen in the kept records (sorted).

    Returns a DataFrame with columns ``unit`` (str), ``month`` (Period[M]), ``count`` (int64),
    ``harm`` (float64, days): ``len(units) * len(months)`` rows, units outer, months inner.
    ``.attrs["n_records"]`` counts records used; ``.attrs["n_without_unit"]`` counts records of
    the chosen months and crime types left out because their unit is blank.
    """
    if unit not in records.columns:
        raise InputError(f"records have no column {unit!r} (the unit id column)", file="records")
    if "month" not in records.columns:
        raise InputError("records have no column 'month'", file="records")
    month_idx = as_months(months)
    month_col = records["month"]
    if not isinstance(month_col.dtype, pd.PeriodDtype):
        month_col = pd.PeriodIndex(month_col.astype("str"), freq="M")
        month_ord = np.asarray(month_col.asi8)
    else:
        month_ord = month_col.array.asi8
    if harm is None:
        harm_values = np.zeros(len(records))
    else:
        if len(harm) != len(records):
            raise InputError(f"harm has {len(harm)} values for {len(records)} records")
        if isinstance(harm, pd.Series) and not harm.index.equals(records.index):
            harm = harm.reindex(records.index)
        harm_values = np.asarray(harm, dtype="float64")
        if np.isnan(harm_values).any():
            raise InputError("harm has missing values; score every record (or pass 0 explicitly)")

    keep = np.ones(len(records), dtype=bool)
    if not (isinstance(crime_types, str) and crime_types == "all"):
        if isinstance(crime_types, str):
            crime_types = [crime_types]
        keep &= records["crime_type"].isin(list(crime_types)).to_numpy()

    # month position via ordinals: the panel months need not be contiguous
    m_ord = np.asarray(month_idx.asi8)
    order = np.argsort(m_ord)
    pos = np.searchsorted(m_ord[order], month_ord)
    pos = np.clip(pos, 0, len(m_ord) - 1)
    in_months = (m_ord[order][pos] == month_ord) & (month_ord != np.iinfo(np.int64).min)
    m_pos = order[pos]
    keep &= in_months

    unit_values = records[unit]
    no_unit = unit_values.isna().to_numpy()
    n_without_unit = int((keep & no_unit).sum())
    keep &= ~no_unit
    # factorise once, then map the few distinct ids to panel positions
    codes, uniques = pd.factorize(unit_values, use_na_sentinel=True)
    uniques = pd.Index(uniques).astype("str")
    if units is None:
        present = np.bincount(codes[keep] + 1, minlength=len(uniques) + 1)[1:] > 0
        unit_index = pd.Index(np.sort(uniques[present].to_numpy()), dtype="str")
    else:
        unit_index = pd.Index([str(u) for u in units], dtype="str")
        if unit_index.has_duplicates:
            raise InputError("units: the same unit is listed twice")
    to_panel = np.append(unit_index.get_indexer(uniques), -1)  # code -1 (blank) -> -1
    u_pos = to_panel[codes]
    keep &= u_pos >= 0

    n_u, n_m = len(unit_index), len(month_idx)
    cell = u_pos[keep].astype(np.int64) * n_m + m_pos[keep]
    counts = np.bincount(cell, minlength=n_u * n_m).astype(np.int64)
    harms = np.bincount(cell, weights=harm_values[keep], minlength=n_u * n_m)
    out = pd.DataFrame(
        {
            "unit": pd.Series(np.repeat(unit_index.to_numpy(), n_m), dtype="str"),
            "month": pd.PeriodIndex.from_ordinals(np.tile(m_ord, n_u), freq="M"),
            "count": counts,
            "harm": harms,
        }
    )
    out.attrs["n_records"] = int(keep.sum())
    out.attrs["n_without_unit"] = n_without_unit
    return out
