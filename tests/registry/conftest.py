"""Fixtures for the registry tests: a copy of the shipped registry in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# A small valid registration, written out by hand so that line numbers are known.
MINIMAL_TRIAL = """\
id: tiny-trial
title: A tiny trial
status: draft
owner:
  name: A. Analyst
  agency: Example Council
intervention:
  type: cctv
  description: Cameras.
hypotheses:
  primary: Harm falls.
units:
  kind: place
  level: lsoa
  id_column: lsoa_code
  source: The borough's LSOAs.
outcomes:
  primary:
    name: crime_harm
    measure: harm
design:
  method: complete
  seed: 1
periods:
  baseline: {start: 2022-01, end: 2022-12}
  treatment: {start: 2023-01, end: 2023-06}
analysis:
  primary: twfe_did
  minimum_effect:
    reduction: 0.1
data_sources:
  - name: Records
    kind: records
    uri: example://borough?seed=2013
data_protection:
  note: Aggregates only.
"""


def copy_registry(dest: Path) -> Path:
    """Copy registry.yaml and trials/ (without locks, assignments or results) into ``dest``."""
    shutil.copy(REPO / "registry.yaml", dest / "registry.yaml")
    for trial in (REPO / "trials").iterdir():
        if (trial / "trial.yaml").is_file():
            (dest / "trials" / trial.name).mkdir(parents=True)
            shutil.copy(trial / "trial.yaml", dest / "trials" / trial.name / "trial.yaml")
    return dest / "registry.yaml"


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    """A writable copy of the shipped registry; returns the path of its registry.yaml."""
    return copy_registry(tmp_path)


@pytest.fixture
def tiny_trial(tmp_path: Path) -> Path:
    """A minimal valid trial.yaml in its own folder."""
    path = tmp_path / "tiny-trial" / "trial.yaml"
    path.parent.mkdir()
    path.write_text(MINIMAL_TRIAL)
    return path


@pytest.fixture
def minimal_text() -> str:
    """The text of MINIMAL_TRIAL (line numbers known)."""
    return MINIMAL_TRIAL
