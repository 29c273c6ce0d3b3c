"""Statistical disclosure control for everything the Board sees.

Two safeguards, applied to every page meant for the Board:

1. **Small-count suppression.** Every count of people shown (persons, or units of a person-level
   trial) is passed through :func:`format_count`: counts below a threshold (default 10) are
   shown as ``<10``. Suppression protects people: counts of places or months reveal no one and
   are shown as they are (``persons=False``). This is the
   usual threshold rule of official statistics (ONS 2021, *Statistical disclosure control policy
   for tables*; Hundepool et al. 2012, *Statistical Disclosure Control*, ch. 5).
2. **Identifier scan.** Before a page is written, :func:`check_no_identifiers` scans the rendered
   HTML (tags, attributes and text; embedded ``data:`` image payloads are skipped - their text
   labels are scanned separately) for every person identifier found in the trials' data (unit ids
   of person-level trials, suspect and victim ids, ids and names in person tables) and for the
   pseudonym pattern ``p_`` + hex. If any appears the page is **not written**
   (:class:`DisclosureError`).

Identifiers are matched as whole tokens (so ``p_ab12`` does not match inside ``p_ab123``);
identifiers shorter than :data:`MIN_IDENTIFIER_LENGTH` characters are matched only when they
contain a letter and a digit, because bare short numbers such as ``12`` appear on any page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from triplet.errors import TripletError

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_IDENTIFIER_LENGTH",
    "PERSON_COLUMNS",
    "PSEUDONYM_PATTERN",
    "DisclosureError",
    "IdentifierSet",
    "check_no_identifiers",
    "find_identifiers",
    "format_count",
    "identifiers_in_frame",
    "is_suppressed",
]

DEFAULT_THRESHOLD = 10
MIN_IDENTIFIER_LENGTH = 4
#: Pseudonymised ids (``triplet.records.pseudonymise``: ``p_`` + 16 hex; shorter runs also caught).
PSEUDONYM_PATTERN = re.compile(r"(?<![A-Za-z0-9_])p_[0-9a-fA-F]{6,}(?![A-Za-z0-9_])")
#: Columns that hold person identifiers in records or person tables.
PERSON_COLUMNS = (
    "suspect_id",
    "victim_id",
    "offender_id",
    "person_id",
    "name",
    "full_name",
    "first_name",
    "surname",
    "last_name",
    "forename",
    "date_of_birth",
    "pnc_id",
    "nominal_id",
)
_DATA_URI = re.compile(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*[A-Za-z0-9_]|[A-Za-z0-9_]")


class DisclosureError(TripletError):
    """A page meant for the Board would show a person identifier; it was not written."""


def is_suppressed(n: int | float | None, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """True when a count must not be shown (1 <= n < threshold; 0 is shown, it reveals no one)."""
    return n is not None and 0 < n < threshold


def format_count(
    n: int | float | None, threshold: int = DEFAULT_THRESHOLD, *, persons: bool = True
) -> str:
    """A count as shown to the Board: ``<10`` when a small count of people, ``-`` when unknown.

    ``persons=False`` (counts of places, months, trials) is never suppressed.
    """
    if n is None or (isinstance(n, float) and n != n):
        return "-"
    if persons and is_suppressed(n, threshold):
        return f"<{threshold}"
    return f"{int(n):,}"


@dataclass(frozen=True)
class IdentifierSet:
    """Person identifiers that must never appear on a Board page, with where each came from."""

    values: frozenset[str] = frozenset()
    sources: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.values)

    def __or__(self, other: IdentifierSet) -> IdentifierSet:
        return IdentifierSet(self.values | other.values, self.sources + other.sources)

    @classmethod
    def of(cls, values: Iterable[Any], source: str) -> IdentifierSet:
        """Identifiers from ``values`` (blanks and missing dropped), labelled with ``source``."""
        kept = set()
        for v in values:
            if v is None or (isinstance(v, float) and v != v):
                continue
            s = str(v).strip()
            if s and _worth_matching(s):
                kept.add(s)
        return cls(frozenset(kept), (source,) if kept else ())


def _worth_matching(s: str) -> bool:
    if len(s) >= MIN_IDENTIFIER_LENGTH:
        return True
    return bool(re.search(r"[A-Za-z]", s) and re.search(r"\d", s))


def identifiers_in_frame(
    frame: pd.DataFrame, source: str, columns: Iterable[str] = ()
) -> IdentifierSet:
    """Identifiers held in the person columns of ``frame`` (plus any extra ``columns``)."""
    wanted = [c for c in (*PERSON_COLUMNS, *columns) if c in frame.columns]
    out = IdentifierSet()
    for c in dict.fromkeys(wanted):
        out = out | IdentifierSet.of(frame[c].dropna().unique(), f"{source}:{c}")
    return out


def _visible_text(page: str) -> str:
    """The page without embedded image payloads, with HTML entities decoded."""
    return html.unescape(_DATA_URI.sub("data:", page))


def find_identifiers(page: str, identifiers: IdentifierSet) -> list[str]:
    """Identifiers (sorted) that occur in ``page``, plus any pseudonym-pattern matches."""
    text = _visible_text(page)
    found = set(PSEUDONYM_PATTERN.findall(text))
    if identifiers.values:
        single = {v for v in identifiers.values if not re.search(r"\s", v)}
        multi = identifiers.values - single
        tokens = set(_TOKEN.findall(text))
        # also compare tokens split at punctuation (an id glued to "." or "/")
        tokens |= {t for tok in list(tokens) for t in re.split(r"[.\-/]", tok) if t}
        found |= single & tokens
        lowered = " ".join(text.split()).lower()
        for name in multi:
            pattern = r"(?<![A-Za-z0-9_])" + re.escape(" ".join(name.split()).lower())
            if re.search(pattern + r"(?![A-Za-z0-9_])", lowered):
                found.add(name)
    return sorted(found)


def _mask(s: str) -> str:
    return s[:3] + "..." if len(s) > 4 else "***"


def check_no_identifiers(page: str, identifiers: IdentifierSet, *, where: str | Path) -> None:
    """Raise :class:`DisclosureError` if ``page`` shows any identifier (masked in the message)."""
    found = find_identifiers(page, identifiers)
    if found:
        shown = ", ".join(_mask(f) for f in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        raise DisclosureError(
            f"{where}: refusing to write: {len(found)} person identifier(s) would appear on a "
            f"Board page ({shown}{more}). Remove identifiers from titles, notes and labels."
        )
