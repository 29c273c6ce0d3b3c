"""Registration checks of the decision rule and of count likelihoods on harm (issue 14)."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from triplet.registry.models import DecisionRule, Trial

BASE = {
    "id": "t-one",
    "title": "A trial",
    "owner": {"name": "A", "agency": "B"},
    "intervention": {"type": "cctv", "description": "cameras"},
    "hypotheses": {"primary": "fewer crimes"},
    "units": {"kind": "place", "level": "lsoa", "id_column": "lsoa_code", "source": "x"},
    "outcomes": {"primary": {"name": "harm", "measure": "harm"}},
    "design": {"method": "complete", "seed": 1},
    "periods": {
        "baseline": {"start": "2022-01", "end": "2022-12"},
        "treatment": {"start": "2023-01", "end": "2023-06"},
    },
    "analysis": {"primary": "twfe_did", "minimum_effect": {"reduction": 0.1}},
    "data_sources": [{"name": "r", "kind": "records", "uri": "example://borough"}],
    "data_protection": {"note": "synthetic"},
}


def trial(**analysis) -> Trial:
    d = copy.deepcopy(BASE)
    d["analysis"].update(analysis)
    return Trial.model_validate(d)


def test_default_rule_follows_the_primary_estimator():
    assert trial().analysis.rule == DecisionRule(kind="frequentist")
    t = trial(primary="bayesian_harm")
    assert t.analysis.rule.kind == "bayesian" and t.analysis.rule.probability == 0.975
    assert t.analysis.decision_rule is None  # nothing new in the registration hash


def test_rule_must_fit_the_primary_estimator():
    with pytest.raises(ValidationError, match="needs a Bayesian primary estimator"):
        trial(decision_rule={"kind": "bayesian"})
    with pytest.raises(ValidationError, match="needs an interval estimator"):
        trial(primary="bayesian_harm", decision_rule={"kind": "frequentist"})
    with pytest.raises(ValidationError):
        trial(primary="bayesian_harm", decision_rule={"kind": "bayesian", "probability": 0.4})


@pytest.mark.parametrize(
    "analysis",
    [{"primary": "negbin_did"}, {"secondary": ["negbin_did"]}],
    ids=["primary", "secondary"],
)
def test_negbin_on_harm_is_refused_naming_the_alternatives(analysis):
    with pytest.raises(ValidationError, match=r"poisson_did.*twfe_did.*bayesian_harm"):
        trial(**analysis)


def test_negbin_on_counts_is_fine_and_poisson_on_harm_is_fine():
    d = copy.deepcopy(BASE)
    d["outcomes"]["primary"]["measure"] = "count"
    d["analysis"]["primary"] = "negbin_did"
    assert Trial.model_validate(d).analysis.primary.value == "negbin_did"
    d["outcomes"]["secondary"] = [{"name": "h", "measure": "harm"}]
    with pytest.raises(ValidationError, match="would also run on the harm secondary"):
        Trial.model_validate(d)
    assert trial(primary="poisson_did").analysis.primary.value == "poisson_did"


# ---- issue 15 item 4: checks that fired only at assign/track now fire at validate


def _with(design=None, **analysis) -> dict:
    d = copy.deepcopy(BASE)
    if design is not None:
        d["design"] = design
    d["analysis"].update(analysis)
    return d


def test_displacement_cannot_be_the_primary_analysis():
    with pytest.raises(ValidationError, match="displacement cannot be the primary") as e:
        Trial.model_validate(_with(primary="displacement"))
    assert e.value.errors()[0]["loc"] == ("analysis", "primary")


def test_matched_pairs_need_one_to_one():
    design = {"method": "matched_pair", "seed": 1, "allocation": {"treatment": 1, "control": 2}}
    with pytest.raises(ValidationError, match=r"matched_pair needs a 1:1 allocation.*not 1:2"):
        Trial.model_validate(_with(design))
    design["allocation"] = {"treatment": 2, "control": 2}
    assert Trial.model_validate(_with(design)).design.allocation.treatment == 2


@pytest.mark.parametrize("where", ["primary", "secondary"])
def test_randomisation_inference_needs_a_randomised_design(where):
    design = {"method": "matched_control", "seed": 1, "matching": {"treated": ["a"]}}
    plan = (
        {"primary": "randomisation_inference"}
        if where == "primary"
        else {"secondary": ["randomisation_inference"]}
    )
    with pytest.raises(ValidationError, match="randomisation_inference needs a randomised"):
        Trial.model_validate(_with(design, **plan))
    assert Trial.model_validate(_with(design, secondary=["poisson_did"]))


@pytest.mark.parametrize(
    ("design", "cluster", "ok"),
    [
        ({"method": "complete", "seed": 1}, "block", False),
        ({"method": "block", "seed": 1, "block_by": "tier"}, "block", True),
        ({"method": "complete", "seed": 1}, "pair", False),
        ({"method": "matched_pair", "seed": 1}, "pair", True),
        ({"method": "block", "seed": 1, "block_by": "tier"}, "cluster", False),
        ({"method": "cluster", "seed": 1, "cluster_by": "ward"}, "cluster", True),
        ({"method": "complete", "seed": 1}, "unit", True),
    ],
)
def test_cluster_level_must_exist_in_the_design(design, cluster, ok):
    d = _with(design, cluster=cluster)
    if ok:
        assert Trial.model_validate(d).analysis.cluster == cluster
    else:
        with pytest.raises(ValidationError, match=f"cluster: {cluster}, but design method"):
            Trial.model_validate(d)


def test_source_not_found_is_none_not_a_key_error():
    t = Trial.model_validate(copy.deepcopy(BASE))
    assert t.source("records").name == "r"
    assert t.source("units") is None


def test_validate_reports_the_late_checks_with_file_and_line(tmp_path):
    """`triplet validate` (not `track`) now names the problem, with trial.yaml's line."""
    import shutil

    from triplet.registry.validate import validate_trial

    from .conftest import REPO

    src = REPO / "trials" / "hotspot-patrol" / "trial.yaml"
    dst = tmp_path / "hotspot-patrol" / "trial.yaml"
    dst.parent.mkdir()
    shutil.copy(src, dst)
    text = dst.read_text().replace("  cluster: unit", "  cluster: pair")
    dst.write_text(text)
    _, problems = validate_trial(dst)
    msgs = [str(p) for p in problems]
    assert any("cluster: pair, but design method block" in m for m in msgs), msgs
    # the line of the analysis section (the check needs the design, so it sits on analysis)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x == "analysis:")
    assert any(f"trial.yaml:{line}: analysis: cluster: pair" in m for m in msgs), msgs
