"""Data sources: paths, police.uk files, example:// tables, effect injection, clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.records.conftest import police_row
from triplet.errors import InputError
from triplet.records import load_source
from triplet.records.sources import example_borough
from triplet.registry.models import DataSource, Trial


def _trial(sources: list[dict], id_column: str = "lsoa_code") -> Trial:
    return Trial.model_validate(
        {
            "id": "test-trial",
            "title": "Test",
            "owner": {"name": "A", "agency": "B"},
            "intervention": {"type": "hot_spot_micro_patrol", "description": "patrols"},
            "hypotheses": {"primary": "less harm"},
            "units": {"kind": "place", "level": "lsoa", "id_column": id_column, "source": "x"},
            "outcomes": {"primary": {"name": "harm", "measure": "harm"}},
            "design": {"method": "complete", "seed": 7},
            "periods": {
                "baseline": {"start": "2022-01", "end": "2023-12"},
                "treatment": {"start": "2024-01", "end": "2024-12"},
            },
            "analysis": {"primary": "twfe_did", "minimum_effect": {"reduction": 0.1}},
            "data_sources": sources,
            "data_protection": {"note": "synthetic"},
        }
    )


def test_example_tables(borough):
    b = example_borough(2013)
    rec = load_source(DataSource(name="r", kind="records", uri="example://borough"), Path("."))
    pd.testing.assert_frame_equal(rec, b.records)
    lsoas = load_source(
        DataSource(name="u", kind="units", uri="example://borough/lsoas?seed=2013"), Path(".")
    )
    assert lsoas.equals(b.lsoas) and "deprivation" in lsoas.columns
    off = load_source(
        DataSource(name="o", kind="units", uri="example://borough/offenders"), Path(".")
    )
    assert "suspect_id" in off.columns
    rec.loc[0, "crime_type"] = "changed"  # a copy: the cached borough is untouched
    assert b.records.loc[0, "crime_type"] != "changed"
    assert example_borough(2013) is b  # cached per seed


def test_example_seed_selects_another_borough():
    a = load_source(DataSource(name="r", kind="records", uri="example://borough?seed=1"), Path("."))
    b = load_source(DataSource(name="r", kind="records", uri="example://borough?seed=2"), Path("."))
    assert len(a) != len(b) or not a["crime_id"].equals(b["crime_id"])


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("example://town", "unknown example"),
        ("example://borough/streets", "unknown example table"),
        ("example://borough?seed=abc", "seed must be"),
        ("example://borough?size=3", "unknown query"),
        ("s3://bucket/x.csv", "unknown scheme"),
        ("missing.csv", "file not found"),
    ],
)
def test_bad_uris_name_the_trial_field(uri, match, tmp_path):
    trial = _trial(
        [
            {"name": "ok", "kind": "units", "uri": "x.csv"},
            {"name": "r", "kind": "records", "uri": uri},
        ]
    )
    with pytest.raises(InputError, match=match) as exc:
        load_source(trial.data_sources[1], tmp_path, trial=trial, file="trials/t/trial.yaml")
    (p,) = exc.value.problems
    assert p.field == "data_sources[1].uri" and p.file == "trials/t/trial.yaml"


def test_records_paths_csv_parquet_and_police_uk(tmp_path, borough, write_police):
    small = borough.records.head(50).copy()
    small["month"] = small["month"].astype("str")
    small.to_csv(tmp_path / "r.csv", index=False)
    small.to_parquet(tmp_path / "r.parquet")
    for name in ("r.csv", "r.parquet"):
        got = load_source(DataSource(name="r", kind="records", uri=name), tmp_path)
        assert got["crime_id"].tolist() == small["crime_id"].tolist()
        assert isinstance(got["month"].dtype, pd.PeriodDtype)
    write_police("street.csv", [police_row("a"), police_row("b")])
    got = load_source(DataSource(name="p", kind="records", uri="street.csv"), tmp_path)
    assert got["crime_id"].tolist() == ["a", "b"]


def test_records_file_failing_the_schema(tmp_path):
    pd.DataFrame({"crime_id": ["a"], "month": ["2023-01"]}).to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(InputError) as exc:
        load_source(DataSource(name="r", kind="records", uri="r.csv"), tmp_path)
    assert exc.value.problems[0].field == "crime_type"


def test_simulated_effect_thins_treated_units_in_treatment_months():
    trial = _trial(
        [{"name": "r", "kind": "records", "uri": "example://borough", "simulated_effect": 0.5}]
    )
    b = example_borough(2013)
    units = b.lsoas["lsoa_code"]
    treated = units.iloc[::2].tolist()
    assignment = pd.DataFrame(
        {"unit": units, "arm": ["treatment" if u in treated else "control" for u in units]}
    )
    out = load_source(trial.data_sources[0], Path("."), trial=trial, assignment=assignment)
    base = b.records
    in_t = base["lsoa_code"].isin(treated)
    tm = base["month"].between(pd.Period("2024-01", "M"), pd.Period("2024-12", "M"))
    n_before = int((in_t & tm).sum())
    n_after = int(
        (
            out["lsoa_code"].isin(treated)
            & out["month"].between(pd.Period("2024-01", "M"), pd.Period("2024-12", "M"))
        ).sum()
    )
    assert abs(n_after / n_before - 0.5) < 0.02
    # everything outside the treated unit-months is untouched
    assert (~(in_t & tm)).sum() == (
        ~(
            out["lsoa_code"].isin(treated)
            & out["month"].between(pd.Period("2024-01", "M"), pd.Period("2024-12", "M"))
        )
    ).sum()
    # reproducible
    again = load_source(trial.data_sources[0], Path("."), trial=trial, assignment=assignment)
    assert again["crime_id"].equals(out["crime_id"])
    # without an assignment nothing is injected
    plain = load_source(trial.data_sources[0], Path("."), trial=trial)
    assert len(plain) == len(base)


def test_simulated_effect_unit_column_missing():
    trial = _trial(
        [{"name": "r", "kind": "records", "uri": "example://borough", "simulated_effect": 0.8}],
        id_column="beat",
    )
    assignment = pd.DataFrame({"unit": ["x"], "arm": ["treatment"]})
    with pytest.raises(InputError) as exc:
        load_source(trial.data_sources[0], Path("."), trial=trial, assignment=assignment)
    assert exc.value.problems[0].field == "units.id_column"
