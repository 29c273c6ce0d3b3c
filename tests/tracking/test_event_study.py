"""Event study: recovers dynamic effects; the pre-trend test has about its nominal size."""

from __future__ import annotations

import numpy as np
import pytest

from triplet.errors import InputError
from triplet.tracking import did, event_study

from .conftest import make_panel


def _with_start(p, start=5):
    return p.assign(start=np.where(p["treated_unit"], start, np.nan))


def test_common_start_coefficients_average_to_did():
    p = _with_start(make_panel(n_units=30, n_periods=8, start=4, effect=2.0, seed=4), 4)
    es = event_study(p, outcome="y", unit="unit", time="time", start="start")
    c = es.coefficients.set_index("k")
    assert list(c.index) == list(range(-4, 4))
    assert c.loc[-1, "estimate"] == 0.0 and np.isnan(c.loc[-1, "se"])
    # with a common start, the TWFE DiD equals mean(post coefs) - mean(pre coefs incl. ref 0)
    r = did(p, outcome="y", unit="unit", time="time", treated="d")
    post = c.loc[c.index >= 0, "estimate"].mean()
    pre = c.loc[c.index < 0, "estimate"].mean()
    assert post - pre == pytest.approx(r.estimate, abs=1e-10)
    assert es.pretrend_df == (3, 27)  # Hotelling: (q, G - q)
    assert es.to_dict()["pretrend_test"]["df1"] == 3
    assert es.plot() is not None


@pytest.mark.parametrize(("n_periods", "start"), [(8, 4), (16, 13)])
def test_pretrend_test_size_under_null(n_periods, start):
    """Size near 5% with 3 leads and with 12 leads on 30 clusters (Hotelling form)."""
    rejections = 0
    reps = 200
    for seed in range(reps):
        p = make_panel(n_units=30, n_periods=n_periods, start=start, effect=0.0, seed=seed)
        p = _with_start(p, start)
        es = event_study(p, outcome="y", unit="unit", time="time", start="start")
        rejections += es.pretrend_p < 0.05
    # nominal 5%: with 200 reps a binomial 99.9% band is about [0.5%, 11%]
    assert 0.005 <= rejections / reps <= 0.11


def test_pretrend_test_detects_a_diverging_trend():
    p = make_panel(n_units=40, n_periods=8, start=4, effect=0.0, seed=9)
    p = p.assign(y=p["y"] + 0.8 * p["treated_unit"] * p["time"])  # treated drift up
    es = event_study(_with_start(p, 4), outcome="y", unit="unit", time="time", start="start")
    assert es.pretrend_p < 0.001


def test_window_bins_endpoints_and_reference_checked():
    p = _with_start(make_panel(n_units=20, n_periods=10, start=5, effect=1.0, seed=2))
    es = event_study(p, outcome="y", unit="unit", time="time", start="start", window=(-2, 2))
    assert list(es.coefficients["k"]) == [-2, -1, 0, 1, 2]
    with pytest.raises(InputError, match="reference"):
        event_study(p, outcome="y", unit="unit", time="time", start="start", reference=-9)
    with pytest.raises(InputError, match="not one of the periods"):
        event_study(
            p.assign(start=np.where(p["treated_unit"], 99, np.nan)),
            outcome="y",
            unit="unit",
            time="time",
            start="start",
        )
