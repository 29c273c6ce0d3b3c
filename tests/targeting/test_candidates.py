"""Trial candidates: eligibility, separation by distance/adjacency, buffer rings."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from triplet.errors import InputError
from triplet.targeting.candidates import select_candidates


def _line():
    # five units on a line, 100 m apart; harm falls from A to E
    return pd.DataFrame(
        {
            "unit": list("ABCDE"),
            "harm": [500.0, 400.0, 300.0, 200.0, 5.0],
            "count": [10, 8, 6, 4, 1],
            "x": [0.0, 100.0, 200.0, 300.0, 400.0],
            "y": [0.0] * 5,
            "neighbours": ["B", "A;C", "B;D", "C;E", "D"],
        }
    )


def test_distance_separation_and_buffers():
    c = select_candidates(_line(), n=3, min_distance_m=150)
    assert c.separation == "distance"
    assert c.units == ["A", "C", "E"]
    t = c.table.set_index("unit")
    assert t.loc["A", "buffer"] == "B"
    assert t.loc["C", "buffer"] == "B;D"
    assert t.loc["C", "shared_buffer"] == "B;D"  # B is in A's ring too, D in E's
    reasons = c.passed_over.set_index("unit")["reason"]
    assert reasons["B"] == "too close to a candidate (A)"


def test_eligibility_rules():
    c = select_candidates(_line(), n=5, min_harm=100, exclude=["B"], separation="none")
    assert c.units == ["A", "C", "D"]
    reasons = c.passed_over.set_index("unit")["reason"].to_dict()
    assert reasons == {"B": "excluded by name", "E": "below minimum harm"}
    summary = c.summary().set_index("outcome")["units"].to_dict()
    assert summary["candidate"] == 3 and summary["excluded by name"] == 1


def test_adjacency_separation():
    c = select_candidates(_line().drop(columns=["x", "y"]), n=5)
    assert c.separation == "adjacency"
    assert c.units == ["A", "C", "E"]
    assert c.table.set_index("unit").loc["C", "buffer"] == "B;D"
    assert len(c.buffers()) == 1 + 2 + 1


def test_yaml_snippet_round_trips():
    c = select_candidates(_line(), n=2, min_distance_m=150, min_count=2)
    data = yaml.safe_load(c.yaml_snippet())
    assert data == {"units": {"candidates": ["A", "C"]}}
    assert "at least 150 m apart" in c.yaml_snippet()
    assert c.to_dict()["buffers"]["A"] == ["B"]
    ax = c.plot()
    assert ax.get_title().startswith("2 candidates")


def test_bad_inputs():
    with pytest.raises(InputError):
        select_candidates(_line().drop(columns=["harm"]), n=2)
    with pytest.raises(InputError):
        select_candidates(
            _line().drop(columns=["x", "y"]), n=2, separation="distance", min_distance_m=10
        )
