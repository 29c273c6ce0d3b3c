"""`triplet records read | columns` and `triplet example`: outputs, reports, no overwrites."""

from __future__ import annotations

import pandas as pd

from tests.records.conftest import HEADER, police_row
from triplet.cli import main as cli_main


def _police_file(tmp_path):
    path = tmp_path / "street.csv"
    rows = [
        police_row("a"),
        police_row("b", month="2023-13"),
        police_row("", crime_type="Anti-social behaviour"),
    ]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_records_read_police_uk(tmp_path, capsys):
    src = _police_file(tmp_path)
    out = tmp_path / "records.parquet"
    skipped = tmp_path / "skipped.csv"
    code = cli_main.main(
        [
            "records",
            "read",
            str(src),
            "--format",
            "police-uk",
            "--out",
            str(out),
            "--skipped",
            str(skipped),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "skipped: 1" in text and "month is not YYYY-MM" in text and ":3:" in text
    rec = pd.read_parquet(out)
    assert len(rec) == 2 and rec["month"].tolist() == ["2023-01", "2023-01"]
    assert pd.read_csv(skipped)["row"].tolist() == [3]
    # never overwrites
    assert (
        cli_main.main(["records", "read", str(src), "--format", "police-uk", "--out", str(out)])
        == 1
    )
    assert "refusing to overwrite" in capsys.readouterr().err


def test_records_read_extract_needs_mapping(tmp_path, capsys):
    src = _police_file(tmp_path)
    code = cli_main.main(
        ["records", "read", str(src), "--format", "extract", "--out", str(tmp_path / "o.parquet")]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "--mapping" in err and "Traceback" not in err


def test_records_read_missing_column_is_a_clean_error(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("Crime ID,Month\nA,2023-01\n")
    code = cli_main.main(
        ["records", "read", str(path), "--format", "police-uk", "--out", str(tmp_path / "o.csv")]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"{path}:1: Crime type" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_records_columns(capsys):
    assert cli_main.main(["records", "columns"]) == 0
    assert "suspect_id" in capsys.readouterr().out


def test_example_writes_synthetic_files_and_refuses_to_overwrite(tmp_path, capsys):
    folder = tmp_path / "ex"
    assert cli_main.main(["example", "--out", str(folder), "--seed", "3"]) == 0
    assert {p.name for p in folder.iterdir()} == {
        "records.parquet",
        "lsoas.csv",
        "offenders.csv",
        "victims.csv",
        "meta.json",
        "README.txt",
    }
    assert "SYNTHETIC" in (folder / "README.txt").read_text()
    before = (folder / "records.parquet").read_bytes()
    capsys.readouterr()
    assert cli_main.main(["example", "--out", str(folder)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (folder / "records.parquet").read_bytes() == before
