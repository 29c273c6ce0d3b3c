"""Indicator series and the injected shift of the example."""

from __future__ import annotations

import numpy as np
import pandas as pd

from triplet.performance.framework import Indicator, Population, SimulatedShift
from triplet.performance.populations import resolve_population
from triplet.performance.series import indicator_mask, indicator_series, inject_shift

MONTHS = pd.period_range("2023-01", "2023-06", freq="M")


def _records(n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {
            "month": pd.PeriodIndex(rng.choice([str(m) for m in MONTHS[:5]], n), freq="M"),
            "crime_type": rng.choice(["Burglary", "Robbery"], n),
            "lsoa_code": rng.choice(["A", "B"], n),
            "harm": rng.choice([10.0, 365.0], n),
        }
    )


def _ind(**kw) -> Indicator:
    base = dict(id="crimes", title="X", measure="count", population="b", owner="o")
    return Indicator(**{**base, **kw})


def test_series_counts_and_harm_with_zero_months():
    r = _records()
    b = resolve_population("b", Population(kind="borough"), r, MONTHS)
    s = indicator_series(r, _ind(crime_types=["Burglary"]), b, MONTHS)
    want = r[r["crime_type"] == "Burglary"].groupby("month").size()
    assert s.loc["2023-01"] == want.loc[pd.Period("2023-01")]
    assert s.loc["2023-06"] == 0.0  # no record in June: zero, not missing
    h = indicator_series(r, _ind(measure="harm"), b, MONTHS)
    assert h.sum() == r["harm"].sum()


def test_shift_thins_only_the_indicator_records_after_the_start():
    r = _records(40_000)
    before = r.copy()
    b = resolve_population("b", Population(kind="borough"), r, MONTHS)
    ind = _ind(crime_types=["Burglary"])
    mask = indicator_mask(r, ind, b)
    shifted = inject_shift(
        r, mask, SimulatedShift(indicator="crimes", start="2023-03", rate_ratio=0.7)
    )
    pd.testing.assert_frame_equal(r, before)  # input not mutated
    late_b = lambda t: ((t["crime_type"] == "Burglary") & (t["month"] >= "2023-03")).sum()  # noqa: E731
    ratio = late_b(shifted) / late_b(r)
    n = late_b(r)
    assert abs(ratio - 0.7) < 4 * np.sqrt(0.7 * 0.3 / n)
    untouched = lambda t: ((t["crime_type"] == "Robbery") | (t["month"] < "2023-03")).sum()  # noqa: E731
    assert untouched(shifted) == untouched(r)
