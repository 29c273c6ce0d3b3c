"""Issue 10, defect 2: Ctrl-C (SIGINT) during a command prints "interrupted", exits 130 and
leaves no partial output, even when the process was started with SIGINT ignored (as a shell
starts a background job: `triplet records read ... &`).

The command runs in a subprocess whose chosen step (reading the CSV, or the fsync of the atomic
write, when the temporary output file exists) announces itself on stderr and then blocks; the
test sends SIGINT only after that announcement, so the signal always lands mid-command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
)

WRAPPER = textwrap.dedent(
    """
    import importlib, signal, sys, time
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts a background job
    module, attr = sys.argv.pop(1), sys.argv.pop(1)
    m = importlib.import_module(module)

    def blocking(*args, **kwargs):
        sys.stderr.write("READY\\n")
        sys.stderr.flush()
        time.sleep(300)

    setattr(m, attr, blocking)
    sys.argv[0] = "triplet"
    from triplet.cli.main import main
    main()
    """
)


def _csv(folder: Path) -> Path:
    rows = "".join(
        f"c{i},2024-01,Met,Met,-0.1,51.5,On or near X,E0100000{i % 3},N,Burglary,,\n"
        for i in range(30)
    )
    path = folder / "2024-01-metropolitan-street.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def _interrupt(cwd: Path, block: str, *args: str) -> subprocess.CompletedProcess:
    module, attr = block.rsplit(".", 1)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("TRIPLET_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, module, attr, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    before: list[str] = []
    try:
        while (line := proc.stderr.readline()) not in ("READY\n", ""):  # until the step
            before.append(line)
        assert line == "READY\n", "the command ended before the step: " + "".join(before)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(before) + err)


@pytest.mark.parametrize(
    "block",
    ["pyarrow.csv.read_csv", "os.fsync"],
    ids=["while-reading", "while-writing"],
)
def test_records_read_interrupted(tmp_path, block):
    src = _csv(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    r = _interrupt(
        tmp_path, block, "records", "read", "-f", "police-uk", src.name, "-o", "r.parquet"
    )
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in r.stderr
    assert r.stdout == ""
    assert {p.name for p in tmp_path.iterdir()} == before  # no output, no temporary file


def test_target_interrupted_while_writing(tmp_path):
    src = _csv(tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    r = _interrupt(tmp_path, "os.fsync", "target", src.name, "--out", "ranking.csv")
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in r.stderr
    assert {p.name for p in tmp_path.iterdir()} == before


def test_in_process_main_restores_the_sigint_handler():
    from triplet.cli.main import main

    def mine(signum, frame):  # pragma: no cover - never called
        pass

    old = signal.signal(signal.SIGINT, mine)
    try:
        assert main(["--version"]) == 0
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, old)
