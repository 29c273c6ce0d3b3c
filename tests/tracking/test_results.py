"""results.json: complete analysis records, atomic non-overwriting writes, archiving."""

from __future__ import annotations

import json
import math

import pytest

from triplet.errors import InputError, OverwriteError
from triplet.tracking.results import (
    ANALYSIS_KEYS,
    analysis_record,
    archive_results,
    read_results,
    software_versions,
    write_results,
)


def _results(**extra):
    a = analysis_record(
        {"estimate": -1.0, "se": math.nan, "extra": 3}, name="primary", role="primary"
    )
    return {"trial": "t", "primary": a, "analyses": [a], **extra}


def test_analysis_record_has_every_key_and_no_nan():
    a = analysis_record({"estimate": -1.0, "se": math.nan, "extra": 3}, name="x")
    assert list(a)[: len(ANALYSIS_KEYS)] == list(ANALYSIS_KEYS)
    assert a["se"] is None and a["rate_ratio"] is None and a["extra"] == 3


def test_round_trip_and_refuse_overwrite(tmp_path):
    path = write_results(tmp_path, _results())
    back = read_results(tmp_path)
    assert back["primary"]["estimate"] == -1.0
    json.loads(path.read_text())  # strict JSON
    with pytest.raises(OverwriteError):
        write_results(tmp_path, _results())
    with pytest.raises(ValueError, match="primary"):
        write_results(tmp_path / "other", {"trial": "t"})


def test_read_errors_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="triplet track"):
        read_results(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(InputError, match="line 1"):
        read_results(tmp_path)


def test_archive_moves_everything_but_previous(tmp_path):
    write_results(tmp_path, _results())
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"png")
    dest = archive_results(tmp_path)
    assert dest.parent == tmp_path / "previous"
    assert (dest / "results.json").exists() and (dest / "figures" / "a.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["previous"]
    assert archive_results(tmp_path) is None  # nothing left to move


def test_versions_name_the_numerical_stack():
    v = software_versions()
    for name in ("python", "triplet", "numpy", "pandas", "statsmodels", "linearmodels"):
        assert v[name]
