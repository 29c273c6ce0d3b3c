"""The Board and an effect report rendered in a real headless Chromium (issue 10, "keep them
closed"): the rendered text holds the page's content and the screenshot is not blank.

Under CI (`.ci/run`, env CI=1) a missing Chromium fails these tests instead of skipping them.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from triplet.registry import find_trial
from triplet.reports.board import build_board
from triplet.reports.chromium import FLAGS, screenshot
from triplet.reports.effect_report import build_effect_report


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def rendered_text(chromium: Path, page: Path) -> str:
    """The page's text after Chromium loaded it and ran its scripts (--dump-dom)."""
    with tempfile.TemporaryDirectory(prefix="triplet-dom-") as profile:
        proc = subprocess.run(
            [str(chromium), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    parser = _Text()
    parser.feed(proc.stdout)
    return " ".join(" ".join(parser.parts).split())


def assert_not_blank(png: bytes, *, min_ink: float = 0.01) -> np.ndarray:
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png), format="png")[..., :3]
    ink = (img < 0.9).any(axis=2).mean()  # share of pixels that are not (near) white
    assert img.std() > 0.02 and ink > min_ink, f"blank screenshot: std {img.std()}, ink {ink}"
    return img


def test_board_renders_in_chromium(registry_path, tmp_path, chromium):
    page = build_board(registry_path, tmp_path / "board.html")
    text = rendered_text(chromium, page)
    for tid in ("hotspot-patrol", "burglary-pop"):  # every trial's title, as rendered
        assert find_trial(registry_path, tid).trial.title in text
    for expected in ("what works", "Effects at a glance", "What each trial found", "40 / 40"):
        assert expected in text, expected
    assert "Traceback" not in text
    img = assert_not_blank(screenshot(page, width=1280, height=1400))
    assert img.shape[:2] == (1400, 1280)


def test_effect_report_renders_in_chromium(registry_path, chromium):
    tf = find_trial(registry_path, "burglary-pop")
    page = build_effect_report(tf)
    text = rendered_text(chromium, page)
    for heading in ("1. Registration", "6. The primary estimate, as registered", "11. Caveats"):
        assert heading in text
    assert "SYNTHETIC DATA" in text and "Traceback" not in text
    assert_not_blank(screenshot(page, width=1100, height=1600))


def test_blank_page_is_caught(tmp_path, chromium):
    """The non-blank check can fail: an empty white page does."""
    page = tmp_path / "blank.html"
    page.write_text("<!doctype html><html><body style='background:#fff'></body></html>")
    with pytest.raises(AssertionError, match="blank screenshot"):
        assert_not_blank(screenshot(page, width=400, height=300))
