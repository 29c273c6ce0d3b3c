"""`triplet track` on assigned example trials: contract, refusals, archiving."""

from __future__ import annotations

import json
import math
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


def test_plan_lists_the_registered_analyses_in_order(assigned_registry):
    """The plan is a table: primary first, the other named estimators, secondary outcomes,
    then the follow-up; displacement and the Bayesian model are supplements, not rows."""
    from triplet.tracking.workflow import plan_analyses

    trial = find_trial(assigned_registry, "hotspot-patrol").trial
    specs = plan_analyses(trial)
    p0 = trial.outcomes.primary.name
    rows = [(s.name, s.estimator.value, s.role, s.registered, s.period) for s in specs]
    expected = [
        ("primary", "twfe_did", "primary", True, "treatment"),
        (f"poisson_did: {p0}", "poisson_did", "exploratory", True, "treatment"),
        (f"event_study: {p0}", "event_study", "exploratory", True, "treatment"),
        (
            f"randomisation_inference: {p0}",
            "randomisation_inference",
            "exploratory",
            True,
            "treatment",
        ),
        (f"cace_2sls: {p0}", "cace_2sls", "exploratory", True, "treatment"),  # issue 16
        *[
            (f"twfe_did: {o.name}", "twfe_did", "exploratory", True, "treatment")
            for o in trial.outcomes.secondary
        ],
        (f"twfe_did: {p0}, follow-up", "twfe_did", "exploratory", False, "follow_up"),
    ]
    assert rows == expected
    assert [s.figure for s in specs][:4] == [None, None, None, "randomisation"]


def test_failed_run_leaves_the_earlier_results_in_place(monkeypatch, hotspot, assigned_registry):
    """A run that fails is never half-published: results.json, figures and previous/ stay."""
    from triplet.errors import ConvergenceError
    from triplet.registry.models import Estimator
    from triplet.tracking import workflow

    res_dir = find_trial(assigned_registry, "hotspot-patrol").results_dir
    before = {p.relative_to(res_dir): p.read_bytes() for p in res_dir.rglob("*") if p.is_file()}

    def fail(x):
        raise ConvergenceError("the primary model did not converge")

    kind = workflow.ANALYSES[Estimator.twfe_did]
    monkeypatch.setitem(
        workflow.ANALYSES, Estimator.twfe_did, workflow.AnalysisKind(fail, kind.estimand)
    )
    with pytest.raises(ConvergenceError):
        track_trial(
            assigned_registry, "hotspot-patrol", rerun=True, draws=200, progress=False, bayes=False
        )
    after = {p.relative_to(res_dir): p.read_bytes() for p in res_dir.rglob("*") if p.is_file()}
    assert after == before
    trial_dir = res_dir.parent
    assert not [p for p in trial_dir.iterdir() if p.name.startswith(".results-")]


def test_an_analysis_is_one_function_and_one_row(monkeypatch, assigned_registry):
    """A new row of ANALYSES is run wherever the plan names its estimator."""
    import numpy as np

    from triplet.registry.models import Estimator
    from triplet.testing.assignment import read_assignment
    from triplet.tracking import workflow

    def difference_of_means(x: workflow.AnalysisInput) -> workflow.Estimated:
        p = x.panel
        post = p["period"] == "treatment"
        means = p.groupby([p["treated"], post])[x.measure].mean()
        est = (means[True, True] - means[True, False]) - (means[False, True] - means[False, False])
        return workflow.Estimated({"estimate": est, "n_units": p["unit"].nunique()}, None)

    monkeypatch.setitem(
        workflow.ANALYSES,
        Estimator.staggered_did,
        workflow.AnalysisKind(difference_of_means, "difference of mean {unit} ({months})"),
    )
    tf = find_trial(assigned_registry, "hotspot-patrol")
    spec = workflow.AnalysisSpec(
        "dm", Estimator.staggered_did, tf.trial.outcomes.primary, "exploratory", False
    )
    assignment = read_assignment(tf.assignment_path)
    panel = workflow.build_panel(tf, assignment)
    panel = panel[panel["period"] != "follow_up"].reset_index(drop=True)
    x = workflow.AnalysisInput(
        panel=panel,
        measure="harm",
        trial=tf.trial,
        cluster="unit",
        block=None,
        alpha=0.05,
        randomisation=lambda panel, measure: None,
    )
    rec, _ = workflow.run_analysis(spec, x)
    assert list(rec)[: len(ANALYSIS_KEYS)] == list(ANALYSIS_KEYS)
    # on a balanced panel the TWFE DiD equals the 2x2 difference of means
    twfe, _ = workflow.run_analysis(
        workflow.AnalysisSpec("t", Estimator.twfe_did, spec.outcome, "exploratory", False), x
    )
    assert rec["estimate"] == pytest.approx(twfe["estimate"], rel=1e-9)
    assert rec["estimand"] == "difference of mean days of imprisonment (harm) (treatment months)"
    assert rec["n_units"] == 40 and np.isfinite(rec["estimate"])


def test_results_carry_log_effects_the_rule_and_the_power_check(hotspot):
    """Issue 14: pooling reads log effect, SE and df; the registered rule's finding is stored;
    the assign-time power check travels from the lock into the results."""
    r = hotspot.results
    for a in r["analyses"]:
        assert {"log_effect", "log_se", "log_df"} <= set(a)
        lo = a.get("percent_ci_low")
        assert lo is None or lo > -100
    p = r["primary"]
    assert p["estimator"] == "twfe_did" and p["log_se"] > 0 and p["log_df"] == p["df"]
    assert p["percent_change"] == pytest.approx(100 * math.expm1(p["log_effect"]))
    assert r["decision"]["kind"] == "frequentist" and r["decision"]["alpha"] == 0.05
    assert r["decision"]["direction"] in ("reduction", "increase", "no clear change")
    assert r["power_check"]["target"] == 0.8 and r["power_check"]["power"] is not None


def test_block_att_reported_when_blocks_differ_in_treated_share(hotspot, assigned_registry):
    from triplet.testing.assignment import read_assignment

    tf = find_trial(assigned_registry, "hotspot-patrol")
    a = read_assignment(tf.assignment_path)
    shares = a.groupby("block")["arm"].apply(lambda s: (s == "treatment").mean())
    names = [x["name"] for x in hotspot.results["analyses"]]
    if shares.nunique() > 1:
        rec = next(x for x in hotspot.results["analyses"] if x["estimator"] == "block_att")
        assert rec["role"] == "exploratory" and 0 < rec["p_value_randomisation"] <= 1
        assert any("n p (1 - p)" in n for n in hotspot.results["notes"])
    else:
        assert not any(n.startswith("block_att") for n in names)


def test_block_att_in_the_track_with_odd_sized_blocks(tmp_path):
    """Three harm tiers over 40 LSOAs give blocks of 13/13/14 with rounded treated counts."""
    import re

    from triplet.testing.workflow import assign_trial

    root = tmp_path / "reg"
    shutil.copytree(
        REPO / "trials" / "hotspot-patrol",
        root / "trials" / "hotspot-patrol",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "design", "results"),
    )
    (root / "registry.yaml").write_text(
        "name: t\ntrials:\n  - id: hotspot-patrol\n    folder: trials/hotspot-patrol\n"
        "    intervention: hot_spot_micro_patrol\n"
    )
    y = root / "trials" / "hotspot-patrol" / "trial.yaml"
    text = re.sub(r"(?m)^status:.*$", "status: registered", y.read_text())
    y.write_text(text.replace("n_tiers: 4", "n_tiers: 3"))
    assign_trial(root / "registry.yaml", "hotspot-patrol", power_sims=0)
    rep = track_trial(
        root / "registry.yaml", "hotspot-patrol", draws=200, progress=False, bayes=False
    )
    rec = next(x for x in rep.results["analyses"] if x["estimator"] == "block_att")
    assert rec["role"] == "exploratory" and rec["registered"] is False
    assert 0 < rec["p_value_randomisation"] <= 1
    assert rec["percent_ci_low"] > -100
    assert sum(b["att_weight"] for b in rec["blocks"]) == pytest.approx(1)
    assert any(abs(b["att_weight"] - b["twfe_weight"]) > 1e-6 for b in rec["blocks"])
    assert any("n p (1 - p)" in n for n in rep.results["notes"])


def _follows_the_design(results) -> list[str]:
    """Analyses whose fixed effects are neither the design's nor explained in their notes."""
    design = results["fixed_effects"]
    off = []
    for a in results["analyses"]:
        if a["estimator"] in ("block_att",) or a.get("estimate") is None:
            continue
        fe = a.get("fixed_effects")
        if not isinstance(fe, str | None):  # issue 16's CACE records a bool here: follow-up
            continue
        if fe == design or (fe and fe.startswith("none")):
            continue
        if fe and "not used" in (a.get("notes") or ""):
            continue
        off.append(f"{a['name']}: {fe}")
    return off


def test_every_estimator_follows_the_design_fixed_effects(hotspot, assigned_registry):
    """Issue 10 defect 12: the Poisson DiD (and every other estimator) uses the registered
    design's block x month effects, like the TWFE DiD, or says why not."""
    r = hotspot.results
    assert r["fixed_effects"] == "unit + block x month"
    pois = next(a for a in r["analyses"] if a["estimator"] == "poisson_did")
    assert pois["fixed_effects"] == "unit + block x month"
    es = next(a for a in r["analyses"] if a["estimator"] == "event_study")
    assert es["fixed_effects"] == "unit + block x month"
    assert _follows_the_design(r) == []
    # the recorded Poisson estimate is the block x month fit on the written panel
    import pandas as pd

    from triplet.tracking import count_did

    panel = pd.read_csv(hotspot.results_path.parent / "panel.csv", dtype={"unit": str})
    panel = panel[panel["period"] != "follow_up"]
    kw = {"outcome": pois["measure"], "unit": "unit", "time": "month", "treated": "d"}
    with_blocks = count_did(panel, **kw, cluster=r["cluster"], block="block")
    assert pois["log_effect"] == pytest.approx(with_blocks.log_rate_ratio, abs=1e-9)


def test_paired_design_poisson_primary_uses_pair_by_month(assigned_registry):
    rep = track_trial(
        assigned_registry, "offender-focus", rerun=True, draws=100, progress=False, bayes=False
    )
    assert rep.results["fixed_effects"] == "unit + pair x month"
    assert rep.results["primary"]["fixed_effects"] == "unit + pair x month"
    assert _follows_the_design(rep.results) == []


def test_results_record_the_hash_of_the_analysed_assignment(hotspot, assigned_registry):
    """Issue 10 defect 1 (second half): results.json holds the SHA-256 of the bytes that were
    analysed, read once, not the hash copied from lock.json."""
    import hashlib

    from triplet.tracking import workflow

    tf = find_trial(assigned_registry, "hotspot-patrol")
    data = tf.assignment_path.read_bytes()
    assert hotspot.results["assignment_sha256"] == hashlib.sha256(data).hexdigest()
    frame, digest = workflow._read_assignment(tf)
    assert digest == hashlib.sha256(data).hexdigest() and len(frame) == 40


def test_read_assignment_hashes_what_it_parses(tmp_path, assigned_registry):
    """The hash and the table come from the same bytes (no second read of the file)."""
    import hashlib
    from types import SimpleNamespace

    from triplet.tracking import workflow

    src = find_trial(assigned_registry, "hotspot-patrol").assignment_path.read_bytes()
    swapped = src.replace(b"treatment", b"TMP").replace(b"control", b"treatment")
    swapped = swapped.replace(b"TMP", b"control")
    path = tmp_path / "assignment.csv"
    path.write_bytes(swapped)
    tf = find_trial(assigned_registry, "hotspot-patrol")
    frame, digest = workflow._read_assignment(SimpleNamespace(assignment_path=path, trial=tf.trial))
    assert digest == hashlib.sha256(swapped).hexdigest() != hashlib.sha256(src).hexdigest()
    assert (frame["arm"] == "treatment").sum() == swapped.count(b"treatment")


def test_randomisation_draws_come_from_a_spawned_stream(monkeypatch, assigned_registry):
    """Issue 15 item 6: the redrawn assignments use the child stream of the registered seed
    (SeedSequence spawning), not ``design.seed + 1``."""
    import triplet.testing.assignment as assignment_module
    from triplet.seeds import stream_seed

    seeds = []
    real = assignment_module.draw_assignments

    def spy(units, design, n_draws, seed=None):
        seeds.append(seed)
        return real(units, design, n_draws, seed)

    monkeypatch.setattr(assignment_module, "draw_assignments", spy)
    track_trial(
        assigned_registry, "hotspot-patrol", rerun=True, draws=50, progress=False, bayes=False
    )
    design_seed = find_trial(assigned_registry, "hotspot-patrol").trial.design.seed
    assert stream_seed(design_seed, "randomisation_inference") in seeds
    assert design_seed + 1 not in seeds and design_seed + 2 not in seeds
