"""The trial panel: every assigned unit x month, zeros kept, arms and periods right."""

from __future__ import annotations

import numpy as np
import pandas as pd

from triplet.records.aggregate import unit_month
from triplet.registry import find_trial
from triplet.testing.assignment import read_assignment
from triplet.tracking.panel import PANEL_COLUMNS, build_panel, load_trial_records


def test_build_panel_hotspot(assigned_registry):
    tf = find_trial(assigned_registry, "hotspot-patrol")
    a = read_assignment(tf.assignment_path)
    p = build_panel(tf, a)
    assert list(p.columns[: len(PANEL_COLUMNS)]) == PANEL_COLUMNS
    months = pd.period_range("2022-01", "2025-06", freq="M")
    assert len(p) == len(a) * len(months)  # balanced, zeros included
    assert set(p["unit"]) == set(a["unit"])
    assert (p.groupby("unit").size() == len(months)).all()
    # arms and indicators
    arm = a.set_index("unit")["arm"]
    assert (p["treated"] == (p["unit"].map(arm) == "treatment")).all()
    assert (p["post"] == (p["month"] >= pd.Period("2024-01", "M"))).all()
    treat_months = (p["month"] >= pd.Period("2024-01", "M")) & (
        p["month"] <= pd.Period("2024-12", "M")
    )
    assert (p["d"] == (p["treated"] & treat_months).astype(int)).all()
    assert set(p["period"]) == {"baseline", "treatment", "follow_up"}
    assert p["block"].notna().all()
    # totals equal an independent aggregation of the same (effect-injected) records
    tr = load_trial_records(tf, a)
    ref = unit_month(
        tr.records, unit="lsoa_code", months=months, harm=tr.harm_days, units=list(a["unit"])
    )
    assert p["count"].sum() == ref["count"].sum()
    assert np.isclose(p["harm"].sum(), ref["harm"].sum())
    assert (p["count"] >= 0).all()


def test_injected_effect_thins_treated_treatment_months(assigned_registry):
    """simulated_effect (with simulated_dose, issue 16): records are thinned in the treatment
    months only, each unit-month at 1 - (1 - rate ratio) x its delivered share of the dose."""
    from triplet.example.pings import example_dose

    tf = find_trial(assigned_registry, "hotspot-patrol")
    a = read_assignment(tf.assignment_path)
    a["unit"] = a["unit"].astype(str)
    with_effect = build_panel(tf, a)
    raw = load_trial_records(tf, None)  # no assignment: nothing injected
    without = build_panel(tf, a, records=raw)
    key = ["unit", "month"]
    m = with_effect.merge(without[[*key, "count"]], on=key, suffixes=("", "_raw"))
    on = m["period"] == "treatment"
    assert (m.loc[~on, "count"] == m.loc[~on, "count_raw"]).all()
    src = tf.trial.source("records")
    assert src.simulated_dose
    dose = example_dose(tf.trial, a).set_index(key)["share"]
    m["keep"] = (
        1 - (1 - src.simulated_effect) * dose.reindex(pd.MultiIndex.from_frame(m[key])).to_numpy()
    )
    for arm in (True, False):
        sub = m[on & (m["treated"] == arm)]
        expected = (sub["keep"] * sub["count_raw"]).sum() / sub["count_raw"].sum()
        assert abs(sub["count"].sum() / sub["count_raw"].sum() - expected) < 0.02


def test_secondary_outcome_filters_crime_types(assigned_registry):
    tf = find_trial(assigned_registry, "hotspot-patrol")
    a = read_assignment(tf.assignment_path)
    street = tf.trial.outcomes.secondary[1]
    assert street.crime_types != "all"
    p_all = build_panel(tf, a)
    p_street = build_panel(tf, a, outcome=street)
    assert p_street["count"].sum() < p_all["count"].sum()
    assert p_street.attrs["outcome"] == street.name
