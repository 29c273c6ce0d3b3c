"""Each indicator's monthly series, built from the records and its population.

The records get a ``harm`` column (days, the framework's harm index; offences without a weight
are an error, as in targeting) and, when hot spots are watched, a grid-cell column. Months
with no crime are zeros, never missing. For the SYNTHETIC example a ``simulated_shift`` thins
one indicator's records from a month on (:func:`inject_shift`, independent thinning: the
expected value falls by the rate ratio exactly; Kingman 1993, *Poisson Processes*, 5.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.random import PCG64, Generator

from triplet.errors import InputError
from triplet.performance.framework import FrameworkFile, Indicator, SimulatedShift
from triplet.performance.populations import DEFAULT_GRID_M, GRID_COLUMN, Members

__all__ = [
    "MonitorData",
    "harm_column",
    "indicator_mask",
    "indicator_series",
    "inject_shift",
    "load_monitor_data",
    "lsoa_counts",
]


@dataclass(frozen=True)
class MonitorData:
    """Records (with ``harm`` days and, if needed, grid cells) and residents per LSOA."""

    records: pd.DataFrame
    residents: pd.Series | None
    synthetic: bool
    months: pd.PeriodIndex


def _source(uri: str, kind: str):
    from triplet.registry.models import DataSource

    return DataSource(name=uri, kind=kind, uri=uri)


def load_monitor_data(ff: FrameworkFile) -> MonitorData:
    """Read the framework's records and denominators (paths relative to the framework)."""
    from triplet.records.sources import load_source
    from triplet.targeting import grid_cells, harm_of, load_index

    fw = ff.framework
    records = load_source(_source(fw.records, "records"), ff.dir, file=ff.path)

    def days(name: str) -> np.ndarray:
        index = name if name in ("cambridge", "ons_css") else ff.resolve(name)
        return harm_of(records, load_index(index)).days.to_numpy(dtype=float)

    extra = {
        harm_column(i, fw.harm_index): days(i.harm_index)
        for i in fw.indicators
        if i.harm_index not in (None, fw.harm_index)
    }
    records = records.assign(harm=days(fw.harm_index), **extra)
    sizes = {
        p.grid_size_m or DEFAULT_GRID_M for p in fw.populations.values() if p.kind == "hot_spots"
    }
    if len(sizes) > 1:
        raise InputError(f"{ff.path}: hot-spot populations must share one grid_size_m")
    if sizes:
        records = records.assign(**{GRID_COLUMN: grid_cells(records, sizes.pop())})
    residents = None
    if fw.denominators is not None:
        d = fw.denominators
        table = load_source(_source(d.uri, "units"), ff.dir, file=ff.path)
        for col in (d.unit_column, d.residents_column):
            if col not in table.columns:
                raise InputError(
                    f"{d.uri}: no column {col!r} (denominators.{'unit_column' if col == d.unit_column else 'residents_column'})",
                    file=ff.path,
                )
        residents = pd.Series(
            pd.to_numeric(table[d.residents_column], errors="coerce").to_numpy(float),
            index=table[d.unit_column].astype("str"),
        )
        bad = residents.index[~(residents > 0)]
        if len(bad):
            raise InputError(
                f"{d.uri}: {len(bad)} LSOAs have no positive number of residents, e.g. "
                f"{list(bad[:3])}",
                file=ff.path,
            )
    months = pd.period_range(records["month"].min(), records["month"].max(), freq="M")
    synthetic = fw.records.startswith("example://")
    return MonitorData(records=records, residents=residents, synthetic=synthetic, months=months)


def harm_column(indicator: Indicator, default: str) -> str:
    """The records column holding the indicator's harm: ``harm`` for the framework's index,
    ``harm:<index>`` for another."""
    if indicator.harm_index in (None, default):
        return "harm"
    return f"harm:{indicator.harm_index}"


def indicator_mask(records: pd.DataFrame, indicator: Indicator, members: Members) -> np.ndarray:
    """Records that count for ``indicator``: its crime types, in its population."""
    mask = members.mask(records).copy()
    if indicator.crime_types != "all":
        mask &= records["crime_type"].astype("str").isin(indicator.crime_types).to_numpy()
    return mask


def indicator_series(
    records: pd.DataFrame,
    indicator: Indicator,
    members: Members,
    months: pd.PeriodIndex,
    *,
    harm_index: str = "cambridge",
) -> pd.Series:
    """Monthly harm or count of ``indicator`` over ``months`` (zeros where none);
    ``harm_index`` is the framework's default index (see :func:`harm_column`)."""
    sub = records.loc[indicator_mask(records, indicator, members)]
    g = sub.groupby("month", observed=True)
    if indicator.measure == "harm":
        values = g[harm_column(indicator, harm_index)].sum()
    else:
        values = g.size().astype(float)
    out = values.reindex(months, fill_value=0.0).astype(float)
    out.index = months
    out.name = indicator.id
    return out


def inject_shift(records: pd.DataFrame, mask: np.ndarray, shift: SimulatedShift) -> pd.DataFrame:
    """Thin the ``mask`` records from ``shift.start`` on, keeping each with probability
    ``rate_ratio`` (SYNTHETIC example only). Returns a new frame; the input is not changed."""
    rng = Generator(PCG64(shift.seed))
    later = (records["month"] >= pd.Period(shift.start, freq="M")).to_numpy()
    draws = rng.random(len(records))
    drop = mask & later & (draws >= shift.rate_ratio)
    return records.loc[~drop].reset_index(drop=True)


def lsoa_counts(
    records: pd.DataFrame, indicator: Indicator, months: pd.PeriodIndex, lsoas
) -> pd.Series:
    """Count of ``indicator``'s crime types per LSOA over ``months`` (zeros included)."""
    sub = records[records["month"].isin(months)]
    if indicator.crime_types != "all":
        sub = sub[sub["crime_type"].astype("str").isin(indicator.crime_types)]
    counts = sub.groupby(sub["lsoa_code"].astype("str")).size()
    return counts.reindex(list(lsoas), fill_value=0).astype(float)
