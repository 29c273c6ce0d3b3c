"""`triplet assign` and `triplet design` on a temporary copy of the shipped registry."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from triplet.cli.main import main
from triplet.errors import StateError
from triplet.registry import find_trial, read_lock
from triplet.registry.models import Status
from triplet.testing.assignment import read_assignment
from triplet.testing.workflow import assign_trial

TRIAL = "hotspot-patrol"
REPO = Path(__file__).resolve().parents[2]


def _dir(registry: Path) -> Path:
    return registry.parent / "trials" / TRIAL


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_assign_writes_once_and_refuses_a_second_time(registry_copy, capsys):
    folder = _dir(registry_copy)
    assert main(["assign", TRIAL, "--registry", str(registry_copy)]) == 0
    assert {"assignment.csv", "lock.json"} <= _files(folder)
    tf = find_trial(registry_copy, TRIAL)
    assert tf.trial.status is Status.assigned
    data = (folder / "assignment.csv").read_bytes()
    lock = read_lock(tf)
    assert lock["assignment_sha256"] == hashlib.sha256(data).hexdigest()
    assert lock["seed"] == tf.trial.design.seed and lock["bit_generator"] == "PCG64"
    assert lock["flow"]["eligible"] == 40 and lock["method"] == "block"
    table = read_assignment(folder / "assignment.csv")
    assert (table.groupby("block")["arm"].apply(lambda s: (s == "treatment").sum()) == 5).all()
    capsys.readouterr()
    assert main(["assign", TRIAL, "--registry", str(registry_copy)]) == 1
    assert "already assigned" in capsys.readouterr().err
    assert (folder / "assignment.csv").read_bytes() == data  # untouched


def test_dry_run_writes_nothing(registry_copy, capsys):
    folder = _dir(registry_copy)
    before = {p: p.read_bytes() for p in folder.iterdir()}
    assert main(["assign", TRIAL, "--registry", str(registry_copy), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "Balance" in out
    assert {p: p.read_bytes() for p in folder.iterdir()} == before


def test_same_assignment_from_the_same_seed(registry_copy, tmp_path):
    a = assign_trial(registry_copy, TRIAL, dry_run=True).assignment
    b = assign_trial(registry_copy, TRIAL, dry_run=True).assignment
    assert a.sha256() == b.sha256()


def test_draft_is_refused(registry_copy):
    path = _dir(registry_copy) / "trial.yaml"
    path.write_text(re.sub(r"(?m)^status:.*$", "status: draft", path.read_text()))
    with pytest.raises(StateError, match="draft"):
        assign_trial(registry_copy, TRIAL)


def test_foreign_assignment_without_lock_is_refused(registry_copy):
    folder = _dir(registry_copy)
    (folder / "assignment.csv").write_text(
        "unit,arm,block,pair,cluster,probability\nx,control,,,,0.5\n"
    )
    with pytest.raises(StateError, match="interrupted before locking"):
        assign_trial(registry_copy, TRIAL)
    assert not (folder / "lock.json").exists()
    assert find_trial(registry_copy, TRIAL).trial.status is Status.registered


CHILD = """
import os, sys, time
from pathlib import Path
marker, stop_at = Path(sys.argv[2]), int(sys.argv[3])
real = os.fsync
calls = [0]
def slow_fsync(fd):
    calls[0] += 1
    if calls[0] == stop_at:
        marker.write_text("writing")
        time.sleep(120)
    return real(fd)
os.fsync = slow_fsync
from triplet.testing.workflow import assign_trial
assign_trial(sys.argv[1], "hotspot-patrol")
"""


def _kill_during_write(registry: Path, tmp_path: Path, stop_at: int) -> None:
    marker = tmp_path / f"marker{stop_at}"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(registry), str(marker), str(stop_at)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child ended early: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("child never reached the write")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _visible(folder: Path) -> set[str]:
    return {n for n in _files(folder) if not n.startswith(".")}


def test_kill_while_writing_the_assignment_leaves_no_partial_file(registry_copy, tmp_path):
    folder = _dir(registry_copy)
    expected = assign_trial(registry_copy, TRIAL, dry_run=True).assignment.to_csv_bytes()
    _kill_during_write(registry_copy, tmp_path, stop_at=1)  # first fsync: assignment.csv's temp
    assert _visible(folder) == {"trial.yaml"}  # no assignment.csv, no lock.json
    assert find_trial(registry_copy, TRIAL).trial.status is Status.registered
    rep = assign_trial(registry_copy, TRIAL)  # a rerun completes and cleans the temp file
    assert rep.resumed is None
    assert _files(folder) == {"trial.yaml", "assignment.csv", "lock.json"}
    assert (folder / "assignment.csv").read_bytes() == expected


def test_kill_while_writing_the_lock_resumes_consistently(registry_copy, tmp_path):
    folder = _dir(registry_copy)
    _kill_during_write(registry_copy, tmp_path, stop_at=3)  # third fsync: lock.json's temp
    assert _visible(folder) == {"trial.yaml", "assignment.csv"}
    data = (folder / "assignment.csv").read_bytes()
    assert data.endswith(b"\n") and len(read_assignment(folder / "assignment.csv")) == 40
    rep = assign_trial(registry_copy, TRIAL)
    assert rep.resumed and "lock was missing" in rep.resumed
    lock = json.loads((folder / "lock.json").read_text())
    assert lock["assignment_sha256"] == hashlib.sha256(data).hexdigest()
    assert _files(folder) == {"trial.yaml", "assignment.csv", "lock.json"}
    assert find_trial(registry_copy, TRIAL).trial.status is Status.assigned


def test_design_writes_a_diagnosis_and_archives_on_rerun(registry_copy, capsys):
    args = ["design", TRIAL, "--registry", str(registry_copy), "--sims", "200"]
    assert main(args) == 0
    folder = _dir(registry_copy) / "design"
    assert _files(folder) == {"diagnosis.json", "diagnosis.csv", "power_curve.png"}
    d = json.loads((folder / "diagnosis.json").read_text())
    assert d["n_sims"] == 200 and d["reduction"] == 0.1 and d["synthetic"] is True
    assert 0 <= d["power"] <= 1 and d["type_i_error"] is not None
    capsys.readouterr()
    assert main(args) == 1
    assert "--rerun" in capsys.readouterr().err
    assert main([*args, "--rerun", "--effect", "0.3"]) == 0
    previous = list((folder / "previous").iterdir())
    assert len(previous) == 1 and (previous[0] / "diagnosis.json").exists()
    assert json.loads((folder / "diagnosis.json").read_text())["reduction"] == 0.3


def test_matched_control_trial_is_diagnosed_within_matched_sets(registry_copy):
    from triplet.testing.workflow import design_trial

    path = registry_copy.parent / "trials" / "neighbourhood-pop" / "trial.yaml"
    # the shipped example may name LSOAs in the real E01 range; the example borough uses E01X
    path.write_text(re.sub(r"E01(\d{6})", lambda m: "E01X" + m.group(1)[1:], path.read_text()))
    rep = design_trial(registry_copy, "neighbourhood-pop", n_sims=200, write=False)
    d = rep.diagnosis
    assert d.method.startswith("matched_control") and "not randomised" in d.note
    assert 2 <= d.n_units <= 8 * 3 and 0 <= d.power <= 1  # 8 treated, up to 2 controls each
    with pytest.raises(StateError, match="not randomised"):
        from triplet.testing.assignment import draw_assignments

        draw_assignments(
            pd.DataFrame({"unit": ["a", "b"]}),
            find_trial(registry_copy, "neighbourhood-pop").trial.design,
            5,
        )


# --- issue 10, defect 6: concurrent `triplet assign` of one trial ---------------------------


def test_assign_refuses_while_another_assign_holds_the_trial(registry_copy):
    import fcntl

    folder = _dir(registry_copy)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `triplet assign` does
        with pytest.raises(StateError, match="being assigned by another"):
            assign_trial(registry_copy, TRIAL, power_sims=0)
    finally:
        os.close(fd)
    assert _visible(folder) == {"trial.yaml"}  # nothing was written
    assert find_trial(registry_copy, TRIAL).trial.status is Status.registered
    assign_trial(registry_copy, TRIAL, power_sims=0)  # once released, it assigns


def test_concurrent_assigns_exactly_one_wins(registry_copy):
    folder = _dir(registry_copy)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "triplet", "assign", TRIAL, "--registry", str(registry_copy),
           "--power-sims", "0"]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = [c for c, _, _ in results]
    assert codes.count(0) == 1, results
    for code, out, err in results:
        if code != 0:
            assert code == 1 and "Traceback" not in err
            assert "being assigned by another" in err or "already assigned" in err, err
        else:
            assert "resumed" not in out
    tf = find_trial(registry_copy, TRIAL)
    assert tf.trial.status is Status.assigned
    data = (folder / "assignment.csv").read_bytes()
    assert read_lock(tf)["assignment_sha256"] == hashlib.sha256(data).hexdigest()
    assert _visible(folder) == {"trial.yaml", "assignment.csv", "lock.json"}
