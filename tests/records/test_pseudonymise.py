"""Keyed pseudonymisation: format, stability, key dependence, NaN kept, no collisions."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triplet.errors import InputError
from triplet.records import is_pseudonym, pseudonymise

KEY = "test-key-0123456789abcdef"


def test_known_answer_is_hmac_sha256():
    expected = "p_" + hmac.new(KEY.encode(), b"N123", hashlib.sha256).hexdigest()[:16]
    assert pseudonymise(pd.Series(["N123"]), key=KEY).iloc[0] == expected


def test_stable_keyed_and_nan_kept():
    s = pd.Series(["a", None, "b", "a", np.nan], index=[10, 11, 12, 13, 14], name="suspect")
    out = pseudonymise(s, key=KEY)
    assert list(out.index) == [10, 11, 12, 13, 14] and out.name == "suspect"
    assert out.iloc[0] == out.iloc[3] != out.iloc[2]
    assert out.isna().tolist() == [False, True, False, False, True]
    assert out.equals(pseudonymise(s, key=KEY))
    other = pseudonymise(s, key=KEY + "x")
    assert (other.dropna() != out.dropna()).all()
    assert is_pseudonym(out).tolist() == [True, False, True, True, False]


def test_numbers_and_text_give_the_same_pseudonym():
    assert pseudonymise([123], key=KEY).iloc[0] == pseudonymise([" 123 "], key=KEY).iloc[0]


def test_missing_or_short_key(monkeypatch):
    monkeypatch.delenv("TRIPLET_PSEUDONYM_KEY", raising=False)
    with pytest.raises(InputError, match="TRIPLET_PSEUDONYM_KEY"):
        pseudonymise(["a"])
    with pytest.raises(InputError, match="at least 16"):
        pseudonymise(["a"], key="short")
    monkeypatch.setenv("TRIPLET_PSEUDONYM_KEY", KEY)
    assert pseudonymise(["a"]).iloc[0] == pseudonymise(["a"], key=KEY).iloc[0]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=30).filter(lambda t: t.strip()), min_size=1, max_size=60)
)
def test_format_and_injective_on_distinct_inputs(values):
    out = pseudonymise(pd.Series(values, dtype="object"), key=KEY)
    assert out.str.fullmatch(r"p_[0-9a-f]{16}").all()
    stripped = [v.strip() for v in values]
    # equal inputs -> equal outputs, distinct inputs -> distinct outputs
    assert len(set(stripped)) == len(set(out))
    for v, p in zip(stripped, out, strict=True):
        assert p == pseudonymise([v], key=KEY).iloc[0]


def test_many_rows_few_people():
    rng = np.random.default_rng(1)
    people = np.array([f"N{i}" for i in range(2_000)])
    s = pd.Series(people[rng.integers(0, 2_000, 200_000)])
    out = pseudonymise(s, key=KEY)
    assert out.nunique() == s.nunique()
