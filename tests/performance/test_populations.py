"""Populations chosen on the selection months, by hand on small tables."""

from __future__ import annotations

import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.performance.framework import Population
from triplet.performance.populations import GRID_COLUMN, resolve_population

SEL = pd.period_range("2021-01", "2021-12", freq="M")


def _records() -> pd.DataFrame:
    rows = [
        # month, lsoa, suspect, victim, harm, grid
        ("2021-03", "A", "p_1", "v1", 100.0, "g1"),
        ("2021-04", "A", "p_1", "v1", 50.0, "g1"),
        ("2021-05", "B", "p_2", "v2", 120.0, "g2"),
        ("2021-06", "C", "p_3", "v1", 10.0, "g3"),
        ("2021-07", "C", "p_4", "v3", 10.0, "g3"),
        ("2021-08", "D", None, "v3", 5.0, "g4"),
        ("2022-02", "D", "p_9", "v9", 999.0, "g4"),  # after the selection: ignored
    ]
    t = pd.DataFrame(
        rows, columns=["month", "lsoa_code", "suspect_id", "victim_id", "harm", GRID_COLUMN]
    )
    t["month"] = pd.PeriodIndex(t["month"], freq="M")
    return t


def test_priority_localities_are_the_top_places_by_selection_harm():
    res = pd.Series({"A": 1000.0, "B": 2000.0, "C": 1500.0, "D": 900.0})
    m = resolve_population(
        "pl", Population(kind="priority_localities", top=2), _records(), SEL, residents=res
    )
    # harm in 2021: A 150, B 120, C 20, D 5 (D's 999 is in 2022)
    assert m.members == {"A", "B"} and m.residents == 3000.0 and not m.is_person


def test_felonious_few_is_the_fewest_offenders_with_the_share_of_harm():
    m = resolve_population("ff", Population(kind="offenders", share_of_harm=0.5), _records(), SEL)
    # offender harm 150, 120, 10, 10 (total 290): p_1 alone has 52%
    assert m.members == {"p_1"} and m.is_person and m.column == "suspect_id"
    m2 = resolve_population("ff", Population(kind="offenders", share_of_harm=0.6), _records(), SEL)
    assert m2.members == {"p_1", "p_2"}


def test_repeat_victims_and_hot_spots():
    v = resolve_population("rv", Population(kind="victims", min_crimes=2), _records(), SEL)
    assert v.members == {"v1", "v3"}
    h = resolve_population("hs", Population(kind="hot_spots", top=1), _records(), SEL)
    assert h.members == {"g1"} and h.column == GRID_COLUMN


def test_masks_and_missing_residents():
    r = _records()
    m = resolve_population("p", Population(kind="places", units=["C", "D"]), r, SEL)
    assert m.mask(r).tolist() == [False, False, False, True, True, True, True]
    b = resolve_population("b", Population(kind="borough"), r, SEL)
    assert b.mask(r).all() and b.column is None
    with pytest.raises(InputError, match="no residents"):
        resolve_population(
            "p", Population(kind="places", units=["Z"]), r, SEL, residents=pd.Series({"A": 1.0})
        )
