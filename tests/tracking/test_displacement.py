"""Weighted Displacement Quotient: hand example, interpretation table, buffer units."""

from __future__ import annotations

import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.tracking import buffer_units, wdq
from triplet.tracking.displacement import interpret_wdq


def _panel(totals):
    rows = []
    for unit, (before, after) in totals.items():
        rows += [(unit, 0, before, False), (unit, 1, after, True)]
    return pd.DataFrame(rows, columns=["unit", "month", "count", "post"])


def test_hand_example():
    # A 100 -> 50, B 80 -> 60, C 200 -> 200: SM = .25 - .5 = -.25, BM = .3 - .4 = -.1
    p = _panel({"a": (100, 50), "b": (80, 60), "c1": (120, 150), "c2": (80, 50)})
    r = wdq(p, treated=["a"], buffer=["b"], control=["c1", "c2"])
    assert r.success_measure == pytest.approx(-0.25)
    assert r.buffer_measure == pytest.approx(-0.1)
    assert r.wdq == pytest.approx(0.4)
    assert r.interpretation == "diffusion of benefits"
    assert r.to_dict()["counts"]["control"]["before"] == 200
    assert r.summary()["after"].tolist() == [50, 60, 200]
    assert r.plot() is not None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "diffusion of benefits greater"),
        (0.5, "diffusion of benefits"),
        (0.0, "no displacement"),
        (-0.5, "net benefit"),
        (-2.0, "net harm"),
    ],
)
def test_interpretation_table(value, text):
    assert text in interpret_wdq(value, success=-0.1)
    assert "not interpretable" in interpret_wdq(value, success=0.1)


def test_overlap_rejected():
    p = _panel({"a": (1, 1), "c": (1, 1)})
    with pytest.raises(InputError, match="overlap"):
        wdq(p, treated=["a"], buffer=["a"], control=["c"])


def test_buffer_units_from_neighbours_and_distance():
    units = pd.DataFrame(
        {
            "lsoa_code": ["a", "b", "c", "d"],
            "neighbours": ["b;c", "a", "a;d", "c"],
            "x": [0.0, 100.0, 0.0, 0.0],
            "y": [0.0, 0.0, 100.0, 500.0],
        }
    )
    assert list(buffer_units(units, ["a"])) == ["b", "c"]
    assert list(buffer_units(units, ["a", "b"])) == ["c"]
    assert list(buffer_units(units, ["a"], distance=150)) == ["b", "c"]
    with pytest.raises(InputError, match="no 'nbrs' column"):
        buffer_units(units, ["a"], neighbours="nbrs")
