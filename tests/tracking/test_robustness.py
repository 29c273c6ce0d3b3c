"""`triplet track` with the issue-12 additions: few-cluster inference as registered,
parallel-trends sensitivity and the secondary-outcome family."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from triplet.tracking.results import read_results
from triplet.tracking.workflow import track_trial

from .conftest import REPO


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """hotspot-patrol registered with 4 block clusters and the wild bootstrap as its interval,
    and neighbourhood-pop (matched controls) as registered."""
    from triplet.testing.workflow import assign_trial

    root = tmp_path_factory.mktemp("registry12")
    shutil.copy(REPO / "registry.yaml", root / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        root / "trials",
        ignore=shutil.ignore_patterns("assignment.csv", "lock.json", "design", "results"),
    )
    for trial in (root / "trials").glob("*/trial.yaml"):
        text = re.sub(r"(?m)^status:.*$", "status: registered", trial.read_text())
        trial.write_text(text)
    path = root / "trials" / "hotspot-patrol" / "trial.yaml"
    text = path.read_text().replace(
        "  cluster: unit\n", "  cluster: block\n  inference: wild_bootstrap\n"
    )
    assert "inference: wild_bootstrap" in text
    path.write_text(text)
    out = {}
    for tid in ("hotspot-patrol", "neighbourhood-pop"):
        assign_trial(root / "registry.yaml", tid)
        rep = track_trial(root / "registry.yaml", tid, draws=300, progress=False, bayes=False)
        out[tid] = (read_results(rep.results_path), rep)
    return out


def test_registered_wild_bootstrap_is_the_primary_interval(tracked):
    r, _ = tracked["hotspot-patrol"]
    p = r["primary"]
    assert r["cluster"] == "block"
    fc = p["few_clusters"]
    assert fc["n_clusters"] == 4 and fc["bootstrap_weights"] == "webb"
    rows = {m["method"]: m for m in fc["methods"]}
    assert p["inference"] == "wild_bootstrap"
    assert p["ci_low"] == rows["wild_bootstrap"]["ci_low"]
    assert p["p_value"] == rows["wild_bootstrap"]["p_value"]
    # with 4 clusters the honest intervals are wider than CRV1's t(3) one, CR2 df below 3
    assert rows["cr2"]["df"] < 3
    crv1_width = rows["crv1"]["ci_high"] - rows["crv1"]["ci_low"]
    assert rows["wild_bootstrap"]["ci_high"] - rows["wild_bootstrap"]["ci_low"] > crv1_width
    assert p["percent_ci_low"] < p["percent_change"] < p["percent_ci_high"]
    json.dumps(r, allow_nan=False)


def test_sensitivity_section_and_figures(tracked):
    r, rep = tracked["neighbourhood-pop"]
    s = r["sensitivity"]
    sd = s["smoothness"]
    assert sd["target"].startswith("average") and len(sd["bounds"]) == 5
    widths = [b["ci_high"] - b["ci_low"] for b in sd["bounds"]]
    assert np.all(np.diff(widths) > 0)  # intervals widen as M grows
    rm = s["relative_magnitudes"]
    assert "bounds" in rm and rm["target"]
    assert (rep.results_path.parent / r["figures"]["sensitivity_smoothness"]).exists()


def test_secondary_outcomes_form_a_family(tracked):
    r, _ = tracked["hotspot-patrol"]
    fam = r["multiplicity"]
    names = [o["outcome"] for o in fam["outcomes"]]
    assert names == ["crime_count", "street_violence_robbery"]
    assert fam["n_draws"] == 300
    for o in fam["outcomes"]:
        assert o["p_holm"] >= o["p_value"]
        assert o["p_romano_wolf"] >= o["p_randomisation"]
    recs = [a for a in r["analyses"] if a["outcome"] in names and "follow-up" not in a["name"]]
    assert all(a["p_holm"] is not None for a in recs)


def test_few_clusters_beside_crv1_and_holm_only_without_randomisation(tracked):
    r, _ = tracked["neighbourhood-pop"]
    p = r["primary"]
    assert p["inference"] == "crv1" and p["few_clusters"]["n_clusters"] < 40
    methods = [m["method"] for m in p["few_clusters"]["methods"]]
    assert methods == ["crv1", "cr2", "wild_bootstrap"]
    fam = r["multiplicity"]  # matched controls: no assignment to redraw, so no Romano-Wolf
    assert "Romano-Wolf not computed" in fam["notes"]
    assert all(o["p_romano_wolf"] is None and o["p_holm"] is not None for o in fam["outcomes"])


def test_effect_report_sections_and_notebook(tracked, tmp_path):
    from triplet.registry import find_trial
    from triplet.reports import effect_report as er

    _, rep = tracked["neighbourhood-pop"]
    registry = rep.results_path.parents[3] / "registry.yaml"
    ctx = er.load_context("neighbourhood-pop", registry)
    parts = er.sensitivity_section(ctx)
    assert [p[0].split("**")[1] for p in parts] == ["Smoothness", "Relative magnitudes"]
    assert all(t is not None and img is not None and img.exists() for _, t, img in parts)
    fc = er.few_clusters_table(ctx)
    assert set(fc["method"]) == {"crv1", "cr2", "wild_bootstrap"}
    assert fc.loc[fc["reported"], "method"].unique().tolist() == ["crv1"]
    mt = er.multiplicity_table(ctx)
    assert list(mt.columns)[:4] == ["outcome", "estimate", "p_value", "p_holm"]
    html = er.build_effect_report(find_trial(registry, "neighbourhood-pop"), tmp_path / "r.html")
    text = html.read_text()
    assert "Sensitivity to parallel trends" in text and "Few clusters" in text
    assert "Could not compute this section" not in text and "Traceback" not in text
