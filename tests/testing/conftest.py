"""Fixtures for the testing-stage tests: small unit tables and a copy of the shipped registry."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def make_units(n: int, seed: int = 0, n_tiers: int | None = None) -> pd.DataFrame:
    """A synthetic unit table: skewed baseline harm, counts, trend, deprivation."""
    rng = np.random.default_rng(seed)
    units = pd.DataFrame(
        {
            "unit": [f"u{i:04d}" for i in range(n)],
            "baseline_harm": rng.gamma(1.5, 200.0, n),
            "baseline_count": rng.poisson(30, n),
            "baseline_trend": rng.normal(0, 2, n),
            "deprivation": rng.normal(25, 8, n),
        }
    )
    if n_tiers:
        from triplet.testing.assignment import harm_tiers

        units["harm_tier"] = harm_tiers(units["baseline_harm"], n_tiers)
    return units


@pytest.fixture
def units() -> pd.DataFrame:
    return make_units(60, seed=1, n_tiers=3)


@pytest.fixture
def registry_copy(tmp_path: Path) -> Path:
    """registry.yaml and trials/ copied to a temporary folder (never the real trials/)."""
    shutil.copy(REPO / "registry.yaml", tmp_path / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        tmp_path / "trials",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "design", "results"),
    )
    # the shipped trials may have moved on (e.g. after `make demo`): start from registered
    for trial in (tmp_path / "trials").glob("*/trial.yaml"):
        text = re.sub(r"(?m)^status:.*$", "status: registered", trial.read_text())
        trial.write_text(text)
    return tmp_path / "registry.yaml"
