"""Year to date against the same months last year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.performance.ytd import year_to_date

MONTHS = pd.period_range("2023-01", periods=24, freq="M")


def test_ratio_and_interval_by_hand():
    y = pd.Series(np.r_[np.full(12, 1000.0), np.full(12, 800.0)], index=MONTHS)
    r = year_to_date(y, "2024-03", dispersion=2.0)
    assert (r.this_year, r.last_year, r.months) == (2400.0, 3000.0, 3)
    half = 1.959963985 * np.sqrt(2.0 * (1 / 2400 + 1 / 3000))
    assert r.percent_change == pytest.approx(-20.0)
    assert r.ci_low == pytest.approx(100 * (0.8 * np.exp(-half) - 1))
    assert r.ci_high == pytest.approx(100 * (0.8 * np.exp(half) - 1))
    assert r.words == "lower than last year"


def test_no_clear_change_when_the_interval_spans_zero():
    y = pd.Series(np.r_[np.full(12, 10.0), np.full(12, 11.0)], index=MONTHS)
    assert year_to_date(y, "2024-02").words == "no clear change from last year"


def test_missing_months_are_an_error():
    y = pd.Series(np.ones(12), index=MONTHS[12:])
    with pytest.raises(InputError, match="missing"):
        year_to_date(y, "2024-05")


def test_zero_total_is_not_comparable():
    y = pd.Series(np.r_[np.zeros(12), np.ones(12)], index=MONTHS)
    assert year_to_date(y, "2024-01").percent_change is None
