"""The delivery pipeline on the example borough: command, track row, reports, recovery."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triplet.cli.main import main as cli
from triplet.errors import InputError, OverwriteError
from triplet.registry import find_trial
from triplet.tracking.results import ANALYSIS_KEYS

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """A copy of the registry with hotspot-patrol assigned (delivery measured once)."""
    from triplet.testing.workflow import assign_trial

    root = tmp_path_factory.mktemp("delivery")
    shutil.copy(REPO / "registry.yaml", root / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        root / "trials",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "design", "results"),
    )
    for trial in (root / "trials").glob("*/trial.yaml"):
        trial.write_text(re.sub(r"(?m)^status:.*$", "status: registered", trial.read_text()))
    assign_trial(root / "registry.yaml", "hotspot-patrol")
    assert cli(["delivery", "hotspot-patrol", "--registry", str(root / "registry.yaml")]) == 0
    return root / "registry.yaml"


def test_delivery_json(registry: Path) -> None:
    results = registry.parent / "trials" / "hotspot-patrol" / "results"
    d = json.loads((results / "delivery.json").read_text())
    # about half the registered 45 minutes a day reach treated hot spots; a little drifts
    assert 0.4 < d["delivered_share"] < 0.62
    assert 0 < d["control_minutes_per_day"] < 0.1 * d["planned_minutes_per_day"]
    assert d["n_gap_days"] == 5 and d["below_half"] is False
    assert d["first_day"] == "2024-01-01" and d["last_day"] == "2024-12-31"
    for f in ("heatmap.png", "minutes.png"):
        assert (results / "delivery" / "figures" / f).stat().st_size > 1000
    ud = pd.read_csv(results / "delivery" / "unit_day.csv")
    assert len(ud) == 40 * 366 and set(ud["arm"]) == {"treatment", "control"}
    # no officer or device id in the summary written for the Board and the reports
    assert not re.search(r"p_[0-9a-f]{16}", json.dumps(d))


def test_pipeline_recovers_the_true_minutes(registry: Path) -> None:
    """GPS pings -> visits -> unit-months equal the generator's true minutes exactly."""
    from triplet.example.pings import example_dose
    from triplet.testing.assignment import read_assignment
    from triplet.tracking.delivery import load_delivery, unit_month_dose

    tf = find_trial(registry, "hotspot-patrol")
    a = read_assignment(tf.assignment_path)
    a["unit"] = a["unit"].astype(str)
    data = load_delivery(tf, a)
    got = unit_month_dose(data.unit_day, tf.trial.intervention.dosage)
    truth = example_dose(tf.trial, a)
    m = got.merge(truth, on=["unit", "month"], suffixes=("", "_true"))
    assert len(m) == 40 * 12
    np.testing.assert_allclose(m["minutes"], m["minutes_true"])


def test_rerun_refused_then_archived(registry: Path) -> None:
    from triplet.tracking.delivery import run_delivery

    with pytest.raises(OverwriteError, match="--rerun"):
        run_delivery(registry, "hotspot-patrol")
    run = run_delivery(registry, "hotspot-patrol", rerun=True, until="2024-03-31")
    assert run.archived is not None and (run.archived / "delivery.json").exists()
    assert run.report.last_day == "2024-03-31"
    d = json.loads(run.path.read_text())
    assert d["last_day"] == "2024-03-31"


def test_track_keeps_delivery_files(tmp_path: Path) -> None:
    from triplet.tracking.results import publish_results

    results = tmp_path / "results"
    (results / "delivery").mkdir(parents=True)
    (results / "delivery.json").write_text("{}")
    (results / "results.json").write_text("{}")
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "results.json").write_text('{"new": 1}')
    archived = publish_results(stage, results)
    assert (results / "delivery.json").exists() and (results / "delivery").is_dir()
    assert (archived / "results.json").exists() and not (archived / "delivery.json").exists()


def test_no_delivery_section_is_a_clear_error(registry: Path, capsys) -> None:
    from triplet.testing.workflow import assign_trial

    assign_trial(registry, "offender-focus")
    code = cli(["delivery", "offender-focus", "--registry", str(registry)])
    err = capsys.readouterr().err
    assert code != 0 and "delivery" in err and "trial.yaml" in err and "Traceback" not in err


def test_cace_row_through_run_analysis() -> None:
    """The plan row: an exact linear dose effect of -8 per full dose is returned exactly."""
    from triplet.registry import load_trial
    from triplet.registry.models import Estimator
    from triplet.tracking.workflow import AnalysisInput, AnalysisSpec, run_analysis

    trial = load_trial(REPO / "trials/hotspot-patrol/trial.yaml").trial
    units = ["a", "b", "c", "d"]
    months = pd.period_range("2024-01", "2024-02", freq="M")
    panel = pd.DataFrame([(u, m) for u in units for m in months], columns=["unit", "month"])
    panel["treated"] = panel["unit"].isin(["a", "b"])
    panel["period"] = np.where(panel["month"] == months[0], "baseline", "treatment")
    panel["d"] = (panel["treated"] & (panel["period"] == "treatment")).astype(int)
    dose = pd.DataFrame({"unit": units, "month": months[1], "dose": [0.6, 0.4, 0.1, 0.0]})
    fe = {"a": 3.0, "b": 5.0, "c": 1.0, "d": 2.0}
    panel = panel.merge(dose, on=["unit", "month"], how="left").fillna({"dose": 0.0})
    panel["harm"] = (
        panel["unit"].map(fe)
        + (panel["period"] == "treatment") * 2.0
        - 8 * panel["dose"]
        + np.array([0.1, -0.1, -0.1, 0.1, 0.05, -0.05, -0.05, 0.05])
    )
    base = AnalysisInput(
        panel=panel.drop(columns="dose"),
        measure="harm",
        trial=trial,
        cluster="unit",
        block=None,
        alpha=0.05,
        randomisation=None,
        dose=lambda: dose,
    )
    spec = AnalysisSpec(
        "cace_2sls: crime_harm", Estimator.cace_2sls, trial.outcomes.primary, "exploratory", True
    )
    rec, _ = run_analysis(spec, base)
    assert list(rec)[: len(ANALYSIS_KEYS)] == list(ANALYSIS_KEYS)
    # DiD of harm / DiD of dose: ((-8*0.5+0) - (-8*0.05+0)) / 0.45 ... plus the noise
    ydid = (
        panel.groupby(["treated", "period"])["harm"].mean().unstack().eval("treatment - baseline")
    )
    expected = (ydid[True] - ydid[False]) / (0.5 - 0.05)
    assert rec["estimate"] == pytest.approx(expected, rel=1e-9)
    assert rec["itt"] == pytest.approx(ydid[True] - ydid[False], rel=1e-9)
    assert rec["first_stage"] == pytest.approx(0.45)
    # without delivery data: not estimated, and said so
    rec2, res2 = run_analysis(spec, replace(base, dose=None))
    assert res2 is None and "needs the delivered dose" in rec2["notes"]


def test_dose_effect_recovered_from_the_example(registry: Path) -> None:
    """Crime counts thinned by the delivered dose: the CACE interval covers the injected 60%
    fall at the full dose, the ITT interval the ~28% implied by the delivered shares."""
    from triplet.example.pings import example_dose
    from triplet.records.sources import load_source
    from triplet.testing.assignment import read_assignment
    from triplet.tracking.delivery import cace_2sls
    from triplet.tracking.delivery.track import with_dose

    tf = find_trial(registry, "hotspot-patrol")
    trial = tf.trial
    a = read_assignment(tf.assignment_path)
    a["unit"] = a["unit"].astype(str)
    rec = load_source(trial.source("records"), tf.root, trial=trial, assignment=a)
    months = pd.period_range("2022-01", "2024-12", freq="M")
    rec = rec[rec["lsoa_code"].isin(a["unit"]) & rec["month"].isin(months)]
    counts = rec.groupby(["lsoa_code", "month"]).size()
    idx = pd.MultiIndex.from_product([a["unit"], months], names=["unit", "month"])
    panel = counts.reindex(idx, fill_value=0).rename("count").reset_index()
    treated = set(a.loc[a["arm"] == "treatment", "unit"])
    panel["treated"] = panel["unit"].isin(treated)
    panel["period"] = np.where(panel["month"] < pd.Period("2024-01", "M"), "baseline", "treatment")
    panel["d"] = (panel["treated"] & (panel["period"] == "treatment")).astype(int)
    dose = example_dose(trial, a).rename(columns={"share": "dose"})
    r = cace_2sls(with_dose(panel, dose), outcome="count")
    true_cace = -0.6 * 100
    assert r.to_dict()["percent_ci_low"] < true_cace < r.to_dict()["percent_ci_high"]
    true_itt = -0.6 * (r.treated_dose - r.control_dose) * 100
    lo, hi = (
        100 * r.itt_ci_low / r.counterfactual_mean,
        100 * r.itt_ci_high / r.counterfactual_mean,
    )
    assert lo < true_itt < hi
    assert abs(r.estimate) > 1.8 * abs(r.itt) and not r.weak


def test_effect_report_and_board_show_delivery(registry: Path) -> None:
    from triplet.reports.board import BoardTrial, _trial_row
    from triplet.reports.effect_report import context_for, delivery_section

    tf = find_trial(registry, "hotspot-patrol")
    text, table, itt_cace, figs = delivery_section(context_for(tf))
    assert "of the registered dose was delivered" in text
    assert "delivered share of the registered dose" in set(table["item"])
    assert itt_cace is None  # not tracked yet: delivery only
    assert any(p.name == "heatmap.png" for p in figs)
    row = _trial_row(BoardTrial(trial=tf.trial, results=None, dir=Path(tf.dir)), 1)
    assert (
        row["delivered_share"] is not None and "registered dose delivered" in row["delivery_words"]
    )
    short = _trial_row(
        BoardTrial(
            trial=tf.trial, results={"delivery": {"delivered_share": 0.3}}, dir=Path(tf.dir)
        ),
        1,
    )
    assert short["dose_shortfall"] and short["delivery_words"] == (
        "30% of the registered dose delivered: not delivered as planned: the result tests the "
        "delivery, not the idea"
    )


def test_bad_patrol_area_file(registry: Path, tmp_path: Path) -> None:
    from triplet.tracking.delivery.visits import circles_areas

    with pytest.raises(InputError, match=r"spots.csv:3: x: circle centre or radius missing"):
        circles_areas(
            pd.DataFrame(
                {"unit": ["a", "b"], "x": [1.0, np.nan], "y": [1.0, 2.0], "radius_m": 50.0}
            ),
            file="spots.csv",
        )


def test_performance_page_reads_the_delivered_share(registry: Path) -> None:
    """triplet/performance reads delivery.json's delivered_share (the key names agree)."""
    from triplet.io import read_json
    from triplet.performance.trials import dose_words

    d = read_json(registry.parent / "trials" / "hotspot-patrol" / "results" / "delivery.json")
    assert (
        dose_words(d)
        == f"{100 * d['delivered_share']:.0f}% of the registered dose delivered to date"
    )
