"""Delivery readers: every row kept or listed with file, line, column and reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.records.pseudonymise import is_pseudonym
from triplet.tracking.delivery.read import (
    load_delivery_mapping,
    localise,
    read_delivery,
    read_pings,
    read_visit_log,
)

KEY = "a test key of 32 characters long"

PING_MAP = """\
kind: pings
columns:
  device_id: RADIO
  officer_id: COLLAR
  timestamp: TIME
  x: E
  y: N
timezone: Europe/London
"""

PINGS = """\
RADIO,COLLAR,TIME,E,N
r1,c1,2024-05-01 10:00:00,530000,180000
r1,c1,2024-05-01 10:01:00,530010,180000
r1,c1,2024-05-01 10:01:00,530010,180000
r1,c1,2024-05-01 10:00:30,530010,180000
r1,c1,2024-05-01 10:02:00,,180000
r1,c1,2024-05-01 10:03:00,590000,180000
r1,c1,2024-05-01 10:04:00,530030,180000
r2,c2,2024-03-31 01:30:00,530000,180000
r2,c2,2024-10-27 01:30:00,530000,180000
r2,c2,2024-10-27T01:30:00+00:00,530000,180000
,c3,2024-05-01 10:00:00,530000,180000
r3,c3,yesterday,530000,180000
r3,c3,2024-05-01 10:00:00,abc,180000
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_pings_every_row_kept_or_listed(tmp_path: Path) -> None:
    r = read_pings(
        write(tmp_path, "pings.csv", PINGS), write(tmp_path, "m.yaml", PING_MAP), key=KEY
    )
    assert r.n_read == 13 and r.n_kept + r.n_skipped == 13
    why = dict(zip(r.skipped["row"], r.skipped["reason"], strict=True))
    col = dict(zip(r.skipped["row"], r.skipped["column"], strict=True))
    assert why[4].startswith("duplicate ping")
    assert why[5].startswith("ping out of order")
    assert why[6] == "missing coordinates" and col[6] == "E"
    assert why[7].startswith("impossible speed")  # 60 km in a minute and back
    assert why[9].startswith("nonexistent local time")  # 01:30 on 31 March does not exist
    assert why[10].startswith("ambiguous local time")  # 01:30 on 27 October happens twice
    assert why[12] == "device id is blank"
    assert why[13].startswith("timestamp does not match") and col[13] == "TIME"
    assert why[14] == "coordinate is not a number"
    assert sorted(r.table["row"]) == [2, 3, 8, 11]
    assert is_pseudonym(r.table["device"]).all() and is_pseudonym(r.table["officer"]).all()
    assert "r1" not in set(r.table["device"])
    # local BST 10:00 is 09:00 UTC; the explicit offset is read as written
    t = r.table.set_index("row")["time"]
    assert t[2] == pd.Timestamp("2024-05-01 09:00", tz="UTC")
    assert t[11] == pd.Timestamp("2024-10-27 01:30", tz="UTC")
    assert "impossible speed" in r.report()


def test_timestamps_without_a_zone_are_listed_not_guessed(tmp_path: Path) -> None:
    m = write(tmp_path, "m.yaml", PING_MAP.replace("timezone: Europe/London\n", ""))
    r = read_pings(write(tmp_path, "p.csv", PINGS), m, key=KEY)
    assert (r.skipped["reason"].str.startswith("timestamp has no time zone")).sum() == 10
    assert r.table["row"].tolist() == [11]


def test_strict_gives_file_line_column(tmp_path: Path) -> None:
    p = write(tmp_path, "pings.csv", PINGS)
    with pytest.raises(InputError) as e:
        read_pings(p, write(tmp_path, "m.yaml", PING_MAP), key=KEY, strict=True)
    assert f"{p}:6: E: missing coordinates" in str(e.value)


def test_localise_known_answers() -> None:
    s = pd.Series(
        pd.to_datetime(
            [
                "2024-01-15 12:00",
                "2024-07-15 12:00",
                "2024-03-31 01:15",
                "2024-10-27 01:15",
                "2024-10-27 02:15",
            ]
        )
    )
    utc, amb, non = localise(s, "Europe/London")
    assert utc[0] == pd.Timestamp("2024-01-15 12:00", tz="UTC")  # GMT
    assert utc[1] == pd.Timestamp("2024-07-15 11:00", tz="UTC")  # BST
    assert non.tolist() == [False, False, True, False, False]
    assert amb.tolist() == [False, False, False, True, False]
    assert utc[4] == pd.Timestamp("2024-10-27 02:15", tz="UTC")


def test_lonlat_pings_projected_to_bng(tmp_path: Path) -> None:
    m = write(
        tmp_path,
        "m.yaml",
        "kind: pings\ncolumns: {device_id: d, timestamp: t, longitude: lon, latitude: lat}\n",
    )
    p = write(
        tmp_path,
        "p.csv",
        "d,t,lon,lat\nr1,2024-05-01T10:00:00Z,-0.1276,51.5072\nr1,2024-05-01T10:01:00Z,200,51.5\n",
    )
    r = read_pings(p, m, key=KEY)
    # Trafalgar Square area: about E 530,000 N 180,400 (BNG)
    assert abs(r.table["x"].iloc[0] - 530_000) < 1000 and abs(r.table["y"].iloc[0] - 180_400) < 1000
    assert r.skipped["reason"].tolist() == ["longitude/latitude out of range"]


def test_parquet_pings(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "d": ["r1", "r1"],
            "t": pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:01"]).tz_localize("UTC"),
            "e": [1.0, 2.0],
            "n": [1.0, 1.0],
        }
    )
    p = tmp_path / "p.parquet"
    frame.to_parquet(p)
    m = write(
        tmp_path, "m.yaml", "kind: pings\ncolumns: {device_id: d, timestamp: t, x: e, y: n}\n"
    )
    r = read_delivery(p, m, key=KEY)
    assert r.n_kept == 2 and r.table["row"].tolist() == [1, 2]


def test_visit_log_across_clock_change(tmp_path: Path) -> None:
    m = write(
        tmp_path,
        "m.yaml",
        "kind: visit_log\ncolumns: {unit: SPOT, start: IN, end: OUT, "
        "officer_id: COLLAR}\ntimezone: Europe/London\ntimestamp_format: '%d/%m/%Y %H:%M'\n",
    )
    p = write(
        tmp_path,
        "log.csv",
        "SPOT,IN,OUT,COLLAR\n"
        "H1,31/03/2024 00:50,31/03/2024 02:10,c1\n"  # 20 minutes of real time
        "H1,01/05/2024 10:00,01/05/2024 09:00,c1\n"
        ",01/05/2024 10:00,01/05/2024 10:15,c1\n"
        "H2,27/10/2024 00:50,27/10/2024 02:10,c2\n",
    )  # 1 h 20 + the repeated hour
    r = read_visit_log(p, m, key=KEY)
    assert r.table["minutes"].tolist() == [20.0, 140.0]
    assert is_pseudonym(r.table["device"]).all()
    assert dict(zip(r.skipped["row"], r.skipped["reason"], strict=True)) == {
        3: "visit ends before it starts",
        4: "unit is blank",
    }


def test_bad_mapping_gives_file_line_field(tmp_path: Path) -> None:
    m = write(
        tmp_path,
        "m.yaml",
        "kind: pings\ncolumns:\n  device_id: d\n  timestamp: t\ntimezone: Europe/Londn\n",
    )
    with pytest.raises(InputError) as e:
        load_delivery_mapping(m)
    text = str(e.value)
    assert f"{m}:5: timezone: unknown time zone" in text
    m = write(tmp_path, "m2.yaml", "kind: pings\ncolumns:\n  device_id: d\n  timestamp: t\n")
    with pytest.raises(InputError, match=r"longitude and latitude, or columns\.x and y"):
        load_delivery_mapping(m)


def test_mapping_not_utf8_or_not_yaml_named_at_its_line(tmp_path: Path) -> None:
    # the delivery mapping is read by the same hardened reader as force-extract mappings:
    # a latin-1 byte or a bad date is a file:line error, not an internal error
    m = tmp_path / "m.yaml"
    m.write_bytes(b"kind: pings\ncolumns:\n  device_id: caf\xe9\n")
    with pytest.raises(InputError) as e:
        load_delivery_mapping(m)
    assert f"{m}:3: not UTF-8" in str(e.value)
    m.write_text("kind: pings\nstart: 2023-02-30\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_delivery_mapping(m)


def test_missing_column_named(tmp_path: Path) -> None:
    m = write(tmp_path, "m.yaml", PING_MAP)
    p = write(tmp_path, "p.csv", "RADIO,TIME,E,N\nr1,2024-05-01 10:00:00,1,1\n")
    with pytest.raises(InputError, match=r"p.csv:1: COLLAR: column named by the mapping"):
        read_pings(p, m, key=KEY)


def test_no_key_no_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIPLET_PSEUDONYM_KEY", raising=False)
    with pytest.raises(InputError, match="no key is set"):
        read_pings(write(tmp_path, "p.csv", PINGS), write(tmp_path, "m.yaml", PING_MAP))
