"""Issue 10, defect 1: a locked artefact (assignment.csv) edited after `triplet assign` is found
by `triplet validate` and refused, naming the file, by every command that reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from triplet.cli.main import main
from triplet.errors import LockError
from triplet.registry import find_trial
from triplet.registry.lock import check_artefacts, verify_artefacts
from triplet.registry.validate import validate_registry
from triplet.reports.effect_report import load_context
from triplet.testing.workflow import assign_trial
from triplet.tracking.workflow import track_trial

TRIAL = "hotspot-patrol"


@pytest.fixture
def assigned(registry_copy: Path) -> Path:
    assign_trial(registry_copy, TRIAL, power_sims=0)
    return registry_copy


def _swap_two_arms(path: Path) -> None:
    """Swap the arms of the first treated and the first control unit (same byte length)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    head = lines[0].rstrip("\r\n").split(",")
    arm = head.index("arm")
    t = next(i for i, ln in enumerate(lines[1:], 1) if ln.split(",")[arm].strip() == "treatment")
    c = next(i for i, ln in enumerate(lines[1:], 1) if ln.split(",")[arm].strip() == "control")
    for i, new in ((t, "control"), (c, "treatment")):
        cells = lines[i].rstrip("\r\n").split(",")
        cells[arm] = new
        lines[i] = ",".join(cells) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_intact_assignment_passes(assigned):
    tf = find_trial(assigned, TRIAL)
    assert check_artefacts(tf) == []
    verify_artefacts(tf)  # does not raise
    assert not validate_registry(assigned).problems


def test_swapped_arms_are_reported_by_validate(assigned, capsys):
    tf = find_trial(assigned, TRIAL)
    _swap_two_arms(tf.assignment_path)
    problems = check_artefacts(tf)
    assert len(problems) == 1 and problems[0].file.endswith("assignment.csv")
    assert "changed after it was locked" in problems[0].message
    assert any(p.file.endswith("assignment.csv") for p in validate_registry(assigned).problems)
    capsys.readouterr()
    assert main(["validate", str(assigned)]) != 0
    err = capsys.readouterr()
    assert "assignment.csv" in err.out + err.err
    assert "OK: no problems found" not in err.out


def test_swapped_arms_are_refused_by_track_and_report(assigned, capsys):
    tf = find_trial(assigned, TRIAL)
    _swap_two_arms(tf.assignment_path)
    with pytest.raises(LockError, match=r"assignment\.csv"):
        track_trial(assigned, TRIAL, progress=False, bayes=False, draws=10)
    assert not (tf.results_dir / "results.json").exists()
    with pytest.raises(LockError, match=r"assignment\.csv"):
        load_context(TRIAL, registry=assigned)
    capsys.readouterr()
    code = main(["track", TRIAL, "--registry", str(assigned)])
    assert code != 0 and "assignment.csv" in capsys.readouterr().err


def test_missing_assignment_is_reported(assigned):
    tf = find_trial(assigned, TRIAL)
    tf.assignment_path.unlink()
    problems = check_artefacts(tf)
    assert len(problems) == 1 and "missing" in problems[0].message
