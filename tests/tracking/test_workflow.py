"""`triplet track` on assigned example trials: contract, refusals, archiving."""

from __future__ import annotations

import json
import shutil

import pytest

from triplet.errors import LockError, OverwriteError, StateError
from triplet.registry import find_trial
from triplet.tracking.results import ANALYSIS_KEYS, read_results
from triplet.tracking.workflow import track_trial

from .conftest import REPO

TOP_KEYS = {
    "trial",
    "title",
    "generated_at",
    "synthetic",
    "registration_sha256",
    "versions",
    "n_units",
    "primary",
    "analyses",
    "bayesian",
    "displacement",
    "figures",
}


@pytest.fixture(scope="module")
def hotspot(assigned_registry):
    return track_trial(assigned_registry, "hotspot-patrol", draws=300, progress=False, bayes=False)


def test_results_follow_the_contract(hotspot, assigned_registry):
    r = read_results(hotspot.results_path)
    assert set(r) >= TOP_KEYS
    assert r["trial"] == "hotspot-patrol" and r["synthetic"] is True
    assert r["primary"]["role"] == "primary" and r["primary"]["estimator"] == "twfe_did"
    assert r["analyses"][0] == r["primary"]
    assert all(a["role"] == "exploratory" for a in r["analyses"][1:])
    for a in r["analyses"]:
        assert set(ANALYSIS_KEYS) <= set(a)
    names = [a["estimator"] for a in r["analyses"]]
    assert {"poisson_did", "event_study", "randomisation_inference"} <= set(names)
    assert r["n_units"] == {
        "eligible": r["n_units"]["eligible"],
        "assigned": 40,
        "treatment": 20,
        "control": 20,
        "analysed": 40,
    }
    assert r["versions"]["numpy"] and r["versions"]["triplet"]
    for rel in r["figures"].values():
        assert (hotspot.results_path.parent / rel).exists()
    assert {"trends", "event_study"} <= set(r["figures"])
    assert r["displacement"]["wdq"]["interpretation"]
    assert any("skipped" in n for n in r["notes"])
    p = r["primary"]
    assert p["ci_low"] < p["estimate"] < p["ci_high"]
    assert p["percent_ci_low"] < p["percent_change"] < p["percent_ci_high"]
    ri = next(a for a in r["analyses"] if a["estimator"] == "randomisation_inference")
    assert ri["estimate"] == pytest.approx(p["estimate"], rel=1e-9)  # same DiD statistic
    assert find_trial(assigned_registry, "hotspot-patrol").trial.status.value == "analysed"
    json.dumps(r, allow_nan=False)  # strict JSON: no NaN


def test_refuses_to_overwrite_and_archives_on_rerun(hotspot, assigned_registry):
    with pytest.raises(OverwriteError, match="--rerun"):
        track_trial(assigned_registry, "hotspot-patrol", draws=200, progress=False, bayes=False)
    first = hotspot.results_path.read_text()
    rep = track_trial(
        assigned_registry, "hotspot-patrol", rerun=True, draws=200, progress=False, bayes=False
    )
    assert rep.archived is not None and rep.archived.parent.name == "previous"
    assert (rep.archived / "results.json").read_text() == first
    assert (rep.archived / "figures" / "trends.png").exists()


def test_offender_focus_poisson_primary_with_pairs(assigned_registry):
    rep = track_trial(  # rerun: the registry is shared with other test modules
        assigned_registry, "offender-focus", rerun=True, draws=200, progress=False, bayes=False
    )
    p = rep.results["primary"]
    assert p["estimator"] == "poisson_did" and p["rate_ratio"] > 0
    assert p["percent_change"] == pytest.approx(100 * (p["rate_ratio"] - 1))
    assert rep.results["cluster"] == "pair"
    assert rep.results["fixed_effects"] == "unit + pair x month"
    assert rep.results["displacement"] is None


def test_refuses_unrecorded_change_after_lock(assigned_registry, tmp_path):
    root = tmp_path / "reg"
    shutil.copytree(assigned_registry.parent, root)
    trial_yaml = root / "trials" / "hotspot-patrol" / "trial.yaml"
    text = trial_yaml.read_text().replace("alpha: 0.05", "alpha: 0.10")
    trial_yaml.write_text(text)
    shutil.rmtree(root / "trials" / "hotspot-patrol" / "results", ignore_errors=True)
    with pytest.raises(LockError, match=r"analysis\.alpha"):
        track_trial(root / "registry.yaml", "hotspot-patrol", draws=200, progress=False)


def test_refuses_without_assignment(tmp_path):
    shutil.copy(REPO / "registry.yaml", tmp_path / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        tmp_path / "trials",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "results"),
    )
    with pytest.raises(StateError, match="triplet assign"):
        track_trial(tmp_path / "registry.yaml", "hotspot-patrol", progress=False)


def test_bayesian_block_records_the_saved_posterior(monkeypatch, tmp_path, assigned_registry):
    """results.json must name the posterior file that fit_effect's result saved."""
    import triplet.tracking.bayes as bayes
    from triplet.tracking import workflow

    class FakeEffect:
        def to_dict(self, posterior=None):
            return {"status": "ok", "percent_change": -20.0, "posterior": posterior}

        def save(self, results_dir):
            (results_dir / "posterior.nc").write_bytes(b"x")
            return "posterior.nc"

    monkeypatch.setattr(bayes, "fit_effect", lambda panel, trial: FakeEffect())
    tf = find_trial(assigned_registry, "hotspot-patrol")
    out = workflow._bayesian(None, tf, tmp_path / "results", [])
    assert out["posterior"] == "posterior.nc"
    assert (tmp_path / "results" / out["posterior"]).exists()


def test_panel_is_written_and_reproduces_the_primary_estimate(hotspot, assigned_registry):
    """results/panel.csv lets anyone re-run the registered primary DiD with `triplet did`."""
    import pandas as pd

    from triplet.tracking import did

    res_dir = find_trial(assigned_registry, "hotspot-patrol").results_dir
    results = read_results(res_dir)
    panel = pd.read_csv(res_dir / results["panel"])
    analysed = panel[panel["period"] != "follow_up"]
    primary = results["primary"]
    r = did(
        analysed,
        outcome="harm",
        unit="unit",
        time="month",
        treated="d",
        cluster=results["cluster"],
        block=None if results["fixed_effects"] == "unit + month" else "block",
    )
    assert r.estimate == pytest.approx(primary["estimate"], rel=1e-9)
    assert r.se == pytest.approx(primary["se"], rel=1e-9)


def test_bayesian_model_that_does_not_fit_the_panel_is_reported_failed(
    monkeypatch, tmp_path, assigned_registry
):
    """An InputError from the model (data it cannot take) must not abort the whole track."""
    import triplet.tracking.bayes as bayes
    from triplet.errors import InputError
    from triplet.tracking import workflow

    def refuse(panel, trial):
        raise InputError("harm is positive in every unit-month", file="panel")

    monkeypatch.setattr(bayes, "fit_effect", refuse)
    tf = find_trial(assigned_registry, "hotspot-patrol")
    notes: list[str] = []
    out = workflow._bayesian(None, tf, tmp_path / "results", notes)
    assert out["status"] == "failed"
    assert "positive in every unit-month" in out["reason"]
    assert "percent_change" not in out and "p_reduction" not in out
    assert any("Bayesian model failed" in n for n in notes)
