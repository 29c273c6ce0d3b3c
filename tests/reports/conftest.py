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


# --- a registry on disk -----------------------------------------------------------------------

#: Person identifiers planted in the fixture registry's data (none may reach the Board).
PLANTED_PSEUDONYMS = ("p_" + "a1" * 8, "p_" + "b2" * 8, "p_" + "c3" * 8)
PLANTED_RAW_IDS = ("OFF-00017", "OFF-00042", "OFF-00099")
PLANTED_NAMES = ("Jane Doughty", "Marcus Feltham")


def _records_csv(path):
    import pandas as pd

    rows = []
    for i in range(60):
        rows.append(
            {
                "crime_id": f"c{i:05d}",
                "month": f"2024-{1 + i % 12:02d}",
                "crime_type": "Burglary",
                "lsoa_code": f"E0100000{i % 4}",
                "suspect_id": PLANTED_PSEUDONYMS[i % 3],
                "victim_id": PLANTED_PSEUDONYMS[(i + 1) % 3],
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def _offenders_csv(path):
    import pandas as pd

    pd.DataFrame(
        {
            "offender_id": PLANTED_RAW_IDS,
            "suspect_id": PLANTED_PSEUDONYMS,
            "name": [*PLANTED_NAMES, "Ann Other-Person"],
        }
    ).to_csv(path, index=False)


def write_registry(root, specs):
    """Write registry.yaml, trial.yaml files, results.json and assignment/lock files.

    ``specs``: list of (trial dict, results dict or None, extra) where extra may hold
    ``assignment`` (rows of unit/arm) and ``lock`` (a dict).
    """
    import json

    import yaml

    root.mkdir(parents=True, exist_ok=True)
    _records_csv(root / "data" / "records.csv")
    _offenders_csv(root / "data" / "offenders.csv")
    entries = []
    for td, res, extra in specs:
        tid = td["id"]
        entries.append(
            {"id": tid, "folder": f"trials/{tid}", "intervention": td["intervention"]["type"]}
        )
        d = root / "trials" / tid
        d.mkdir(parents=True, exist_ok=True)
        (d / "trial.yaml").write_text(yaml.safe_dump(td, sort_keys=False))
        if res is not None:
            (d / "results").mkdir(exist_ok=True)
            (d / "results" / "results.json").write_text(json.dumps(res, indent=2))
        if extra.get("assignment"):
            import pandas as pd

            pd.DataFrame(extra["assignment"]).to_csv(d / "assignment.csv", index=False)
        if extra.get("lock"):
            (d / "lock.json").write_text(json.dumps(extra["lock"]))
    (root / "registry.yaml").write_text(
        yaml.safe_dump({"name": "Fixture Borough CSP", "trials": entries}, sort_keys=False)
    )
    return root / "registry.yaml"


def fixture_specs():
    """Four trials: works, no effect, person-level (IDs planted in data), still running."""
    records = [{"name": "records", "kind": "records", "uri": "data/records.csv"}]
    hot = trial_dict("hotspot-patrol", title="Hot-spot patrols in burglary LSOAs")
    hot["data_sources"] = records
    pop = trial_dict(
        "burglary-pop",
        intervention="problem_oriented_policing",
        title="Problem-oriented policing of burglary",
    )
    pop["data_sources"] = records
    off = trial_dict(
        "offender-focus",
        kind="person",
        method="matched_pair",
        intervention="offender_focused",
        title="Integrated offender management",
    )
    off["units"]["id_column"] = "suspect_id"
    off["data_sources"] = [
        *records,
        {"name": "offenders", "kind": "units", "uri": "data/offenders.csv"},
    ]
    run = trial_dict(
        "victim-call",
        status="in_field",
        intervention="victim_focused",
        title="Call-backs to repeat victims",
    )
    run["data_sources"] = records
    off_res = results_dict(
        "offender-focus",
        pct=-22.4,
        lo=-35.0,
        hi=-7.9,
        p_reduction=0.995,
        n_treatment=6,
        n_control=6,
    )
    off_res["primary"]["notes"] = f"largest residual: {PLANTED_PSEUDONYMS[0]}"
    return [
        (
            hot,
            results_dict("hotspot-patrol"),
            {
                "lock": {
                    "registration_sha256": "f" * 64,
                    "locked_at": "2024-01-02T00:00:00+00:00",
                    "flow": {
                        "source_units": 160,
                        "excluded": {
                            "baseline harm below eligibility.min_baseline_harm": 40,
                            "not among units.candidates": 0,
                        },
                        "eligible": 120,
                    },
                    "n_units": 80,
                    "n_treatment": 40,
                    "n_control": 40,
                }
            },
        ),
        (
            pop,
            results_dict(
                "burglary-pop", pct=3.1, lo=-9.5, hi=17.2, p_reduction=0.31, bayes_status="failed"
            ),
            {},
        ),
        (
            off,
            off_res,
            {
                "assignment": [
                    {
                        "unit": u,
                        "arm": a,
                        "block": "",
                        "pair": "1",
                        "cluster": "",
                        "probability": 0.5,
                    }
                    for u, a in zip(
                        PLANTED_PSEUDONYMS, ["treatment", "control", "treatment"], strict=True
                    )
                ]
            },
        ),
        (run, None, {}),
    ]


@pytest.fixture
def registry_path(tmp_path):
    """A registry on disk with four trials and person identifiers planted in its data."""
    return write_registry(tmp_path / "reg", fixture_specs())


@pytest.fixture(scope="session")
def planted():
    """Every person identifier planted in the fixture registry's data."""
    return (*PLANTED_PSEUDONYMS, *PLANTED_RAW_IDS, *PLANTED_NAMES)
