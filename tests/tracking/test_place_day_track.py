"""`triplet track` on the place-day (crossover) example trial: place + day fixed effects with
randomisation inference that re-draws the registered schedule recover the injected effect."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triplet.cli.main import main
from triplet.registry import find_trial
from triplet.testing.crossover import read_schedule
from triplet.testing.workflow import assign_trial

REPO = Path(__file__).resolve().parents[2]
TRIAL = "patrol-days"
RATE_RATIO = 0.75  # simulated_effect of the shipped trial: a 25% fall on patrol days
DRAWS = 200


def _copy(root: Path) -> Path:
    shutil.copy(REPO / "registry.yaml", root / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        root / "trials",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "design", "results"),
    )
    for trial in (root / "trials").glob("*/trial.yaml"):
        trial.write_text(re.sub(r"(?m)^status:.*$", "status: registered", trial.read_text()))
    return root / "registry.yaml"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory) -> Path:
    """The example place-day trial assigned and tracked (200 re-drawn schedules)."""
    registry = _copy(tmp_path_factory.mktemp("pd"))
    assert main(["assign", TRIAL, "--registry", str(registry)]) == 0
    assert main(["track", TRIAL, "--registry", str(registry), "--draws", str(DRAWS)]) == 0
    return registry


def _results(registry: Path) -> dict:
    path = registry.parent / "trials" / TRIAL / "results" / "results.json"
    return json.loads(path.read_text())


def _raw_panel(registry: Path) -> pd.DataFrame:
    """The place-day panel of the records before the effect was injected."""
    from triplet.records.sources import example_borough
    from triplet.tracking.place_day import place_day_panel

    tf = find_trial(registry, TRIAL)
    schedule = read_schedule(tf.assignment_path)
    records = example_borough(2013).records
    return place_day_panel(records, schedule, unit_column="lsoa_code")


def test_results_json_of_a_place_day_trial(tracked):
    r = _results(tracked)
    p = r["primary"]
    assert p["estimator"] == "place_day" and p["role"] == "primary" and p["registered"]
    assert p["n_units"] == 20 and p["n_days"] == 92
    assert p["n_treated_place_days"] == 5 * 92
    assert p["n_obs"] == 20 * 92 - p["n_washout_place_days"]
    assert p["randomisation_draws"] == DRAWS
    # RI: the realised schedule is draw 0, so the smallest possible p is 1 / draws
    assert 1 / DRAWS <= p["p_value_randomisation"] <= 1
    assert r["fixed_effects"] == "unit + day"
    assert r["n_units"]["assigned"] == 20 and r["n_units"]["treatment"] is None
    assert {"trends", "schedule", "randomisation"} <= set(r["figures"])
    for rel in r["figures"].values():
        assert (tracked.parent / "trials" / TRIAL / "results" / rel).exists()
    panel = pd.read_csv(tracked.parent / "trials" / TRIAL / "results" / "panel.csv")
    assert len(panel) == 20 * 92 and {"unit", "day", "treated", "washout", "count"} <= set(
        panel.columns
    )
    assert r["decision"]["direction"] == "reduction"
    assert find_trial(tracked, TRIAL).trial.status.value == "analysed"


def test_the_injected_effect_is_recovered(tracked):
    p = _results(tracked)["primary"]
    raw = _raw_panel(tracked)
    on = raw["treated"] & ~raw["washout"]
    # true additive effect: the treated place-days lose (1 - rate ratio) of their crimes
    truth = -(1 - RATE_RATIO) * raw.loc[on, "count"].mean()
    assert abs(p["estimate"] - truth) < 3 * p["se"]
    assert p["ci_low"] < truth < p["ci_high"]
    assert p["percent_ci_low"] < -100 * (1 - RATE_RATIO) < p["percent_ci_high"]
    assert p["p_value_randomisation"] <= 0.01


def test_injection_thins_only_treated_place_days(tracked):
    raw = _raw_panel(tracked)
    tf = find_trial(tracked, TRIAL)
    analysed = pd.read_csv(tf.results_dir / "panel.csv", dtype={"unit": str, "day": str})
    merged = raw.merge(analysed, on=["unit", "day"], suffixes=("_raw", ""))
    untreated = ~merged["treated"]
    assert (merged.loc[untreated, "count"] == merged.loc[untreated, "count_raw"]).all()
    kept, before = merged.loc[~untreated, "count"].sum(), merged.loc[~untreated, "count_raw"].sum()
    # binomial thinning: kept ~ Bin(before, 0.75); within 4 SD
    sd = np.sqrt(before * RATE_RATIO * (1 - RATE_RATIO))
    assert abs(kept - RATE_RATIO * before) < 4 * sd


def test_report_and_board_show_the_place_day_trial(tracked):
    from triplet.reports.effect_report import flow_table, load_context, randomisation_table

    ctx = load_context(TRIAL, registry=tracked)
    flow = flow_table(ctx).set_index("stage")["units"]
    assert flow["treated place-days"] == 460 and flow["assigned"] == 20
    assert "treatment" not in flow.index
    ri = randomisation_table(ctx)
    assert ri["p_value"].iloc[0] == _results(tracked)["primary"]["p_value_randomisation"]
    out = tracked.parent / "board.html"
    assert main(["board", "--registry", str(tracked), "--out", str(out)]) == 0
    page = re.sub(r"\s+", " ", out.read_text())
    assert "crimes per place-day" in page and "each its own control (place-day)" in page
    assert 'data-trial-map="patrol-days"' in page  # its places mapped, as one role


def test_track_with_shifts_end_to_end(tmp_path):
    registry = _copy(tmp_path)
    path = tmp_path / "trials" / TRIAL / "trial.yaml"
    path.write_text(
        path.read_text().replace(
            "    washout_days: 1 ",
            "    end: 2025-08-31\n"
            "    shifts: [{name: day, start: '07:00'}, {name: night, start: '19:00'}]\n"
            "    washout_days: 1 ",
        )
    )
    assign_trial(registry, TRIAL)
    assert main(["track", TRIAL, "--registry", str(registry), "--draws", "100"]) == 0
    p = _results(registry)["primary"]
    assert p["n_days"] == 62 * 2  # the randomised periods are day x shift slots
    assert p["n_treated_place_days"] == 5 * 62 * 2
    assert p["percent_ci_low"] < -100 * (1 - RATE_RATIO) < p["percent_ci_high"]
    assert p["ci_high"] < 0  # the injected fall is found shift by shift too
