"""LSOA 2011 <-> 2021 codes through an ONS-style lookup."""

from __future__ import annotations

import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.geography import convert_lsoa_codes, read_lsoa_lookup

# The column layout of the ONS "LSOA (2011) to LSOA (2021) to LAD (2022)" lookup, with hand-made
# code pairs (one unchanged, one split, one merge) whose answers are known by construction.
LOOKUP = """LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND,LAD22CD
E01000001,City of London 001A,E01000001,City of London 001A,U,E09000001
E01000002,City of London 001B,E01000002,City of London 001B,U,E09000001
E01000010,x,E01033000,y,S,E09000002
E01000010,x,E01033001,z,S,E09000002
E01000020,m1,E01033100,m,M,E09000003
E01000021,m2,E01033100,m,M,E09000003
"""


@pytest.fixture
def lookup(tmp_path):
    p = tmp_path / "lookup.csv"
    p.write_text(LOOKUP, encoding="utf-8")
    return read_lsoa_lookup(p)


def test_forward(lookup):
    codes = pd.Series(
        ["E01000001", "E01000010", "E01000020", "E01000021", "E01099999", None, "E01000001"],
        index=list("abcdefg"),
    )
    m = convert_lsoa_codes(codes, lookup)
    assert m.codes.index.tolist() == list("abcdefg")
    assert m.codes["a"] == m.codes["g"] == "E01000001"
    assert pd.isna(m.codes["b"]) and m.codes["c"] == m.codes["d"] == "E01033100"
    assert m.status.tolist() == [
        "mapped",
        "split",
        "mapped",
        "mapped",
        "unmatched",
        "missing",
        "mapped",
    ]
    s = m.summary().set_index("status")["n"].to_dict()
    assert s == {"mapped": 4, "split": 1, "unmatched": 1, "missing": 1}
    assert m.problems.set_index("code")["targets"].to_dict() == {
        "E01000010": "E01033000;E01033001",
        "E01099999": "",
    }
    assert "E01099999" in m.report()
    first = convert_lsoa_codes(codes, lookup, ambiguous="first")
    assert first.codes["b"] == "E01033000" and first.status["b"] == "split"


def test_backward(lookup):
    m = convert_lsoa_codes(pd.Series(["E01033100", "E01033001"]), lookup, to=2011)
    # a merged 2021 area came from two 2011 areas: ambiguous going back
    assert m.status.tolist() == ["split", "mapped"]
    assert m.codes.iloc[1] == "E01000010"


def test_bad_lookup(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("A,B\n1,2\n")
    with pytest.raises(InputError, match="LSOA11CD: lookup column missing"):
        read_lsoa_lookup(p)
    with pytest.raises(InputError, match="not found"):
        read_lsoa_lookup(tmp_path / "none.csv")
