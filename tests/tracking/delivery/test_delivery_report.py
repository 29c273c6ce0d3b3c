"""Delivery report, Koper curve and dose-response: hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.registry.models import Dosage
from triplet.tracking.delivery import delivery_report, dose_response, koper_curve

DOSE = Dosage(description="3 x 15 min", minutes_per_visit=15, visits_per_day=3, days_per_week=7)


def _unit_day() -> pd.DataFrame:
    days = pd.date_range("2024-04-01", periods=3, freq="D")  # Mon-Wed
    rows = []
    # treated t1: 45, 30, (no data); treated t2: 50, 0, (no data); control c1: 5, 0, (no data)
    for unit, arm, mins in (
        ("t1", "treatment", [45, 30, 0]),
        ("t2", "treatment", [50, 0, 0]),
        ("c1", "control", [5, 0, 0]),
    ):
        for d, m in zip(days, mins, strict=True):
            rows.append((unit, arm, d, float(m), int(m > 0), d != days[2]))
    return pd.DataFrame(rows, columns=["unit", "arm", "day", "minutes", "visits", "has_data"])


def test_delivery_report_known_answer() -> None:
    r = delivery_report(_unit_day(), DOSE, trial_id="t")
    # treated minutes on data days: 45 + 30 + 50 + 0 = 125 over 4 unit-days of 45 planned
    assert r.delivered_share == pytest.approx(125 / 180)
    assert r.met_share == pytest.approx(2 / 4)  # 45 and 50 meet 45
    assert r.treated_minutes_per_day == pytest.approx(31.25)
    assert r.control_minutes_per_day == pytest.approx(2.5)
    assert r.gap_days == ("2024-04-03",)
    pu = r.per_unit.set_index("unit")
    assert pu.loc["t1", "share"] == pytest.approx(75 / 90) and pu.loc["c1", "planned"] == 0
    assert not r.below_half and "69% of the registered dose" in r.statement()
    d = r.to_dict()
    assert d["delivered_share"] == pytest.approx(125 / 180) and d["n_gap_days"] == 1
    assert r.plot() is not None and r.heatmap() is not None


def test_below_half_is_said() -> None:
    ud = _unit_day()
    ud.loc[ud["arm"] == "treatment", "minutes"] /= 4
    r = delivery_report(ud, DOSE)
    assert r.below_half and "not delivered as planned: the result tests the delivery" in (
        r.statement().lower()
    )


def test_dosage_needed() -> None:
    with pytest.raises(InputError, match="minutes_per_visit"):
        delivery_report(_unit_day(), Dosage(description="some"))


def _visits(rows) -> pd.DataFrame:
    v = pd.DataFrame(rows, columns=["unit", "start", "end"])
    for c in ("start", "end"):
        v[c] = pd.to_datetime(v[c]).dt.tz_localize("UTC")
    v["minutes"] = (v["end"] - v["start"]).dt.total_seconds() / 60
    return v


def test_koper_known_answer() -> None:
    visits = _visits(
        [
            ("A", "2024-05-01 10:00", "2024-05-01 10:15"),  # next crime 12:15 BST = 11:15 UTC: 1 h
            ("A", "2024-05-01 14:00", "2024-05-01 14:05"),  # next visit 16:00 first: censored 1h55
            ("A", "2024-05-01 16:00", "2024-05-01 16:20"),  # crime 20:20 UTC (21:20 BST): 4 h
            ("B", "2024-05-01 10:00", "2024-05-01 10:30"),  # no crime in B: censored at data end
        ]
    )
    events = pd.DataFrame(
        {
            "unit": ["A", "A", "A"],
            "date": pd.to_datetime(["2024-05-01 09:00", "2024-05-01 12:15", "2024-05-01 21:20"]),
        }
    )  # local clock
    k = koper_curve(visits, events, event_unit="unit")
    t = k.table
    assert t["hours"].round(6).tolist() == [
        1.0,
        pytest.approx(115 / 60),
        4.0,
        pytest.approx(9 + 50 / 60),
    ]
    assert t["event"].tolist() == [1, 0, 1, 0]
    assert t["band"].astype(str).tolist() == ["15-20 min", "0-10 min", "20+ min", "20+ min"]
    assert k.hazard_ratio_per_5min is None  # too few crimes for a Cox model
    assert "police.uk gives months only" in k.to_dict()["caveat"]


def test_koper_cox_on_a_known_hazard() -> None:
    """Exponential times with hazard falling 20% per 5 minutes of visit: HR about 0.8."""
    rng = np.random.default_rng(7)
    n = 3000
    minutes = rng.choice([5, 10, 15, 20, 25], n)
    hours = rng.exponential(1 / (0.2 * 0.8 ** (minutes / 5)))
    start = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) * 10, unit="D")
    visits = pd.DataFrame(
        {
            "unit": [f"u{i}" for i in range(n)],
            "start": start,
            "end": start + pd.to_timedelta(minutes, unit="min"),
            "minutes": minutes.astype(float),
        }
    )
    events = pd.DataFrame(
        {"unit": visits["unit"], "date": visits["end"] + pd.to_timedelta(hours, unit="h")}
    )
    k = koper_curve(visits, events, event_unit="unit", horizon_hours=1e6)
    assert k.table["event"].mean() > 0.99
    assert k.hr_ci_low < 0.8 < k.hr_ci_high
    assert k.plot() is not None


def test_koper_needs_times() -> None:
    v = _visits([("A", "2024-05-01 10:00", "2024-05-01 10:15")])
    with pytest.raises(InputError, match="months only"):
        koper_curve(v, pd.DataFrame({"unit": ["A"], "date": [pd.NaT]}), event_unit="unit")
    dates = pd.DataFrame({"unit": ["A"] * 3, "date": pd.to_datetime(["2024-05-01"] * 3)})
    with pytest.raises(InputError, match="dates only"):
        koper_curve(v, dates, event_unit="unit")


def test_dose_response_known_answer() -> None:
    # a, b, d treated (dose 0.5, 1.0, 0.25), c control; changes -2, -4, -1 and +1: net of the
    # control's change -3, -5, -2 - on the line -1 - 4 * dose
    panel = pd.DataFrame(
        {
            "unit": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "period": ["baseline", "treatment"] * 4,
            "treated": [True, True, True, True, False, False, True, True],
            "y": [10, 8, 10, 6, 5, 6, 10, 9],
            "dose": [0, 0.5, 0, 1.0, 0, 0.02, 0, 0.25],
        }
    )
    r = dose_response(panel, outcome="y")
    t = r.table.set_index("unit")
    assert t.loc["a", "change"] == -3 and t.loc["b", "change"] == -5 and t.loc["c", "change"] == 0
    assert r.slope == pytest.approx(-4.0)
    assert r.plot() is not None
