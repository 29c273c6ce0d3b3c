"""Fixtures for tracking tests: small simulated panels with a known effect."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def make_panel(
    n_units: int = 40,
    n_periods: int = 10,
    start: int = 5,
    effect: float = 0.0,
    seed: int = 1,
    n_blocks: int = 4,
) -> pd.DataFrame:
    """Balanced panel; half the units of each block treated from period ``start``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    u = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(n_periods), n_units)
    block = u % n_blocks
    treated_unit = (u // n_blocks) % 2 == 0
    post = t >= start
    a = rng.normal(0, 2, n_units)[u]
    g = rng.normal(0, 1, n_periods)[t]
    y = 5 + a + g + effect * (treated_unit & post) + rng.normal(0, 1, n_units * n_periods)
    return pd.DataFrame(
        {
            "unit": [f"u{i:03d}" for i in u],
            "time": t,
            "y": y,
            "treated_unit": treated_unit,
            "post": post,
            "d": (treated_unit & post).astype(int),
            "block": block,
            "pair": u // (2 * n_blocks) * n_blocks + block,
        }
    )


@pytest.fixture
def panel() -> pd.DataFrame:
    return make_panel(effect=-1.5)


@pytest.fixture(scope="session")
def assigned_registry(tmp_path_factory) -> Path:
    """A temporary copy of the registry with hotspot-patrol and offender-focus assigned."""
    from triplet.testing.workflow import assign_trial

    root = tmp_path_factory.mktemp("registry")
    shutil.copy(REPO / "registry.yaml", root / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        root / "trials",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "design", "results"),
    )
    for trial in (root / "trials").glob("*/trial.yaml"):
        text = re.sub(r"(?m)^status:.*$", "status: registered", trial.read_text())
        trial.write_text(text)
    for tid in ("hotspot-patrol", "offender-focus"):
        assign_trial(root / "registry.yaml", tid)
    return root / "registry.yaml"
