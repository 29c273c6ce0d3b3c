"""The police.uk fast path (Arrow) against the careful path (Polars over every row).

``police_uk_frame(..., fast=False)`` reads every file by the careful path; the fast path must
give the identical records table, skipped rows, counts and notes, on files with bad rows,
repeated Crime IDs, blanks, padded values and ids, "No Location" spellings and files the fast
path hands back to the careful one (text in a coordinate, another encoding).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.records.conftest import HEADER
from triplet.errors import InputError
from triplet.records.police_uk import _check_file_fast, police_uk_frame, table_to_pandas

FORCE = "Metropolitan Police Service"


def row(
    cid="c1",
    month="2023-01",
    lon="-0.1",
    lat="51.37",
    location="On or near High Street",
    lsoa="E01001001",
    lsoa_name="Croydon 001A",
    crime_type="Burglary",
    outcome="Under investigation",
    force=FORCE,
    falls_within=FORCE,
    context="",
) -> str:
    cells = [cid, month, force, falls_within, lon, lat, location, lsoa, lsoa_name, crime_type]
    return ",".join([*cells, outcome, context])


def write(path: Path, rows: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode(encoding))
    return path


def assert_same(paths, **kw) -> tuple:
    """Both paths: identical Arrow tables, skipped rows, counts, notes and pandas tables."""
    fast = police_uk_frame(paths, **kw)
    careful = police_uk_frame(paths, fast=False, **kw)
    assert fast.table.schema == careful.table.schema
    assert fast.table.equals(careful.table), (fast.table.to_pandas(), careful.table.to_pandas())
    assert fast.skipped.equals(careful.skipped, null_equal=True)
    assert (fast.n_read, fast.files, fast.notes, fast.n_repeated_ids) == (
        careful.n_read,
        careful.files,
        careful.notes,
        careful.n_repeated_ids,
    )
    pd.testing.assert_frame_equal(table_to_pandas(fast.table), table_to_pandas(careful.table))
    assert fast.n_read == fast.table.num_rows + fast.skipped.height
    return fast, careful


_IDS = ["a", "b", "c", "", " a", "b ", "  ", "\tc", '""']
_MONTHS = ["2023-01", "2023-01", " 2023-02", "2023-12 ", "2023-13", "", "23-01", "   "]
_TYPES = ["Burglary", "Burglary", "Drugs ", " Anti-social behaviour", "Murder", "", "burglary"]
_LON_NUMERIC = ["-0.1", "-0.1", "-0.10", "", "200", "NaN", "1e1", "-inf"]
_LON_TEXT = [*_LON_NUMERIC, "abc", " -0.1"]
_LAT = ["51.37", "51.37", "", "95", "nan"]
_LOCATIONS = [
    "On or near High Street",
    "No Location",
    "no location",
    " No Location ",
    "NO LOCATION",
    "",
    "Café Street",
    '"On or near, Park"',
]
_LSOA = ["E01001001", "E01001001", "", " E01001002 "]
_NAMES = ["Croydon 001A", "", " Croydon 002B", '""']
_QUOTED_BLANK = ["", '""', " "]
_OUTCOMES = ["Under investigation", "", " Awaiting court outcome "]
_FORCES = [FORCE, FORCE, "", " City of London Police"]


def _rows(coords):
    return st.lists(
        st.builds(
            row,
            cid=st.sampled_from(_IDS),
            month=st.sampled_from(_MONTHS),
            lon=st.sampled_from(coords),
            lat=st.sampled_from(_LAT),
            location=st.sampled_from(_LOCATIONS),
            lsoa=st.sampled_from(_LSOA),
            lsoa_name=st.sampled_from(_NAMES),
            crime_type=st.sampled_from(_TYPES),
            outcome=st.sampled_from(_OUTCOMES),
            force=st.sampled_from(_FORCES),
            falls_within=st.sampled_from([FORCE, *_QUOTED_BLANK]),
            context=st.sampled_from(_QUOTED_BLANK),
        ),
        max_size=30,
    )


@st.composite
def _files(draw):
    n_files = draw(st.integers(1, 3))
    files = []
    for _ in range(n_files):
        text_coords = draw(st.booleans())  # text in a coordinate: that file goes careful
        rows = draw(_rows(_LON_TEXT if text_coords else _LON_NUMERIC))
        if rows and draw(st.booleans()):  # repeat some rows exactly (identical duplicates)
            rows = rows + draw(st.lists(st.sampled_from(rows), max_size=5))
        files.append(rows)
    return files


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_files())
def test_fast_and_careful_paths_agree(tmp_path_factory, files):
    folder = tmp_path_factory.mktemp("prop")
    paths = [write(folder / f"2023-0{i + 1}-x-street.csv", rows) for i, rows in enumerate(files)]
    assert_same(paths)


def test_fast_path_is_taken_for_bad_rows_and_repeated_ids(tmp_path):
    rows = [
        row("a"),
        row("a", lon="-0.2"),  # shares an id, different location: kept as a#2
        row("a"),  # identical to the first: skipped
        row("", crime_type="Anti-social behaviour"),  # generated id
        row(" b ", month=" 2023-01"),  # padded id and month: trimmed
        row("c", month="2023-13"),
        row("d", crime_type="Murder"),
        row("e", lon="NaN"),
        row("f", lat="95"),
        row("g", location="no location", lsoa=""),
    ]
    path = write(tmp_path / "2023-01-x-street.csv", rows)
    part, bad = _check_file_fast(path, "utf-8", 0)
    assert part.table.num_rows == len(rows) and bad.num_rows == 4
    fast, _ = assert_same([path])
    ids = fast.table["crime_id"].to_pylist()
    assert ids[:2] == ["a", "a#2"] and ids[2].startswith("g_") and ids[3] == "b"
    assert fast.table["location"].to_pylist()[-1] is None
    skipped = fast.skipped.select("row", "reason").rows()
    assert skipped == [
        (4, "duplicate row (identical in every column to an earlier row)"),
        (7, "month is not YYYY-MM"),
        (8, "unknown crime type"),
        (9, "longitude is not a number"),
        (10, "latitude outside -90..90"),
    ]
    assert fast.n_repeated_ids == 2


def test_ids_repeated_across_fast_and_careful_files(tmp_path):
    a = write(tmp_path / "2023-01-x-street.csv", [row("a"), row("b"), row("")])
    rows = [row("a", lon="abc"), row("a"), row("b", lon="-0.3")]
    b = write(tmp_path / "2023-02-x-street.csv", rows)
    assert _check_file_fast(b, "utf-8", 1) is None  # text in a coordinate: careful path
    fast, _ = assert_same([a, b])
    ids = fast.table["crime_id"].to_pylist()
    assert ids[:2] == ["a", "b"] and ids[2].startswith("g_") and ids[3] == "b#2"
    assert fast.skipped["reason"].to_list() == [
        "longitude is not a number",
        "duplicate row (identical in every column to an earlier row)",
    ]


def test_cp1252_file_matches_the_utf8_file_read_fast(tmp_path):
    rows = [row("a", location="On or near Café"), row("", location="No Location"), row("b", "x")]
    utf8 = write(tmp_path / "u" / "2023-01-x-street.csv", rows)
    cp = write(tmp_path / "c" / "2023-01-x-street.csv", rows, encoding="cp1252")
    fast = police_uk_frame([utf8])
    legacy, _ = assert_same([cp], encoding="cp1252")
    assert fast.table.equals(legacy.table)  # same file name: same generated ids
    drop = pl.col("file")
    assert fast.skipped.drop(drop).equals(legacy.skipped.drop(drop))


def test_invalid_utf8_is_the_same_error_on_both_paths(tmp_path):
    path = tmp_path / "2023-01-x-street.csv"
    path.write_bytes((HEADER + "\n" + row("a", location="Caf\xe9") + "\n").encode("cp1252"))
    errors = []
    for fast in (True, False):
        with pytest.raises(InputError) as exc:
            police_uk_frame([path], fast=fast)
        errors.append(exc.value)
    assert str(errors[0]) == str(errors[1])
    problem = errors[0].problems[0]
    assert (problem.line, problem.field) == (2, "Location") and "0xE9" in problem.message


def test_quoted_blank_is_text_on_both_paths(tmp_path):
    # the careful reader keeps a quoted "" as empty text (an empty cell is null), so two rows
    # differing only there are not identical: both kept, the second as a#2
    rows = [row("a", context=""), row("a", context='""'), row('""'), row("b", falls_within='""')]
    path = write(tmp_path / "2023-01-x-street.csv", rows)
    assert _check_file_fast(path, "utf-8", 0) is not None
    fast, _ = assert_same([path])
    ids = fast.table["crime_id"].to_pylist()
    assert ids[:2] == ["a", "a#2"] and ids[2].startswith("g_") and ids[3] == "b"
