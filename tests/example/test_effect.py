"""inject_effect: thinning recovers the rate ratio, touches only treated unit-months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.example import inject_effect


@pytest.fixture(scope="module")
def setting(borough):
    units = borough.lsoas["lsoa_code"]
    treated = units.iloc[::3].tolist()
    months = pd.period_range("2024-01", "2024-12", freq="M")
    return borough.records, treated, months


def _cell(records, treated, months):
    return records["lsoa_code"].isin(treated) & records["month"].isin(months)


@pytest.mark.parametrize("rate_ratio", [0.8, 0.5])
def test_recovers_rate_ratio_within_monte_carlo_error(setting, rate_ratio):
    records, treated, months = setting
    out = inject_effect(
        records,
        unit_column="lsoa_code",
        treated_units=treated,
        months=months,
        rate_ratio=rate_ratio,
        seed=11,
    )
    n0 = int(_cell(records, treated, months).sum())
    n1 = int(_cell(out, treated, months).sum())
    se = np.sqrt(rate_ratio * (1 - rate_ratio) / n0)  # binomial thinning
    assert abs(n1 / n0 - rate_ratio) < 4 * se
    assert out.attrs["n_removed"] == n0 - n1
    # untouched elsewhere, and every kept record is an original one
    rest0 = records.loc[~_cell(records, treated, months), "crime_id"]
    rest1 = out.loc[~_cell(out, treated, months), "crime_id"]
    assert rest0.tolist() == rest1.tolist()
    assert out["crime_id"].isin(records["crime_id"]).all()


def test_reproducible_and_seed_dependent(setting):
    records, treated, months = setting
    kw = dict(unit_column="lsoa_code", treated_units=treated, months=months, rate_ratio=0.7)
    a = inject_effect(records, seed=1, **kw)
    b = inject_effect(records, seed=1, **kw)
    c = inject_effect(records, seed=2, **kw)
    assert a["crime_id"].equals(b["crime_id"])
    assert not a["crime_id"].equals(c["crime_id"])


def test_rate_ratio_one_is_identity(setting):
    records, treated, months = setting
    out = inject_effect(
        records,
        unit_column="lsoa_code",
        treated_units=treated,
        months=months,
        rate_ratio=1.0,
        seed=3,
    )
    pd.testing.assert_frame_equal(out, records.reset_index(drop=True), check_like=False)


def test_displacement_moves_crimes_to_neighbours(borough, setting):
    records, treated, months = setting
    nb = borough.lsoas.set_index("lsoa_code")["neighbours"].str.split(";").to_dict()
    out = inject_effect(
        records,
        unit_column="lsoa_code",
        treated_units=treated[:5],
        months=months,
        rate_ratio=0.6,
        seed=4,
        displacement=0.5,
        neighbours=nb,
    )
    moved = out[out["crime_id"].str.endswith("-d")]
    assert len(moved) == out.attrs["n_displaced"] > 0
    assert abs(len(moved) / out.attrs["n_removed"] - 0.5) < 0.15
    orig = records.set_index("crime_id")["lsoa_code"]
    for cid, unit in zip(moved["crime_id"], moved["lsoa_code"], strict=True):
        assert unit in nb[orig[cid[:-2]]]
    assert len(out) == len(records) - out.attrs["n_removed"] + out.attrs["n_displaced"]


def test_bad_arguments(setting):
    records, treated, months = setting
    kw = dict(unit_column="lsoa_code", treated_units=treated, months=months, seed=1)
    with pytest.raises(InputError):
        inject_effect(records, rate_ratio=1.5, **kw)
    with pytest.raises(InputError):
        inject_effect(records, rate_ratio=0.8, displacement=0.2, **kw)
    with pytest.raises(InputError):
        inject_effect(
            records, rate_ratio=0.8, unit_column="beat", treated_units=[], months=months, seed=1
        )
