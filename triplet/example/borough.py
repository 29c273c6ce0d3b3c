"""A synthetic borough the size of Croydon: places, people and crimes (SYNTHETIC, not real data).

:func:`generate_borough` builds, deterministically from a seed (numpy PCG64):

- ``lsoas``: about 220 small areas on a local grid (630 m cells, x/y in metres), with codes
  ``E01X00001`` ... (the ``X`` cannot occur in a real ONS code, which is all digits after the
  three-character entity prefix), synthetic names, wards, populations around 1,600, an IMD-like
  deprivation score that is spatially smooth, anti-social behaviour counts of the year before
  the records start, and queen-contiguity neighbours;
- ``records``: about 30,000 crimes a year (anti-social behaviour is not in the records; it is
  the ``asb_count`` area covariate) in the canonical records table, with Home Office offence
  codes and data.police.uk categories (:data:`triplet.example.offences.OFFENCE_MIX`),
  seasonality (violence peaks in summer, burglary in winter), an hour-of-week pattern per
  offence (night-time violence, daytime shop theft), and harm concentrated in a few places as
  the research finds (Sherman, Gartin & Buerger 1989; Weisburd 2015 "law of crime
  concentration"; Weinborn et al. 2017): a town centre, district centres and a smooth,
  deprivation-linked risk surface raised to offence-specific powers, so serious violence and
  robbery are far more concentrated than burglary;
- ``offenders`` and ``victims``: pseudonymous people (``p_`` + 16 hex) with repeat offending and
  repeat victimisation. Offending frequency is heavy-tailed and serious offences go
  disproportionately to a few high-propensity people, so under 10% of offenders cause half the
  harm (Sherman et al. 2016, "The felonious few"; Wolfgang, Figlio & Sellin 1972). Victims are
  drawn with heavy-tailed proneness within their area (Farrell & Pease 1993).

Counts per area-offence-month are Poisson with a gamma area-month shock (over-dispersed, as
real crime counts are), so trial designs see realistic noise. Every table's ``attrs`` and the
``meta`` dict carry the label SYNTHETIC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.random import PCG64, Generator

from triplet.example.offences import OFFENCE_MIX
from triplet.io import jsonable
from triplet.records.schema import record_column_names

__all__ = ["GENERATOR_VERSION", "SYNTHETIC_LABEL", "Borough", "generate_borough", "write_borough"]

GENERATOR_VERSION = "1.0"
SYNTHETIC_LABEL = "SYNTHETIC"
LSOA_PREFIX = "E01X"
CELL_METRES = 630.0
CENTRE_LAT, CENTRE_LON = 51.37, -0.10
CRIMES_PER_YEAR = 30_000
ASB_PER_YEAR = 9_000
FORCE = "Example Borough Police (SYNTHETIC)"

_STREET_STEMS = (
    "Acacia",
    "Beech",
    "Cedar",
    "Damson",
    "Elm",
    "Fern",
    "Gorse",
    "Hazel",
    "Ivy",
    "Juniper",
    "Kestrel",
    "Larch",
    "Maple",
    "Nettle",
    "Oak",
    "Poplar",
    "Quince",
    "Rowan",
    "Sorrel",
    "Teasel",
    "Umber",
    "Violet",
    "Willow",
    "Yarrow",
    "Alder",
    "Bramble",
    "Clover",
    "Heather",
)
_STREET_KINDS = ("Road", "Street", "Avenue", "Close", "Lane", "Way", "Gardens", "Crescent")
_OUTCOMES_WITH_SUSPECT = (
    ("Unable to prosecute suspect", 0.48),
    ("Awaiting court outcome", 0.12),
    ("Court result unavailable", 0.08),
    ("Local resolution", 0.10),
    ("Offender given a caution", 0.07),
    ("Under investigation", 0.08),
    ("Further investigation is not in the public interest", 0.04),
    ("Offender sent to prison", 0.03),
)
_NO_SUSPECT = "Investigation complete; no suspect identified"


@dataclass(frozen=True)
class Borough:
    """The synthetic example borough: ``records``, ``lsoas``, ``offenders``, ``victims``, ``meta``.

    Everything in it is SYNTHETIC (``meta["label"]``); person ids are pseudonym-like
    (``p_`` + 16 hex) and belong to no one.
    """

    records: pd.DataFrame
    lsoas: pd.DataFrame
    offenders: pd.DataFrame
    victims: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def months(self) -> pd.PeriodIndex:
        """The months the records cover."""
        return pd.period_range(self.meta["start"], periods=self.meta["months"], freq="M")

    def summary(self) -> pd.DataFrame:
        """Crimes per year and crime type (a tidy table)."""
        r = self.records
        out = (
            r.assign(year=r["month"].dt.year)
            .groupby(["year", "crime_type"], observed=True)
            .size()
            .rename("crimes")
            .reset_index()
        )
        out.attrs["label"] = SYNTHETIC_LABEL
        return out

    def to_dict(self) -> dict[str, Any]:
        """The meta data and headline sizes (JSON-ready)."""
        return jsonable(
            {
                **self.meta,
                "n_records": len(self.records),
                "n_lsoas": len(self.lsoas),
                "n_offenders": len(self.offenders),
                "n_victims": len(self.victims),
            }
        )

    def plot(self, ax=None):
        """Map of crimes per LSOA on the local grid (labelled SYNTHETIC)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        counts = self.records["lsoa_code"].value_counts()
        c = self.lsoas["lsoa_code"].map(counts).fillna(0).to_numpy()
        sc = ax.scatter(self.lsoas["x"], self.lsoas["y"], c=c, s=120, marker="s", cmap="magma_r")
        ax.figure.colorbar(sc, ax=ax, label="crimes (all months)")
        ax.set_aspect("equal")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_title("Example borough: crimes per LSOA (SYNTHETIC)")
        return ax


def _smooth_field(rng: Generator, rows: np.ndarray, cols: np.ndarray, scale: float) -> np.ndarray:
    """A standardised, spatially smooth random field on the grid (Gaussian kernel of ``scale`` cells)."""
    noise = rng.standard_normal(len(rows))
    d2 = (rows[:, None] - rows[None, :]) ** 2 + (cols[:, None] - cols[None, :]) ** 2
    kernel = np.exp(-d2 / (2 * scale**2))
    f = kernel @ noise
    return (f - f.mean()) / f.std()


def _hex_ids(rng: Generator, n: int, prefix: str) -> np.ndarray:
    """``n`` distinct random ids ``prefix`` + 16 hex."""
    out: np.ndarray = np.empty(0, dtype=object)
    while True:
        raw = rng.integers(0, 2**63, size=n, dtype=np.int64, endpoint=False)
        out = np.array([f"{prefix}{v:016x}" for v in raw.tolist()], dtype=object)
        if len(set(out.tolist())) == n:
            return out


def _lsoas(rng: Generator, n_lsoa: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    ncol = math.ceil(math.sqrt(n_lsoa))
    idx = np.arange(n_lsoa)
    rows, cols = idx // ncol, idx % ncol
    nrow = rows.max() + 1
    x = (cols + 0.5) * CELL_METRES + rng.uniform(-60, 60, n_lsoa)
    y = (nrow - rows - 0.5) * CELL_METRES + rng.uniform(-60, 60, n_lsoa)
    cx, cy = x.mean(), y.mean()
    lat = CENTRE_LAT + (y - cy) / 111_320.0
    lon = CENTRE_LON + (x - cx) / (111_320.0 * math.cos(math.radians(CENTRE_LAT)))

    # deprivation: smooth field plus a north (more deprived) to south gradient, IMD-like score
    north = 1 - rows / max(nrow - 1, 1)
    dep_field = 0.75 * _smooth_field(rng, rows, cols, 2.0) + 1.2 * (north - 0.5)
    dep_field = (dep_field - dep_field.mean()) / dep_field.std()
    deprivation = np.clip(22 + 10 * dep_field + rng.normal(0, 2.5, n_lsoa), 2.0, 75.0)

    # underlying risk: deprivation-linked, smooth, plus area-level idiosyncrasy
    risk = (
        0.7 * (deprivation - deprivation.mean()) / deprivation.std()
        + 0.45 * _smooth_field(rng, rows, cols, 1.5)
        + 0.55 * rng.standard_normal(n_lsoa)
    )
    risk = (risk - risk.mean()) / risk.std()

    # a town centre (north of middle) and four district centres: multipliers on the risk
    centre = np.ones(n_lsoa)
    tc_r, tc_c = max(int(nrow * 0.3), 0), ncol // 2
    d_tc = np.maximum(np.abs(rows - tc_r), np.abs(cols - tc_c))
    centre[d_tc == 0] = 14.0
    centre[d_tc == 1] = np.maximum(centre[d_tc == 1], 5.0)
    districts = rng.choice(
        np.flatnonzero(d_tc >= 3), size=min(4, int((d_tc >= 3).sum())), replace=False
    )
    centre[districts] = 3.0

    population = np.clip(np.round(rng.normal(1600, 230, n_lsoa)), 1000, 3000).astype(np.int64)
    codes = np.array([f"{LSOA_PREFIX}{i + 1:05d}" for i in idx])
    msoa = idx // 5
    names = np.array(
        [f"Example Borough {m + 1:03d}{chr(65 + i % 5)}" for i, m in zip(idx, msoa, strict=True)]
    )
    ward_block = (rows // 3) * math.ceil(ncol / 3) + cols // 3
    _, ward_ix = np.unique(ward_block, return_inverse=True)
    wards = np.array([f"Ward {_ward_name(w)}" for w in ward_ix])

    # queen contiguity on the grid
    pos = {(r, c): i for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True))}
    neighbours = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        near = [
            codes[pos[(r + dr, c + dc)]]
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
            if (dr or dc) and (r + dr, c + dc) in pos
        ]
        neighbours.append(";".join(near))

    asb_mean = population / population.mean() * np.exp(0.8 * risk) * centre**0.8
    asb = rng.poisson(asb_mean / asb_mean.sum() * ASB_PER_YEAR)

    lsoas = pd.DataFrame(
        {
            "lsoa_code": pd.Series(codes, dtype="str"),
            "lsoa_name": pd.Series(names, dtype="str"),
            "ward": pd.Series(wards, dtype="str"),
            "x": np.round(x, 1),
            "y": np.round(y, 1),
            "longitude": np.round(lon, 6),
            "latitude": np.round(lat, 6),
            "population": population,
            "deprivation": np.round(deprivation, 2),
            "asb_count": asb.astype(np.int64),
            "neighbours": pd.Series(neighbours, dtype="str"),
        }
    )
    return lsoas, risk, centre


def _ward_name(i: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26]


def _hour_weights() -> dict[str, np.ndarray]:
    """Hour-of-week weights (7 x 24, Monday first) per profile."""
    h = np.arange(24)
    from_midnight = np.minimum(h, 24 - h)  # hours from midnight, 0..12
    night = 0.3 + 1.2 * np.exp(-(from_midnight**2) / 12.5) + 0.3 * (h >= 15)
    night_dow = np.array([0.8, 0.8, 0.85, 0.95, 1.3, 1.6, 1.3])
    retail = 0.05 + np.exp(-((h - 14) ** 2) / 12) * (h >= 8) * (h <= 21)
    retail_dow = np.array([1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 0.8])
    evening = 0.2 + 0.8 * np.exp(-((h - 19) ** 2) / 10) + 0.4 * np.exp(-((h - 12) ** 2) / 8)
    proactive = 0.1 + np.exp(-((h - 19) ** 2) / 18)
    proactive_dow = np.array([1.0, 1.05, 1.05, 1.1, 1.2, 1.1, 0.8])
    flat = 0.4 + np.exp(-((h - 13) ** 2) / 30)
    ones = np.ones(7)
    return {
        "night": np.outer(night_dow, night),
        "retail": np.outer(retail_dow, retail),
        "evening": np.outer(ones, evening),
        "proactive": np.outer(proactive_dow, proactive),
        "flat": np.outer(ones, flat),
    }


def _dates(
    rng: Generator, month_pos: np.ndarray, profile: np.ndarray, months: pd.PeriodIndex
) -> np.ndarray:
    """A date-time for each crime in its month, following its profile's hour-of-week weights."""
    out = np.empty(len(month_pos), dtype="datetime64[m]")
    weights = _hour_weights()
    for name, w in weights.items():
        sel_p = profile == name
        if not sel_p.any():
            continue
        for mi, m in enumerate(months):
            sel = np.flatnonzero(sel_p & (month_pos == mi))
            if not len(sel):
                continue
            start = np.datetime64(m.start_time.date(), "h")
            n_hours = m.days_in_month * 24
            hours = start + np.arange(n_hours)
            dow = (hours.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
            hw = w[dow, np.arange(n_hours) % 24]
            cdf = np.cumsum(hw)
            pick = np.searchsorted(cdf, rng.random(len(sel)) * cdf[-1])
            minutes = rng.integers(0, 60, len(sel))
            out[sel] = hours[pick].astype("datetime64[m]") + minutes.astype("timedelta64[m]")
    return out


def _choose_people(
    rng: Generator,
    groups: np.ndarray,
    crime_weight_class: np.ndarray,
    people_group: np.ndarray,
    people_weight: dict[float, np.ndarray],
    local_share: float,
) -> np.ndarray:
    """Pick a person for each crime: within the crime's group with prob ``local_share``, else anyone."""
    n = len(groups)
    chosen = np.empty(n, dtype=np.int64)
    local = rng.random(n) < local_share
    everyone = np.arange(len(people_group))
    for k, w in people_weight.items():
        in_k = crime_weight_class == k
        far = np.flatnonzero(in_k & ~local)
        if len(far):
            p = w / w.sum()
            chosen[far] = rng.choice(everyone, size=len(far), p=p)
        near_idx = np.flatnonzero(in_k & local)
        if not len(near_idx):
            continue
        order = np.argsort(groups[near_idx], kind="stable")
        near_sorted = near_idx[order]
        gvals, starts = np.unique(groups[near_sorted], return_index=True)
        ends = np.append(starts[1:], len(near_sorted))
        for g, s, e in zip(gvals.tolist(), starts.tolist(), ends.tolist(), strict=True):
            members = np.flatnonzero(people_group == g)
            rows = near_sorted[s:e]
            if not len(members):
                p = w / w.sum()
                chosen[rows] = rng.choice(everyone, size=len(rows), p=p)
                continue
            pw = w[members]
            chosen[rows] = members[np.searchsorted(np.cumsum(pw), rng.random(len(rows)) * pw.sum())]
    return chosen


def generate_borough(
    seed: int = 2013,
    n_lsoa: int = 220,
    start: str = "2022-01",
    months: int = 48,
) -> Borough:
    """Generate the SYNTHETIC example borough (deterministic for a given seed and arguments).

    Parameters: ``seed`` of the PCG64 generator; ``n_lsoa`` areas (Croydon has about 220);
    ``start`` month (``YYYY-MM``) and number of ``months`` of records. About 30,000 crimes a
    year for 220 areas (scaled with ``n_lsoa``). Takes a few seconds.
    """
    if n_lsoa < 10:
        raise ValueError("n_lsoa must be at least 10")
    if months < 1:
        raise ValueError("months must be positive")
    rng = Generator(PCG64(seed))
    lsoas, risk, centre = _lsoas(rng, n_lsoa)
    month_idx = pd.period_range(start, periods=months, freq="M")
    offences = OFFENCE_MIX.reset_index(drop=True)
    pop = lsoas["population"].to_numpy(dtype=float)

    # expected crimes per LSOA x offence per month (before seasonality and shocks)
    a = offences["risk"].to_numpy()
    b = offences["centre"].to_numpy()
    spatial = (
        (pop / pop.mean())[:, None]
        * np.exp(risk[:, None] * a[None, :])
        * centre[:, None] ** b[None, :]
    )
    spatial = spatial / spatial.sum(axis=0, keepdims=True)
    annual = CRIMES_PER_YEAR * n_lsoa / 220 * offences["share"].to_numpy()
    base = spatial * annual[None, :] / 12.0  # (lsoa, offence)

    moy = np.asarray(month_idx.month)
    amp = offences["season_amplitude"].to_numpy()
    peak = offences["season_peak"].to_numpy()
    season = 1 + amp[None, :] * np.cos(
        2 * np.pi * (moy[:, None] - peak[None, :]) / 12
    )  # (month, off)
    trend = 1 + rng.normal(0, 0.04, n_lsoa)[:, None] * (
        np.arange(months)[None, :] / 12.0
    )  # per LSOA
    shock = rng.gamma(12.0, 1 / 12.0, size=(n_lsoa, months))  # area-month over-dispersion
    lam = base[:, None, :] * season[None, :, :] * (trend * shock)[:, :, None]  # (lsoa, month, off)
    counts = rng.poisson(lam)

    flat = counts.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    li, mi, oi = np.unravel_index(cell, counts.shape)
    n = len(cell)

    # people: offenders with heavy-tailed frequency and a seriousness propensity
    codes = lsoas["lsoa_code"].to_numpy()
    ward_codes, ward_of_lsoa = np.unique(lsoas["ward"].to_numpy(), return_inverse=True)
    has_suspect = rng.random(n) < offences["suspect"].to_numpy()[oi]
    n_people = max(int(has_suspect.sum() * 0.6), 50)
    home_w = pop * np.exp(0.8 * risk)
    off_home = rng.choice(n_lsoa, size=n_people, p=home_w / home_w.sum())
    frequency = rng.lognormal(0.0, 0.8, n_people)
    seriousness = rng.lognormal(0.0, 0.5, n_people)
    serious_k = offences["serious"].to_numpy()
    classes = sorted(set(serious_k.tolist()))
    weights = {k: frequency * seriousness**k for k in classes}
    sus_rows = np.flatnonzero(has_suspect)
    who = _choose_people(
        rng,
        ward_of_lsoa[li[sus_rows]],
        serious_k[oi[sus_rows]],
        ward_of_lsoa[off_home],
        weights,
        local_share=0.7,
    )
    used, who_compact = np.unique(who, return_inverse=True)
    offender_ids = _hex_ids(rng, len(used), "p_")
    suspect_id = np.full(n, None, dtype=object)
    suspect_id[sus_rows] = offender_ids[who_compact]

    # victims: heavy-tailed proneness within their home area
    has_victim = rng.random(n) < offences["victim"].to_numpy()[oi]
    vic_rows = np.flatnonzero(has_victim)
    n_vpool = int(pop.sum())
    vic_home = rng.choice(n_lsoa, size=n_vpool, p=pop / pop.sum())
    proneness = rng.gamma(2.0, 1.0, n_vpool)
    vwho = _choose_people(
        rng, li[vic_rows], np.zeros(len(vic_rows)), vic_home, {0.0: proneness}, local_share=0.85
    )
    vused, v_compact = np.unique(vwho, return_inverse=True)
    victim_ids = _hex_ids(rng, len(vused), "p_")
    victim_id = np.full(n, None, dtype=object)
    victim_id[vic_rows] = victim_ids[v_compact]

    # where and when
    lx = lsoas["longitude"].to_numpy()
    ly = lsoas["latitude"].to_numpy()
    half = CELL_METRES / 2
    jx = rng.uniform(-half, half, n) / (111_320.0 * math.cos(math.radians(CENTRE_LAT)))
    jy = rng.uniform(-half, half, n) / 111_320.0
    streets = np.array([f"{s} {k}" for s in _STREET_STEMS for k in _STREET_KINDS])
    lsoa_streets = rng.choice(len(streets), size=(n_lsoa, 4), replace=True)
    street = streets[lsoa_streets[li, rng.integers(0, 4, n)]]
    dates = _dates(rng, mi, offences["profile"].to_numpy()[oi], month_idx)

    outcome = np.full(n, _NO_SUSPECT, dtype=object)
    labels = np.array([o for o, _ in _OUTCOMES_WITH_SUSPECT], dtype=object)
    probs = np.array([p for _, p in _OUTCOMES_WITH_SUSPECT])
    outcome[sus_rows] = labels[rng.choice(len(labels), size=len(sus_rows), p=probs / probs.sum())]

    # shuffle into date order with random crime ids
    order = np.lexsort((rng.random(n), dates))
    crime_ids = _hex_ids(rng, n, "x")
    records = pd.DataFrame(
        {
            "crime_id": pd.Series(crime_ids, dtype="str"),
            "month": pd.PeriodIndex(month_idx[mi[order]], freq="M"),
            "date": pd.Series(dates[order]).astype("datetime64[ns]"),
            "offence_code": pd.Series(offences["offence_code"].to_numpy()[oi[order]], dtype="str"),
            "crime_type": pd.Series(offences["crime_type"].to_numpy()[oi[order]], dtype="str"),
            "lsoa_code": pd.Series(codes[li[order]], dtype="str"),
            "lsoa_name": pd.Series(lsoas["lsoa_name"].to_numpy()[li[order]], dtype="str"),
            "longitude": np.round(lx[li] + jx, 6)[order],
            "latitude": np.round(ly[li] + jy, 6)[order],
            "location": pd.Series(
                np.char.add("On or near ", street.astype(str))[order], dtype="str"
            ),
            "suspect_id": pd.Series(suspect_id[order], dtype="str"),
            "victim_id": pd.Series(victim_id[order], dtype="str"),
            "outcome": pd.Series(outcome[order], dtype="str"),
            "force": pd.Series([FORCE] * n, dtype="str"),
        }
    )[record_column_names()]

    first_month = records.dropna(subset=["suspect_id"]).groupby("suspect_id")["month"].min()
    ages = np.clip(np.round(rng.gamma(6.0, 4.5, len(used)) + 12), 10, 85).astype(np.int64)
    offenders = pd.DataFrame(
        {
            "suspect_id": pd.Series(offender_ids, dtype="str"),
            "home_lsoa": pd.Series(codes[off_home[used]], dtype="str"),
            "ward": pd.Series(ward_codes[ward_of_lsoa[off_home[used]]], dtype="str"),
            "age": ages,
            "sex": pd.Series(np.where(rng.random(len(used)) < 0.82, "M", "F"), dtype="str"),
        }
    )
    offenders["first_month"] = offenders["suspect_id"].map(first_month)
    offenders = offenders.sort_values("suspect_id", ignore_index=True)
    victims = pd.DataFrame(
        {
            "victim_id": pd.Series(victim_ids, dtype="str"),
            "home_lsoa": pd.Series(codes[vic_home[vused]], dtype="str"),
            "age": np.clip(np.round(rng.normal(38, 17, len(vused))), 0, 95).astype(np.int64),
            "sex": pd.Series(np.where(rng.random(len(vused)) < 0.5, "F", "M"), dtype="str"),
        }
    ).sort_values("victim_id", ignore_index=True)

    meta = {
        "label": SYNTHETIC_LABEL,
        "description": "Synthetic example borough generated by triplet; not real crime data.",
        "generator": "triplet.example.generate_borough",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "bit_generator": "PCG64",
        "numpy_version": np.__version__,
        "n_lsoa": int(n_lsoa),
        "start": str(month_idx[0]),
        "months": int(months),
        "lsoa_code_prefix": LSOA_PREFIX,
        "anti_social_behaviour": "not in records; lsoas.asb_count = ASB incidents in the 12 months before start",
    }
    for frame in (records, lsoas, offenders, victims):
        frame.attrs["label"] = SYNTHETIC_LABEL
    return Borough(records=records, lsoas=lsoas, offenders=offenders, victims=victims, meta=meta)


README_TEXT = """SYNTHETIC DATA - NOT REAL CRIME RECORDS
=======================================

These files were generated by triplet's example-borough generator
(triplet.example.generate_borough, version {version}, seed {seed}). Every place, person and
crime in them is invented. LSOA codes start with {prefix} (the X never occurs in a real ONS code);
person ids (p_ + 16 hex) belong to no one.

records.parquet  the canonical crime-records table ({n_records:,} crimes, {start} for {months} months)
lsoas.csv        the {n_lsoa} synthetic LSOAs (x, y in metres on a local grid; approximate,
                 invented longitude/latitude; population; IMD-like deprivation; ASB count;
                 neighbours)
offenders.csv    pseudonymous suspects (suspect_id, home LSOA, ward, age, sex, first month)
victims.csv      pseudonymous victims (victim_id, home LSOA, age, sex)
meta.json        how the data were generated

See docs/example-borough.md.
"""


def write_borough(borough: Borough, folder: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the borough's tables and a README saying SYNTHETIC into ``folder``.

    Refuses (:class:`~triplet.errors.OverwriteError`) if any of the files exists, before
    writing anything, unless ``overwrite``.
    """
    from triplet.errors import OverwriteError
    from triplet.io import write_dataframe, write_json, write_text

    folder = Path(folder)
    names = [
        "records.parquet",
        "lsoas.csv",
        "offenders.csv",
        "victims.csv",
        "meta.json",
        "README.txt",
    ]
    existing = [folder / n for n in names if (folder / n).exists()]
    if existing and not overwrite:
        raise OverwriteError(
            "refusing to overwrite existing files: " + ", ".join(str(p) for p in existing)
        )
    records = borough.records.copy()
    records["month"] = records["month"].astype("str")
    paths = [
        write_dataframe(folder / "records.parquet", records, overwrite=overwrite),
        write_dataframe(folder / "lsoas.csv", borough.lsoas, overwrite=overwrite),
        write_dataframe(
            folder / "offenders.csv", _with_month_text(borough.offenders), overwrite=overwrite
        ),
        write_dataframe(folder / "victims.csv", borough.victims, overwrite=overwrite),
        write_json(folder / "meta.json", borough.to_dict(), overwrite=overwrite),
        write_text(
            folder / "README.txt",
            README_TEXT.format(
                version=borough.meta["generator_version"],
                seed=borough.meta["seed"],
                prefix=borough.meta["lsoa_code_prefix"],
                n_records=len(borough.records),
                start=borough.meta["start"],
                months=borough.meta["months"],
                n_lsoa=len(borough.lsoas),
            ),
            overwrite=overwrite,
        ),
    ]
    return paths


def _with_month_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.PeriodDtype):
            out[c] = out[c].astype("str")
    return out
