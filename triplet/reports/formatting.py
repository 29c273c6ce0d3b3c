"""How numbers are written on pages for the Board (one rule, used by the page and its tests).

* per cent changes: one decimal with a sign, ``-18.5%`` (results.json holds per cent already);
* probabilities: two decimals, ``0.97``; beyond 0.99 / below 0.01 written ``>0.99`` / ``<0.01``
  (two decimals cannot honestly show certainty);
* counts: thousands separators, suppressed below the threshold (:mod:`.disclosure`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_percent", "format_probability", "missing"]


def missing(x: Any) -> bool:
    """True for None and NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def format_percent(x: float | None) -> str:
    """A per cent change with sign and one decimal (``-18.5%``); ``-`` if missing."""
    if missing(x):
        return "-"
    v = round(float(x), 1)
    return "0.0%" if v == 0 else f"{v:+.1f}%"


def format_probability(p: float | None) -> str:
    """A probability with two decimals, ``>0.99``/``<0.01`` at the extremes; ``-`` if missing."""
    if missing(p):
        return "-"
    p = float(p)
    if p > 0.99:
        return ">0.99"
    if p < 0.01:
        return "<0.01"
    return f"{p:.2f}"
