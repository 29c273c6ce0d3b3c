"""data.police.uk quirks of issue 10 (defects 7, 8, 9): encodings, archive folders, repeated ids.

Each test here failed on the reader before the fix. The real-file tests use the City of London
archive in ``../shared/data/real/police-uk`` (see SOURCES.md there).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.records.conftest import HEADER, police_row
from triplet.errors import InputError
from triplet.records import read_police_uk

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "police-uk"
CITY = REAL / "city-of-london-2016-01_2017-06"
OUTCOME_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Outcome type"
)


def _city() -> Path:
    if not CITY.is_dir():
        pytest.fail(
            f"real data.police.uk archive not found at {CITY.resolve()}: it should hold the "
            "City of London files 2016-01..2017-06 in one folder per month (see "
            "../shared/data/real/SOURCES.md)"
        )
    return CITY


# --- defect 7: encodings ----------------------------------------------------------------------


def _latin1_file(tmp_path: Path) -> Path:
    rows = [police_row("c1"), police_row("c2", location="On or near Café Royal")]
    path = tmp_path / "2023-01-x-street.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("cp1252"))
    return path


def test_non_utf8_file_names_line_column_and_field(tmp_path):
    path = _latin1_file(tmp_path)
    with pytest.raises(InputError) as exc:
        read_police_uk(path)
    (problem,) = exc.value.problems
    line3 = police_row("c2", location="On or near Café Royal")
    assert problem.file == str(path) and problem.line == 3 and problem.field == "Location"
    assert f"column {line3.index('é') + 1}:" in problem.message
    assert "0xE9" in problem.message and "--encoding cp1252" in problem.message
    assert "position" not in problem.message


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_encoding_option_reads_cp1252_and_latin1(tmp_path, encoding):
    r = read_police_uk(_latin1_file(tmp_path), encoding=encoding)
    assert r.n_kept == 2
    assert r.records["location"].tolist()[1] == "On or near Café Royal"


def test_unknown_encoding_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="unknown encoding"):
        read_police_uk(_latin1_file(tmp_path), encoding="klingon")


def test_cli_encoding_option(tmp_path, capsys):
    from triplet.cli.main import main

    out = tmp_path / "r.parquet"
    code = main(["records", "read", str(_latin1_file(tmp_path)), "-f", "police-uk", "-o", str(out)])
    assert code != 0 and not out.exists()
    err = capsys.readouterr().err
    assert ":3: Location: column" in err and "Traceback" not in err
    code = main(
        [
            "records",
            "read",
            str(_latin1_file(tmp_path)),
            "-f",
            "police-uk",
            "-o",
            str(out),
            "--encoding",
            "cp1252",
        ]
    )
    assert code == 0 and pd.read_parquet(out)["location"].iloc[1] == "On or near Café Royal"


# --- defect 8: archive folders ----------------------------------------------------------------


def _archive(tmp_path: Path) -> Path:
    root = tmp_path / "download"
    for month in ("2023-01", "2023-02"):
        (root / month).mkdir(parents=True)
    (root / "2023-01" / "2023-01-x-street.csv").write_text(
        "\n".join(
            [HEADER, police_row("a", outcome="Under investigation"), police_row("b", outcome="")]
        )
        + "\n"
    )
    (root / "2023-02" / "2023-02-x-street.csv").write_text(
        "\n".join([HEADER, police_row("c", month="2023-02", outcome="Under investigation")]) + "\n"
    )
    (root / "2023-01" / "2023-01-x-outcomes.csv").write_text(
        f"{OUTCOME_HEADER}\na,2023-01,X,X,-0.1,51.3,On or near A,E01,N,Suspect charged\n"
    )
    (root / "2023-02" / "2023-02-x-outcomes.csv").write_text(
        f"{OUTCOME_HEADER}\na,2023-02,X,X,-0.1,51.3,On or near A,E01,N,Offender fined\n"
        "z,2022-12,X,X,-0.1,51.3,On or near A,E01,N,Offender fined\n"
    )
    (root / "2023-01" / "2023-01-x-stop-and-search.csv").write_text(
        "Type,Date,Part of a policing operation\nPerson search,2023-01-01T08:05:00+00:00,\n"
    )
    return root


def test_archive_folder_reads_street_files_and_latest_outcome(tmp_path):
    r = read_police_uk(_archive(tmp_path))
    assert r.n_read == 3 and r.n_kept == 3 and r.n_skipped == 0
    out = r.records.set_index("crime_id")["outcome"]
    assert out["a"] == "Offender fined"  # the 2023-02 outcome is later than 2023-01's
    assert pd.isna(out["b"])  # no outcome anywhere
    assert out["c"] == "Under investigation"  # street file's last outcome kept
    report = r.report()
    assert "latest outcome attached to 1 records" in report
    assert "1 crimes with outcomes are not in the street files read" in report
    assert "left out: 1 files" in report


def test_outcomes_file_alone_is_not_records(tmp_path):
    root = _archive(tmp_path)
    with pytest.raises(InputError, match="outcomes alone"):
        read_police_uk(root / "2023-01" / "2023-01-x-outcomes.csv")
    with pytest.raises(InputError, match="stop-and-search"):
        read_police_uk(root / "2023-01" / "2023-01-x-stop-and-search.csv")


def test_real_archive_folder_is_read(tmp_path):
    city = _city()
    r = read_police_uk(city)
    street = sorted(city.rglob("*-street.csv"))
    assert len(r.files) == len(street) == 18
    n_rows = sum(len(pd.read_csv(f, dtype="str")) for f in street)
    assert r.n_read == n_rows == r.n_kept + r.n_skipped
    assert r.records["month"].min() == pd.Period("2016-01", "M")
    assert r.records["month"].max() == pd.Period("2017-06", "M")
    assert r.records["crime_id"].is_unique
    # every crime with a published outcome gets the latest one (by outcome month)
    outcomes = pd.concat(
        [
            pd.read_csv(f, dtype="str").assign(order=i)
            for i, f in enumerate(sorted(city.rglob("*-outcomes.csv")))
        ],
        ignore_index=True,
    )
    outcomes["line"] = outcomes.groupby("order").cumcount()
    latest = outcomes.sort_values(["Month", "order", "line"]).groupby("Crime ID")["Outcome type"]
    latest = latest.last()
    rec = r.records.set_index("crime_id")
    joined = latest[latest.index.isin(rec.index)]
    assert len(joined) > 1000
    assert (rec.loc[joined.index, "outcome"] == joined).all()
    assert "stop and search" in r.report()


# --- defect 9: repeated Crime IDs -------------------------------------------------------------


def test_repeated_crime_ids_are_records_with_unique_keys(write_police):
    rows = [
        police_row("r1", lsoa="E01000001"),  # line 2
        police_row("r1", lsoa="E01000002", outcome="Suspect charged"),  # line 3: same id, differs
        police_row("r1", lsoa="E01000001"),  # line 4: identical to line 2
        police_row("r2"),  # line 5
        police_row("r1", lsoa="E01000003"),  # line 6: a third version
    ]
    r = read_police_uk(write_police("2024-01-x-street.csv", rows))
    assert r.n_read == 5 and r.n_kept == 4 and r.n_skipped == 1
    assert r.records["crime_id"].tolist() == ["r1", "r1#2", "r2", "r1#3"]
    assert r.records["lsoa_code"].tolist()[:2] == ["E01000001", "E01000002"]
    (skip,) = r.skipped.itertuples(index=False)
    assert (
        skip.row == 4 and skip.column == "Crime ID" and "identical in every column" in skip.reason
    )
    assert r.n_repeated_ids == 3
    s = r.summary().set_index("item")["rows"]
    assert s["kept: crime id shared with another row (row key made unique)"] == 3
    assert "share a Crime ID" in r.report()


def test_identical_asb_rows_without_crime_id_are_all_kept(write_police):
    asb = police_row("", crime_type="Anti-social behaviour", outcome="")
    r = read_police_uk(write_police("asb.csv", [asb, asb]))
    assert r.n_kept == 2 and r.records["crime_id"].is_unique


def test_real_files_identical_asb_rows_are_kept(tmp_path):
    # 2016-01 has repeated anti-social behaviour rows (no Crime ID): separate incidents
    path = _city() / "2016-01" / "2016-01-city-of-london-street.csv"
    raw = pd.read_csv(path, dtype="str")
    r = read_police_uk(path)
    assert raw.duplicated().sum() > 0
    assert r.n_kept == len(raw) and r.n_skipped == 0
