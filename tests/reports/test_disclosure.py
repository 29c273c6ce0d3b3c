"""Disclosure control: small-count suppression and the identifier scan."""

from __future__ import annotations

import base64

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from triplet.errors import TripletError
from triplet.reports.disclosure import (
    DisclosureError,
    IdentifierSet,
    check_no_identifiers,
    find_identifiers,
    format_count,
    identifiers_in_frame,
    is_suppressed,
)


@pytest.mark.parametrize(
    ("n", "threshold", "shown"),
    [
        (0, 10, "0"),
        (1, 10, "<10"),
        (9, 10, "<10"),
        (10, 10, "10"),
        (12345, 10, "12,345"),
        (40, 50, "<50"),
        (None, 10, "-"),
        (float("nan"), 10, "-"),
    ],
)
def test_format_count(n, threshold, shown):
    assert format_count(n, threshold) == shown


@given(n=st.integers(0, 10**6), threshold=st.integers(1, 100))
def test_suppressed_counts_never_show_their_value(n, threshold):
    text = format_count(n, threshold)
    assert is_suppressed(n, threshold) == (0 < n < threshold)
    if is_suppressed(n, threshold):
        assert text == f"<{threshold}"
    else:
        assert int(text.replace(",", "")) == n


def test_pseudonym_pattern_is_found_without_being_told():
    page = "<p>top offender p_0123456789abcdef did it</p>"
    assert find_identifiers(page, IdentifierSet()) == ["p_0123456789abcdef"]


def test_known_identifiers_found_in_text_attributes_and_escaped_names():
    ids = IdentifierSet.of(["OFF-00123", "Jane O'Brien", "x"], "test")
    page = '<td data-x="OFF-00123">note: jane  o&#x27;brien was seen</td>'
    assert find_identifiers(page, ids) == ["Jane O'Brien", "OFF-00123"]
    assert "x" not in ids.values  # too short to match safely


def test_whole_tokens_only():
    ids = IdentifierSet.of(["AB1234"], "test")
    assert find_identifiers("<p>AB12345 and XAB1234</p>", ids) == []
    assert find_identifiers("<p>(AB1234).</p>", ids) == ["AB1234"]


def test_image_payloads_are_not_scanned_as_text():
    payload = base64.b64encode(b"\x00" * 30 + b"OFF-00123").decode()
    page = f'<img src="data:image/png;base64,{payload}">'
    ids = IdentifierSet.of(["AAAAAAAA"], "test")  # occurs inside the base64 payload
    assert "AAAAAAAA" in payload
    assert find_identifiers(page, ids) == []


def test_identifiers_in_frame_reads_person_columns_only():
    frame = pd.DataFrame(
        {
            "crime_id": ["c1111", "c2222"],
            "suspect_id": ["p_aaaaaaaaaaaaaaaa", None],
            "victim_id": [None, "p_bbbbbbbbbbbbbbbb"],
            "lsoa_code": ["E01000001", "E01000002"],
        }
    )
    ids = identifiers_in_frame(frame, "records")
    assert ids.values == {"p_aaaaaaaaaaaaaaaa", "p_bbbbbbbbbbbbbbbb"}
    assert identifiers_in_frame(frame, "r", ["lsoa_code"]).values >= {"E01000001"}


def test_check_refuses_and_masks_the_identifier():
    ids = IdentifierSet.of(["OFF-00123"], "test")
    with pytest.raises(DisclosureError) as info:
        check_no_identifiers("<p>OFF-00123</p>", ids, where="board.html")
    assert isinstance(info.value, TripletError)
    assert "OFF-00123" not in str(info.value) and "board.html" in str(info.value)
    check_no_identifiers("<p>nothing here</p>", ids, where="board.html")  # no error
