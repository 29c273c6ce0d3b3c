"""Fixtures for the reports tests: hand-made trials and results.json files (the contract)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from triplet.registry.models import Trial


def trial_dict(
    tid: str = "hotspot-patrol",
    *,
    status: str = "analysed",
    method: str = "block",
    kind: str = "place",
    intervention: str = "hot_spot_micro_patrol",
    title: str | None = None,
    primary: str = "twfe_did",
) -> dict[str, Any]:
    design: dict[str, Any] = {"method": method, "seed": 20130101}
    if method == "block":
        design["block_by"] = "harm_tier"
        design["n_tiers"] = 3
    if method == "matched_control":
        design["matching"] = {"treated": ["E01000001", "E01000002"]}
    return {
        "id": tid,
        "title": title or f"Trial {tid}",
        "status": status,
        "registered": "2024-01-10",
        "owner": {"name": "A Analyst", "agency": "Example CSP"},
        "intervention": {
            "type": intervention,
            "description": "Fifteen-minute foot patrols three times a day. Visible presence.",
        },
        "hypotheses": {"primary": "Patrols reduce crime harm in treated LSOAs."},
        "units": {
            "kind": kind,
            "level": "lsoa" if kind == "place" else "offender",
            "id_column": "lsoa_code",
            "source": "example borough",
        },
        "outcomes": {"primary": {"name": "harm", "measure": "harm"}},
        "design": design,
        "periods": {
            "baseline": {"start": "2022-01", "end": "2023-12"},
            "treatment": {"start": "2024-01", "end": "2024-12"},
        },
        "analysis": {"primary": primary, "minimum_effect": {"reduction": 0.1}},
        "data_sources": [{"name": "records", "kind": "records", "uri": "example://borough"}],
        "data_protection": {"note": "synthetic"},
    }


def make_trial(tid: str = "hotspot-patrol", **kw: Any) -> Trial:
    return Trial.model_validate(trial_dict(tid, **kw))


def results_dict(
    tid: str = "hotspot-patrol",
    *,
    pct: float = -18.53,
    lo: float = -30.12,
    hi: float = -5.27,
    p_reduction: float | None = 0.987,
    bayes_status: str | None = "ok",
    estimator: str = "twfe_did",
    n_treatment: int = 40,
    n_control: int = 40,
) -> dict[str, Any]:
    analysis = {
        "name": "primary",
        "estimator": estimator,
        "outcome": "harm",
        "measure": "harm",
        "role": "primary",
        "estimand": "ATT on log harm",
        "estimate": -0.2,
        "se": 0.07,
        "ci_low": -0.36,
        "ci_high": -0.05,
        "p_value": 0.004,
        "n_obs": 2880,
        "n_units": n_treatment + n_control,
        "percent_change": pct,
        "percent_ci_low": lo,
        "percent_ci_high": hi,
        "notes": "",
    }
    bayes = None
    if bayes_status == "ok":
        bayes = {
            "status": "ok",
            "model": "negbin",
            "outcome": "count",
            "percent_change": pct + 1,
            "hdi89_low": lo + 2,
            "hdi89_high": hi - 1,
            "ci95_low": lo,
            "ci95_high": hi,
            "p_reduction": p_reduction,
            "p_reduction_mei": 0.8,
            "rope": {"low": -5.0, "high": 5.0, "p_inside": 0.03},
            "diagnostics": {
                "rhat_max": 1.003,
                "ess_bulk_min": 900.0,
                "ess_tail_min": 800.0,
                "divergences": 0,
            },
            "posterior": "posterior.nc",
        }
    elif bayes_status == "failed":
        bayes = {
            "status": "failed",
            "reason": "rhat 1.2 > 1.01",
            "model": "negbin",
            "outcome": "count",
        }
    return {
        "trial": tid,
        "title": f"Trial {tid}",
        "generated_at": "2025-01-01T00:00:00Z",
        "synthetic": True,
        "registration_sha256": "0" * 64,
        "versions": {"triplet": "0.1.0"},
        "n_units": {
            "eligible": 120,
            "assigned": n_treatment + n_control,
            "treatment": n_treatment,
            "control": n_control,
            "analysed": n_treatment + n_control,
        },
        "primary": analysis,
        "analyses": [
            analysis,
            {
                **copy.deepcopy(analysis),
                "name": "ri",
                "estimator": "randomisation_inference",
                "role": "exploratory",
                "p_value": 0.006,
            },
        ],
        "bayesian": bayes,
        "displacement": None,
        "figures": {},
    }


@pytest.fixture(scope="session", name="make_trial")
def make_trial_fixture():
    """``trial_factory(id, status=..., method=..., ...) -> Trial``."""
    return make_trial


@pytest.fixture(scope="session", name="results_dict")
def results_dict_fixture():
    """``results_factory(id, pct=..., lo=..., hi=..., p_reduction=...) -> results.json dict``."""
    return results_dict
