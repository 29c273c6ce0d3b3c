"""Atomic, non-overwriting writes (triplet.io)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from triplet import io
from triplet.errors import OverwriteError


def test_write_text_refuses_to_overwrite(tmp_path):
    path = tmp_path / "a.txt"
    io.write_text(path, "first")
    with pytest.raises(OverwriteError, match="refusing to overwrite"):
        io.write_text(path, "second")
    assert path.read_text() == "first"
    io.write_text(path, "second", overwrite=True)
    assert path.read_text() == "second"


def test_failed_write_leaves_no_file_and_no_temp(tmp_path):
    path = tmp_path / "sub" / "b.csv"

    def boom(frame, tmp):
        tmp.write_text("partial")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        io.write_dataframe(path, pd.DataFrame({"x": [1]}), writer=boom)
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


def test_write_json_converts_numpy_and_nan(tmp_path):
    path = io.write_json(
        tmp_path / "r.json",
        {"a": np.float64(1.5), "b": np.int64(3), "c": math.nan, "d": np.array([1, 2])},
    )
    assert json.loads(path.read_text()) == {"a": 1.5, "b": 3, "c": None, "d": [1, 2]}


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.integers() | st.text(max_size=8)))
def test_json_round_trip(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("j") / "x.json"
    io.write_json(path, obj)
    assert json.loads(path.read_text()) == obj


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_dataframe_round_trip(tmp_path, suffix):
    frame = pd.DataFrame({"unit": ["a", "b"], "harm": [1.25, 0.0]})
    path = io.write_dataframe(tmp_path / f"t{suffix}", frame)
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_unknown_table_suffix_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown table format"):
        io.write_dataframe(tmp_path / "t.xlsx", pd.DataFrame({"x": [1]}))
    assert not (tmp_path / "t.xlsx").exists()


def test_written_files_get_the_usual_mode_not_0600(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = io.write_text(tmp_path / "shared.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_jsonable_is_the_one_json_converter():
    """numpy/pandas scalars, NaN/inf/NA/NaT, paths, periods and dates become plain JSON."""
    import datetime as dt
    from pathlib import Path

    obj = {
        1: np.float64(-0.5),
        "b": [np.int64(2), np.bool_(True), (math.inf, -math.inf)],
        "c": {"nan": np.float64("nan"), "na": pd.NA, "nat": pd.NaT},
        "d": np.array([[1.0, np.nan]]),
        "e": Path("figures/a.png"),
        "f": pd.Period("2024-01", freq="M"),
        "g": dt.date(2024, 2, 29),
        "h": pd.Timestamp("2024-03-01 12:00"),
    }
    out = io.jsonable(obj)
    assert out == {
        "1": -0.5,
        "b": [2, True, [None, None]],
        "c": {"nan": None, "na": None, "nat": None},
        "d": [[1.0, None]],
        "e": "figures/a.png",
        "f": "2024-01",
        "g": "2024-02-29",
        "h": "2024-03-01 12:00:00",
    }
    assert type(out["b"][0]) is int and type(out["b"][1]) is bool
    json.dumps(out, allow_nan=False)


@given(
    st.recursive(
        st.floats() | st.integers() | st.none() | st.text(max_size=4),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_jsonable_output_is_strict_json(obj):
    json.dumps(io.jsonable(obj), allow_nan=False)


def test_no_private_json_cleaners_remain():
    """One JSON converter: the helpers that each cleaned NaN their own way are gone."""
    import triplet.cli.tracking as cli_tracking
    import triplet.testing.assignment as assignment
    import triplet.tracking.results as results

    assert not hasattr(io, "_jsonable")
    assert not hasattr(results, "_clean")
    assert not hasattr(assignment, "_plain")
    assert not hasattr(cli_tracking, "_jsonable")
