"""`triplet did` on a CSV, and `triplet track` from the command line."""

from __future__ import annotations

import json

import pytest

from triplet.cli.main import main
from triplet.tracking import did

from .conftest import make_panel


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "panel.csv"
    make_panel(effect=-1.5).to_csv(path, index=False)
    return path


def test_did_json_equals_the_function(csv, capsys):
    code = main(
        [
            "did",
            str(csv),
            "--outcome",
            "y",
            "--unit",
            "unit",
            "--time",
            "time",
            "--treated",
            "d",
            "--cluster",
            "block",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    ref = did(
        make_panel(effect=-1.5), outcome="y", unit="unit", time="time", treated="d", cluster="block"
    )
    assert out["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert out["se"] == pytest.approx(ref.se, abs=1e-12)
    assert out["n_clusters"] == 4


def test_did_block_effects(csv, capsys):
    args = [
        "did",
        str(csv),
        "--outcome",
        "y",
        "--unit",
        "unit",
        "--time",
        "time",
        "--treated",
        "d",
        "--block",
        "block",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    ref = did(
        make_panel(effect=-1.5), outcome="y", unit="unit", time="time", treated="d", block="block"
    )
    assert out["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert out["fixed_effects"] == "unit + block x time"


def test_did_table(csv, capsys):
    assert (
        main(
            [
                "did",
                str(csv),
                "--outcome",
                "y",
                "--unit",
                "unit",
                "--time",
                "time",
                "--treated",
                "d",
            ]
        )
        == 0
    )
    assert "estimate" in capsys.readouterr().out


def test_did_missing_column_is_a_clear_error(csv, capsys):
    code = main(
        ["did", str(csv), "--outcome", "harm", "--unit", "unit", "--time", "time", "--treated", "d"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "panel.csv" in err and "'harm' not found" in err and "available columns" in err
    assert "Traceback" not in err


def test_did_missing_file(tmp_path, capsys):
    code = main(
        [
            "did",
            str(tmp_path / "nope.csv"),
            "--outcome",
            "y",
            "--unit",
            "u",
            "--time",
            "t",
            "--treated",
            "d",
        ]
    )
    assert code == 1 and "not found" in capsys.readouterr().err


def test_track_command(assigned_registry, capsys):
    code = main(
        [
            "track",
            "offender-focus",
            "--registry",
            str(assigned_registry),
            "--draws",
            "200",
            "--no-bayes",
            "--rerun",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "primary" in out and "results.json" in out.replace("\n", "")
    results = assigned_registry.parent / "trials" / "offender-focus" / "results"
    assert (results / "results.json").exists()
