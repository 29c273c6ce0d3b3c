"""Count-model DiD recovers a rate ratio from simulated counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.tracking import count_did


def _counts(
    rate_ratio: float,
    seed: int,
    overdispersion: float | None = None,
    n_units: int = 120,
    n_periods: int = 12,
) -> pd.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    u = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(n_periods), n_units)
    treated = (u % 2 == 0) & (t >= n_periods // 2)
    mu = np.exp(rng.normal(0.8, 0.7, n_units)[u] + 0.2 * np.sin(t)) * np.where(
        treated, rate_ratio, 1.0
    )
    if overdispersion:
        mu = mu * rng.gamma(1 / overdispersion, overdispersion, len(mu))
    y = rng.poisson(mu)
    return pd.DataFrame({"unit": u, "month": t, "count": y, "d": treated.astype(int)})


@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_recovers_rate_ratio(family):
    p = _counts(0.7, seed=11, overdispersion=0.5 if family == "negbin" else None)
    r = count_did(p, outcome="count", unit="unit", time="month", treated="d", family=family)
    lo, hi = r.ci
    assert lo < 0.7 < hi
    assert r.rate_ratio == pytest.approx(0.7, abs=0.08)
    assert r.percent_change == pytest.approx(100 * (r.rate_ratio - 1))
    if family == "negbin":
        assert r.dispersion == pytest.approx(0.5, abs=0.2)
    d = r.to_dict()
    assert d["rate_ratio_ci_low"] == pytest.approx(lo)
    assert r.plot() is not None


def test_coverage_over_seeds():
    covered = 0
    for seed in range(40):
        p = _counts(0.8, seed=100 + seed, n_units=60, n_periods=8)
        lo, hi = count_did(p, outcome="count", unit="unit", time="month", treated="d").ci
        covered += lo < 0.8 < hi
    assert covered >= 33  # nominal 38 of 40


def test_all_zero_units_dropped_and_counted():
    p = _counts(0.7, seed=3, n_units=40, n_periods=6)
    p.loc[p["unit"] == 5, "count"] = 0
    r = count_did(p, outcome="count", unit="unit", time="month", treated="d")
    assert r.n_units_dropped_all_zero == 1 and r.n_units == 39


def test_negative_outcome_rejected():
    p = _counts(0.7, seed=3, n_units=10, n_periods=4)
    with pytest.raises(InputError, match="non-negative"):
        count_did(
            p.assign(count=p["count"] - 5), outcome="count", unit="unit", time="month", treated="d"
        )


@pytest.mark.parametrize("family", ["poisson", "negbin"])
@pytest.mark.parametrize("cluster", [None, "pair"])
def test_within_irls_equals_statsmodels_dummies(family, cluster):
    """The fast within-IRLS fit equals statsmodels' GLM with explicit dummies."""
    p = _counts(0.75, seed=5, overdispersion=0.4, n_units=50, n_periods=8)
    p = p.assign(pair=p["unit"] // 2)
    kw = {
        "outcome": "count",
        "unit": "unit",
        "time": "month",
        "treated": "d",
        "family": family,
        "cluster": cluster,
    }
    fast = count_did(p, **kw)
    ref = count_did(p, **kw, method="dummies")
    assert fast.log_rate_ratio == pytest.approx(ref.log_rate_ratio, abs=1e-8)
    assert fast.se == pytest.approx(ref.se, abs=1e-8)
    assert fast.converged
    if family == "negbin":
        assert fast.dispersion == pytest.approx(ref.dispersion, rel=1e-8)


def _blocked_panel(seed: int = 1):
    """4 blocks x 4 units x 8 months; block-specific month shocks; 2 treated units per block."""
    rng = np.random.default_rng(seed)
    rows = []
    for b in range(4):
        for j in range(4):
            treated = j < 2
            for t in range(8):
                mu = np.exp(1 + 0.6 * b * np.sin(t + b) + 0.2 * j) * (
                    0.7 if treated and t >= 4 else 1
                )
                rows.append(
                    {
                        "unit": f"u{b}{j}",
                        "block": f"b{b}",
                        "month": t,
                        "y": rng.poisson(mu),
                        "d": int(treated and t >= 4),
                    }
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_block_by_month_effects_equal_the_dummy_glm(family):
    """Issue 10 defect 12: ``block=`` gives unit + block x month effects (the design's), equal
    to statsmodels' GLM with unit dummies and block x month dummies (a full-rank set), for
    the estimate and its cluster-robust SE; and different from unit + month effects."""
    p = _blocked_panel()
    kw = {"outcome": "y", "unit": "unit", "time": "month", "treated": "d", "family": family}
    within = count_did(p, **kw, block="block")
    dummies = count_did(p, **kw, block="block", method="dummies")
    assert within.log_rate_ratio == pytest.approx(dummies.log_rate_ratio, abs=1e-9)
    assert within.se == pytest.approx(dummies.se, rel=1e-7)
    assert within.fixed_effects == "unit + block x month"
    assert "unit + block x month" in within.to_dict()["notes"]
    plain = count_did(p, **kw)
    assert plain.fixed_effects == "unit + month"
    # the block-specific month shocks are noise to the unit + month model
    assert abs(plain.se - within.se) > 0.1 * within.se


def test_one_block_is_the_unit_and_month_model():
    p = _blocked_panel().assign(block="all")
    kw = {"outcome": "y", "unit": "unit", "time": "month", "treated": "d"}
    a, b = count_did(p, **kw, block="block"), count_did(p, **kw)
    assert a.log_rate_ratio == pytest.approx(b.log_rate_ratio, abs=1e-12)
    assert a.se == pytest.approx(b.se, rel=1e-12)


def test_block_by_month_cells_with_no_events_are_dropped():
    p = _blocked_panel()
    p.loc[(p["block"] == "b0") & (p["month"] == 3), "y"] = 0
    r = count_did(p, outcome="y", unit="unit", time="month", treated="d", block="block")
    assert r.n_obs == len(p) - 4
