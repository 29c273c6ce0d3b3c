"""Per cent changes from a ratio scale: hand-computed values, bounds, coverage by simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from triplet.tracking.did import did
from triplet.tracking.percent import from_additive, from_log_ratio


def test_log_ratio_by_hand():
    # theta = log(0.8), se 0.1, normal: exp(log 0.8 +/- 1.959964 * 0.1) - 1
    p = from_log_ratio(math.log(0.8), 0.1)
    assert p.percent_change == pytest.approx(-20.0)
    assert p.percent_ci_low == pytest.approx(100 * (0.8 * math.exp(-0.1959964) - 1), abs=1e-4)
    assert p.percent_ci_high == pytest.approx(100 * (0.8 * math.exp(0.1959964) - 1), abs=1e-4)
    assert p.log_se == 0.1 and p.log_df is None


def test_log_ratio_uses_t_when_df_given():
    p = from_log_ratio(0.0, 0.1, df=9)
    # t(0.975, 9) = 2.262157
    assert p.percent_ci_high == pytest.approx(100 * math.expm1(0.2262157), abs=1e-4)


def test_additive_by_hand():
    # treated mean 8, effect -2 (counterfactual 10): -20%; interval (-4, 1) maps to
    # 8/12 - 1 = -33.3% and 8/7 - 1 = +14.3% (the old rule divided by 10: -40% and +10%).
    p = from_additive(-2.0, -4.0, 1.0, 8.0, se=1.25, df=19)
    assert p.percent_change == pytest.approx(-20.0)
    assert p.percent_ci_low == pytest.approx(100 * (8 / 12 - 1))
    assert p.percent_ci_high == pytest.approx(100 * (8 / 7 - 1))
    assert p.log_effect == pytest.approx(math.log(0.8))
    assert p.log_se == pytest.approx(1.25 / 10)
    assert p.log_df == 19


def test_event_study_example_no_longer_below_minus_100():
    # The defect: -56% (-110% to -2%). Effect -0.56 cf with cf = 1, so T = 0.44; lower end of the
    # effect -1.10 maps to 0.44 / 1.54 - 1 = -71.4%, never below -100%.
    p = from_additive(-0.56, -1.10, -0.02, 0.44)
    assert p.percent_ci_low == pytest.approx(100 * (0.44 / 1.54 - 1))
    assert p.percent_ci_low > -100


def test_unbounded_upper_is_blank_with_reason():
    p = from_additive(-1.0, -3.0, 6.0, 5.0)
    assert p.percent_ci_high is None
    assert "unbounded above" in p.reason
    assert p.percent_ci_low is not None


def test_non_positive_counterfactual_or_treated_mean_is_blank():
    assert from_additive(6.0, 5.0, 7.0, 5.0).percent_change is None
    p = from_additive(-1.0, -2.0, 0.0, 0.0)
    assert p.percent_change is None and "mean 0" in p.reason


@given(
    b=st.floats(-50, 50),
    w1=st.floats(0, 100),
    w2=st.floats(0, 100),
    t=st.floats(0.01, 100),
)
def test_additive_interval_never_below_minus_100_and_contains_point(b, w1, w2, t):
    p = from_additive(b, b - w1, b + w2, t)
    if p.percent_change is None:
        assert t - b <= 0
        return
    assert p.percent_ci_low > -100
    assert p.percent_ci_low <= p.percent_change + 1e-9
    if p.percent_ci_high is not None:
        assert p.percent_ci_high >= p.percent_change - 1e-9


def test_twfe_percent_interval_covers_the_true_ratio():
    """Simulation: panels with a true 25% fall in the treated months; the per cent interval from
    the TWFE fit covers the realised ratio T / counterfactual at about the nominal 95%."""
    rng = np.random.Generator(np.random.PCG64(20261202))
    n_units, n_t, start = 40, 12, 6
    u = np.repeat(np.arange(n_units), n_t)
    t = np.tile(np.arange(n_t), n_units)
    treated = u < n_units // 2
    post = t >= start
    cover, n_sims = 0, 300
    for _ in range(n_sims):
        level = rng.gamma(4.0, 2.5, n_units)[u]
        y0 = rng.poisson(level * np.exp(rng.normal(0, 0.05, n_t))[t]).astype(float)
        on = treated & post
        y = y0.copy()
        y[on] = rng.binomial(y0[on].astype(int), 0.75)
        panel = pd.DataFrame({"unit": u, "time": t, "y": y, "d": on.astype(int)})
        r = did(panel, outcome="y", unit="unit", time="time", treated="d")
        true_ratio = y[on].mean() / y0[on].mean()
        lo, hi = 1 + r.percent_ci_low / 100, 1 + r.percent_ci_high / 100
        cover += lo <= true_ratio <= hi
    # 95% nominal; MC SE at 300 sims is 1.3 points
    assert 0.90 <= cover / n_sims <= 0.99
