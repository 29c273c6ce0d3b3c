"""Loading trial.yaml and registry.yaml: every problem, at its exact line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.registry import check_registry, find_trial, load_registry, load_trial
from triplet.registry.models import Status


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_trial(path)
    return [str(p) for p in info.value.problems]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trial.yaml"
    path.write_text(text)
    return path


def test_minimal_trial_loads(tiny_trial: Path) -> None:
    tf = load_trial(tiny_trial)
    assert tf.trial.id == "tiny-trial"
    assert tf.trial.status is Status.draft
    assert tf.dir == tiny_trial.parent
    assert tf.lock_path == tiny_trial.parent / "lock.json"
    # no registry.yaml above it: data-source paths resolve against the trial's own folder
    assert tf.root == tiny_trial.parent


def test_every_problem_reported_at_its_line(tmp_path: Path, minimal_text: str) -> None:
    text = (
        minimal_text.replace("title: A tiny trial\n", "")  # missing field
        .replace("  seed: 1", "  seed: -5\n  n_tier: 4")  # bad value, misspelt key
        .replace("    measure: harm", "    measure: harms")  # not in the vocabulary
        .replace("  type: cctv", "  type: drones")
    )
    lines = text.splitlines()
    seed_line = lines.index("  seed: -5") + 1
    tier_line = lines.index("  n_tier: 4") + 1
    measure_line = lines.index("    measure: harms") + 1
    type_line = lines.index("  type: drones") + 1
    problems = problems_of(write(tmp_path, text))
    path = tmp_path / "trial.yaml"
    assert f"{path}:1: title: required field is missing" in problems
    assert (
        f"{path}:{seed_line}: design.seed: Input should be greater than or equal to 0 (got -5)"
        in problems
    )
    assert f"{path}:{tier_line}: design.n_tier: unknown field (did you mean 'n_tiers'?)" in problems
    assert any(
        p.startswith(f"{path}:{measure_line}: outcomes.primary.measure: ") and "'harms'" in p
        for p in problems
    )
    assert any(p.startswith(f"{path}:{type_line}: intervention.type: ") for p in problems)
    assert len(problems) == 5


def test_items_of_lists_are_located(tmp_path: Path, minimal_text: str) -> None:
    text = minimal_text.replace(
        "data_sources:\n  - name: Records\n    kind: records\n",
        "data_sources:\n  - name: Records\n    kind: records\n    uri: a.csv\n  - name: Second\n"
        "    kind: spreadsheet\n",
    )
    lines = text.splitlines()
    problems = problems_of(write(tmp_path, text))
    kind_line = lines.index("    kind: spreadsheet") + 1
    dup_uri_line = [i + 1 for i, x in enumerate(lines) if x.startswith("    uri:")][1]
    assert any(
        p.startswith(f"{tmp_path / 'trial.yaml'}:{kind_line}: data_sources.1.kind:")
        for p in problems
    )
    # the first item now has uri twice: a duplicate key, reported before validation
    assert (
        problems
        == [
            f"{tmp_path / 'trial.yaml'}:{dup_uri_line}: data_sources.0.uri: duplicate key "
            f"(first given on line {dup_uri_line - 1})"
        ]
        or kind_line
    )


def test_duplicate_keys_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "id: a\ntitle: x\nid: b\nowner:\n  name: x\n  name: y\n")
    assert problems_of(path) == [
        f"{path}:3: id: duplicate key (first given on line 1)",
        f"{path}:6: owner.name: duplicate key (first given on line 5)",
    ]


def test_syntax_error_line(tmp_path: Path) -> None:
    path = write(tmp_path, "id: a\ntitle: [unclosed\nstatus: draft\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:")
    assert "YAML syntax error" in problem
    assert (
        "line 2" in problem or problem.startswith(f"{path}:2:") or problem.startswith(f"{path}:3:")
    )


def test_tab_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "id: a\nowner:\n\tname: x\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:3: YAML syntax error")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "file is empty"),
        ("# only a comment\n", "file is empty"),
        ("- a\n- b\n", "must be a mapping of fields (key: value), not a list"),
        ("just words\n", "not a single value (str)"),
        ("42\n", "not a single value (int)"),
        ("registered: 2023-02-30\n", "not valid YAML: day is out of range for month"),
    ],
)
def test_not_a_registration(tmp_path: Path, text: str, expected: str) -> None:
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 1
    assert expected.replace("not a single value", "a single value") in problems[0]


def test_recursive_alias_is_just_an_input_error(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, "a: &x [*x]\nb: &y {k: *y}\n"))
    assert problems[0].endswith(
        "a: unknown field (allowed here: " + problems[0].split("(allowed here: ")[1]
    )
    assert any(": id: required field is missing" in p for p in problems)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]
    (tmp_path / "bin.yaml").write_bytes(b"id: a\n\xff\xfe\x00")
    [p] = problems_of(tmp_path / "bin.yaml")
    assert p == f"{tmp_path / 'bin.yaml'}:2: not UTF-8 text (binary file?)"
    [p] = problems_of(tmp_path)
    assert p.endswith("is a folder, not a file")


def test_model_checks_point_at_the_field(tmp_path: Path, minimal_text: str) -> None:
    text = minimal_text.replace("status: draft", "status: registered")
    problems = problems_of(write(tmp_path, text))
    assert problems == [
        f"{tmp_path / 'trial.yaml'}:1: registered: status registered needs a registered date"
    ]
    text = text.replace("status: registered", "status: registered\nregistered: null")
    assert problems_of(write(tmp_path, text)) == [
        f"{tmp_path / 'trial.yaml'}:4: registered: status registered needs a registered date"
    ]
    text = minimal_text.replace("  kind: place", "  kind: person").replace(
        "  note: Aggregates only.", "  note: People.\n  pseudonymised: false"
    )
    line = text.splitlines().index("data_protection:") + 1
    assert problems_of(write(tmp_path, text)) == [
        f"{tmp_path / 'trial.yaml'}:{line}: data_protection: person-level units must be "
        "pseudonymised (pseudonymised: true)"
    ]


def test_months_dates_and_ids_explained(tmp_path: Path, minimal_text: str) -> None:
    text = minimal_text.replace("id: tiny-trial", "id: Tiny Trial").replace(
        "{start: 2022-01, end: 2022-12}", "{start: 2022-1, end: 2022-12-31}"
    )
    path = tmp_path / "trial.yaml"
    line = text.splitlines().index("  baseline: {start: 2022-1, end: 2022-12-31}") + 1
    assert problems_of(write(tmp_path, text)) == [
        f"{path}:1: id: should be a lower-case slug of 3-64 letters, digits and hyphens, e.g. "
        "hotspot-patrol (got 'Tiny Trial')",
        f"{path}:{line}: periods.baseline.end: should be text, but YAML read a date "
        "(got 2022-12-31); write a month as YYYY-MM, or quote the value",
        f"{path}:{line}: periods.baseline.start: should be a month written YYYY-MM, e.g. 2024-01 "
        "(got '2022-1')",
    ]


def test_union_errors_merged(tmp_path: Path, minimal_text: str) -> None:
    text = minimal_text.replace("    measure: harm", "    measure: harm\n    crime_types: 5")
    line = text.splitlines().index("    crime_types: 5") + 1
    assert problems_of(write(tmp_path, text)) == [
        f"{tmp_path / 'trial.yaml'}:{line}: outcomes.primary.crime_types: Input should be a "
        "valid list or Input should be 'all' (got 5)"
    ]


def test_shipped_registry_loads(repo_root: Path) -> None:
    reg = load_registry(repo_root / "registry.yaml")
    assert set(reg.trials) == {
        "hotspot-patrol",
        "neighbourhood-pop",
        "offender-focus",
        "patrol-days",  # the place-day (crossover) trial
    }
    assert "SYNTHETIC" in reg.registry.name
    for tf in reg:
        assert tf.trial.status is Status.registered
        assert tf.root == repo_root
        assert "SYNTHETIC" in tf.trial.title
        # registered in the month before the treatment starts
        start = pd.Period(tf.trial.periods.treatment.start, freq="M")
        assert tf.trial.registered is not None
        assert pd.Period(tf.trial.registered, freq="M") == start - 1
        assert tf.dir.name == tf.id


def test_find_trial(registry_path: Path) -> None:
    tf = find_trial(registry_path, "offender-focus")
    assert tf.trial.units.id_column == "suspect_id"
    with pytest.raises(InputError, match=r"no trial 'nope'.*known trials: hotspot-patrol"):
        find_trial(registry_path, "nope")


def test_find_trial_ignores_other_broken_trials(registry_path: Path) -> None:
    (registry_path.parent / "trials/hotspot-patrol/trial.yaml").write_text("broken: [")
    assert find_trial(registry_path, "offender-focus").id == "offender-focus"
    with pytest.raises(InputError):
        load_registry(registry_path)


def test_registry_consistency_problems(registry_path: Path) -> None:
    root = registry_path.parent
    text = registry_path.read_text()
    text = text.replace("folder: trials/offender-focus", "folder: trials/elsewhere")
    text = text.replace("intervention: problem_oriented_policing", "intervention: cctv")
    registry_path.write_text(text)
    shutil.copytree(root / "trials/hotspot-patrol", root / "trials/orphan")
    # the hot-spot trial renamed inside its file
    tpath = root / "trials/hotspot-patrol/trial.yaml"
    tpath.write_text(tpath.read_text().replace("id: hotspot-patrol", "id: hotspot-patrols"))
    check = check_registry(registry_path)
    messages = [str(p) for p in check.problems]
    lines = text.splitlines()
    folder_line = lines.index("    folder: trials/elsewhere") + 1
    assert (
        f"{registry_path}:{folder_line}: trials.2.folder: folder trials/elsewhere should be "
        "named after the trial id 'offender-focus'" in messages
    )
    assert any(
        m.startswith(f"{registry_path}:{folder_line}: trials.2.folder: folder not found")
        for m in messages
    )
    id_line = tpath.read_text().splitlines().index("id: hotspot-patrols") + 1
    assert any(
        m.startswith(
            f"{tpath}:{id_line}: id: id 'hotspot-patrols' differs from the "
            "registry entry 'hotspot-patrol'"
        )
        for m in messages
    )
    assert any(
        "intervention.type: intervention type problem_oriented_policing differs" in m
        for m in messages
    )
    assert any(
        m.startswith(f"{root / 'trials/orphan/trial.yaml'}: trial is not listed") for m in messages
    )
    assert any(
        m.startswith(f"{root / 'trials/offender-focus/trial.yaml'}: trial is not listed")
        for m in messages
    )
    assert len(messages) == 6
    assert set(check.trials) == {"patrol-days"}  # the place-day trial has no problem


def test_registry_entry_problems_do_not_hide_others(registry_path: Path) -> None:
    text = registry_path.read_text().replace("id: neighbourhood-pop", "id: Neighbourhood POP")
    registry_path.write_text(text)
    check = check_registry(registry_path)
    line = text.splitlines().index("  - id: Neighbourhood POP") + 1
    assert [str(p) for p in check.problems] == [
        f"{registry_path}:{line}: trials.1.id: should be a lower-case slug of 3-64 letters, "
        "digits and hyphens, e.g. hotspot-patrol (got 'Neighbourhood POP')"
    ]
    # the other entries were still read and checked
    assert set(check.trials) == {"hotspot-patrol", "offender-focus", "patrol-days"}


def test_registered_trial_needs_its_data_files(registry_path: Path) -> None:
    tpath = registry_path.parent / "trials/hotspot-patrol/trial.yaml"
    text = tpath.read_text().replace(
        "uri: example://borough/lsoas?seed=2013", "uri: data/lsoas.csv"
    )
    tpath.write_text(text)
    line = text.splitlines().index("    uri: data/lsoas.csv") + 1
    [problem] = check_registry(registry_path).problems
    assert str(problem).startswith(
        f"{tpath}:{line}: data_sources.1.uri: data source file not found: data/lsoas.csv"
    )
    (registry_path.parent / "data").mkdir()
    (registry_path.parent / "data/lsoas.csv").write_text("lsoa_code\n")
    assert check_registry(registry_path).problems == []
