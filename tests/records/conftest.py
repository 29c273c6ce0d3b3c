"""Fixtures for the records tests: writers of small data.police.uk-format files."""

from __future__ import annotations

from pathlib import Path

import pytest

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
FORCE = "Metropolitan Police Service"


def police_row(
    crime_id="c1",
    month="2023-01",
    lon="-0.1",
    lat="51.37",
    location="On or near High Street",
    lsoa="E01001001",
    lsoa_name="Croydon 001A",
    crime_type="Burglary",
    outcome="Under investigation",
) -> str:
    return ",".join(
        [
            crime_id,
            month,
            FORCE,
            FORCE,
            lon,
            lat,
            location,
            lsoa,
            lsoa_name,
            crime_type,
            outcome,
            "",
        ]
    )


@pytest.fixture
def write_police(tmp_path: Path):
    """write_police(name, rows, header=HEADER) -> Path of a police.uk-format CSV in tmp_path."""

    def _write(name: str, rows: list[str], header: str = HEADER) -> Path:
        path = tmp_path / name
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        return path

    return _write


@pytest.fixture
def key() -> str:
    return "test-key-0123456789abcdef"
