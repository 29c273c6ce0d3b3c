"""Fixtures for the geography tests: the real London LSOA boundaries and City of London files.

The real public data live in ``../shared/data/real`` beside the checkout (see its SOURCES.md).
A test that needs them and does not find them fails, naming where they should be.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL = Path(
    __import__("os").environ.get("TRIPLET_REAL_DATA", REPO.parent / "shared" / "data" / "real")
)


def real_path(*parts: str) -> Path:
    """A path under the real-data folder; fails the test if it is missing."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"real public test data not found at {path}: put the shared data folder "
            f"(data.police.uk City of London files and ONS London LSOA boundaries, see "
            f"SOURCES.md) at {REAL} or set TRIPLET_REAL_DATA"
        )
    return path


@pytest.fixture(scope="session")
def lsoa2011_path() -> Path:
    return real_path("boundaries", "london-2011-lsoa-gen20.shp")


@pytest.fixture(scope="session")
def lsoa2021_path() -> Path:
    return real_path("boundaries", "london-2021-lsoa-gen20.shp")


@pytest.fixture(scope="session")
def croydon(lsoa2021_path):
    """Croydon's 2021 LSOAs (Boundaries, British National Grid)."""
    from triplet.geography import read_boundaries

    return read_boundaries(lsoa2021_path, where={"LAD22NM": "Croydon"})


@pytest.fixture(scope="session")
def croydon_units(croydon):
    from triplet.geography import units_from_boundaries

    return units_from_boundaries(croydon)


@pytest.fixture(scope="session")
def city_folder() -> Path:
    """The City of London Police data.police.uk archive folders, 2016-01 to 2017-06."""
    return real_path("police-uk", "city-of-london-2016-01_2017-06")


@pytest.fixture(scope="session")
def city_records():
    """Street-level crimes of the City of London Police, 2016-01 to 2017-06 (real, OGL v3)."""
    from triplet.records.police_uk import read_police_uk

    folder = real_path("police-uk", "city-of-london-2016-01_2017-06")
    files = sorted(folder.glob("*/*-street.csv"))
    if not files:
        pytest.fail(f"no *-street.csv files under {folder}")
    return read_police_uk(files).records
