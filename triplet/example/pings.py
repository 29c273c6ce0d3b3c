"""Synthetic GPS pings of a hot-spot patrol trial in the example borough (SYNTHETIC data only).

Realistic under-delivery, as GPS showed in real hot-spot trials (about half the planned minutes
in the West Midlands trial; patrol minutes also drift into control areas, as the Peterborough
and Southend trials measured):

- each treated unit delivers a share of the registered dose that varies by unit (mean about
  one half) and by week; visits last about the registered length (log-normal spread);
- control units get occasional visits (about 5% of the registered minutes) and short passes;
- a few days have no data at all (the radio system was down);
- each radio (8 devices, ``p_`` pseudonyms) works its day as a sequence: walk in, stay, walk out,
  travel, one ping a minute; times are built on the local (Europe/London) clock.

:func:`example_dose` gives the true delivered minutes per unit-month, and
:func:`inject_dose_effect` thins records so that a unit-month with a share ``s`` of the
registered dose delivered has its expected count multiplied by ``1 - (1 - rate_ratio) * s``
(linear in the dose; thinning theorem, as :func:`triplet.example.inject_effect`): the effect
depends on the dose delivered, in either arm, so the complier average causal effect of the full
dose (``rate_ratio - 1`` as a proportion) is larger than the intention-to-treat effect.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.random import PCG64, Generator

from triplet.errors import InputError

__all__ = [
    "ExamplePings",
    "example_dose",
    "example_hotspots",
    "example_pings",
    "inject_dose_effect",
]

N_DEVICES = 8
TIMEZONE = "Europe/London"
HOTSPOT_RADIUS_M = 150.0


def example_hotspots(seed: int = 2013) -> pd.DataFrame:
    """One hot spot per LSOA of the example borough: ``unit, longitude, latitude, radius_m``."""
    from triplet.records.sources import example_borough

    lsoas = example_borough(seed).lsoas
    rng = Generator(PCG64([seed, 16]))
    n = len(lsoas)
    # the hot spot sits near the LSOA's centre (within about 100 m)
    dlat = rng.uniform(-0.0008, 0.0008, n)
    dlon = rng.uniform(-0.0012, 0.0012, n)
    return pd.DataFrame(
        {
            "unit": lsoas["lsoa_code"].astype("str").to_numpy(),
            "longitude": np.round(lsoas["longitude"].to_numpy() + dlon, 6),
            "latitude": np.round(lsoas["latitude"].to_numpy() + dlat, 6),
            "radius_m": HOTSPOT_RADIUS_M,
        }
    )


@dataclass(frozen=True)
class ExamplePings:
    """Synthetic pings (canonical columns ``device, officer, time, x, y, file, row``), the true
    visits (``unit, device, start, end, minutes``) and the days without data."""

    pings: pd.DataFrame
    visits: pd.DataFrame
    gap_days: tuple[str, ...]


def _planned_minutes_per_day(dosage) -> float:
    if dosage is None or dosage.minutes_per_visit is None or dosage.visits_per_day is None:
        raise InputError(
            "the example pings need intervention.dosage with minutes_per_visit and visits_per_day"
        )
    return float(dosage.minutes_per_visit) * float(dosage.visits_per_day)


@functools.lru_cache(maxsize=8)
def _generate(
    seed: int,
    design_seed: int,
    treated: tuple[str, ...],
    control: tuple[str, ...],
    first_day: str,
    last_day: str,
    minutes_per_visit: float,
    visits_per_day: float,
    hotspot_seed: int,
) -> ExamplePings:
    from triplet.geography.grid import to_bng

    rng = Generator(PCG64([seed, design_seed, 1601]))
    spots = example_hotspots(hotspot_seed).set_index("unit")
    units = [*treated, *control]
    missing = [u for u in units if u not in spots.index]
    if missing:
        raise InputError(f"no example hot spot for units {missing[:3]}")
    cx, cy = to_bng(spots.loc[units, "longitude"], spots.loc[units, "latitude"], "EPSG:4326")
    centre = {u: (cx[i], cy[i]) for i, u in enumerate(units)}
    days = pd.date_range(first_day, last_day, freq="D")
    n_days = len(days)
    week = np.asarray((days - days[0]).days // 7)
    n_weeks = int(week.max()) + 1
    # delivered share: by unit (mean about 0.5) and by unit-week
    unit_share = np.clip(0.43 * np.exp(rng.normal(-0.1, 0.45, len(treated))), 0.08, 1.3)
    week_mult = np.exp(rng.normal(-0.06, 0.35, (len(treated), n_weeks)))
    gap_days = set(rng.choice(n_days, size=min(5, n_days), replace=False).tolist())
    devices = np.array([f"p_{int(v):016x}" for v in rng.integers(0, 2**63, N_DEVICES)])

    rows_unit, rows_day, rows_len = [], [], []
    for i, u in enumerate(treated):
        lam = visits_per_day * unit_share[i] * week_mult[i, week]
        k = rng.poisson(lam)
        rows_unit.append(np.repeat(u, k.sum()))
        rows_day.append(np.repeat(np.arange(n_days), k))
        rows_len.append(
            np.clip(np.round(minutes_per_visit * np.exp(rng.normal(-0.05, 0.3, k.sum()))), 5, 45)
        )
    for u in control:
        k = rng.poisson(0.05 * visits_per_day, n_days)  # drift into control hot spots
        rows_unit.append(np.repeat(u, k.sum()))
        rows_day.append(np.repeat(np.arange(n_days), k))
        rows_len.append(np.clip(np.round(rng.gamma(4.0, 3.0, k.sum())), 2, 30))
    v_unit = np.concatenate(rows_unit).astype(object)
    v_day = np.concatenate(rows_day).astype(np.int64)
    v_len = np.concatenate(rows_len).astype(np.int64)
    keep = ~np.isin(v_day, list(gap_days))
    v_unit, v_day, v_len = v_unit[keep], v_day[keep], v_len[keep]

    # schedule: each day's visits shuffled and dealt to the radios; each radio starts at a
    # random time from 07:00 local and walks visit to visit (approach, stay, leave, travel)
    order = np.lexsort((rng.random(len(v_day)), v_day))
    v_unit, v_day, v_len = v_unit[order], v_day[order], v_len[order]
    pos_in_day = np.arange(len(v_day)) - np.searchsorted(v_day, v_day, side="left")
    v_dev = pos_in_day % N_DEVICES
    travel = rng.integers(8, 40, len(v_day))
    block = v_len + 1 + 4 + travel  # minutes: stay pings + 2 in, 2 out + travel
    # start offset of each visit within (day, device): cumulative sum of the blocks before it
    key = v_day * N_DEVICES + v_dev
    o2 = np.lexsort((np.arange(len(key)), key))
    b = block[o2]
    cs = np.cumsum(b) - b
    first_of_key = np.searchsorted(key[o2], key[o2], side="left")
    offset = np.empty(len(key), dtype=np.int64)
    offset[o2] = cs - cs[first_of_key]
    day_start = rng.integers(7 * 60, 10 * 60, n_days * N_DEVICES)[key]
    # approach pings start 2 minutes before the stay
    stay_start_local = days[v_day].to_numpy().astype("datetime64[m]") + (
        day_start + offset + 2
    ).astype("timedelta64[m]")
    local = pd.DatetimeIndex(stay_start_local).tz_localize(
        TIMEZONE, ambiguous=True, nonexistent="shift_forward"
    )
    start_utc = local.tz_convert("UTC")

    # pings: 2 outside (400 m off), v_len+1 inside, 2 outside
    n_p = v_len + 5
    vi = np.repeat(np.arange(len(v_len)), n_p)
    k = np.arange(len(vi)) - np.repeat(np.cumsum(n_p) - n_p, n_p)
    minute = k - 2
    inside = (minute >= 0) & (minute <= v_len[vi])
    ang = rng.uniform(0, 2 * np.pi, len(vi))
    rad = np.where(inside, HOTSPOT_RADIUS_M * 0.6 * np.sqrt(rng.random(len(vi))), 400.0)
    ux = np.array([centre[u][0] for u in v_unit])
    uy = np.array([centre[u][1] for u in v_unit])
    t_ns = start_utc.as_unit("ns").asi8[vi] + minute.astype(np.int64) * 60_000_000_000
    pings = pd.DataFrame(
        {
            "device": pd.Series(devices[v_dev[vi]], dtype="str"),
            "officer": pd.Series(devices[v_dev[vi]], dtype="str"),
            "time": pd.to_datetime(t_ns, utc=True),
            "x": np.round(ux[vi] + rad * np.cos(ang), 1),
            "y": np.round(uy[vi] + rad * np.sin(ang), 1),
        }
    ).sort_values(["time", "device"], kind="stable")
    pings = pings.reset_index(drop=True)
    pings["file"] = pd.Series(["example://borough/pings"] * len(pings), dtype="str")
    pings["row"] = np.arange(1, len(pings) + 1, dtype=np.int64)
    visits = pd.DataFrame(
        {
            "unit": pd.Series(v_unit, dtype="str"),
            "device": pd.Series(devices[v_dev], dtype="str"),
            "start": start_utc,
            "end": start_utc + pd.to_timedelta(v_len, unit="min"),
            "minutes": v_len.astype(float),
        }
    )
    gaps = tuple(str(days[d].date()) for d in sorted(gap_days))
    return ExamplePings(pings=pings, visits=visits, gap_days=gaps)


def example_pings(trial, assignment: pd.DataFrame, seed: int = 2013) -> ExamplePings:
    """Synthetic pings for ``trial`` (its dosage and treatment months) and its ``assignment``."""
    dosage = trial.intervention.dosage
    _planned_minutes_per_day(dosage)
    arm = assignment.assign(unit=assignment["unit"].astype("str"))
    treated = tuple(sorted(arm.loc[arm["arm"] == "treatment", "unit"]))
    control = tuple(sorted(arm.loc[arm["arm"] != "treatment", "unit"]))
    months = trial.periods.treatment.months
    first = months[0].start_time.date().isoformat()
    last = months[-1].end_time.date().isoformat()
    hotspot_seed = seed
    return _generate(
        seed,
        int(trial.design.seed),
        treated,
        control,
        first,
        last,
        float(dosage.minutes_per_visit),
        float(dosage.visits_per_day),
        hotspot_seed,
    )


def example_dose(trial, assignment: pd.DataFrame, seed: int = 2013) -> pd.DataFrame:
    """True delivered dose per unit-month: ``unit, month, minutes, planned, share``.

    ``planned`` is the registered minutes a treated unit should get that month; ``share`` =
    minutes / planned (either arm: control units get a share through drift). Stays shorter
    than the registered ``visit_rules.min_minutes`` are passes, not dose.
    """
    ex = example_pings(trial, assignment, seed)
    min_minutes = trial.delivery.visit_rules.min_minutes if trial.delivery is not None else 5.0
    per_day = _planned_minutes_per_day(trial.intervention.dosage)
    days_per_week = trial.intervention.dosage.days_per_week or 7
    months = trial.periods.treatment.months
    v = ex.visits[ex.visits["minutes"] >= min_minutes]
    month = v["start"].dt.tz_convert(TIMEZONE).dt.tz_localize(None).dt.to_period("M")
    got = v.assign(month=month).groupby(["unit", "month"])["minutes"].sum()
    units = assignment["unit"].astype("str").tolist()
    idx = pd.MultiIndex.from_product([units, months], names=["unit", "month"])
    out = got.reindex(idx, fill_value=0.0).reset_index()
    out["planned"] = out["month"].map(lambda m: per_day * m.days_in_month * days_per_week / 7)
    out["share"] = out["minutes"] / out["planned"]
    return out


def inject_dose_effect(
    records: pd.DataFrame,
    *,
    unit_column: str,
    dose: pd.DataFrame,
    rate_ratio: float,
    seed: int,
) -> pd.DataFrame:
    """Thin records so a unit-month with dose share ``s`` keeps each record with probability
    ``1 - (1 - rate_ratio) * s`` (clipped to [0, 1]; ``dose``: ``unit, month, share``).
    Returns a new frame."""
    if not 0 < rate_ratio <= 1:
        raise InputError(f"rate_ratio must be in (0, 1] for thinning; got {rate_ratio}")
    if unit_column not in records.columns:
        raise InputError(f"records have no column {unit_column!r}", file="records")
    share = dose.set_index(["unit", "month"])["share"]
    key = pd.MultiIndex.from_arrays(
        [records[unit_column].astype("str"), records["month"]], names=["unit", "month"]
    )
    s = share.reindex(key).to_numpy(dtype=float)
    keep_p = np.where(np.isfinite(s), np.clip(1 - (1 - rate_ratio) * s, 0, 1), 1.0)
    draws = Generator(PCG64(seed)).random(len(records))
    out = records.loc[draws < keep_p].reset_index(drop=True)
    out.attrs["n_removed"] = int((draws >= keep_p).sum())
    return out
