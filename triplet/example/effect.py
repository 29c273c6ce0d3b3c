"""Inject a known treatment effect into crime records by thinning (SYNTHETIC data only).

Each record of a treated unit in a treatment month is kept independently with probability
``rate_ratio``. If the untreated counts are Poisson with mean mu, the thinned counts are
Poisson with mean ``rate_ratio * mu`` (thinning theorem; Kingman 1993, Poisson Processes, 5.1),
so the true effect is known exactly: a rate ratio, or a proportional change of
``rate_ratio - 1``. Because thinning is independent of offence type, harm falls by the same
expected proportion. Estimators are checked by recovering it (simulation-based calibration of
an evaluation design; Blair, Cooper, Coppock & Humphreys 2019, DeclareDesign).

Optional displacement: a share of the removed crimes is moved to the neighbouring units of the
treated unit (same month), the spatial displacement that hot-spot evaluations check for
(Weisburd et al. 2006; Bowers et al. 2011).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from numpy.random import PCG64, Generator

from triplet.errors import InputError

__all__ = ["inject_effect", "inject_place_day_effect"]


def inject_effect(
    records: pd.DataFrame,
    *,
    unit_column: str,
    treated_units: Iterable,
    months: Iterable,
    rate_ratio: float,
    seed: int,
    displacement: float = 0.0,
    neighbours: Mapping[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """Thin the records of treated unit-months so their expected count is ``rate_ratio`` times.

    Parameters
    ----------
    records : canonical records (``month`` as ``Period[M]``).
    unit_column : column holding the unit id (``lsoa_code``, ``suspect_id`` ...).
    treated_units : ids of the treated units.
    months : the treatment months (``Period`` s or ``YYYY-MM``).
    rate_ratio : in (0, 1]: probability each treated record is kept (0.8 = a 20% fall).
    seed : seed of the PCG64 generator; the same inputs and seed give the same output.
    displacement : share (0-1) of removed crimes moved to a neighbour of their unit, chosen at
        random among ``neighbours[unit]`` (needs ``neighbours``; place units only). A moved
        record keeps its id with ``-d`` appended, its month and offence, and takes the
        neighbour's unit id (LSOA name and coordinates are cleared).

    Returns a new DataFrame (index reset). ``.attrs["n_removed"]`` and ``.attrs["n_displaced"]``
    count the records removed and moved.
    """
    if not 0 < rate_ratio <= 1:
        raise InputError(f"rate_ratio must be in (0, 1] for thinning; got {rate_ratio}")
    if not 0 <= displacement <= 1:
        raise InputError(f"displacement must be a share in [0, 1]; got {displacement}")
    if displacement > 0 and neighbours is None:
        raise InputError("displacement needs the neighbours of each unit")
    if unit_column not in records.columns:
        raise InputError(f"records have no column {unit_column!r}", file="records")
    treated = {str(u) for u in treated_units}
    month_idx = pd.PeriodIndex([pd.Period(m, freq="M") for m in months], freq="M")
    unit_text = records[unit_column].astype("str")
    in_treated = (unit_text.isin(treated) & records[unit_column].notna()).to_numpy()
    in_months = records["month"].isin(month_idx).to_numpy()
    target = in_treated & in_months
    rng = Generator(PCG64(seed))
    draws = rng.random(len(records))
    remove = target & (draws >= rate_ratio)
    out = records.loc[~remove]
    n_displaced = 0
    if displacement > 0 and remove.any():
        removed = records.loc[remove]
        move = rng.random(len(removed)) < displacement
        moved = removed.loc[move].copy()
        new_units = []
        keep_rows = []
        for i, u in enumerate(moved[unit_column].astype("str")):
            options = [n for n in (neighbours.get(u) or []) if n]
            if options:
                new_units.append(options[int(rng.integers(len(options)))])
                keep_rows.append(i)
        moved = moved.iloc[keep_rows].copy()
        if len(moved):
            moved[unit_column] = pd.Series(new_units, index=moved.index, dtype="str")
            moved["crime_id"] = moved["crime_id"].astype("str") + "-d"
            for col in ("lsoa_name", "location"):
                if col in moved.columns and col != unit_column:
                    moved[col] = pd.Series(np.nan, index=moved.index, dtype="str")
            for col in ("longitude", "latitude"):
                if col in moved.columns and col != unit_column:
                    moved[col] = np.nan
            out = pd.concat([out, moved])
            n_displaced = len(moved)
    out = out.reset_index(drop=True)
    out.attrs["n_removed"] = int(remove.sum())
    out.attrs["n_displaced"] = n_displaced
    return out


def inject_place_day_effect(
    records: pd.DataFrame,
    *,
    unit_column: str,
    schedule: pd.DataFrame,
    rate_ratio: float,
    seed: int,
    shifts=(),
) -> pd.DataFrame:
    """Thin the records of the treated place-days of a place-day ``schedule`` (``unit, day
    [, shift], treated``) so their expected count is ``rate_ratio`` times (thinning, as
    :func:`inject_effect`). A record's day (and shift) is that of its ``date``
    (:func:`triplet.testing.crossover.slot_of`); records without a date are never thinned.
    ``.attrs["n_removed"]`` counts the records removed."""
    from triplet.testing.crossover import slot_of

    if not 0 < rate_ratio <= 1:
        raise InputError(f"rate_ratio must be in (0, 1] for thinning; got {rate_ratio}")
    for col in (unit_column, "date"):
        if col not in records.columns:
            raise InputError(f"records have no column {col!r}", file="records")
    keys = ["unit", "day", *(["shift"] if shifts else [])]
    treated = schedule.loc[schedule["treated"].astype(bool), keys].astype(str)
    day, shift = slot_of(records["date"], shifts)
    slots = pd.DataFrame({"unit": records[unit_column].astype("str").to_numpy(), "day": day})
    if shifts:
        slots["shift"] = shift.to_numpy()
    hit = slots.merge(treated.assign(_t=True), on=keys, how="left")["_t"].fillna(False)
    target = hit.to_numpy(dtype=bool) & records["date"].notna().to_numpy()
    draws = Generator(PCG64(seed)).random(len(records))
    remove = target & (draws >= rate_ratio)
    out = records.loc[~remove].reset_index(drop=True)
    out.attrs["n_removed"] = int(remove.sum())
    out.attrs["n_displaced"] = 0
    return out
