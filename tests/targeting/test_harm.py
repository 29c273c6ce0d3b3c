"""Harm indices: weights against their cited sources, matching order, unmatched reporting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.targeting.harm import (
    NON_CRIME_CATEGORIES,
    POLICE_UK_CATEGORIES,
    _build_category_table,
    _read_packaged,
    category_weights,
    harm_of,
    load_index,
)


def test_cchi_weights_match_published_values():
    # Sherman, Neyroud & Neyroud (2016): 15-year murder starting point, 5-year rape, 1-year robbery.
    idx = load_index("cambridge")
    assert idx.unit == "days"
    assert idx.by_code["1"] == 5475 == 15 * 365
    assert idx.by_code["19C"] == 1825 == 5 * 365
    assert idx.by_code["34B"] == 365


# Offences whose CCHI days are pinned by the Cambridge CCHI Feb 2026 values sheet: every row of
# the offence's sub-group carries the same value (sub-group n/min/median/max as tabulated in
# isthisben/cbl-realcrime data/raw/CCHI_SOURCES.md). Homicide: max 5475 (2 of 3 rows).
CCHI_VERIFIED = {"1": 5475, "34A": 365, "34B": 365, "39": 2, "44": 2, "46": 1}


def test_cchi_verified_weights_match_the_2026_values_sheet():
    codes = _read_packaged("cambridge_crime_harm_index.csv").set_index("offence_code")
    verified = codes.index[codes["status"] == "verified"]
    assert set(verified) == set(CCHI_VERIFIED)
    for code, days in CCHI_VERIFIED.items():
        assert codes.loc[code, "days"] == days, code
        assert "CCHI 2026 values sheet" in codes.loc[code, "source"], code
    assert set(codes["status"]) <= {"verified", "published", "derived"}
    # rape stays "published" (Sherman et al. 2016): 1825 is the RAPE sub-group minimum in 2026
    assert codes.loc["19C", "status"] == "published"


# ONS Crime Severity Score weights (points). "published": in ONS's release and its press
# coverage; "transcribed": from a public transcription of the ONS data tool weights whose
# homicide/attempted murder/s.18/s.20/ABH values match the published ones to the point.
ONS_CSS = {
    "1": 7979, "2": 4663, "92D": 3,
    "5A": 1965, "5D": 1965, "5E": 1326, "8F": 333, "8A": 184, "8G": 127, "8N": 184,
    "34A": 746, "34B": 746, "39": 86, "46": 13, "49": 33,
    "28E": 438, "28F": 438, "29": 2127, "30C": 117,
    "58A": 7, "58B": 7, "58C": 7, "58D": 7, "92A": 497, "92B": 5,
}  # fmt: skip


def test_ons_css_weights_match_published_values():
    # ONS (2016) Crime Severity Score: homicide 7,979; attempted murder 4,663; cannabis 3.
    idx = load_index("ons_css")
    assert idx.by_code["1"] == 7979
    assert idx.by_code["2"] == 4663
    assert idx.by_code["92D"] == 3
    assert idx.unit == "points"


def test_ons_css_every_weight_matches_its_cited_value():
    ons = _read_packaged("ons_crime_severity_score.csv").set_index("offence_code")
    assert ons.index.is_unique
    assert dict(ons["weight"].astype(float)) == {k: float(v) for k, v in ONS_CSS.items()}
    assert set(ons.index[ons["status"] == "published"]) == {"1", "2", "92D"}
    assert set(ons["status"]) == {"published", "transcribed"}
    assert ons["source"].str.contains("ONS").all()
    # the ONS file only holds offence codes the CCHI file also knows (or violence sub-codes)
    cchi = set(_read_packaged("cambridge_crime_harm_index.csv")["offence_code"])
    assert set(ons.index) - cchi == {"2", "5A", "5E", "8A", "8G"}


def test_cchi_file_columns_and_sources_are_complete():
    codes = _read_packaged("cambridge_crime_harm_index.csv")
    for col in ("offence_code", "offence", "police_uk_category", "days", "source"):
        assert col in codes.columns
    assert codes["source"].str.len().min() > 10
    assert codes["offence_code"].is_unique
    assert set(codes["police_uk_category"]) <= set(POLICE_UK_CATEGORIES)
    assert (codes["days"] > 0).all()
    # every crime category except "Other crime" and ASB has at least one offence code
    covered = set(codes["police_uk_category"])
    assert set(POLICE_UK_CATEGORIES) - covered == {"Other crime", "Anti-social behaviour"}


def test_category_table_is_reproducible_from_offences():
    shipped = _read_packaged("police_uk_category_weights.csv")
    rebuilt = _build_category_table()
    assert list(shipped["crime_type"]) == list(rebuilt["crime_type"])
    np.testing.assert_allclose(shipped["cambridge_days"], rebuilt["cambridge_days"])
    assert set(shipped["crime_type"]) == set(POLICE_UK_CATEGORIES)
    assert shipped["derivation"].str.contains("Approximation|non-crime").all()


def test_category_weight_is_volume_weighted_mean():
    offences = pd.DataFrame(
        {
            "police_uk_category": ["A", "A", "B"],
            "days": [10.0, 100.0, 7.0],
            "volume_share": [0.9, 0.1, 1.0],
        }
    )
    w = category_weights(offences)
    assert w["A"] == pytest.approx(0.9 * 10 + 0.1 * 100)  # 19
    assert w["B"] == 7.0


def test_harm_of_code_first_then_category_then_non_crime():
    records = pd.DataFrame(
        {
            "offence_code": ["1", None, "ZZZ", None],
            "crime_type": ["Shoplifting", "Robbery", "Burglary", "Anti-social behaviour"],
        }
    )
    scores = harm_of(records, "cambridge")
    # the code wins over the (wrong) category
    assert scores.days.tolist()[0] == 5475
    assert scores.days.tolist()[1] == 365
    burglary = load_index("cambridge").by_category["Burglary"]
    assert scores.days.tolist()[2] == pytest.approx(burglary)
    assert scores.days.tolist()[3] == 0
    assert scores.basis.astype(str).tolist() == [
        "offence_code",
        "crime_type",
        "crime_type",
        "non_crime",
    ]
    assert scores.n_non_crime == 1
    assert scores.total == pytest.approx(5475 + 365 + burglary)
    assert "Anti-social behaviour" in NON_CRIME_CATEGORIES


def test_unmatched_raises_by_default_with_row_and_count():
    records = pd.DataFrame({"crime_type": ["Robbery", "Made up", "Made up"]})
    with pytest.raises(InputError) as err:
        harm_of(records, "cambridge")
    msg = str(err.value)
    assert "Made up" in msg and "2 records" in msg and "row 2" in msg


def test_unmatched_exclude_is_nan_and_counted_never_zero():
    records = pd.DataFrame({"crime_type": ["Robbery", "Made up", "Made up"]})
    scores = harm_of(records, "cambridge", unmatched="exclude")
    assert np.isnan(scores.days.iloc[1]) and np.isnan(scores.days.iloc[2])
    assert scores.n_unmatched == 2
    assert scores.unmatched.loc[0, "crime_type"] == "Made up"
    assert scores.total == 365
    assert scores.to_dict()["n_unmatched"] == 2


def test_ons_css_partial_coverage_is_reported():
    records = pd.DataFrame(
        {
            "offence_code": ["1", "46", "105A"],
            "crime_type": [
                "Violence and sexual offences",
                "Shoplifting",
                "Violence and sexual offences",
            ],
        }
    )
    scores = harm_of(records, "ons_css", unmatched="exclude")
    assert scores.days.iloc[0] == 7979
    assert scores.days.iloc[1] == 13
    # common assault has no cited CSS weight and ONS has no category weights: unmatched, not 0
    assert np.isnan(scores.days.iloc[2])
    assert scores.n_unmatched == 1


def test_custom_index_csv(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("offence_code,crime_type,days\n28E,,40\n,Shoplifting,1\n")
    idx = load_index(path)
    records = pd.DataFrame(
        {"offence_code": ["28E", None], "crime_type": ["Burglary", "Shoplifting"]}
    )
    assert harm_of(records, idx).days.tolist() == [40, 1]


def test_custom_index_bad_weight_names_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("crime_type,days\nRobbery,365\nShoplifting,lots\n")
    with pytest.raises(InputError) as err:
        load_index(path)
    assert f"{path}:3" in str(err.value)


def test_unknown_index_name():
    with pytest.raises(InputError):
        load_index("nonsense")


_categories = st.sampled_from(
    ["Robbery", "Burglary", "Shoplifting", "Anti-social behaviour", "Drugs", "Other crime"]
)
_codes = st.sampled_from([None, "1", "28E", "46", "ZZZ"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_codes, _categories), min_size=1, max_size=30), st.randoms())
def test_harm_of_is_per_record_and_order_invariant(rows, rnd):
    records = pd.DataFrame(rows, columns=["offence_code", "crime_type"])
    days = harm_of(records, "cambridge").days.to_numpy()
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    shuffled = harm_of(records.iloc[perm].reset_index(drop=True), "cambridge").days.to_numpy()
    np.testing.assert_array_equal(days[perm], shuffled)
    idx = load_index("cambridge")
    for (code, cat), d in zip(rows, days, strict=True):
        if code in idx.by_code:
            expected = idx.by_code[code]  # the code wins
        elif cat in NON_CRIME_CATEGORIES:
            expected = 0.0
        else:
            expected = idx.by_category[cat]
        assert d == pytest.approx(expected)
