"""The Board's what-works page and the performance page link each other."""

from __future__ import annotations

import shutil

from triplet.reports.board import build_board

from .conftest import REPO


def test_board_links_the_performance_page_when_a_framework_exists(tmp_path):
    shutil.copy2(REPO / "registry.yaml", tmp_path / "registry.yaml")
    shutil.copytree(REPO / "trials", tmp_path / "trials")
    page = build_board(tmp_path / "registry.yaml").read_text()
    assert "performance/performance.html" not in page
    shutil.copy2(REPO / "performance.yaml", tmp_path / "performance.yaml")
    page = build_board(tmp_path / "registry.yaml", rerun=True).read_text()
    assert 'href="performance/performance.html"' in page
