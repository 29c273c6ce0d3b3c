"""The registry commands through triplet.cli.main.main: exit codes and messages, no tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triplet.cli.main import main
from triplet.registry import load_trial, write_lock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    shutil.copy(REPO / "registry.yaml", tmp_path / "registry.yaml")
    for name in ("hotspot-patrol", "neighbourhood-pop", "offender-focus", "patrol-days"):
        (tmp_path / "trials" / name).mkdir(parents=True)
        shutil.copy(REPO / "trials" / name / "trial.yaml", tmp_path / "trials" / name)
    return tmp_path / "registry.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "internal error" not in captured.err
    return code, captured.out, captured.err


def test_validate_shipped_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(REPO / "registry.yaml"))
    assert code == 0
    assert "4 trial(s) valid" in out and "OK" in out
    for trial in ("hotspot-patrol", "neighbourhood-pop", "offender-focus", "patrol-days"):
        assert trial in out


def test_validate_defaults_to_registry_in_cwd(
    capsys: pytest.CaptureFixture[str], registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(registry.parent)
    assert run(capsys, "validate")[0] == 0


def test_validate_broken_trial(capsys: pytest.CaptureFixture[str], registry: Path) -> None:
    path = registry.parent / "trials/hotspot-patrol/trial.yaml"
    text = (
        path.read_text()
        .replace("  seed: 20231204", "  seed: twelve")
        .replace("  n_units: 40", "  n_unit: 40")
    )
    path.write_text(text)
    lines = text.splitlines()
    code, _, err = run(capsys, "validate", str(registry))
    assert code == 1
    seed_line = lines.index("  seed: twelve") + 1
    unit_line = lines.index("  n_unit: 40") + 1
    assert f"trial.yaml:{seed_line}: design.seed: Input should be a valid integer" in err
    assert f"trial.yaml:{unit_line}: units.n_unit: unknown field (did you mean 'n_units'?)" in err
    assert "2 problems found." in err


def test_validate_a_folder_or_one_trial(capsys: pytest.CaptureFixture[str], registry: Path) -> None:
    assert run(capsys, "validate", str(registry.parent))[0] == 0
    path = registry.parent / "trials/neighbourhood-pop/trial.yaml"
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0 and "neighbourhood-pop" in out
    path.write_text(path.read_text().replace("  caliper: 0.5", "  caliper: -1"))
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1 and "design.matching.caliper: Input should be greater than 0" in err


def test_validate_missing_registry(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert "nope.yaml: file not found" in err


def test_validate_reports_lock_changes(capsys: pytest.CaptureFixture[str], registry: Path) -> None:
    path = registry.parent / "trials/offender-focus/trial.yaml"
    write_lock(load_trial(path))
    main(["status", "offender-focus", "assigned", "--registry", str(registry)])
    capsys.readouterr()
    assert run(capsys, "validate", str(registry))[0] == 0
    text = path.read_text().replace("  seed: 20231218", "  seed: 20231219")
    path.write_text(text)
    code, _, err = run(capsys, "validate", str(registry))
    assert code == 1
    line = text.splitlines().index("  seed: 20231219") + 1
    assert (
        f"offender-focus/trial.yaml:{line}: design.seed: changed after the registration "
        "was locked" in err
    )
    path.write_text(
        text.replace(
            "deviations:\n",
            "deviations:\n  - date: 2099-01-01\n    field: design.seed\n"
            "    reason: The first seed was used for a pilot draw.\n",
        )
    )
    assert run(capsys, "validate", str(registry))[0] == 0


def test_validate_lifecycle_needs_lock(capsys: pytest.CaptureFixture[str], registry: Path) -> None:
    path = registry.parent / "trials/offender-focus/trial.yaml"
    path.write_text(path.read_text().replace("status: registered", "status: in_field"))
    code, _, err = run(capsys, "validate", str(registry))
    assert code == 1
    assert "status: status is in_field but there is no lock.json" in err


def test_list(capsys: pytest.CaptureFixture[str], registry: Path) -> None:
    code, out, _ = run(capsys, "list", str(registry))
    assert code == 0
    assert "Example Borough Community Safety Partnership (SYNTHETIC)" in out
    assert all(t in out for t in ("hotspot-patrol", "neighbourhood-pop", "offender-focus"))
    (registry.parent / "trials/offender-focus/trial.yaml").write_text("{")
    code, out, err = run(capsys, "list", str(registry))
    assert code == 0
    assert "invalid" in out and "run `triplet validate`" in err


def test_new_then_validate(capsys: pytest.CaptureFixture[str], registry: Path) -> None:
    code, out, _ = run(
        capsys, "new", "cctv-pilot", "--registry", str(registry), "--intervention", "cctv"
    )
    assert code == 0 and "status draft" in out
    assert run(capsys, "validate", str(registry))[0] == 0
    code, _, err = run(capsys, "new", "cctv-pilot", "--registry", str(registry))
    assert code == 1 and "already registered" in err
    code, _, err = run(capsys, "new", "x", "--registry", str(registry))
    assert code == 1 and "not a valid trial id" in err


def test_status_command(capsys: pytest.CaptureFixture[str], registry: Path) -> None:
    args = ["--registry", str(registry)]
    code, _, err = run(capsys, "status", "hotspot-patrol", "assigned", *args)
    assert code == 1 and "before the registration is locked" in err
    code, _, err = run(capsys, "status", "hotspot-patrol", "draft", *args)
    assert code == 1 and "only move forward" in err
    code, _, err = run(capsys, "status", "hotspot-patrol", "finished", *args)
    assert code == 1 and "unknown status 'finished'" in err
    write_lock(load_trial(registry.parent / "trials/hotspot-patrol/trial.yaml"))
    code, out, _ = run(capsys, "status", "hotspot-patrol", "assigned", *args)
    assert code == 0 and "registered -> assigned" in out
    code, _, err = run(capsys, "status", "nope", "assigned", *args)
    assert code == 1 and "no trial 'nope'" in err


def test_schema(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_path = tmp_path / "trial.schema.json"
    assert run(capsys, "schema", "--out", str(out_path))[0] == 0
    schema = json.loads(out_path.read_text())
    assert schema["$schema"].endswith("2020-12/schema")
    assert "design" in schema["required"]
    code, _, err = run(capsys, "schema", "--out", str(out_path))
    assert code == 1 and "--force" in err
    out_path.write_text("{}")
    assert run(capsys, "schema", "--out", str(out_path), "--force")[0] == 0
    assert json.loads(out_path.read_text()) == schema
