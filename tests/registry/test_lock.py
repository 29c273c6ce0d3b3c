"""The lock: a frozen registration catches any later change not recorded as a deviation."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML

from triplet.errors import OverwriteError
from triplet.registry import check_lock, load_trial, read_lock, registration_sha256, write_lock
from triplet.registry.lock import changed_fields, covers, iter_locked_paths, registration
from triplet.registry.models import (
    DesignMethod,
    Estimator,
    InterventionType,
    Trial,
    UnitKind,
)
from triplet.registry.yamlio import parse_yaml

REPO = Path(__file__).resolve().parents[2]
BASE_TRIAL = load_trial(REPO / "trials/hotspot-patrol/trial.yaml").trial
BASE = BASE_TRIAL.model_dump(mode="json")


def dump(data: Any) -> str:
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def get(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def put(data: Any, path: str, value: Any) -> Any:
    data = copy.deepcopy(data)
    *head, last = path.split(".")
    node = data
    for part in head:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


VOCABULARY = [
    *(t.value for t in InterventionType),
    *(e.value for e in Estimator),
    *(m.value for m in DesignMethod),
    *(k.value for k in UnitKind),
    "block",
    "pair",
    "cluster",
    "cr2",  # analysis.inference
    "count",
    "harm",
    "units",
    "covariates",
    "other",
    "analytic",
    "ons_css",
    # delivery section (issue 16)
    "visit_log",
    "pings",
    "polygons",
    "circles",
    "UTC",
]


def candidates(value: Any) -> list[Any]:
    """Values that differ from ``value`` and might keep the registration valid."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2 + 3]
    if isinstance(value, float):
        return [value / 2, value * 1.1, value + 1]
    if isinstance(value, str):
        out = []
        if len(value) == 7 and value[4] == "-":  # a month: move it one month either way
            y, m = int(value[:4]), int(value[5:])
            out += [
                f"{y - 1}-{m:02d}",
                f"{y}-{m + 1:02d}" if m < 12 else f"{y + 1}-01",
                f"{y}-{m - 1:02d}" if m > 1 else f"{y - 1}-12",
            ]
        if len(value) == 10 and value[4] == "-":  # a date
            out.append((dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat())
        vocabulary = [v for v in VOCABULARY if v != value]
        return [*out, *vocabulary, value + "x", value + " (amended)", ["Robbery"]]
    if value is None:
        return ["x", 2, 0.5, "2024-06", ["x"], {}, "2025-07-02"]  # last: place_day.start/end
    if isinstance(value, list):
        shifts = [{"name": "early", "start": "07:00"}, {"name": "late", "start": "19:00"}]
        return [
            [*value, value[0]] if value else ["x"],
            value[:-1],
            ["Robbery"],
            ["baseline_harm"],
            shifts,  # design.place_day.shifts
        ]
    return []


def valid_mutation(path: str, base: dict | None = None) -> Any:
    base = BASE if base is None else base
    for new in candidates(get(base, path)):
        if new == get(base, path):
            continue
        try:
            Trial.model_validate(put(base, path, new))
        except ValidationError:
            continue
        return new
    return None


LOCKED_PATHS = sorted(iter_locked_paths(BASE_TRIAL))
MUTATIONS = {p: v for p in LOCKED_PATHS if (v := valid_mutation(p)) is not None}
# design.place_day (null on a block design) can only be set together with method place_day:
# its fields are mutated on the shipped place-day trial instead (PD_MUTATIONS below).
PD_TRIAL = load_trial(REPO / "trials/patrol-days/trial.yaml").trial
PD_BASE = PD_TRIAL.model_dump(mode="json")
PD_PATHS = sorted(p for p in iter_locked_paths(PD_TRIAL) if p.startswith("design.place_day."))
PD_MUTATIONS = {p: v for p in PD_PATHS if (v := valid_mutation(p, PD_BASE)) is not None}


def test_every_locked_field_can_be_mutated() -> None:
    """The property test below reaches every field of the registration (none is skipped)."""
    assert len(LOCKED_PATHS) > 80
    assert set(MUTATIONS) == set(LOCKED_PATHS) - {"design.place_day"}
    assert set(PD_MUTATIONS) == set(PD_PATHS)
    assert {f"design.place_day.{k}" for k in ("treated_per_day", "washout_days")} <= set(PD_PATHS)
    assert "design.seed" in MUTATIONS
    assert "outcomes.primary.crime_types" in MUTATIONS
    assert not any(p.startswith(("status", "deviations")) for p in LOCKED_PATHS)


@pytest.fixture(scope="module")
def locked_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trial folder holding the base registration (every field written out) and its lock."""
    folder = tmp_path_factory.mktemp("locked") / "hotspot-patrol"
    folder.mkdir()
    (folder / "trial.yaml").write_text(dump(BASE))
    write_lock(load_trial(folder / "trial.yaml"), seed=BASE["design"]["seed"])
    return folder


def edited(locked_dir: Path, workdir: Path, data: dict) -> Path:
    folder = workdir / "hotspot-patrol"
    folder.mkdir()
    shutil.copy(locked_dir / "lock.json", folder / "lock.json")
    (folder / "trial.yaml").write_text(dump(data))
    return folder / "trial.yaml"


def parents(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@settings(max_examples=40, deadline=None)
@given(path=st.sampled_from(sorted(MUTATIONS)), data=st.data())
def test_lock_catches_any_changed_field(locked_dir: Path, path: str, data: st.DataObject) -> None:
    mutated = put(BASE, path, MUTATIONS[path])
    with tempfile.TemporaryDirectory() as d:
        trial_path = edited(locked_dir, Path(d), mutated)
        tf = load_trial(trial_path)
        problems = check_lock(tf)
        assert [p.field for p in problems] == [path]
        parsed, _ = parse_yaml(trial_path)
        expected_line = parsed.line_of([int(x) if x.isdigit() else x for x in path.split(".")])
        assert problems[0].line == expected_line
        assert problems[0].file == str(trial_path)

        # a deviation on the field, or on any parent of it, records the change
        field = data.draw(st.sampled_from([path, *parents(path)]), label="deviation field")
        deviation = {
            "date": dt.datetime.now(dt.UTC).date().isoformat(),
            "field": field,
            "reason": "Agreed by the partnership board.",
        }
        trial_path.write_text(dump({**mutated, "deviations": [deviation]}))
        assert check_lock(load_trial(trial_path)) == []

        # a deviation on another field does not
        other = data.draw(
            st.sampled_from([p for p in LOCKED_PATHS if not covers(p, path)]),
            label="unrelated deviation",
        )
        trial_path.write_text(dump({**mutated, "deviations": [{**deviation, "field": other}]}))
        assert [p.field for p in check_lock(load_trial(trial_path))] == [path]


@pytest.mark.parametrize("path", sorted(PD_MUTATIONS))
def test_lock_catches_a_changed_place_day_rule(tmp_path: Path, path: str) -> None:
    """Every field of a place-day scheme is locked: a change is reported at its line."""
    folder = tmp_path / "patrol-days"
    folder.mkdir()
    (folder / "trial.yaml").write_text(dump(PD_BASE))
    write_lock(load_trial(folder / "trial.yaml"), seed=PD_BASE["design"]["seed"])
    (folder / "trial.yaml").write_text(dump(put(PD_BASE, path, PD_MUTATIONS[path])))
    problems = check_lock(load_trial(folder / "trial.yaml"))
    assert problems and all(covers(path, p.field) for p in problems)  # shifts: one per item
    parsed, _ = parse_yaml(folder / "trial.yaml")
    for p in problems:
        assert p.line == parsed.line_of([int(x) if x.isdigit() else x for x in p.field.split(".")])


def test_two_changes_two_problems(locked_dir: Path, tmp_path: Path) -> None:
    mutated = put(put(BASE, "design.seed", 7), "periods.treatment.end", "2024-11")
    tf = load_trial(edited(locked_dir, tmp_path, mutated))
    assert sorted(p.field for p in check_lock(tf)) == ["design.seed", "periods.treatment.end"]


def test_status_deviations_and_layout_are_not_locked(locked_dir: Path, tmp_path: Path) -> None:
    # key order, comments and flow style change the text, not the registration
    reordered = dict(reversed(list(BASE.items())))
    text = "# a comment\n" + dump({**reordered, "status": "in_field"})
    folder = tmp_path / "hotspot-patrol"
    folder.mkdir()
    shutil.copy(locked_dir / "lock.json", folder / "lock.json")
    (folder / "trial.yaml").write_text(text)
    assert check_lock(load_trial(folder / "trial.yaml")) == []


def test_write_lock_content_and_refusal(tmp_path: Path, tiny_trial: Path) -> None:
    tf = load_trial(tiny_trial)
    path = write_lock(
        tf, assignment_sha256="ab" * 32, seed=1, numpy_version="2.x", bit_generator="PCG64"
    )
    assert path == tf.lock_path
    content = json.loads(path.read_text())
    assert content["registration"] == registration(tf.trial)
    assert "status" not in content["registration"]
    assert "deviations" not in content["registration"]
    assert content["registration_sha256"] == registration_sha256(tf.trial)
    assert dt.datetime.fromisoformat(content["locked_at"]).tzinfo is not None
    assert content["seed"] == 1 and content["bit_generator"] == "PCG64"
    lock = read_lock(tf)
    assert lock is not None and lock.intact and lock["assignment_sha256"] == "ab" * 32
    assert lock.get("missing", 3) == 3
    before = path.read_bytes()
    with pytest.raises(OverwriteError):
        write_lock(tf)
    assert path.read_bytes() == before
    with pytest.raises(TypeError):
        write_lock(load_trial(tiny_trial), registration_sha256="x")


def test_sha256_of_canonical_json_known_answer() -> None:
    import hashlib

    # sorted keys, no spaces: the hash does not depend on key order
    assert (
        registration_sha256({"b": 1, "a": [1, 2]})
        == hashlib.sha256(b'{"a":[1,2],"b":1}').hexdigest()
    )
    assert registration_sha256({"a": [1, 2], "b": 1}) == registration_sha256({"b": 1, "a": [1, 2]})


def test_tampered_lock(tiny_trial: Path) -> None:
    tf = load_trial(tiny_trial)
    write_lock(tf)
    content = json.loads(tf.lock_path.read_text())
    content["registration"]["design"]["seed"] = 99  # hide a change by editing the lock
    tf.lock_path.write_text(json.dumps(content))
    problems = check_lock(tf)
    assert problems[0].field == "registration_sha256"
    assert "does not match" in problems[0].message
    assert [p.field for p in problems[1:]] == ["design.seed"]


def test_unreadable_lock(tiny_trial: Path) -> None:
    tf = load_trial(tiny_trial)
    tf.lock_path.write_text('{"registration": \n')
    [problem] = check_lock(tf)
    assert problem.file == str(tf.lock_path) and problem.line == 2
    tf.lock_path.write_text('{"registration": {}}')
    [problem] = check_lock(tf)
    assert "lacks" in problem.message


def test_deviation_before_the_lock(tiny_trial: Path) -> None:
    tf = load_trial(tiny_trial)
    write_lock(tf)
    text = tiny_trial.read_text() + (
        "deviations:\n  - date: 2001-01-01\n    field: title\n    reason: Older than the lock.\n"
    )
    tiny_trial.write_text(text)
    [problem] = check_lock(load_trial(tiny_trial))
    assert problem.field == "deviations.0.date"
    assert problem.line == len(text.splitlines()) - 2


def test_deviation_recorded_before_the_lock_is_an_amendment(tiny_trial: Path) -> None:
    # A deviation already in trial.yaml when the lock is made was an amendment made before it:
    # dated earlier by nature, and accepted whatever today's date is (the example trials carry
    # one). A deviation added after the lock with an earlier date is still reported.
    tiny_trial.write_text(
        tiny_trial.read_text()
        + "deviations:\n  - date: 2001-01-01\n    field: title\n    reason: Amended.\n"
    )
    tf = load_trial(tiny_trial)
    write_lock(tf)
    assert json.loads(tf.lock_path.read_text())["deviations_at_lock"][0]["date"] == "2001-01-01"
    assert check_lock(load_trial(tiny_trial)) == []
    tiny_trial.write_text(
        tiny_trial.read_text()
        + "  - date: 2001-01-02\n    field: title\n    reason: Added later, backdated.\n"
    )
    [problem] = check_lock(load_trial(tiny_trial))
    assert problem.field == "deviations.1.date"


def test_deviation_on_a_field_that_does_not_exist(tiny_trial: Path) -> None:
    tf = load_trial(tiny_trial)
    write_lock(tf)
    text = tiny_trial.read_text().replace("  seed: 1", "  seed: 2") + (
        "deviations:\n  - date: 2999-01-01\n    field: design.sead\n    reason: Typo.\n"
    )
    tiny_trial.write_text(text)
    problems = check_lock(load_trial(tiny_trial))
    assert [p.field for p in problems] == ["design.seed", "deviations.0.field"]
    assert problems[1].line == len(text.splitlines()) - 1
    assert "'design.sead', which is not a field" in problems[1].message
    # a parent path and a list item are fields too
    for field in ("design", "data_sources.0", "design.seed"):
        tiny_trial.write_text(text.replace("design.sead", field))
        fields = [p.field for p in check_lock(load_trial(tiny_trial))]
        assert fields == ([] if field.startswith("design") else ["design.seed"])


def test_changed_fields_known_answers() -> None:
    locked = {"a": 1, "b": {"c": [1, 2], "d": "x"}, "e": [{"f": 1}, {"f": 2}], "g": 1.0}
    assert changed_fields(locked, copy.deepcopy(locked)) == []
    assert changed_fields(locked, {**locked, "a": 2}) == ["a"]
    assert changed_fields(locked, {**locked, "b": {"c": [2, 1], "d": "x"}}) == ["b.c"]
    assert changed_fields(locked, {**locked, "e": [{"f": 1}]}) == ["e.1"]
    assert changed_fields(locked, {**locked, "e": [{"f": 1}, {"f": 3}, {"f": 4}]}) == [
        "e.1.f",
        "e.2",
    ]
    assert changed_fields(locked, {**locked, "a": True}) == ["a"]  # bool is not an int here
    assert changed_fields(locked, {**locked, "g": 1}) == []  # 1.0 == 1
    # a field added by a later triplet version, left empty, is not a change
    assert changed_fields(locked, {**locked, "new": None}) == []
    assert changed_fields(locked, {**locked, "new": 5}) == ["new"]
    assert changed_fields(locked, {k: v for k, v in locked.items() if k != "a"}) == ["a"]
    assert covers("design", "design.seed") and not covers("design.se", "design.seed")
