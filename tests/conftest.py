"""Shared fixtures. Stage-specific fixtures live in tests/<stage>/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (registry.yaml, trials/, notebooks/)."""
    return REPO


@pytest.fixture(scope="session")
def borough():
    """The example borough (SYNTHETIC), generated once per test session with its default seed."""
    from triplet.example import generate_borough

    return generate_borough()


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(20130101)


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """Keep BLAS single-threaded: with pytest-xdist on 2 cores, OpenBLAS threads oversubscribe
    the machine and small least-squares problems run about 10x slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def browser_required() -> bool:
    """True under CI (env CI, or the marker file .ci/require-browser): the browser tests must
    run there, so a missing Chromium fails them instead of skipping them."""
    return bool(os.environ.get("CI")) or (REPO / ".ci" / "require-browser").exists()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The headless Chromium executable; skips locally, fails under CI when it is missing."""
    from triplet.reports.chromium import find_chromium

    exe = find_chromium()
    if exe is None:
        message = "headless Chromium not found (apt-get install -y chromium; .ci/run does it)"
        if browser_required():
            pytest.fail(message + " - required under CI")
        pytest.skip(message)
    return exe


# The fuzz suite's case count (tests/fuzz): here, in the root conftest, because only it is
# loaded by the pytest-xdist controller that writes the summary.
def pytest_terminal_summary(terminalreporter):
    total, tests = 0, 0
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        if report.when != "call":
            continue
        for name, value in getattr(report, "user_properties", []):
            if name == "fuzz_cases":
                total += int(value)
                tests += 1
    if tests:
        terminalreporter.write_sep("-", f"fuzz: {total} generated cases in {tests} fuzz tests")
