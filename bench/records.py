"""Records benchmark: reading, pseudonymising and aggregating a million crime records.

Each measure is a ratio against a baseline run in the same process (no target in TARGETS.md;
these show the cost of the checks):

- ``read_police_uk`` on a 1,000,000-row data.police.uk-format CSV vs a bare
  ``pandas.read_csv(engine="pyarrow")`` of the same file (the reader also validates every row,
  generates ids for blank Crime IDs and checks duplicates);
- ``pseudonymise`` of 1,000,000 ids of 100,000 people vs a per-row HMAC loop;
- ``unit_month`` (zeros filled, harm summed) vs a pandas group-by on (unit, month) reindexed to
  the full panel.

The records are the SYNTHETIC example borough repeated to a million rows.
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import BenchResult, timed

KEY = "bench-key-0123456789abcdef"


def _records(n: int) -> pd.DataFrame:
    from triplet.example import generate_borough

    b = generate_borough()
    reps = int(np.ceil(n / len(b.records)))
    r = pd.concat([b.records] * reps, ignore_index=True).iloc[:n]
    return r.reset_index(drop=True)


def _police_csv(records: pd.DataFrame, folder: Path) -> Path:
    n = len(records)
    ids = records["crime_id"].astype("str") + "-" + pd.Series(np.arange(n).astype(str))
    frame = pd.DataFrame(
        {
            "Crime ID": ids.where(np.arange(n) % 10 != 0, ""),
            "Month": records["month"].astype("str"),
            "Reported by": "Example Police",
            "Falls within": "Example Police",
            "Longitude": records["longitude"],
            "Latitude": records["latitude"],
            "Location": records["location"],
            "LSOA code": records["lsoa_code"],
            "LSOA name": records["lsoa_name"],
            "Crime type": records["crime_type"],
            "Last outcome category": records["outcome"],
            "Context": "",
        }
    )
    path = folder / "street.csv"
    frame.to_csv(path, index=False)
    return path


def run(quick: bool = False) -> list[BenchResult]:
    from triplet.records import pseudonymise, read_police_uk, unit_month

    n = 100_000 if quick else 1_000_000
    repeat = 1 if quick else 3
    records = _records(n)
    results: list[BenchResult] = []

    with tempfile.TemporaryDirectory() as tmp:
        path = _police_csv(records, Path(tmp))
        base_s, _ = timed(lambda: pd.read_csv(path, engine="pyarrow", dtype="str"), repeat=repeat)
        read_s, read = timed(lambda: read_police_uk(path), repeat=repeat)
        results.append(
            BenchResult(
                name=f"read_police_uk, {n:,} rows",
                seconds=read_s,
                baseline_name="pandas read_csv (pyarrow), no checks",
                baseline_seconds=base_s,
                extra=f"kept {read.n_kept:,}, generated ids {read.n_generated_ids:,}",
            )
        )

    rng = np.random.Generator(np.random.PCG64(1))
    people = np.array([f"N{i:07d}" for i in range(n // 10)], dtype=object)
    ids = pd.Series(people[rng.integers(0, len(people), n)], dtype="str")

    def per_row() -> list[str]:
        k = KEY.encode()
        return [
            "p_" + hmac.new(k, v.encode(), hashlib.sha256).hexdigest()[:16] for v in ids.tolist()
        ]

    base_s, _ = timed(per_row, repeat=1)
    ps_s, _ = timed(lambda: pseudonymise(ids, key=KEY), repeat=repeat)
    results.append(
        BenchResult(
            name=f"pseudonymise, {n:,} ids of {len(people):,} people",
            seconds=ps_s,
            baseline_name="per-row HMAC loop",
            baseline_seconds=base_s,
        )
    )

    months = pd.period_range(records["month"].min(), records["month"].max(), freq="M")
    units = pd.Index(sorted(records["lsoa_code"].unique()))
    harm = pd.Series(rng.gamma(0.5, 40.0, n), index=records.index)

    def baseline() -> pd.DataFrame:
        g = (
            pd.DataFrame({"unit": records["lsoa_code"], "month": records["month"], "harm": harm})
            .groupby(["unit", "month"])
            .agg(count=("harm", "size"), harm=("harm", "sum"))
        )
        full = pd.MultiIndex.from_product([units, months], names=["unit", "month"])
        return g.reindex(full, fill_value=0).reset_index()

    base_s, ref = timed(baseline, repeat=repeat)
    um_s, out = timed(
        lambda: unit_month(records, unit="lsoa_code", months=months, harm=harm, units=units),
        repeat=repeat,
    )
    same = bool(
        (out["count"].to_numpy() == ref["count"].to_numpy()).all()
        and np.allclose(out["harm"].to_numpy(), ref["harm"].to_numpy())
    )
    results.append(
        BenchResult(
            name=f"unit_month, {n:,} records, {len(units)} LSOAs x {len(months)} months",
            seconds=um_s,
            baseline_name="pandas groupby + reindex",
            baseline_seconds=base_s,
            extra="same counts and harm" if same else "MISMATCH with the baseline",
            met=None if same else False,
        )
    )
    return results
