"""NHS "Making Data Count" summary icons: variation and assurance, from a control chart.

NHS England and NHS Improvement (2019), *Making Data Count: strengthening your decisions*;
the conventions as implemented in the R package NHSRplotthedots:

* **variation** (the latest month): *common cause* (grey) when the latest point is in no
  signal; *special cause improvement* (blue) or *concern* (orange) when it is part of a signal
  (beyond the limits, a run or a trend) in the better or the worse direction; *special cause
  high/low* (purple) when the indicator has no better direction;
* **assurance** (needs a target, compared with the latest month's control limits): *consistently
  passing* (blue) when the whole range between the limits meets the target, *consistently
  failing* (orange) when none of it does, *hit and miss* (grey) when the target lies between
  the limits: random variation alone will sometimes meet it and sometimes not.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

import numpy as np

from triplet.performance.spc import ControlChart

__all__ = ["Icon", "assurance_icon", "variation_icon"]

Better = Literal["lower", "higher", "neither"]
BLUE, ORANGE, GREY, PURPLE = "#1f6feb", "#e36209", "#8c959f", "#8250df"


@dataclass(frozen=True)
class Icon:
    """One icon: a machine ``code``, its ``words`` and a colour; ``svg()`` draws it."""

    kind: str  # "variation" | "assurance"
    code: str
    words: str
    colour: str
    letter: str

    def svg(self, size: int = 30) -> str:
        r = size / 2
        return (
            f'<svg class="icon" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
            f'role="img" aria-label="{html.escape(self.words)}"><title>{html.escape(self.words)}'
            f'</title><circle cx="{r}" cy="{r}" r="{r - 2}" fill="#fff" stroke="{self.colour}" '
            f'stroke-width="3"/><text x="{r}" y="{r + 5}" text-anchor="middle" font-size="{r}" '
            f'font-weight="bold" fill="{self.colour}" font-family="sans-serif">'
            f"{html.escape(self.letter)}</text></svg>"
        )

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "words": self.words}


def variation_icon(chart: ControlChart, better: Better) -> Icon:
    """The variation icon for the latest month of ``chart``."""
    last = chart.table.iloc[-1]
    if not bool(last["signal"]):
        return Icon("variation", "common_cause", "Common cause variation: no signal", GREY, "~")
    d = int(last["direction"])
    high = d > 0
    by_trend_only = bool(last["trend"]) and not (bool(last["beyond"]) or bool(last["run"]))
    if by_trend_only:
        what = "a rising trend" if high else "a falling trend"
    else:
        what = "a rise" if high else "a fall"
    if better == "neither":
        return Icon(
            "variation",
            "special_high" if high else "special_low",
            f"Special cause variation: {what}",
            PURPLE,
            "H" if high else "L",
        )
    good = (better == "lower") != high
    if good:
        return Icon(
            "variation",
            "improvement_high" if high else "improvement_low",
            f"Special cause improvement: {what}",
            BLUE,
            "H" if high else "L",
        )
    return Icon(
        "variation",
        "concern_high" if high else "concern_low",
        f"Special cause concern: {what}",
        ORANGE,
        "H" if high else "L",
    )


def assurance_icon(chart: ControlChart, target: float | None, better: Better) -> Icon:
    """The assurance icon: the target against the latest month's control limits."""
    if target is None or better == "neither":
        return Icon("assurance", "none", "No target set", GREY, "-")
    last = chart.table.iloc[-1]
    lcl, ucl = float(last["lcl"]), float(last["ucl"])
    if not (np.isfinite(lcl) and np.isfinite(ucl)):
        return Icon("assurance", "none", "No limits to compare with the target", GREY, "-")
    if better == "lower":
        passing, failing = ucl <= target, lcl > target
    else:
        passing, failing = lcl >= target, ucl < target
    if passing:
        return Icon("assurance", "pass", "Consistently meeting the target", BLUE, "P")
    if failing:
        return Icon("assurance", "fail", "Consistently missing the target", ORANGE, "F")
    return Icon(
        "assurance",
        "hit_and_miss",
        "Hit and miss: the target lies within the limits, so chance decides whether it is met",
        GREY,
        "?",
    )
