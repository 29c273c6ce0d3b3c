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
