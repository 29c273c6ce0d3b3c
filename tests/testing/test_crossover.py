"""Place-day (crossover) assignment: washout and cap rules, reproducibility (property tests)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.testing.crossover import PlaceDayRules, assign_place_days, draw_place_days


def _runs(row: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of the runs of True in a 1-d bool array."""
    out, start = [], None
    for i, v in enumerate([*list(row), False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i - start))
            start = None
    return out


schemes = st.tuples(
    st.integers(2, 9),  # places
    st.integers(1, 25),  # days
    st.integers(1, 8),  # treated per day (clipped below)
    st.integers(1, 4),  # max consecutive
    st.integers(0, 3),  # washout days
    st.integers(0, 2**32 - 1),  # seed
)


@settings(max_examples=150, deadline=None)
@given(schemes)
def test_rules_hold_in_every_draw(scheme):
    n_places, n_days, k, cap, wash, seed = scheme
    rules = PlaceDayRules(min(k, n_places - 1), cap, wash)
    treated, washout = draw_place_days(n_places, n_days, rules, n_draws=3, seed=seed)
    assert not (treated & washout).any()
    for draw in range(3):
        # at most treated_per_day places a day
        assert (treated[draw].sum(axis=0) <= rules.treated_per_day).all()
        for place in range(n_places):
            row, wrow = treated[draw, place], washout[draw, place]
            runs = _runs(row)
            assert all(length <= cap for _, length in runs)  # the cap
            expect_wash = np.zeros(n_days, dtype=bool)
            for (s1, l1), (s2, _l2) in itertools.pairwise(runs):
                # a new run starts only after the washout (and a day off after a capped run)
                assert s2 - (s1 + l1) >= max(wash, 1 if l1 == cap else 0)
            for s1, l1 in runs:
                expect_wash[s1 + l1 : s1 + l1 + wash] = True
            expect_wash &= ~row
            np.testing.assert_array_equal(wrow, expect_wash)


@settings(max_examples=60, deadline=None)
@given(schemes)
def test_as_many_as_asked_whenever_enough_places_are_eligible(scheme):
    """Day by day, the number treated is min(treated_per_day, places eligible that day)."""
    n_places, n_days, k, cap, wash, seed = scheme
    rules = PlaceDayRules(min(k, n_places - 1), cap, wash)
    treated, _ = draw_place_days(n_places, n_days, rules, n_draws=1, seed=seed)
    t = treated[0]
    for day in range(n_days):
        eligible = 0
        for place in range(n_places):
            past = t[place, :day]
            runs = _runs(past)
            if not runs:
                eligible += 1
                continue
            s, length = runs[-1]
            end = s + length  # first untreated day after the last run
            if end == day:
                eligible += length < cap
            else:
                eligible += day - end >= wash
        assert t[:, day].sum() == min(rules.treated_per_day, eligible)


def test_reproducible_and_draw_zero_is_the_realised_assignment():
    rules = PlaceDayRules(treated_per_day=3, max_consecutive=2, washout_days=1)
    a = assign_place_days([f"P{i}" for i in range(10)], range(30), rules, seed=42)
    b = assign_place_days([f"P{i}" for i in range(10)], range(30), rules, seed=42)
    assert a.table.equals(b.table)
    treated, washout = draw_place_days(10, 30, rules, n_draws=50, seed=42)
    np.testing.assert_array_equal(treated[0].ravel(), a.table["treated"].to_numpy())
    np.testing.assert_array_equal(washout[0].ravel(), a.table["washout"].to_numpy())
    # other draws differ (50 draws of 300 place-days: a repeat has negligible chance)
    assert all(not np.array_equal(treated[0], treated[i]) for i in range(1, 50))
    c = assign_place_days([f"P{i}" for i in range(10)], range(30), rules, seed=43)
    assert not a.table.equals(c.table)


def test_every_place_has_the_same_chance_of_treatment_on_a_day():
    """Places are exchangeable: over many draws each is treated on day 10 equally often."""
    rules = PlaceDayRules(treated_per_day=2, max_consecutive=2, washout_days=1)
    treated, _ = draw_place_days(8, 12, rules, n_draws=4000, seed=7)
    share = treated[:, :, 10].mean(axis=0)
    # binomial sd of a share over 4,000 draws is <= 0.008; 5 sd
    assert np.ptp(share) < 0.08
    assert treated[:, :, 10].sum(axis=1).max() <= 2


def test_bad_rules_are_input_errors():
    with pytest.raises(InputError, match="treated_per_day"):
        draw_place_days(4, 5, PlaceDayRules(treated_per_day=4), n_draws=1, seed=1)
    with pytest.raises(InputError, match="max_consecutive"):
        draw_place_days(4, 5, PlaceDayRules(1, max_consecutive=0), n_draws=1, seed=1)
