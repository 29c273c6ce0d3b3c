"""Targeting benchmark: rank 1,000,000 crime records by LSOA and by offender.

Each ranking is timed against a bare pandas group-by-sum of the same harm column over the same
unit column in the same process (target: ratio <= 1.5), and the peak memory of ranking is
measured with tracemalloc (target: < 1 GB). Harm weighting itself (``harm_of``) is timed too,
for information. The records are synthetic: 5,000 LSOAs, 200,000 offenders (a suspect on 45% of
records), crime types in the example borough's proportions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.common import BenchResult, peak_memory_mb, timed

N_RECORDS = 1_000_000
N_LSOA = 5_000
N_OFFENDERS = 200_000


def _peak_rss_mb() -> float:
    import resource
    import sys

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1e6 if sys.platform == "darwin" else rss / 1e3


def make_records(n: int = N_RECORDS, seed: int = 20130101) -> pd.DataFrame:
    """Synthetic canonical-looking records with skewed units (SYNTHETIC)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n_lsoa = max(10, N_LSOA * n // N_RECORDS)
    n_off = max(10, N_OFFENDERS * n // N_RECORDS)
    lsoa_ids = np.array([f"E01{i:06d}" for i in range(n_lsoa)], dtype=object)
    off_ids = np.array([f"p_{i:016x}" for i in rng.permutation(n_off)], dtype=object)
    lsoa_p = rng.pareto(1.2, n_lsoa) + 1
    off_p = rng.pareto(1.0, n_off) + 1
    types = np.array(
        [
            "Violence and sexual offences",
            "Shoplifting",
            "Burglary",
            "Vehicle crime",
            "Criminal damage and arson",
            "Public order",
            "Other theft",
            "Robbery",
            "Drugs",
        ],
        dtype=object,
    )
    type_p = np.array([0.4, 0.09, 0.08, 0.09, 0.09, 0.08, 0.09, 0.03, 0.05])
    suspect = rng.choice(off_ids, size=n, p=off_p / off_p.sum())
    suspect = np.where(rng.random(n) < 0.45, suspect, None)
    records = pd.DataFrame(
        {
            "lsoa_code": pd.array(
                rng.choice(lsoa_ids, size=n, p=lsoa_p / lsoa_p.sum()), dtype="str"
            ),
            "suspect_id": pd.array(suspect, dtype="str"),
            "crime_type": pd.array(rng.choice(types, size=n, p=type_p / type_p.sum()), dtype="str"),
        }
    )
    return records


def _paired(baseline, candidate, repeat: int = 7) -> tuple[float, float, object]:
    """Best times of two functions run alternately (so load changes hit both alike)."""
    import gc
    import time

    best_b = best_c = float("inf")
    out = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        baseline()
        best_b = min(best_b, time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        out = candidate()
        best_c = min(best_c, time.perf_counter() - t0)
    return best_b, best_c, out


def run(quick: bool = False) -> list[BenchResult]:
    from triplet.targeting.harm import harm_of, load_index
    from triplet.targeting.ranking import rank_units

    n = 100_000 if quick else N_RECORDS
    records = make_records(n)
    index = load_index("cambridge")
    t_harm, scores = timed(lambda: harm_of(records, index), repeat=3)
    harm = scores.days
    frame = records.assign(harm=harm.to_numpy())

    results: list[BenchResult] = []
    for unit, column in (("lsoa", "lsoa_code"), ("offender", "suspect_id")):
        t_base, t_rank, ranking = _paired(
            lambda c=column: frame.groupby(c)["harm"].sum(),
            lambda u=unit: rank_units(records, unit=u, harm=scores),
        )
        ratio = t_rank / t_base
        results.append(
            BenchResult(
                name=f"rank {n:,} records by {unit}",
                seconds=t_rank,
                baseline_name=f"pandas groupby({column}).sum()",
                baseline_seconds=t_base,
                target="<= 1.5x",
                met=ratio <= 1.5,
                extra=f"{ranking.n_units:,} units",
            )
        )

    def both():
        a = rank_units(records, unit="lsoa", harm=scores)
        b = rank_units(records, unit="offender", harm=scores)
        return a, b

    import pyarrow as pa

    pool = pa.default_memory_pool()
    arrow_before = pool.bytes_allocated()
    peak, _ = peak_memory_mb(both)
    arrow_peak = (pool.max_memory() or 0) / 1e6
    rss = _peak_rss_mb()
    results.append(
        BenchResult(
            name=f"peak memory: rank {n:,} records by LSOA and by offender",
            seconds=0.0,
            target="< 1 GB",
            met=peak + arrow_peak < 1000,
            extra=f"{peak:,.0f} MB numpy/Python (tracemalloc) + Arrow pool peak "
            f"{arrow_peak:,.0f} MB (held {arrow_before / 1e6:,.0f} MB before); "
            f"process peak RSS {rss:,.0f} MB incl. making the data",
        )
    )
    t_base, _ = timed(lambda: frame.groupby("lsoa_code")["harm"].sum(), repeat=3)
    results.append(
        BenchResult(
            name=f"harm_of (CCHI weights) on {n:,} records",
            seconds=t_harm,
            baseline_name="pandas groupby(lsoa_code).sum()",
            baseline_seconds=t_base,
            target="(information)",
            met=None,
        )
    )
    return results


if __name__ == "__main__":  # pragma: no cover
    for r in run():
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        print(f"{r.name}: {r.seconds:.3f}s {ratio} target {r.target} met={r.met} {r.extra}")
