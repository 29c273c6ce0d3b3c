"""The partitioned Parquet records store: idempotent monthly appends, lazy scans, real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.records.conftest import HEADER, police_row
from tests.records.test_police_uk_archive import _city
from triplet.errors import InputError
from triplet.records import read_police_uk
from triplet.records.store import RecordStore, append_police_uk, force_slug


def _month_file(folder: Path, month: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{month}-metropolitan-street.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["month", "crime_id"]).reset_index(drop=True)


def test_force_slug():
    assert force_slug("Metropolitan Police Service") == "metropolitan-police-service"
    assert force_slug(None) == "unknown" and force_slug("  ") == "unknown"


def test_a_month_read_twice_is_not_counted_twice(tmp_path):
    jan = _month_file(tmp_path / "in", "2023-01", [police_row("a"), police_row("b")])
    store = tmp_path / "store"
    first = append_police_uk(store, jan)
    assert first.added == ("metropolitan-police-service/2023-01",) and first.replaced == ()
    assert first.n_rows_after == 2
    again = append_police_uk(store, jan)
    assert again.added == () and again.replaced == ("metropolitan-police-service/2023-01",)
    assert again.n_rows_before == again.n_rows_after == 2
    feb = _month_file(
        tmp_path / "in",
        "2023-02",
        [police_row("c", month="2023-02"), police_row("", month="2023-02", outcome="")],
    )
    update = append_police_uk(store, feb)
    assert update.added == ("metropolitan-police-service/2023-02",)
    assert update.n_rows_after == 4 and RecordStore(store).n_records() == 4
    # a corrected re-publication of January replaces it
    _month_file(tmp_path / "in", "2023-01", [police_row("a")])
    fixed = append_police_uk(store, jan)
    assert fixed.replaced and fixed.n_rows_after == 3
    st = RecordStore(store)
    assert list(st.months().astype(str)) == ["2023-01", "2023-02"]
    got = st.records()
    assert sorted(got["crime_id"].str[:2]) == ["a", "c", "g_"]
    assert "partitions replaced (read again): 1" in fixed.report()


def test_store_equals_the_in_memory_reader_and_keeps_skipped_rows(tmp_path):
    rows = [police_row("a"), police_row("b", month="2023-13"), police_row("a", lsoa="E01000009")]
    jan = _month_file(tmp_path / "in", "2023-01", rows)
    update = append_police_uk(tmp_path / "s", jan)
    mem = read_police_uk(jan)
    st = RecordStore(tmp_path / "s")
    pd.testing.assert_frame_equal(_sorted(st.records()), _sorted(mem.records))
    assert update.read.n_read == 3 and update.read.n_kept == 2 and update.read.n_skipped == 1
    assert update.read.n_repeated_ids == 2
    pd.testing.assert_frame_equal(st.skipped(), mem.skipped)


def test_scan_selects_months_and_columns(tmp_path):
    _month_file(tmp_path / "in", "2023-01", [police_row("a")])
    _month_file(tmp_path / "in", "2023-02", [police_row("b", month="2023-02")])
    append_police_uk(tmp_path / "s", tmp_path / "in")
    st = RecordStore(tmp_path / "s")
    got = st.scan(["crime_id", "month"], months=["2023-02"]).collect()
    assert got.to_dicts() == [{"crime_id": "b", "month": "2023-02"}]
    with pytest.raises(InputError, match="not a records column"):
        st.scan(["nope"])


def test_empty_store_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="empty"):
        RecordStore(tmp_path / "none").records()


def test_real_archive_in_store_equals_in_memory_and_updates_month_by_month(tmp_path):
    city = _city()
    store = tmp_path / "store"
    months = sorted(p for p in city.iterdir() if p.is_dir())
    # month by month, as an analyst would after each monthly download
    for m in months[:-1]:
        append_police_uk(store, m)
    # the last month's outcomes update earlier crimes' outcomes in the store
    last = append_police_uk(store, months[-1])
    assert len(last.added) == 1
    st = RecordStore(store)
    mem = read_police_uk(city).records
    pd.testing.assert_frame_equal(_sorted(st.records()), _sorted(mem))
    # reading everything again adds nothing
    again = append_police_uk(store, city)
    assert again.added == () and len(again.replaced) == 18
    assert again.n_rows_after == again.n_rows_before == len(mem)


def test_cli_store_appends_and_is_idempotent(tmp_path, capsys):
    from triplet.cli.main import main

    city = _city()
    src = tmp_path / "dl"
    shutil.copytree(city / "2016-01", src / "2016-01")
    store = tmp_path / "store"
    assert main(["records", "read", str(src), "-f", "police-uk", "--store", str(store)]) == 0
    first = capsys.readouterr().out
    assert "1 months added, 0 replaced" in first
    assert main(["records", "read", str(src), "-f", "police-uk", "--store", str(store)]) == 0
    assert "0 months added, 1 replaced" in capsys.readouterr().out
    n = RecordStore(store).n_records()
    assert n == len(pd.read_csv(src / "2016-01" / "2016-01-city-of-london-street.csv"))
    code = main(["records", "read", str(src), "-f", "police-uk"])
    assert code != 0 and "exactly one of --out" in capsys.readouterr().err
