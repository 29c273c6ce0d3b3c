"""Concentration: Gini, Lorenz, 50%/80% shares, Felonious Few, repeat offenders/victims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.targeting.concentration import concentration, gini, lorenz_curve, units_for_share
from triplet.targeting.ranking import rank_units


def test_gini_known_answers():
    assert gini([1, 1, 1, 1]) == 0
    # all in one of four: (n-1)/n
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert gini([0, 0, 0, 4], include_zeros=False) == 0
    # [1, 2, 3, 4]: sum (2i-n-1) x = -3 -2 +3 +12 = 10; / (4 * 10) = 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)
    assert np.isnan(gini([0, 0]))


def test_lorenz_area_gives_gini():
    x = [5, 1, 0, 9, 3]
    lc = lorenz_curve(x)
    area = np.trapezoid(lc["value_share"], lc["population_share"])
    assert 1 - 2 * area == pytest.approx(gini(x))
    assert lc.iloc[0].tolist() == [0, 0] and lc.iloc[-1].tolist() == [1, 1]


def test_units_for_share_known_answers():
    assert units_for_share([50, 30, 20], 0.5) == 1  # exactly 50%
    assert units_for_share([30, 50, 20], 0.8) == 2
    assert units_for_share([1, 1, 1, 1], 0.5) == 2
    assert units_for_share([1, 1, 1, 1], 0.8) == 4


def _people():
    # offender p1: 1 robbery (365) + 1 shoplifting (1 day) ; p2..p5: one shoplifting each
    return pd.DataFrame(
        {
            "suspect_id": ["p1", "p1", "p2", "p3", "p4", "p5"],
            "victim_id": ["v1", "v2", "v2", "v2", "v3", "v4"],
            "crime_type": [
                "Robbery",
                "Shoplifting",
                "Shoplifting",
                "Shoplifting",
                "Shoplifting",
                "Shoplifting",
            ],
        }
    )


def test_felonious_few_and_repeat_offenders():
    rep = concentration(rank_units(_people(), unit="offender"))
    t50 = rep.threshold(0.5)
    assert t50.units_harm == 1  # p1 alone holds 366 / 370 days
    assert t50.units_count == 2  # 6 crimes: p1 (2) + one more reach 3 = 50%
    assert rep.repeat["n_repeat"] == 1 and rep.repeat["n_persons"] == 5
    assert rep.repeat["share_of_count"] == pytest.approx(2 / 6)
    assert rep.repeat["share_of_harm"] == pytest.approx(366 / 370)
    text = " ".join(rep.statements())
    assert "The Felonious Few: 20% of offenders (1 of 5) commit 50% of harm" in text
    assert "Repeat offenders are 20% of suspects and commit 33% of crime and 99% of harm." in text
    for pid in ("p1", "p2", "p3"):
        assert pid not in text  # never ids


def test_victim_cohort_statement():
    rep = concentration(rank_units(_people(), unit="victim"))
    # harm: v1 365, v2 3, v3 1, v4 1 -> 1 victim for 50% of harm
    # count: v2 3 of 6 -> 1 victim for 50% of count
    t = rep.threshold(0.5)
    assert (t.units_harm, t.units_count) == (1, 1)
    assert "Repeat victims are 25% of victims and suffer 50% of crime" in " ".join(rep.statements())
    assert "v1" not in " ".join(rep.statements())


def test_place_statements_and_zero_units():
    rec = pd.DataFrame({"lsoa_code": ["A", "A", "B"], "crime_type": ["Robbery"] * 3})
    rep = concentration(rank_units(rec, unit="lsoa", units=["A", "B", "C", "D"]))
    assert rep.n_zero_units == 2
    assert rep.gini_count == pytest.approx(gini([2, 1, 0, 0]))
    assert rep.gini_count_nonzero == pytest.approx(gini([2, 1]))
    s = rep.statements()
    assert s[0].startswith("25% of LSOAs (1 of 4) hold 50% of harm")
    assert "including 2 with no crime" in " ".join(s)
    ax = rep.plot()
    assert len(ax.lines) == 3
    assert rep.to_dict()["thresholds"][0]["units_harm"] == 1
    assert set(rep.summary()["measure"]) == {"harm", "count"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=50))
def test_gini_in_unit_interval_and_order_invariant(values):
    g = gini(values)
    if sum(values) > 0:
        assert -1e-12 <= g <= 1
        assert g == pytest.approx(gini(list(reversed(values))))
        k = units_for_share(values, 0.5)
        top = np.sort(values)[::-1]
        assert top[:k].sum() >= 0.5 * sum(values) - 1e-9
        assert k == 1 or top[: k - 1].sum() < 0.5 * sum(values)


def _gini_sentence(rep) -> str:
    return next(s for s in rep.statements() if s.startswith("Harm is"))


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1))
def test_concentration_sentence_follows_the_numbers_shown(g_harm, g_count):
    # issue 10, defect 11: "more concentrated ... (Gini 0.86 for harm, 0.86 for count)" lied
    import dataclasses
    import re

    rec = pd.DataFrame({"lsoa_code": ["A", "A", "B"], "crime_type": ["Robbery"] * 3})
    base = concentration(rank_units(rec, unit="lsoa"))
    rep = dataclasses.replace(base, gini_harm=g_harm, gini_count=g_count)
    s = _gini_sentence(rep)
    shown = re.search(r"Gini (\d\.\d\d) for harm, (\d\.\d\d) for count", s)
    h, c = float(shown.group(1)), float(shown.group(2))
    word = "as concentrated as" if h == c else ("more" if h > c else "less")
    assert word in s


def test_concentration_sentence_equal_at_two_decimals():
    import dataclasses

    rec = pd.DataFrame({"lsoa_code": ["A", "A", "B"], "crime_type": ["Robbery"] * 3})
    base = concentration(rank_units(rec, unit="lsoa"))
    rep = dataclasses.replace(base, gini_harm=0.8621, gini_count=0.8584)
    assert _gini_sentence(rep).startswith("Harm is as concentrated as count")
    rep = dataclasses.replace(base, gini_harm=0.41, gini_count=0.62)
    assert _gini_sentence(rep).startswith("Harm is less concentrated than count")
