"""Control charts and run rules against hand-computed answers and their promised error rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.performance.spc import (
    D2,
    laney_u_chart,
    run_rules,
    seasonal_u_chart,
    standardised_chart,
    xmr_chart,
)

# Wheeler's sample data (D. J. Wheeler, as charted with R's qcc by T. Hopper, "Individuals and
# moving range charts in R", 2014). By hand: mean = 66168 / 16 = 4135.5; the 15 moving ranges
# sum to 5339, mean 355.9333; limits 4135.5 +/- 3 x 355.9333 / 1.128 = 4135.5 +/- 946.6312.
WHEELER = [5045, 4350, 4350, 3975, 4290, 4430, 4485, 4285, 3980, 3925, 3645, 3760, 3300, 3685,
           3463, 5200]  # fmt: skip


def test_xmr_limits_match_hand_computation():
    c = xmr_chart(WHEELER)
    t = c.table
    assert t["centre"].iloc[0] == pytest.approx(4135.5)
    assert c.sigma_z == pytest.approx(5339 / 15 / 1.128)
    assert t["ucl"].iloc[0] == pytest.approx(4135.5 + 3 * 5339 / 15 / 1.128)
    assert t["lcl"].iloc[0] == pytest.approx(4135.5 - 3 * 5339 / 15 / 1.128)
    # 2.66 x mean moving range is the usual shorthand for 3 / d2
    assert abs(3 / D2 - 2.66) < 0.001
    # only the last value (5200 > 5082.13) is beyond the limits
    assert t["beyond"].tolist() == [False] * 15 + [True]
    assert t["direction"].iloc[-1] == 1


def test_baseline_sets_the_limits_and_later_points_are_monitored():
    y = [10, 12, 11, 13, 12, 30]
    c = xmr_chart(y, n_baseline=5)
    mr = np.mean([2, 1, 2, 1])
    assert c.table["ucl"].iloc[-1] == pytest.approx(11.6 + 3 * mr / D2)
    assert c.table["phase"].tolist() == ["baseline"] * 5 + ["monitoring"]
    assert bool(c.table["beyond"].iloc[-1])


def test_lower_limit_is_floored_at_zero():
    c = xmr_chart([0, 5, 0, 6, 1, 7])
    assert (c.table["lcl"] >= 0).all()


def _flags(z, **kw):
    return run_rules(np.asarray(z, float), 3.0, **kw)


def test_run_of_eight_on_one_side_is_a_signal_seven_is_not():
    seven = [-1, 1, 1, 1, 1, 1, 1, 1, -1]
    eight = [-1, 1, 1, 1, 1, 1, 1, 1, 1, -1]
    assert not _flags(seven)["run"].any()
    f = _flags(eight)
    assert f["run"].tolist() == [False] + [True] * 8 + [False]
    assert (f["direction"][1:9] == 1).all()


def test_a_point_on_the_centre_line_breaks_a_run():
    z = [0.5] * 4 + [0.0] + [0.5] * 4
    assert not _flags(z)["run"].any()


def test_trend_of_six_is_a_signal_five_is_not():
    # values chosen not to alternate side, so runs do not interfere
    five = [0.1, 0.2, 0.3, 0.4, 0.5, 0.2]
    six = [-0.3, -0.2, -0.1, 0.1, 0.2, 0.3, 0.0]
    assert not _flags(five)["trend"].any()
    f = _flags(six)
    assert f["trend"].tolist() == [True] * 6 + [False]
    assert (f["direction"][:6] == 1).all()
    down = _flags([0.3, 0.2, 0.1, -0.1, -0.2, -0.3])
    assert down["trend"].all() and (down["direction"] == -1).all()


def test_a_tie_breaks_a_trend():
    z = [0.1, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6]
    assert not _flags(z)["trend"].any()


def test_missing_values_break_runs_and_signal_nothing():
    z = [1, 1, 1, 1, np.nan, 1, 1, 1, 1]
    f = _flags(z)
    assert not f["run"].any() and not f["signal"].iloc[4]


@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=40))
@settings(max_examples=150, deadline=None)
def test_run_rules_properties(z):
    f = _flags(z)
    a = np.asarray(z)
    assert f["beyond"].tolist() == list(np.abs(a) > 3)
    # flipping the sign flips the direction of every signal
    g = _flags(-a)
    assert (g["run"] == f["run"]).all() and (g["trend"] == f["trend"]).all()
    assert (g["direction"] == -f["direction"]).all()
    assert (f["signal"] == (f["beyond"] | f["run"] | f["trend"])).all()


def test_laney_u_prime_with_constant_exposure_is_the_xmr_chart():
    rng = np.random.default_rng(1)
    counts = rng.poisson(40, 30).astype(float)
    n = np.full(30, 2000.0)
    lu = laney_u_chart(counts, n, n_baseline=24)
    x = xmr_chart(counts, n_baseline=24)
    np.testing.assert_allclose(lu.table["ucl"], x.table["ucl"], rtol=1e-12)
    np.testing.assert_allclose(lu.table["lcl"], x.table["lcl"], rtol=1e-12)
    assert lu.table["signal"].tolist() == x.table["signal"].tolist()


def test_laney_u_prime_hand_computed():
    # counts 10, 20, 15 over exposures 100, 200, 100: u = 45 / 400 = 0.1125
    c, n = np.array([10.0, 20.0, 15.0]), np.array([100.0, 200.0, 100.0])
    u = 45 / 400
    s = np.sqrt(u * n)  # Poisson sigma of the counts
    z = (c - u * n) / s
    sigma_z = np.mean(np.abs(np.diff(z))) / 1.128
    ch = laney_u_chart(c, n)
    assert ch.sigma_z == pytest.approx(sigma_z)
    np.testing.assert_allclose(ch.table["ucl"], u * n + 3 * s * sigma_z)
    np.testing.assert_allclose(ch.table["centre"], u * n)


def test_seasonal_chart_uses_leverage_for_sigma_and_prediction_inflation():
    y = np.array([10.0, 14, 9, 15, 12])
    e = np.array([11.0, 13, 10, 14, 12])
    h = np.array([0.5, 0.5, 0.5, 0.5, 0.2])
    ch = seasonal_u_chart(y, e, n_baseline=4, leverage=h)
    zb = (y[:4] - e[:4]) / np.sqrt(e[:4]) / np.sqrt(0.5)
    sigma = np.mean(np.abs(np.diff(zb))) / 1.128
    assert ch.sigma_z == pytest.approx(sigma)
    assert ch.table["ucl"].iloc[-1] == pytest.approx(12 + 3 * np.sqrt(12) * np.sqrt(1.2) * sigma)
    assert ch.table["ucl"].iloc[0] == pytest.approx(11 + 3 * np.sqrt(11) * sigma)


def test_chart_errors_are_input_errors():
    with pytest.raises(InputError):
        xmr_chart([1.0])
    with pytest.raises(InputError):
        laney_u_chart([1, 2], [0, 1])
    with pytest.raises(InputError):
        standardised_chart([1, 2], [1], [1])


def test_to_dict_and_plot():
    months = pd.period_range("2024-01", periods=16, freq="M")
    c = xmr_chart(pd.Series(WHEELER, index=months))
    d = c.to_dict()
    assert d["points"][0]["month"] == "2024-01" and d["method"] == "xmr"
    ax = c.plot(title="x")
    assert ax.get_title() == "x"
