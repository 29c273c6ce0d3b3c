"""unit x month aggregate: known answers, zeros filled, filters, total preserved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.records import unit_month, validate_records


def _records(rows):
    df = pd.DataFrame(rows, columns=["crime_id", "month", "crime_type", "lsoa_code"])
    return validate_records(df)


def test_known_answer_with_zeros_and_harm():
    rec = _records(
        [
            ("1", "2023-01", "Burglary", "A"),
            ("2", "2023-01", "Burglary", "A"),
            ("3", "2023-02", "Robbery", "B"),
            ("4", "2023-03", "Robbery", "B"),  # outside the months
            ("5", "2023-02", "Robbery", None),  # no unit
        ]
    )
    harm = pd.Series([30.0, 30.0, 365.0, 365.0, 365.0])
    out = unit_month(rec, unit="lsoa_code", months=["2023-01", "2023-02"], harm=harm)
    assert list(out.columns) == ["unit", "month", "count", "harm"]
    assert list(out["unit"]) == ["A", "A", "B", "B"]
    assert list(out["month"].astype("str")) == ["2023-01", "2023-02", "2023-01", "2023-02"]
    assert list(out["count"]) == [2, 0, 0, 1]
    assert list(out["harm"]) == [60.0, 0.0, 0.0, 365.0]
    assert out.attrs["n_records"] == 3 and out.attrs["n_without_unit"] == 1
    assert isinstance(out["month"].dtype, pd.PeriodDtype)


def test_units_given_fill_zeros_and_drop_others():
    rec = _records([("1", "2023-01", "Drugs", "A"), ("2", "2023-01", "Drugs", "Z")])
    out = unit_month(
        rec,
        unit="lsoa_code",
        months=pd.period_range("2023-01", "2023-03", freq="M"),
        units=["C", "A"],
    )
    assert list(out["unit"]) == ["C"] * 3 + ["A"] * 3
    assert out["count"].tolist() == [0, 0, 0, 1, 0, 0]
    assert (out["harm"] == 0).all()


def test_crime_type_filter():
    rec = _records([("1", "2023-01", "Drugs", "A"), ("2", "2023-01", "Robbery", "A")])
    out = unit_month(rec, unit="lsoa_code", months=["2023-01"], crime_types=["Robbery"])
    assert out["count"].tolist() == [1]


def test_errors():
    rec = _records([("1", "2023-01", "Drugs", "A")])
    with pytest.raises(InputError, match="unit id column"):
        unit_month(rec, unit="beat", months=["2023-01"])
    with pytest.raises(InputError, match="harm has 2 values"):
        unit_month(rec, unit="lsoa_code", months=["2023-01"], harm=pd.Series([1.0, 2.0]))
    with pytest.raises(InputError, match="missing"):
        unit_month(rec, unit="lsoa_code", months=["2023-01"], harm=pd.Series([np.nan]))


def test_matches_pandas_groupby_on_the_borough(borough):
    rec = borough.records
    months = borough.months[:12]
    harm = pd.Series(np.arange(len(rec), dtype=float) % 7, index=rec.index)
    out = unit_month(
        rec, unit="lsoa_code", months=months, harm=harm, units=borough.lsoas["lsoa_code"]
    )
    assert len(out) == len(borough.lsoas) * 12
    sel = rec["month"].isin(months)
    ref = (
        pd.DataFrame({"unit": rec["lsoa_code"], "month": rec["month"], "h": harm})[sel]
        .groupby(["unit", "month"])
        .agg(count=("h", "size"), harm=("h", "sum"))
    )
    got = out.set_index(["unit", "month"]).loc[ref.index]
    assert (got["count"].to_numpy() == ref["count"].to_numpy()).all()
    np.testing.assert_allclose(got["harm"].to_numpy(), ref["harm"].to_numpy())
    assert out["count"].sum() == sel.sum()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.integers(0, 5), st.floats(0, 1000)),
        max_size=80,
    )
)
def test_total_count_and_harm_preserved(rows):
    months = pd.period_range("2023-01", periods=6, freq="M")
    rec = pd.DataFrame(
        {
            "crime_id": [str(i) for i in range(len(rows))],
            "month": pd.PeriodIndex([months[m] for _, m, _ in rows], freq="M"),
            "crime_type": ["Drugs"] * len(rows),
            "lsoa_code": pd.Series([u for u, _, _ in rows], dtype="str"),
        }
    )
    harm = pd.Series([h for _, _, h in rows], dtype="float64")
    out = unit_month(rec, unit="lsoa_code", months=months, harm=harm, units=["A", "B", "C", "D"])
    assert len(out) == 24
    assert out["count"].sum() == len(rows)
    assert out["harm"].sum() == pytest.approx(harm.sum())
    assert (out["count"] >= 0).all()
