"""The canonical records schema: columns, dtypes, coercion and errors."""

from __future__ import annotations

import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.records import RECORD_COLUMNS, empty_records, validate_records


def test_columns_match_the_contract():
    names = [c.name for c in RECORD_COLUMNS]
    assert names == [
        "crime_id",
        "month",
        "date",
        "offence_code",
        "crime_type",
        "lsoa_code",
        "lsoa_name",
        "longitude",
        "latitude",
        "location",
        "suspect_id",
        "victim_id",
        "outcome",
        "force",
    ]
    assert {c.name for c in RECORD_COLUMNS if c.required} == {"crime_id", "month", "crime_type"}


def test_empty_records_dtypes():
    e = empty_records()
    assert len(e) == 0
    assert isinstance(e["month"].dtype, pd.PeriodDtype)
    assert e["date"].dtype == "datetime64[ns]"
    assert e["longitude"].dtype == "float64"
    assert e["crime_id"].dtype == "str"


def test_validate_coerces_types_and_keeps_extra_columns():
    df = pd.DataFrame(
        {
            "crime_id": [1, 2],
            "month": ["2023-01", "2023-02-15"],
            "crime_type": ["Drugs", " Robbery "],
            "longitude": ["-0.1", None],
            "unit_id": ["u1", "u2"],
        }
    )
    out = validate_records(df)
    assert list(out["crime_id"]) == ["1", "2"]
    assert list(out["month"]) == [pd.Period("2023-01", "M"), pd.Period("2023-02", "M")]
    assert out["crime_type"].iloc[1] == "Robbery"
    assert out["longitude"].iloc[0] == -0.1 and pd.isna(out["longitude"].iloc[1])
    assert out.columns[-1] == "unit_id"
    assert out["suspect_id"].isna().all()


def test_validate_reports_every_problem_with_row_and_column():
    df = pd.DataFrame(
        {
            "crime_id": ["a", "b", "a", None],
            "month": ["2023-01", "2023-13", "2023-03", "2023-04"],
            "crime_type": ["Drugs", "Drugs", "", "Drugs"],
            "latitude": ["51", "x", "51", "51"],
        }
    )
    with pytest.raises(InputError) as exc:
        validate_records(df, "r.csv")
    got = {(p.line, p.field) for p in exc.value.problems}
    assert got == {
        (2, "month"),
        (2, "latitude"),
        (3, "crime_type"),
        (4, "crime_id"),
        (3, "crime_id"),
    }
    assert all(p.file == "r.csv" for p in exc.value.problems)


def test_missing_required_column():
    with pytest.raises(InputError) as exc:
        validate_records(pd.DataFrame({"crime_id": ["a"], "month": ["2023-01"]}), "r.parquet")
    (p,) = exc.value.problems
    assert p.field == "crime_type" and p.file == "r.parquet"
