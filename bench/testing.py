"""Testing benchmark: design diagnosis of a 100-unit block-randomised DiD, 1,000 simulations.

``triplet.testing.diagnosis.diagnose`` (every simulated trial re-assigned with the registered
block procedure, a power curve over 13 injected effects plus the registered one, analytic
companion) is timed against the straightforward way of doing the same in the same process: a
Python loop that re-randomises within blocks and fits, for each simulated trial and effect,
an OLS of the unit-level post-minus-pre difference on treatment and block dummies with a
cluster-robust SE (statsmodels). The loop is run on a tenth of the simulations and scaled up.
Target (shared/TARGETS.md): under 10 seconds on 2 cores.

The panel is SYNTHETIC: 100 units x 24 months of over-dispersed harm (gamma-Poisson counts
times a harm weight), blocked into four harm tiers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.common import BenchResult, timed

N_UNITS = 100
N_MONTHS = 24
N_SIMS = 1000


def make_panel(seed: int = 2013) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unit x month harm panel and unit table with harm tiers (SYNTHETIC)."""
    from triplet.testing.assignment import harm_tiers

    rng = np.random.Generator(np.random.PCG64(seed))
    level = rng.gamma(1.2, 4.0, N_UNITS)
    counts = rng.poisson(level[:, None] * rng.gamma(4.0, 0.25, (N_UNITS, N_MONTHS)))
    harm = counts * rng.choice([1.0, 2.0, 20.0, 365.0], p=[0.5, 0.3, 0.15, 0.05], size=counts.shape)
    ids = [f"u{i:03d}" for i in range(N_UNITS)]
    months = pd.period_range("2022-01", periods=N_MONTHS, freq="M")
    panel = pd.DataFrame(
        {
            "unit": np.repeat(ids, N_MONTHS),
            "month": np.tile(months, N_UNITS),
            "harm": harm.ravel(),
        }
    )
    units = pd.DataFrame({"unit": ids, "baseline_harm": harm.sum(axis=1)})
    units["harm_tier"] = harm_tiers(units["baseline_harm"], 4)
    return panel, units


def _loop(panel: pd.DataFrame, units: pd.DataFrame, n_sims: int, grid: np.ndarray) -> float:
    """The plain approach: per simulated trial and effect, statsmodels OLS with cluster SE."""
    import statsmodels.api as sm

    wide = panel.pivot_table(index="unit", columns="month", values="harm").loc[units["unit"]]
    y = wide.to_numpy()
    post = y[:, 12:].mean(axis=1)
    d0 = post - y[:, :12].mean(axis=1)
    blocks = units["harm_tier"].to_numpy()
    dummies = pd.get_dummies(blocks).to_numpy(dtype=float)
    rng = np.random.default_rng(1)
    rejected = 0
    for _ in range(n_sims):
        z = np.zeros(len(units), dtype=bool)
        for b in np.unique(blocks):
            idx = np.flatnonzero(blocks == b)
            z[rng.choice(idx, len(idx) // 2, replace=False)] = True
        for r in grid:
            d = d0 - r * post * z
            x = np.column_stack([z.astype(float), dummies])
            fit = sm.OLS(d, x).fit(cov_type="cluster", cov_kwds={"groups": np.arange(len(d))})
            rejected += fit.pvalues[0] < 0.05
    return rejected / (n_sims * len(grid))


def run(quick: bool = False) -> list[BenchResult]:
    from triplet.registry.models import Design
    from triplet.testing.diagnosis import diagnose

    panel, units = make_panel()
    design = Design(method="block", block_by="harm_tier", seed=20231204)
    n_sims = 200 if quick else N_SIMS
    seconds, diag = timed(
        lambda: diagnose(panel, units, design, reduction=0.2, n_sims=n_sims, post_months=12),
        repeat=3,
    )
    grid = diag.table["reduction"].to_numpy()
    n_loop = max(10, n_sims // 10)
    loop_seconds, _ = timed(lambda: _loop(panel, units, n_loop, grid), repeat=1)
    baseline = loop_seconds * n_sims / n_loop
    return [
        BenchResult(
            name=f"design diagnosis, {N_UNITS}-unit block DiD, {n_sims} sims x {len(grid)} effects",
            seconds=seconds,
            baseline_name="statsmodels OLS per simulated trial (loop, scaled)",
            baseline_seconds=baseline,
            target="< 10 s",
            met=seconds < 10.0,
            extra=f"power at 20% = {diag.power:.2f}, type-I error = {diag.type_i_error:.3f}",
        )
    ]
