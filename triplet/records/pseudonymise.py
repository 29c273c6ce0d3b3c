"""Keyed pseudonymisation of person identifiers (suspects, victims, offenders).

Each identifier becomes ``p_`` + the first 16 hex characters (64 bits) of HMAC-SHA256(key,
identifier) (RFC 2104; NIST FIPS 198-1). The same key always gives the same pseudonym, so
people can be linked across extracts and months; without the key the mapping cannot be rebuilt
or reversed by hashing guessed identifiers (unlike an unkeyed hash). The key comes from the
environment variable ``TRIPLET_PSEUDONYM_KEY`` and must be kept by the data controller, apart
from the data. This is pseudonymisation in the sense of UK GDPR Art. 4(5): the output is still
personal data.

With 64-bit pseudonyms, the chance that two of n distinct people share one is about
n^2 / 2^65 (about 3e-8 for a million people).
"""

from __future__ import annotations

import hashlib
import hmac
import os

import numpy as np
import pandas as pd

from triplet.errors import InputError

__all__ = ["KEY_ENV", "PSEUDONYM_PATTERN", "is_pseudonym", "pseudonym_key", "pseudonymise"]

#: Environment variable holding the pseudonymisation key.
KEY_ENV = "TRIPLET_PSEUDONYM_KEY"
#: What a pseudonym looks like.
PSEUDONYM_PATTERN = r"^p_[0-9a-f]{16}$"
_MIN_KEY_BYTES = 16


def pseudonym_key(key: str | bytes | None = None) -> bytes:
    """The key as bytes: ``key`` if given, else ``$TRIPLET_PSEUDONYM_KEY``.

    Raises :class:`~triplet.errors.InputError` if neither is set or the key is shorter than
    16 bytes (a short key can be guessed, which would undo the pseudonymisation).
    """
    if key is None:
        key = os.environ.get(KEY_ENV)
        if not key:
            raise InputError(
                f"person identifiers are to be pseudonymised but no key is set: export {KEY_ENV}"
                " (at least 16 characters, kept apart from the data, the same for every extract"
                " you want to link), or pass key=...",
                file=KEY_ENV,
            )
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < _MIN_KEY_BYTES:
        raise InputError(
            f"pseudonymisation key is {len(raw)} bytes; use at least {_MIN_KEY_BYTES}", file=KEY_ENV
        )
    return raw


def pseudonymise(
    values: pd.Series | list | np.ndarray, key: str | bytes | None = None
) -> pd.Series:
    """Replace each identifier by ``p_`` + 16 hex of HMAC-SHA256(key, str(identifier)).

    Missing values (NaN/None) stay missing. Identifiers are compared as text after stripping
    surrounding spaces, so ``123`` and ``"123"`` give the same pseudonym. Each distinct value is
    hashed once (a million rows with 100,000 people takes well under a second).
    Returns a ``str`` Series with the input's index.
    """
    secret = pseudonym_key(key)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    text = series.astype("str").str.strip()
    text = text.where(series.notna() & (text != ""), np.nan)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    base = hmac.new(secret, digestmod=hashlib.sha256)
    hashed = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        h = base.copy()
        h.update(str(u).encode("utf-8"))
        hashed[i] = "p_" + h.hexdigest()[:16]
    hashed[-1] = np.nan
    return pd.Series(hashed[codes], index=series.index, dtype="str", name=series.name)


def is_pseudonym(values: pd.Series) -> pd.Series:
    """Boolean Series: does each value look like a pseudonym (``p_`` + 16 hex)? NaN -> False."""
    return values.astype("str").str.fullmatch(PSEUDONYM_PATTERN, na=False) & values.notna()
