"""`triplet target` on a tiny data.police.uk file and on the example borough."""

from __future__ import annotations

import pandas as pd
import pytest

from triplet.cli.main import main

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
)


def _police_uk(tmp_path):
    rows = [
        ("a1", "E01000001", "Robbery"),
        ("a2", "E01000001", "Shoplifting"),
        ("a3", "E01000002", "Burglary"),
        ("a4", "E01000002", "Burglary"),
        ("a5", "E01000003", "Shoplifting"),
        ("", "E01000003", "Anti-social behaviour"),
    ]
    lines = [
        f"{cid},2024-01,Met,Met,-0.1,51.5,On or near X,{lsoa},Name {lsoa},{ctype},,\n"
        for cid, lsoa, ctype in rows
    ]
    path = tmp_path / "2024-01-metropolitan-street.csv"
    path.write_text(HEADER + "".join(lines))
    return path


def test_target_police_uk_file(tmp_path, capsys):
    src = _police_uk(tmp_path)
    out = tmp_path / "ranking.csv"
    assert main(["target", str(src), "--unit", "lsoa", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "lsoa_code ranked by harm" in text
    assert "33% of LSOAs (1 of 3) hold 50% of harm" in text
    assert "anti-social behaviour" in text
    table = pd.read_csv(out)
    burglary = 29.82  # category weight (no offence codes in police.uk files)
    assert table["unit"].tolist() == ["E01000001", "E01000002", "E01000003"]
    shoplifting = 1.0  # CCHI days (verified, see data/README.md)
    assert table["harm"].tolist() == pytest.approx([365 + shoplifting, 2 * burglary, shoplifting])
    # never overwrites
    assert main(["target", str(src), "--out", str(out)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err


def test_target_bad_inputs(tmp_path, capsys):
    assert main(["target", str(tmp_path / "missing.csv")]) == 1
    assert "file not found" in capsys.readouterr().err
    src = _police_uk(tmp_path)
    assert main(["target", str(src), "--unit", "offender", "--candidates", "2"]) == 1
    assert "candidates are places" in capsys.readouterr().err
    assert main(["target", str(src), "--unit", "hour_of_week"]) == 1
    assert "hour of week" in capsys.readouterr().err


def test_target_example_borough_candidates(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    code = main(
        [
            "target",
            "example://borough",
            "--unit",
            "lsoa",
            "--top",
            "3",
            "--out",
            str(out),
            "--candidates",
            "4",
            "--units",
            "example://borough/lsoas",
            "--min-distance",
            "800",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "SYNTHETIC" in text
    assert "units:" in text and "candidates:" in text
    assert len(pd.read_parquet(out)) == 220


def test_target_example_borough_offenders_no_ids_in_statements(capsys):
    assert main(["target", "example://borough", "--unit", "offender", "--top", "1"]) == 0
    text = capsys.readouterr().out
    statements = [line for line in text.splitlines() if line.startswith("- ")]
    assert any("Felonious Few" in s for s in statements)
    assert not any("p_" in s for s in statements)


def test_target_unit_column_and_grid_candidates(tmp_path, capsys):
    rec = pd.DataFrame(
        {
            "crime_id": ["c1", "c2", "c3"],
            "month": ["2024-01"] * 3,
            "crime_type": ["Robbery", "Shoplifting", "Robbery"],
            "hotspot": ["H1", "H2", "H1"],
            "longitude": [-0.1, -0.1, -0.12],
            "latitude": [51.5, 51.5, 51.52],
        }
    )
    path = tmp_path / "records.csv"
    rec.to_csv(path, index=False)
    assert main(["target", str(path), "--unit-column", "hotspot"]) == 0
    text = capsys.readouterr().out
    assert "hotspot ranked by harm" in text and "H1" in text
    code = main(
        ["target", str(path), "--unit", "grid", "--candidates", "2", "--min-distance", "500"]
    )
    assert code == 0
    assert "candidates:" in capsys.readouterr().out


def test_to_dict_is_json(tmp_path):
    import json

    from triplet.targeting import concentration, rank_units

    rec = pd.DataFrame(
        {
            "month": pd.PeriodIndex(["2024-01", "2024-02"], freq="M"),
            "crime_type": ["Robbery", "Shoplifting"],
        }
    )
    r = rank_units(rec, unit="month")
    json.dumps(r.to_dict())
    json.dumps(concentration(r).to_dict())


def test_target_months_include_empty_months(tmp_path, capsys):
    rec = pd.DataFrame(
        {
            "crime_id": ["c1", "c2"],
            "month": ["2024-01", "2024-03"],
            "crime_type": ["Robbery", "Shoplifting"],
        }
    )
    path = tmp_path / "records.csv"
    rec.to_csv(path, index=False)
    out = tmp_path / "months.csv"
    assert main(["target", str(path), "--unit", "month", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert table["unit"].tolist() == ["2024-01", "2024-03", "2024-02"]
    assert table["count"].tolist() == [1, 1, 0]
