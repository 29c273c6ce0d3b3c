"""Fixtures for the performance tests: a tiny hand-made borough and the example framework."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]

TINY_YAML = """\
name: Tiny Borough (test)
records: records.csv
denominators: {{uri: lsoas.csv}}
selection: {{start: 2021-01, end: 2021-12}}
baseline: {{start: 2022-01, end: 2023-12}}
threshold: 10
populations:
  borough: {{kind: borough}}
  worst: {{kind: priority_localities, top: 2}}
  prolific: {{kind: offenders, top: {top}}}
indicators:
  - id: burglary
    title: Burglaries
    measure: count
    crime_types: [Burglary]
    population: borough
    owner: Council
    target: 40
    funnel: true
  - id: harm-worst
    title: Harm in the worst places
    measure: harm
    population: worst
    owner: Police
  - id: prolific-crimes
    title: Crimes by prolific offenders
    measure: count
    population: prolific
    owner: Probation
"""


def tiny_records(seed: int = 1) -> pd.DataFrame:
    """36 months (2021-01..2024-06), 6 LSOAs, burglary and violence, 30 pseudonymous suspects."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2021-01", "2024-06", freq="M")
    rows = []
    lsoas = [f"E01X0000{i}" for i in range(1, 7)]
    suspects = [f"p_{i:016x}" for i in range(1, 31)]
    k = 0
    for m in months:
        for crime_type, lam in (("Burglary", 40), ("Violence and sexual offences", 25)):
            for _ in range(rng.poisson(lam)):
                k += 1
                rows.append(
                    {
                        "crime_id": f"c{k}",
                        "month": str(m),
                        "crime_type": crime_type,
                        "lsoa_code": lsoas[min(int(rng.exponential(1.5)), 5)],
                        "suspect_id": suspects[int(rng.integers(0, 30))]
                        if rng.random() < 0.3
                        else "",
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def tiny_framework(tmp_path: Path):
    """Write the tiny borough and its framework; returns a function(top=...) -> path."""

    def make(top: int = 12) -> Path:
        tiny_records().to_csv(tmp_path / "records.csv", index=False)
        pd.DataFrame(
            {"lsoa_code": [f"E01X0000{i}" for i in range(1, 7)], "population": [1500] * 6}
        ).to_csv(tmp_path / "lsoas.csv", index=False)
        path = tmp_path / "performance.yaml"
        path.write_text(TINY_YAML.format(top=top), encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def example_monitor(tmp_path_factory):
    """`triplet monitor` on a copy of the repository's example framework (run once)."""
    from triplet.performance.monitor import build_monitor

    work = tmp_path_factory.mktemp("example")
    shutil.copy2(REPO / "performance.yaml", work / "performance.yaml")
    shutil.copy2(REPO / "registry.yaml", work / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        work / "trials",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "results", "reports"),
    )
    paths = build_monitor(work / "performance.yaml")
    return work, paths
