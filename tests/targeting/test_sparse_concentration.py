"""Generalized Gini and Lorenz curve (Bernasco & Steenbeek 2017): known answers and properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.targeting.concentration import gini
from triplet.targeting.sparse_concentration import (
    generalized_gini,
    generalized_lorenz,
    sparse_concentration,
)

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


def test_known_answers_from_the_lorenzgini_documentation():
    # R lorenzgini::gini examples (Steenbeek & Bernasco 2018), printed in its help page
    dense = [10, 8, 2] + [0] * 7  # 20 crimes, 10 places
    assert gini(dense) == pytest.approx(0.78)
    assert generalized_gini(dense) == pytest.approx(0.78)
    sparse = [5, 2, 1] + [0] * 7  # 8 crimes, 10 places
    assert gini(sparse) == pytest.approx(0.8)
    assert generalized_gini(sparse) == pytest.approx(0.75)
    one = [10] + [0] * 9
    assert gini(one) == pytest.approx(0.9)
    assert generalized_gini(one, unbiased=True) == pytest.approx(1.0)


def test_hand_computed_extremes():
    # maximal equality given the data: 3 crimes in 3 of 10 places -> 0 (ordinary Gini 0.7)
    x = [1, 1, 1] + [0] * 7
    assert gini(x) == pytest.approx(0.7)
    assert generalized_gini(x) == pytest.approx(0.0, abs=1e-12)
    # all 3 in one place: 1 - 1/3 biased, exactly 1 unbiased (k = 3)
    y = [3] + [0] * 9
    assert generalized_gini(y) == pytest.approx(2 / 3)
    assert generalized_gini(y, unbiased=True) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=2, max_size=40).filter(lambda v: sum(v) > 0))
def test_generalized_is_between_zero_and_the_ordinary_gini(counts):
    g, gg = gini(counts), generalized_gini(counts)
    assert -1e-12 <= gg <= g + 1e-12
    if sum(counts) >= len(counts):
        assert gg == pytest.approx(g)


def test_lorenz_has_the_maximal_equality_line():
    lc = generalized_lorenz([5, 2, 1] + [0] * 7)
    assert lc["population_share"].iloc[[0, -1]].tolist() == [0.0, 1.0]
    # 8 crimes, 10 places: line is 0 up to 0.2, then straight to (1, 1)
    row = lc[np.isclose(lc["population_share"], 0.6)].iloc[0]
    assert row["maximal_equality"] == pytest.approx(0.5)
    assert lc.loc[lc["population_share"] <= 0.2, "maximal_equality"].abs().max() < 1e-12
    # generalized Gini = 1 - area under Lorenz / area under the maximal-equality line
    p, v, m = (lc[c].to_numpy() for c in ("population_share", "value_share", "maximal_equality"))
    area = np.trapezoid(v, p)
    assert 1 - area / np.trapezoid(m, p) == pytest.approx(0.75)


def test_result_protocol_and_errors():
    r = sparse_concentration([5, 2, 1] + [0] * 7)
    d = r.to_dict()
    assert d["sparse"] and d["gini_generalized"] == pytest.approx(0.75) and d["n_crimes"] == 8
    assert r.plot() is not None and len(r.summary()) == 1
    assert np.isnan(generalized_gini([0, 0]))
    with pytest.raises(InputError):
        generalized_gini([1, -1])


def test_city_of_london_theft_by_snap_point_is_sparse():
    month = REAL / "police-uk" / "city-of-london-2016-01_2017-06" / "2016-03"
    f = month / "2016-03-city-of-london-street.csv"
    assert f.exists(), f"real police.uk data not found: expected {f} (see SOURCES.md)"
    rec = pd.read_csv(f)
    places = rec["Location"].dropna().unique()  # police.uk snap points with any crime
    theft = rec.loc[rec["Crime type"] == "Other theft", "Location"].dropna()
    counts = theft.value_counts().reindex(places, fill_value=0)
    r = sparse_concentration(counts.to_numpy())
    assert r.n_crimes < r.n_places  # fewer thefts than places in one month
    assert r.gini_generalized < r.gini  # the ordinary Gini overstates concentration here
