"""The synthetic example borough: determinism, size, mix, concentration, people, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import OverwriteError
from triplet.example import generate_borough, write_borough
from triplet.records import validate_records
from triplet.targeting.harm import harm_of


def share_for_half(values) -> float:
    """Smallest share of units holding at least half of the total (units with zero included)."""
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    k = int(np.searchsorted(np.cumsum(v), 0.5 * v.sum()) + 1)
    return k / len(v)


def test_share_for_half_known_answer():
    assert share_for_half([10, 0, 0, 0]) == 0.25
    assert share_for_half([1, 1, 1, 1]) == 0.5


@pytest.fixture(scope="module")
def harm(borough):
    scores = harm_of(borough.records, "cambridge")
    return scores.days


def test_deterministic_for_a_seed():
    a = generate_borough(seed=5, n_lsoa=40, months=6)
    b = generate_borough(seed=5, n_lsoa=40, months=6)
    c = generate_borough(seed=6, n_lsoa=40, months=6)
    for name in ("records", "lsoas", "offenders", "victims"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.records["crime_id"].equals(c.records["crime_id"])
    assert not a.lsoas["deprivation"].equals(c.lsoas["deprivation"])


def test_size_and_schema(borough):
    r = borough.records
    assert len(borough.lsoas) == 220
    per_year = r.groupby(r["month"].dt.year).size()
    assert list(per_year.index) == [2022, 2023, 2024, 2025]
    assert per_year.between(27_000, 33_000).all()
    pd.testing.assert_frame_equal(validate_records(r), r)  # canonical already
    assert r["crime_id"].is_unique
    assert set(r["lsoa_code"]) <= set(borough.lsoas["lsoa_code"])
    assert (r["month"] == r["date"].dt.to_period("M")).all()


def test_lsoa_table(borough):
    ls = borough.lsoas
    assert list(ls.columns) == [
        "lsoa_code",
        "lsoa_name",
        "ward",
        "x",
        "y",
        "longitude",
        "latitude",
        "population",
        "deprivation",
        "asb_count",
        "neighbours",
    ]
    assert ls["lsoa_code"].str.fullmatch(r"E01X\d{5}").all() and ls["lsoa_code"].is_unique
    assert ls["population"].between(1000, 3000).all()
    assert ls["latitude"].between(51.3, 51.45).all() and ls["longitude"].between(-0.2, 0.0).all()
    assert ls["ward"].nunique() >= 20
    codes = set(ls["lsoa_code"])
    nb = ls.set_index("lsoa_code")["neighbours"].str.split(";")
    assert all(set(v) <= codes and 3 <= len(v) <= 8 for v in nb)
    assert all(a in nb[b] for a, vs in nb.items() for b in vs)  # contiguity is symmetric
    # deprivation is spatially smooth: neighbours are more alike than random pairs
    dep = ls.set_index("lsoa_code")["deprivation"]
    nb_diff = np.mean([abs(dep[a] - dep[b]) for a, vs in nb.items() for b in vs])
    rng = np.random.default_rng(0)
    rand_diff = np.mean(np.abs(dep.to_numpy() - rng.permutation(dep.to_numpy())))
    assert nb_diff < 0.7 * rand_diff


def test_offence_mix(borough):
    share = borough.records["crime_type"].value_counts(normalize=True)
    assert share["Violence and sexual offences"] == pytest.approx(0.37, abs=0.02)
    assert "Anti-social behaviour" not in share.index
    assert share.index.nunique() == 13
    coded = borough.records["offence_code"].notna()
    assert coded[borough.records["crime_type"] != "Other crime"].all()


def test_harm_concentrated_in_few_places(borough, harm):
    per_lsoa = harm.groupby(borough.records["lsoa_code"]).sum()
    per_lsoa = per_lsoa.reindex(borough.lsoas["lsoa_code"], fill_value=0)
    s = share_for_half(per_lsoa)
    assert 0.03 <= s <= 0.12  # research: a few per cent of places hold half the harm
    counts = borough.records["lsoa_code"].value_counts()
    assert share_for_half(counts) > s  # harm is more concentrated than counts


def test_harm_concentrated_in_few_offenders(borough, harm):
    r = borough.records
    sus = r["suspect_id"].notna()
    per = harm[sus].groupby(r.loc[sus, "suspect_id"]).sum()
    assert share_for_half(per) < 0.10  # the felonious few
    assert 0.35 <= sus.mean() <= 0.45  # about 40% of crimes have a suspect
    counts = r["suspect_id"].value_counts()
    assert (counts > 1).mean() > 0.4  # repeat offenders
    assert set(counts.index) == set(borough.offenders["suspect_id"])


def test_repeat_victims_and_pseudonym_ids(borough):
    r = borough.records
    v = r["victim_id"].value_counts()
    assert 0.1 < (v > 1).mean() < 0.4
    for col in ("suspect_id", "victim_id"):
        assert r[col].dropna().str.fullmatch(r"p_[0-9a-f]{16}").all()
    assert r.loc[r["crime_type"] == "Shoplifting", "victim_id"].isna().all()


def test_seasonality_and_hours(borough):
    r = borough.records
    moy = r["month"].dt.month
    vio = r[r["crime_type"] == "Violence and sexual offences"].groupby(moy).size()
    bur = r[r["crime_type"] == "Burglary"].groupby(moy).size()
    assert vio[[6, 7, 8]].sum() > 1.1 * vio[[12, 1, 2]].sum()
    assert bur[[11, 12, 1]].sum() > 1.2 * bur[[5, 6, 7]].sum()
    hour = r["date"].dt.hour
    v = r["crime_type"] == "Violence and sexual offences"
    night = hour.isin([22, 23, 0, 1])
    morning = hour.isin([5, 6, 7, 8])
    assert (v & night).sum() > 2 * (v & morning).sum()
    shop = r["crime_type"] == "Shoplifting"
    assert (shop & hour.between(10, 18)).sum() > 5 * (shop & hour.isin([0, 1, 2, 3])).sum()
    weekend = r["date"].dt.day_of_week >= 4
    assert (v & night & weekend).sum() / (v & night).sum() > 3 / 7


def test_deprivation_correlates_with_crime(borough):
    ls = borough.lsoas
    rate = (
        ls["lsoa_code"].map(borough.records["lsoa_code"].value_counts()).to_numpy()
        / ls["population"]
    )
    assert np.corrcoef(ls["deprivation"], rate)[0, 1] > 0.2


def test_labelled_synthetic(borough, tmp_path):
    assert borough.meta["label"] == "SYNTHETIC" and borough.meta["seed"] == 2013
    assert borough.records.attrs["label"] == "SYNTHETIC"
    assert "SYNTHETIC" in borough.records["force"].iloc[0]
    assert borough.to_dict()["n_records"] == len(borough.records)
    assert set(borough.summary().columns) == {"year", "crime_type", "crimes"}
    small = generate_borough(seed=1, n_lsoa=20, months=2)
    paths = write_borough(small, tmp_path)
    assert "SYNTHETIC" in (tmp_path / "README.txt").read_text()
    back = pd.read_parquet(tmp_path / "records.parquet")
    assert len(back) == len(small.records) and len(paths) == 6
    before = (tmp_path / "lsoas.csv").read_bytes()
    with pytest.raises(OverwriteError):
        write_borough(small, tmp_path)
    assert (tmp_path / "lsoas.csv").read_bytes() == before


def test_plot(borough):
    ax = borough.plot()
    assert "SYNTHETIC" in ax.get_title()
