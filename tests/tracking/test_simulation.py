"""Simulation check on the example borough: TWFE DiD recovers an injected 20% fall.

Each replicate re-randomises 30 of the 60 busiest LSOAs to treatment, thins their records in
the 12 treatment months with rate ratio 0.8 (``triplet.example.inject_effect``) and estimates
the per-cent change with the fast TWFE estimator. Over 40 replicates the 95% intervals should
cover -20% close to 95% of the time, and the estimates should centre on -20%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from triplet.example import inject_effect
from triplet.records.aggregate import unit_month
from triplet.tracking import did


def test_recovers_injected_effect_with_nominal_coverage(borough):
    months = pd.period_range("2022-01", "2024-12", freq="M")
    treatment = pd.period_range("2024-01", "2024-12", freq="M")
    rec = borough.records
    rec = rec[rec["month"].isin(months)]
    counts = rec.groupby("lsoa_code").size().sort_values(ascending=False)
    units = sorted(counts.index[:60])
    rec = rec[rec["lsoa_code"].isin(units)].reset_index(drop=True)
    reps, covered, pct = 40, 0, []
    for rep in range(reps):
        rng = np.random.Generator(np.random.PCG64(1000 + rep))
        treated = sorted(rng.choice(units, size=30, replace=False))
        thinned = inject_effect(
            rec,
            unit_column="lsoa_code",
            treated_units=treated,
            months=treatment,
            rate_ratio=0.8,
            seed=rep,
        )
        panel = unit_month(thinned, unit="lsoa_code", months=months, units=units)
        d = panel["unit"].isin(treated) & panel["month"].isin(treatment)
        r = did(
            panel.assign(d=d.astype(int)), outcome="count", unit="unit", time="month", treated="d"
        )
        covered += r.percent_ci_low < -20 < r.percent_ci_high
        pct.append(r.percent_change)
    pct = np.array(pct)
    assert covered >= 34  # nominal 38 of 40; 34 is below the 1% binomial tail
    assert abs(pct.mean() + 20) < 3 * pct.std(ddof=1) / np.sqrt(reps)
