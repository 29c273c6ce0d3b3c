"""`triplet new`: the scaffold validates, and the registry keeps its comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from triplet.errors import InputError, OverwriteError
from triplet.registry import Status, check_registry, load_trial, new_trial
from triplet.registry.models import InterventionType, UnitKind
from triplet.registry.scaffold import scaffold_text
from triplet.registry.yamlio import parse_yaml_text


@pytest.mark.parametrize("kind", list(InterventionType))
def test_scaffold_validates_for_every_intervention(tmp_path: Path, kind: InterventionType) -> None:
    path = tmp_path / "x-trial" / "trial.yaml"
    path.parent.mkdir()
    path.write_text(scaffold_text("x-trial", kind, seed=5))
    tf = load_trial(path)
    assert tf.trial.status is Status.draft
    assert tf.trial.intervention.type is kind
    person = kind in (InterventionType.offender_focused, InterventionType.victim_focused)
    assert (tf.trial.units.kind is UnitKind.person) == person
    assert tf.trial.design.seed == 5


def test_scaffold_explains_every_section() -> None:
    text = scaffold_text("x-trial", "cctv")
    assert text.startswith("# yaml-language-server: $schema=../../docs/trial.schema.json\n")
    parsed, _ = parse_yaml_text(text, file="t")
    assert parsed is not None
    for key in parsed.data:  # every top-level section has a comment on or just above it
        line = parsed.line_of((key,))
        lines = text.splitlines()
        assert "#" in lines[line - 1] or lines[line - 2].lstrip().startswith("#"), key


def test_new_trial_appends_to_registry_keeping_comments(registry_path: Path) -> None:
    before = registry_path.read_text()
    tf = new_trial(registry_path, "cctv-pilot", intervention="cctv", seed=3)
    after = registry_path.read_text()
    assert after.startswith(before)  # nothing above was touched: comments and layout kept
    assert after[len(before) :] == (
        "  - id: cctv-pilot\n    folder: trials/cctv-pilot\n    intervention: cctv\n"
    )
    assert tf.path == registry_path.parent / "trials/cctv-pilot/trial.yaml"
    check = check_registry(registry_path)
    assert check.problems == []
    assert "cctv-pilot" in check.trials


def test_new_trial_in_a_block_sequence_without_indent(tmp_path: Path) -> None:
    reg = tmp_path / "registry.yaml"
    reg.write_text(
        "# my trials\nname: Test CSP\ntrials:\n- id: aaa\n  folder: trials/aaa\n"
        "  intervention: other\n"
    )
    (tmp_path / "trials/aaa").mkdir(parents=True)
    (tmp_path / "trials/aaa/trial.yaml").write_text(scaffold_text("aaa", "other"))
    new_trial(reg, "bbb")
    assert reg.read_text().endswith(
        "  intervention: other\n- id: bbb\n  folder: trials/bbb\n  intervention: other\n"
    )
    assert reg.read_text().startswith("# my trials\n")
    assert check_registry(reg).problems == []


def test_new_trial_creates_registry_and_schema(tmp_path: Path) -> None:
    reg = tmp_path / "registry.yaml"
    new_trial(reg, "first-trial", registry_name="Test CSP")
    assert check_registry(reg).problems == []
    assert (tmp_path / "trial.schema.json").is_file()
    first_line = (tmp_path / "trials/first-trial/trial.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../../trial.schema.json"


def test_new_trial_from_empty_flow_list(tmp_path: Path) -> None:
    reg = tmp_path / "registry.yaml"
    reg.write_text("name: Test CSP  # the partnership\ntrials: []\n")
    new_trial(reg, "first-trial")
    text = reg.read_text()
    assert "# the partnership" in text
    assert "\n  - id: first-trial\n" in text
    assert check_registry(reg).problems == []


def test_new_trial_refusals(registry_path: Path) -> None:
    before = registry_path.read_text()
    with pytest.raises(OverwriteError, match="already registered"):
        new_trial(registry_path, "hotspot-patrol")
    (registry_path.parent / "trials/stray").mkdir()
    with pytest.raises(OverwriteError, match="already exists"):
        new_trial(registry_path, "stray")
    with pytest.raises(InputError, match="not a valid trial id"):
        new_trial(registry_path, "Bad Id")
    with pytest.raises(InputError, match="unknown intervention type 'drones'"):
        new_trial(registry_path, "drone-trial", intervention="drones")
    assert registry_path.read_text() == before
    assert not (registry_path.parent / "trials/drone-trial").exists()
