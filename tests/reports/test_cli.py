"""`triplet report` and `triplet board`: outputs, refusals and exit codes (no tracebacks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from triplet.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_board_command_writes_and_refuses_to_overwrite(registry_path, tmp_path, capsys):
    out = tmp_path / "board.html"
    assert main(["board", "--registry", str(registry_path), "--out", str(out)]) == 0
    assert out.exists() and "what works" in out.read_text()
    assert main(["board", "--registry", str(registry_path), "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (
        main(["board", "-r", str(registry_path), "-o", str(out), "--rerun", "--threshold", "100"])
        == 0
    )
    assert "&lt;100" in out.read_text()


def test_board_threshold_must_be_positive(registry_path, tmp_path, capsys):
    code = main(
        ["board", "-r", str(registry_path), "-o", str(tmp_path / "b.html"), "--threshold", "0"]
    )
    assert code == 1 and "threshold" in capsys.readouterr().err


def test_board_refusal_is_a_clean_error(registry_path, tmp_path, capsys, planted):
    trial = registry_path.parent / "trials" / "hotspot-patrol" / "trial.yaml"
    trial.write_text(
        trial.read_text().replace(
            "Hot-spot patrols in burglary LSOAs", f"Patrols near {planted[4]}"
        )
    )
    out = tmp_path / "b.html"
    assert main(["board", "-r", str(registry_path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "refusing to write" in err and planted[4] not in err and "Traceback" not in err
    assert not out.exists()


def test_unknown_trial_is_a_clean_error(registry_path, capsys):
    assert main(["report", "no-such-trial", "--registry", str(registry_path)]) != 0
    err = capsys.readouterr().err
    assert "no-such-trial" in err and "Traceback" not in err


def test_board_pdf(registry_path, tmp_path, chromium):
    out = tmp_path / "board.html"
    assert main(["board", "-r", str(registry_path), "-o", str(out), "--pdf"]) == 0
    assert out.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


def test_screenshot_script_shows_forest_plot_and_table(registry_path, tmp_path, chromium):
    import matplotlib.image as mpimg
    import numpy as np

    png = tmp_path / "board.png"
    # the script builds the page with this interpreter (`python -m triplet`), not whichever
    # `triplet` is on PATH (there may be none)
    env = {**os.environ, "TRIPLET_PYTHON": sys.executable, "PATH": os.path.dirname(chromium)}
    proc = subprocess.run(
        [
            str(REPO / "scripts" / "screenshot-board"),
            "--registry",
            str(registry_path),
            "--out",
            str(png),
            "--width",
            "1280",
            "--height",
            "1400",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    img = mpimg.imread(png)[..., :3]
    assert img.shape[:2] == (1400, 1280)

    def rows_with(colour_hex: str) -> np.ndarray:
        rgb = np.array([int(colour_hex[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        hit = (np.abs(img - rgb) < 0.04).all(axis=2)
        return np.flatnonzero(hit.sum(axis=1) > 0)

    # forest plot: the green squares/lines of 'works' trials and the grey of 'no effect found'
    works = rows_with("#1a7f37")
    none_found = rows_with("#57606a")
    assert len(works) > 20 and len(none_found) > 20
    # table: the header background (#f6f8fa) appears below the forest plot
    header = rows_with("#f6f8fa")
    assert len(header) and header.max() > works.min()
    # refuses to overwrite its output
    again = subprocess.run(
        [
            str(REPO / "scripts" / "screenshot-board"),
            "--registry",
            str(registry_path),
            "--out",
            str(png),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert again.returncode == 1 and "refusing" in again.stderr


def test_pdf_without_chromium_still_writes_the_page(registry_path, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("TRIPLET_CHROMIUM", raising=False)
    out = tmp_path / "board.html"
    assert main(["board", "-r", str(registry_path), "-o", str(out), "--pdf"]) == 1
    assert out.exists() and not out.with_suffix(".pdf").exists()
    assert "no PDF" in capsys.readouterr().err
