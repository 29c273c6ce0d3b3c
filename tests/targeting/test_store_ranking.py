"""Out-of-core ranking, concentration and unit x month panel equal the in-memory pandas path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.records.conftest import HEADER
from tests.records.test_police_uk_archive import _city
from triplet.errors import InputError
from triplet.records import read_police_uk, unit_month
from triplet.records.store import RecordStore, append_police_uk
from triplet.targeting import concentration, rank_units
from triplet.targeting.harm import harm_of
from triplet.targeting.store_ranking import rank_store, store_unit_month


def _fragile(table: pd.DataFrame) -> set[str]:
    """Units whose harm differs from another unit's by a few ulps only (not exactly equal).

    Harm is summed in another order out of core, so the order of two such units (a tie up to
    rounding) may differ between the paths; every other rank must be identical.
    """
    h = np.sort(table["harm"].to_numpy())
    close = np.abs(np.diff(h)) <= 1e-9 * max(1.0, float(np.abs(h).max(initial=0.0)))
    close &= np.diff(h) != 0
    bad = set(h[1:][close]) | set(h[:-1][close])
    return set(table.loc[table["harm"].isin(bad), "unit"].astype(str))


def _assert_same_ranking(a, b):
    ta = a.table.assign(unit=a.table["unit"].astype(str)).set_index("unit")
    tb = b.table.assign(unit=b.table["unit"].astype(str)).set_index("unit")
    assert set(ta.index) == set(tb.index)
    tb = tb.loc[ta.index]
    assert ta["count"].tolist() == tb["count"].tolist()
    for col in ("harm", "harm_per_crime", "share", "count_share"):
        np.testing.assert_allclose(ta[col], tb[col], rtol=1e-12, atol=1e-12)
    fragile = _fragile(a.table) | _fragile(b.table)
    firm = [u for u in ta.index if u not in fragile]
    for col in ("rank", "count_rank"):
        assert ta.loc[firm, col].tolist() == tb.loc[firm, col].tolist()
        assert sorted(ta.loc[list(fragile), col]) == sorted(tb.loc[list(fragile), col])
    # the row order (by rank) is the same apart from near-ties
    order_a = [u for u in a.table["unit"].astype(str) if u not in fragile]
    order_b = [u for u in b.table["unit"].astype(str) if u not in fragile]
    assert order_a == order_b
    np.testing.assert_allclose(
        a.table["cumulative_share"], b.table["cumulative_share"], rtol=1e-12, atol=1e-12
    )
    for attr in ("n_records", "n_no_unit", "n_unmatched", "n_non_crime", "unit_name", "kind"):
        assert getattr(a, attr) == getattr(b, attr)


def test_fragile_finds_near_ties_only():
    t = pd.DataFrame({"unit": list("abcd"), "harm": [1.0, 1.0 + 2e-16, 5.0, 5.0]})
    assert _fragile(t) == {"a", "b"}


@pytest.fixture(scope="module")
def city_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    append_police_uk(store, _city())
    return RecordStore(store)


@pytest.mark.parametrize("include_non_crime", [False, True])
def test_real_ranking_by_lsoa_equals_in_memory(city_store, include_non_crime):
    records = read_police_uk(_city()).records
    mem = rank_units(records, unit="lsoa", include_non_crime=include_non_crime)
    ooc = rank_store(city_store, unit="lsoa", include_non_crime=include_non_crime)
    _assert_same_ranking(ooc, mem)
    assert mem.n_no_unit > 0 and mem.n_non_crime > 1000  # the real files have both
    cm, co = concentration(mem).to_dict(), concentration(ooc).to_dict()
    assert co.keys() == cm.keys()
    for k, v in cm.items():  # floats agree to summation order (1e-12), the rest exactly
        if isinstance(v, float):
            assert co[k] == pytest.approx(v, rel=1e-12), k
        else:
            assert co[k] == v, k


def test_real_ranking_by_month_and_months_filter(city_store):
    records = read_police_uk(_city()).records
    _assert_same_ranking(rank_store(city_store, unit="month"), rank_units(records, unit="month"))
    sub = records[records["month"] <= pd.Period("2016-06", "M")].reset_index(drop=True)
    months = pd.period_range("2016-01", "2016-06", freq="M")
    _assert_same_ranking(
        rank_store(city_store, unit="lsoa", months=months), rank_units(sub, unit="lsoa")
    )


def test_real_unit_month_panel_equals_in_memory(city_store):
    records = read_police_uk(_city()).records
    months = pd.period_range("2016-01", "2017-06", freq="M")
    units = [*sorted(records["lsoa_code"].dropna().unique())[:40], "E01999999"]
    for crime_types in ("all", ["Burglary", "Violence and sexual offences"]):
        mem = unit_month(
            records,
            unit="lsoa_code",
            months=months,
            harm=harm_of(records, "cambridge").days,
            crime_types=crime_types,
            units=units,
        )
        ooc = store_unit_month(
            city_store,
            unit="lsoa_code",
            months=months,
            harm="cambridge",
            crime_types=crime_types,
            units=units,
        )
        pd.testing.assert_frame_equal(ooc, mem, rtol=1e-12)
        assert ooc.attrs == mem.attrs
    # without units: every unit seen
    mem = unit_month(records, unit="lsoa_code", months=months)
    ooc = store_unit_month(city_store, unit="lsoa_code", months=months)
    pd.testing.assert_frame_equal(ooc, mem)


def _synthetic_store(tmp_path, seed=7, n=4000):
    """Canonical records with suspects, offence codes and unmatched types, in a store."""
    rng = np.random.Generator(np.random.PCG64(seed))
    types = ["Burglary", "Robbery", "Drugs", "Anti-social behaviour", "Shoplifting"]
    months = [f"2024-{m:02d}" for m in range(1, 7)]
    month = rng.choice(months, n)
    rows = []
    for i in range(n):
        lsoa = f"E01{rng.integers(0, 60):06d}" if rng.random() > 0.05 else ""
        ctype = types[rng.integers(0, len(types))]
        rows.append(
            f"c{i},{month[i]},Synthetic Police,Synthetic Police,-0.1,51.5,On or near X,"
            f"{lsoa},N,{ctype},,"
        )
    folder = tmp_path / "in"
    folder.mkdir()
    for m in months:
        lines = [r for r in rows if r.split(",")[1] == m]
        (folder / f"{m}-synthetic-street.csv").write_text("\n".join([HEADER, *lines]) + "\n")
    append_police_uk(tmp_path / "store", folder)
    return RecordStore(tmp_path / "store"), read_police_uk(folder).records


def test_synthetic_ties_and_units_list_agree(tmp_path):
    st, records = _synthetic_store(tmp_path)
    units = [f"E01{i:06d}" for i in range(70)]  # ten with no crime
    _assert_same_ranking(
        rank_store(st, unit="lsoa", units=units), rank_units(records, unit="lsoa", units=units)
    )


def test_offender_ranking_equals_in_memory(tmp_path):
    # an extract-style store: suspects are pseudonymised ids in the canonical column
    st, records = _synthetic_store(tmp_path)
    rng = np.random.Generator(np.random.PCG64(3))
    suspects = np.where(rng.random(len(records)) < 0.4, rng.integers(0, 300, len(records)), -1)
    records = records.assign(
        suspect_id=pd.Series([f"p_{s:016x}" if s >= 0 else None for s in suspects], dtype="str")
    )
    import polars as pl

    from triplet.records.store import _write_parquet, to_store_schema

    for key in st.partitions():
        month = key.split("/")[1]
        part = records[records["month"].astype(str) == month].assign(
            month=lambda d: d["month"].astype(str)
        )
        _write_parquet(
            st.root / "records" / f"{key}.parquet",
            to_store_schema(pl.from_pandas(part)),
            overwrite=True,
        )
    mem = rank_units(records, unit="offender")
    ooc = rank_store(st, unit="offender")
    _assert_same_ranking(ooc, mem)
    assert ooc.is_person and ooc.n_no_unit > 0


def test_unmatched_offences_raise_or_are_excluded(tmp_path):
    st, records = _synthetic_store(tmp_path)
    index = tmp_path / "index.csv"
    index.write_text("offence_code,days\n")
    custom = pd.DataFrame({"crime_type": ["Burglary", "Robbery"], "days": [10.0, 50.0]})
    custom.to_csv(index, index=False)
    with pytest.raises(InputError, match=r"no .* weight for"):
        rank_store(st, unit="lsoa", harm=index)
    mem = rank_units(records, unit="lsoa", harm=index, unmatched="exclude")
    ooc = rank_store(st, unit="lsoa", harm=index, unmatched="exclude")
    _assert_same_ranking(ooc, mem)
    assert ooc.n_unmatched > 0


def test_panel_with_unmatched_offences_excluded(tmp_path):
    st, records = _synthetic_store(tmp_path)
    index = tmp_path / "index.csv"
    pd.DataFrame({"crime_type": ["Burglary", "Robbery"], "days": [10.0, 50.0]}).to_csv(
        index, index=False
    )
    months = pd.period_range("2024-01", "2024-06", freq="M")
    with pytest.raises(InputError, match=r"no .* weight for"):
        store_unit_month(st, unit="lsoa_code", months=months, harm=index)
    days = harm_of(records, index, unmatched="exclude").days
    mem = unit_month(records, unit="lsoa_code", months=months, harm=days.fillna(0.0))
    ooc = store_unit_month(st, unit="lsoa_code", months=months, harm=index, unmatched="exclude")
    pd.testing.assert_frame_equal(ooc, mem, rtol=1e-12)
    assert ooc.attrs["n_unmatched_harm"] == int(days.isna().sum()) > 0
