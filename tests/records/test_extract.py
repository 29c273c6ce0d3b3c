"""Force-extract reader: column mapping, value maps, dates, pseudonymisation, bad rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.records import load_mapping, pseudonymise, read_extract, validate_records

MAPPING = """\
columns:
  crime_id: REF
  date: WHEN
  offence_code: HO
  crime_type: CAT
  lsoa_code: LSOA
  suspect_id: SUSPECT
  victim_id: VICTIM
date_format: "%d/%m/%Y %H:%M"
values:
  crime_type: {VIOL: Violence and sexual offences, BURG: Burglary}
constants: {force: Example Constabulary}
"""

EXTRACT = """\
REF,WHEN,HO,CAT,LSOA,SUSPECT,VICTIM,NAME
1,03/01/2023 14:05,8N,VIOL,E01000001,N123,V1,Alice Smith
2,32/01/2023 14:05,28E,BURG,E01000001,,V2,Bob
3,04/02/2023 01:00,28E,XX,E01000002,N123,,Carol
,04/02/2023 01:00,28E,BURG,E01000002,N9,,Dan
5,28/02/2023 23:59,28E,BURG,E01000002,N123,V1,Eve
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "m.yaml").write_text(MAPPING)
    (tmp_path / "x.csv").write_text(EXTRACT)
    return tmp_path / "x.csv", tmp_path / "m.yaml"


def test_extract_maps_columns_and_pseudonymises(files, key):
    data, mapping = files
    r = read_extract(data, mapping, key=key)
    rec = r.records
    assert list(rec["crime_id"]) == ["1", "5"]
    assert list(rec["crime_type"]) == ["Violence and sexual offences", "Burglary"]
    assert rec["date"].iloc[0] == pd.Timestamp("2023-01-03 14:05")
    assert list(rec["month"].astype("str")) == ["2023-01", "2023-02"]  # derived from date
    assert (rec["force"] == "Example Constabulary").all()
    # the same person gets the same pseudonym; the raw id never appears
    assert rec["suspect_id"].iloc[0] == rec["suspect_id"].iloc[1]
    assert rec["suspect_id"].iloc[0] == pseudonymise(pd.Series(["N123"]), key=key).iloc[0]
    assert not rec.isin(["N123", "V1"]).any().any()
    assert "NAME" not in rec.columns and not rec.isin(["Alice Smith"]).any().any()
    pd.testing.assert_frame_equal(validate_records(rec), rec)


def test_extract_bad_rows_have_csv_line_numbers(files, key):
    data, mapping = files
    r = read_extract(data, mapping, key=key)
    assert r.n_read == 5 and r.n_kept == 2 and r.n_skipped == 3
    got = [(s.row, s.column, s.value) for s in r.skipped.head(2).itertuples(index=False)]
    assert got == [(3, "WHEN", "32/01/2023 14:05"), (4, "CAT", "XX")]
    assert pd.isna(r.skipped.iloc[2]["value"])
    assert r.skipped.iloc[2]["row"] == 5 and r.skipped.iloc[2]["reason"] == "crime id is blank"


def test_extract_needs_a_key_for_person_ids(files, monkeypatch):
    monkeypatch.delenv("TRIPLET_PSEUDONYM_KEY", raising=False)
    data, mapping = files
    with pytest.raises(InputError, match="TRIPLET_PSEUDONYM_KEY"):
        read_extract(data, mapping)


def test_extract_key_from_environment(files, key, monkeypatch):
    monkeypatch.setenv("TRIPLET_PSEUDONYM_KEY", key)
    data, mapping = files
    assert read_extract(data, mapping).records.equals(read_extract(data, mapping, key=key).records)


def test_extract_parquet_with_month_column(tmp_path, key):
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "mon": ["2024-01", "2024-02", "2024-xx"],
            "type": ["Drugs", "Robbery", "Drugs"],
            "lsoa": ["E01000001", None, "E01000003"],
        }
    )
    frame.to_parquet(tmp_path / "x.parquet")
    (tmp_path / "m.yaml").write_text(
        "columns: {crime_id: id, month: mon, crime_type: type, lsoa_code: lsoa}\n"
    )
    r = read_extract(tmp_path / "x.parquet", tmp_path / "m.yaml")
    assert r.n_kept == 2
    assert r.skipped.iloc[0]["row"] == 3 and r.skipped.iloc[0]["column"] == "mon"
    assert pd.isna(r.records["lsoa_code"].iloc[1])


def test_mapping_column_missing_from_file(files, tmp_path, key):
    data, _ = files
    (tmp_path / "m2.yaml").write_text(
        "columns: {crime_id: REF, date: WHEN, crime_type: CATEGORY}\n"
    )
    with pytest.raises(InputError) as exc:
        read_extract(data, tmp_path / "m2.yaml", key=key)
    (p,) = exc.value.problems
    assert p.field == "CATEGORY" and p.file == str(data) and "columns.crime_type" in p.message


def test_mapping_errors_have_line_numbers(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("columns:\n  crime_id: REF\n  dat: WHEN\n  crime_type: CAT\n")
    with pytest.raises(InputError) as exc:
        load_mapping(path)
    (p,) = exc.value.problems
    assert p.line == 3 and p.field == "columns.dat"


def test_mapping_needs_month_or_date(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("columns:\n  crime_id: REF\n  crime_type: CAT\n")
    with pytest.raises(InputError, match=r"month or columns\.date"):
        load_mapping(path)


def test_mapping_broken_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("columns:\n  crime_id: [REF\n")
    with pytest.raises(InputError) as exc:
        load_mapping(path)
    assert exc.value.problems[0].line is not None


def test_already_pseudonymised_values_are_checked(tmp_path):
    (tmp_path / "x.csv").write_text(
        "id,m,t,s\n1,2024-01,Drugs,p_0123456789abcdef\n2,2024-01,Drugs,John\n"
    )
    (tmp_path / "m.yaml").write_text(
        "columns: {crime_id: id, month: m, crime_type: t, suspect_id: s}\nalready_pseudonymised: true\n"
    )
    r = read_extract(tmp_path / "x.csv", tmp_path / "m.yaml")
    assert list(r.records["suspect_id"]) == ["p_0123456789abcdef"]
    assert r.skipped.iloc[0]["row"] == 3 and r.skipped.iloc[0]["column"] == "s"
