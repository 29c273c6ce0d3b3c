"""The seasonal quasi-Poisson baseline: recovers a known season, intervals cover."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.performance.expected import design_matrix, expected_values

MONTHS = pd.period_range("2021-01", periods=36, freq="M")


def test_exact_seasonal_series_is_recovered():
    mu = 50 * np.exp(0.3 * np.cos(2 * np.pi * (MONTHS.month - 7) / 12))
    ev = expected_values(pd.Series(mu, index=MONTHS), n_baseline=24)
    np.testing.assert_allclose(ev.table["expected"], mu, rtol=1e-6)
    assert ev.harmonics == 2 and ev.dispersion < 1e-6


def test_constant_series_gives_the_mean_and_a_poisson_interval():
    y = pd.Series(np.tile([18.0, 22.0], 18), index=MONTHS)
    ev = expected_values(y, n_baseline=24, harmonics=0)
    assert ev.table["expected"].iloc[-1] == pytest.approx(20.0)
    # phi = X^2 / df = (24 x 4/20) / 23
    assert ev.dispersion == pytest.approx(24 * 0.2 / 23)


def test_short_baseline_drops_seasonality_and_says_so():
    y = pd.Series(np.full(36, 10.0), index=MONTHS)
    ev = expected_values(y, n_baseline=12)
    assert ev.harmonics == 0 and "no seasonality" in ev.notes[0]


def test_prediction_intervals_cover_about_95_percent():
    rng = np.random.default_rng(8)
    mu = 40 * np.exp(0.25 * np.cos(2 * np.pi * (MONTHS.month - 7) / 12))
    inside, total = 0, 0
    for _ in range(150):
        lam = rng.gamma(20, mu / 20)  # over-dispersed: var = mu + mu^2 / 20
        y = pd.Series(rng.poisson(lam).astype(float), index=MONTHS)
        t = expected_values(y, n_baseline=24).table.iloc[24:]
        inside += int(((t["value"] >= t["pi_low"]) & (t["value"] <= t["pi_high"])).sum())
        total += len(t)
    assert 0.91 < inside / total < 0.98


def test_design_matrix_columns():
    X = design_matrix(MONTHS[:12], harmonics=1, trend=True)
    assert X.shape == (12, 4)
    assert X[0, 1] == pytest.approx(np.sin(2 * np.pi / 12))
    assert X[-1, 3] == pytest.approx(11 / 12)


def test_bad_input():
    with pytest.raises(InputError):
        expected_values(pd.Series(np.zeros(36), index=MONTHS), n_baseline=24)
    with pytest.raises(InputError):
        expected_values(pd.Series(np.ones(5)), n_baseline=3)
