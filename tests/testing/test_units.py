"""The unit table: baseline known answers and eligibility on the example trials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.registry import find_trial
from triplet.testing.units import REASONS, baseline_table, unit_table


def test_baseline_table_known_answer():
    months = pd.period_range("2023-01", periods=4, freq="M")
    panel = pd.DataFrame(
        {
            "unit": ["a"] * 4 + ["b"] * 4,
            "month": list(months) * 2,
            "count": [1, 2, 3, 4, 0, 0, 0, 0],
            "harm": [10.0, 20.0, 30.0, 40.0, 5.0, 5.0, 5.0, 5.0],
        }
    )
    t = baseline_table(panel).set_index("unit")
    assert t.loc["a", "baseline_count"] == 10 and t.loc["a", "baseline_harm"] == 100.0
    assert t.loc["a", "baseline_trend"] == pytest.approx(10.0)  # days per month per month
    assert t.loc["b", "baseline_trend"] == pytest.approx(0.0)
    assert t.loc["a", "baseline_harm_per_month"] == 25.0
    assert t.loc["b", "baseline_count_per_month"] == 0.0


def test_hotspot_unit_table(registry_copy):
    tf = find_trial(registry_copy, "hotspot-patrol")
    ut = unit_table(tf)
    u = ut.units
    assert len(u) == 40 and u["unit"].is_unique
    assert ut.flow["eligible"] == 40
    assert ut.flow["source_units"] == 40 + len(ut.excluded)
    assert sum(ut.flow["excluded"].values()) == len(ut.excluded)
    # 180 of the 220 LSOAs leave: below the harm threshold, else beyond the top 40
    assert ut.flow["source_units"] == 220
    assert (
        ut.flow["excluded"][REASONS["n_units"]] + ut.flow["excluded"][REASONS["min_baseline_harm"]]
        == 180
    )
    threshold = tf.trial.eligibility.min_baseline_harm or 0.0
    assert (u["baseline_harm"] >= threshold).all()
    # the n_units highest-harm units are kept
    excluded_units = set(ut.excluded["unit"])
    assert not excluded_units & set(u["unit"])
    assert (u["harm_tier"].value_counts() == 10).all()
    assert {"deprivation", "x", "y", "baseline_trend"} <= set(u.columns)
    # the baseline panel: 24 months for every eligible unit, totals add up
    assert len(ut.baseline) == 40 * 24
    sums = ut.baseline.groupby("unit")["harm"].sum()
    assert np.allclose(sums.reindex(u["unit"]).to_numpy(), u["baseline_harm"].to_numpy())
    assert ut.summary()["units"].iloc[-1] == 40


def test_exclusions_by_name_and_threshold(registry_copy):
    path = registry_copy.parent / "trials" / "hotspot-patrol" / "trial.yaml"
    tf = find_trial(registry_copy, "hotspot-patrol")
    top = unit_table(tf).units.sort_values("baseline_harm", ascending=False)["unit"].iloc[0]
    text = path.read_text().replace("  exclude: []", f"  exclude: [{top}]")
    path.write_text(text)
    ut = unit_table(find_trial(registry_copy, "hotspot-patrol"))
    assert top not in set(ut.units["unit"])
    row = ut.excluded.set_index("unit").loc[top]
    assert row["reason"] == REASONS["exclude"]
    assert len(ut.units) == 40
