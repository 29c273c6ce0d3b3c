"""The JSON Schema accepts what the model accepts (the shipped trials) and rejects typos."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from triplet.registry.schema import registry_json_schema, trial_json_schema

REPO = Path(__file__).resolve().parents[2]
TRIALS = sorted((REPO / "trials").glob("*/trial.yaml"))


def as_json(path: Path) -> dict:
    data = YAML(typ="safe", pure=True).load(path.read_text())
    return json.loads(json.dumps(data, default=str))  # dates as YYYY-MM-DD strings


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(trial_json_schema())
    jsonschema.Draft202012Validator.check_schema(registry_json_schema())


@pytest.mark.parametrize("path", TRIALS, ids=lambda p: p.parent.name)
def test_shipped_trials_match_the_schema(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(trial_json_schema())
    assert list(validator.iter_errors(as_json(path))) == []
    bad = as_json(path)
    bad["design"]["sed"] = 1
    bad["outcomes"]["primary"]["measure"] = "harms"
    messages = [e.message for e in validator.iter_errors(bad)]
    assert len(messages) == 2


def test_shipped_schema_file_is_current() -> None:
    shipped = json.loads((REPO / "docs/trial.schema.json").read_text())
    assert shipped == json.loads(json.dumps(trial_json_schema()))


def test_shipped_registry_matches_its_schema() -> None:
    validator = jsonschema.Draft202012Validator(registry_json_schema())
    assert list(validator.iter_errors(as_json(REPO / "registry.yaml"))) == []
    first = (REPO / "registry.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=docs/registry.schema.json"
    shipped = json.loads((REPO / "docs/registry.schema.json").read_text())
    assert shipped == json.loads(json.dumps(registry_json_schema()))


def test_shipped_trials_point_editors_at_the_schema() -> None:
    for path in TRIALS:
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../docs/trial.schema.json"
        assert (path.parent / "../../docs/trial.schema.json").resolve().is_file()
