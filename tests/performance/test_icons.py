"""Variation and assurance icons (NHS Making Data Count conventions)."""

from __future__ import annotations

from triplet.performance.icons import assurance_icon, variation_icon
from triplet.performance.spc import xmr_chart

BASE = [10, 12, 11, 13, 12, 11, 10, 12, 11, 13, 12, 11]


def test_common_cause_when_the_last_point_is_in_no_signal():
    c = xmr_chart([*BASE, 12], n_baseline=12)
    assert variation_icon(c, "lower").code == "common_cause"


def test_high_point_is_concern_when_lower_is_better_and_improvement_otherwise():
    c = xmr_chart([*BASE, 30], n_baseline=12)
    assert variation_icon(c, "lower").code == "concern_high"
    assert variation_icon(c, "higher").code == "improvement_high"
    assert variation_icon(c, "neither").code == "special_high"
    low = xmr_chart([*BASE, *[9] * 8], n_baseline=12)  # a run of 8 below the mean (11.5)
    assert variation_icon(low, "lower").code == "improvement_low"
    assert "fall" in variation_icon(low, "lower").words


def test_assurance_against_the_limits():
    c = xmr_chart(BASE)  # limits about 11.5 +/- 3.5
    ucl, lcl = c.table["ucl"].iloc[-1], c.table["lcl"].iloc[-1]
    assert assurance_icon(c, ucl + 1, "lower").code == "pass"
    assert assurance_icon(c, lcl - 1, "lower").code == "fail"
    assert assurance_icon(c, 11.5, "lower").code == "hit_and_miss"
    assert assurance_icon(c, lcl - 1, "higher").code == "pass"
    assert assurance_icon(c, None, "lower").code == "none"
    assert "<svg" in assurance_icon(c, 11.5, "lower").svg()
