"""Delivery benchmark: a year of GPS pings to visits and the unit x day table (issue 16).

60 radios, one ping a minute over an 8-hour shift every day of a year: 10.5 million pings
(the issue's "about 10 million rows"), moving between 100 hot spots (circles of 150 m) and the
streets between them. Measured: :func:`triplet.tracking.delivery.pings_to_visits` (area
assignment, stays, joins, minimum stay) plus :func:`~triplet.tracking.delivery.unit_day`
(midnight splits, zeros filled), against a plain pandas baseline in the same run: the same
area assignment, then ``sort_values`` + ``groupby`` runs without joins, and a ``groupby`` of
the visits by unit and day (no midnight split, no zero filling) - the obvious pandas code.
Peak memory is measured with tracemalloc in a separate run. Target: under 60 s, under 2 GB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.random import PCG64, Generator

from bench.common import BenchResult, peak_memory_mb, timed

N_DEVICES = 60
N_SPOTS = 100
SHIFT_MINUTES = 480


def pings(n_devices: int = N_DEVICES, days: int = 365, seed: int = 16):
    """Synthetic pings (``device, time, x, y``) and the circle areas they visit."""
    from triplet.tracking.delivery.visits import circles_areas

    rng = Generator(PCG64(seed))
    cx = 530_000 + 400 * (np.arange(N_SPOTS) % 10)
    cy = 180_000 + 400 * (np.arange(N_SPOTS) // 10)
    areas = circles_areas(
        pd.DataFrame(
            {"unit": [f"H{i:03d}" for i in range(N_SPOTS)], "x": cx, "y": cy, "radius_m": 150.0}
        )
    )
    n_shift = n_devices * days
    # segments of each shift: alternately in a hot spot (2-30 min) and travelling (3-20 min)
    seg_per_shift = 48
    lens = np.where(np.arange(seg_per_shift) % 2 == 0, 0, 1)[None, :].repeat(n_shift, 0)
    inside_len = rng.integers(2, 31, (n_shift, seg_per_shift))
    travel_len = rng.integers(3, 21, (n_shift, seg_per_shift))
    seg_len = np.where(lens == 0, inside_len, travel_len)
    cum = np.cumsum(seg_len, axis=1)
    seg_len = np.where(cum <= SHIFT_MINUTES, seg_len, 0)
    seg_len[:, -1] += SHIFT_MINUTES - seg_len.sum(axis=1)
    spot = rng.integers(0, N_SPOTS, (n_shift, seg_per_shift))
    flat_len = seg_len.ravel()
    n = int(flat_len.sum())
    seg_of_ping = np.repeat(np.arange(flat_len.size), flat_len)
    is_in = (np.arange(flat_len.size) % seg_per_shift % 2 == 0)[seg_of_ping]
    s = spot.ravel()[seg_of_ping]
    jitter = rng.normal(0, 40, (2, n))
    x = np.where(is_in, cx[s] + jitter[0], cx[s] + 200 + jitter[0])
    y = np.where(is_in, cy[s] + jitter[1], cy[s] + 200 + jitter[1])
    shift = np.repeat(np.arange(n_shift), SHIFT_MINUTES)
    minute = np.tile(np.arange(SHIFT_MINUTES), n_shift)
    device = shift // days
    day = shift % days
    start = np.datetime64("2024-01-01T07:00", "ns").astype("int64")
    t = start + (day * 1440 + minute).astype(np.int64) * 60_000_000_000
    frame = pd.DataFrame(
        {
            "device": pd.Categorical.from_codes(device, [f"p_{i:016x}" for i in range(n_devices)]),
            "time": pd.to_datetime(t, utc=True),
            "x": x,
            "y": y,
        }
    )
    return frame, areas


def _triplet(frame, areas):
    from triplet.tracking.delivery.visits import pings_to_visits, unit_day

    v = pings_to_visits(frame, areas)
    t0, t1 = frame["time"].min(), frame["time"].max()
    ud = unit_day(
        v.table,
        units=list(areas.units),
        start=t0.tz_convert("Europe/London").date(),
        end=t1.tz_convert("Europe/London").date(),
    )
    return v, ud


def _pandas(frame, areas):
    from triplet.tracking.delivery.visits import assign_areas

    df = frame.assign(area=assign_areas(frame["x"].to_numpy(), frame["y"].to_numpy(), areas))
    df = df.sort_values(["device", "time"])
    new = (
        df["device"].ne(df["device"].shift())
        | df["area"].ne(df["area"].shift())
        | df["time"].diff().gt(pd.Timedelta(minutes=3))
    )
    df["run"] = new.cumsum()
    inside = df[df["area"] >= 0]
    runs = inside.groupby("run").agg(
        area=("area", "first"), start=("time", "min"), end=("time", "max")
    )
    runs["minutes"] = (runs["end"] - runs["start"]).dt.total_seconds() / 60
    visits = runs[runs["minutes"] >= 5]
    day = visits["start"].dt.tz_convert("Europe/London").dt.date
    return visits.groupby([visits["area"], day])["minutes"].agg(["sum", "size"])


def run(quick: bool = False) -> list[BenchResult]:
    n_dev = 6 if quick else N_DEVICES
    frame, areas = pings(n_dev)
    n = len(frame)
    t_trip, (v, ud) = timed(lambda: _triplet(frame, areas), repeat=1 if not quick else 2)
    t_pd, _ = timed(lambda: _pandas(frame, areas), repeat=1 if not quick else 2)
    mem, _ = peak_memory_mb(lambda: _triplet(frame, areas))
    met = t_trip < 60 and mem < 2000
    return [
        BenchResult(
            name=f"delivery: {n / 1e6:.1f}M pings -> visits + unit x day",
            seconds=t_trip,
            baseline_name="pandas sort + groupby (no joins, no midnight split)",
            baseline_seconds=t_pd,
            target="< 60 s, < 2 GB",
            met=None if quick else met,
            extra=f"peak {mem:,.0f} MB (tracemalloc); {len(v.table):,} visits, "
            f"{v.n_joined:,} joins, {v.n_passes:,} passes; {len(ud):,} unit-days",
        )
    ]
