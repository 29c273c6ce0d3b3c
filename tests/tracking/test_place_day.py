"""Place-day (crossover) analysis: place + day fixed effects, RI that re-draws the scheme."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.testing.crossover import PlaceDayRules, assign_place_days
from triplet.tracking.place_day import place_day_effect

RULES = PlaceDayRules(treated_per_day=6, max_consecutive=2, washout_days=1)


def _trial(seed: int, rate_ratio: float, n_places: int = 30, n_days: int = 90):
    """SYNTHETIC place-day counts: place and day effects, treated place-days thinned."""
    rng = np.random.Generator(np.random.PCG64(seed + 1000))
    places = [f"P{i:02d}" for i in range(n_places)]
    a = assign_place_days(places, pd.RangeIndex(n_days), RULES, seed=seed)
    t = a.table
    place_rate = np.exp(rng.normal(0.5, 0.6, n_places))
    day_rate = np.exp(0.3 * np.sin(np.arange(n_days) * 2 * np.pi / 7))
    mu = place_rate[t["unit"].str[1:].astype(int)] * day_rate[t["day"].to_numpy()]
    mu = np.where(t["treated"], mu * rate_ratio, mu)
    y = rng.poisson(mu)
    true = float((mu * (1 - 1 / rate_ratio))[t["treated"]].mean()) if rate_ratio != 1 else 0.0
    return t.assign(count=y), true


def test_estimate_is_the_dummy_variable_ols_coefficient():
    panel, _ = _trial(3, 0.8, n_places=8, n_days=20)
    r = place_day_effect(panel)
    keep = ~panel["washout"].to_numpy()
    p = panel[keep]
    X = np.column_stack(
        [
            p["treated"].to_numpy(float),
            pd.get_dummies(p["unit"], dtype=float).to_numpy(),
            pd.get_dummies(p["day"], dtype=float).to_numpy()[:, 1:],
        ]
    )
    beta = np.linalg.lstsq(X, p["count"].to_numpy(float), rcond=None)[0]
    assert r.estimate == pytest.approx(beta[0], abs=1e-8)
    assert r.n_washout == int(panel["washout"].sum()) > 0
    assert r.n_obs == len(p)
    d = r.to_dict()
    assert d["n_units"] == 8 and d["ri_p_value"] is None


def test_recovers_an_injected_effect_and_randomisation_inference_detects_it():
    """Rate ratio 0.7 on treated place-days: the estimate lies within 3 SE of the true
    additive effect, the CI covers it, and the RI p-value from re-drawn schemes is small."""
    panel, true = _trial(11, 0.7)
    r = place_day_effect(panel, rules=RULES, seed=11, n_draws=200)
    assert true < 0
    assert abs(r.estimate - true) < 3 * r.se
    assert r.ci_low < true < r.ci_high
    assert r.ri_p_value is not None and r.ri_p_value <= 0.01
    assert -45 < r.percent_change < -15  # a 30% cut, give or take sampling error


def test_under_the_null_the_ri_p_value_is_not_small_and_draw_zero_is_the_estimate():
    panel, _ = _trial(12, 1.0)
    r = place_day_effect(panel, rules=RULES, seed=12, n_draws=200)
    assert r.ri_estimates[0] == pytest.approx(r.estimate, abs=1e-12)
    assert r.ri_p_value > 0.05


def test_coverage_over_simulated_trials():
    """95% intervals cover the true effect in about 95% of 40 simulated trials (>= 34)."""
    covered = 0
    for s in range(40):
        panel, true = _trial(100 + s, 0.75, n_places=20, n_days=40)
        r = place_day_effect(panel)
        covered += r.ci_low <= true <= r.ci_high
    assert covered >= 34


def test_ri_refuses_an_assignment_that_is_not_the_schemes_draw():
    panel, _ = _trial(5, 0.8, n_places=10, n_days=20)
    with pytest.raises(InputError, match="registered scheme"):
        place_day_effect(panel, rules=RULES, seed=6, n_draws=10)
    bad = panel.assign(washout=panel["treated"])
    with pytest.raises(InputError, match="washout"):
        place_day_effect(bad)
