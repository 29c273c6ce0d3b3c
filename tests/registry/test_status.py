"""The lifecycle: forward only, and only the status line is rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from triplet.errors import InputError, StateError
from triplet.registry import Status, load_trial, set_status
from triplet.registry.status import next_statuses


def test_forward_move_rewrites_only_the_status_line(registry_path: Path) -> None:
    path = registry_path.parent / "trials/hotspot-patrol/trial.yaml"
    before = path.read_text().splitlines(keepends=True)
    tf = set_status(load_trial(path), Status.assigned)
    assert tf.trial.status is Status.assigned
    after = path.read_text().splitlines(keepends=True)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 1
    assert before[changed[0]] == "status: registered\n"
    assert after[changed[0]] == "status: assigned\n"


def test_comment_and_quotes_on_the_status_line_kept(tiny_trial: Path) -> None:
    text = tiny_trial.read_text().replace(
        "status: draft", 'status: "draft"   # moved on by triplet\nregistered: 2024-01-02'
    )
    tiny_trial.write_text(text)
    set_status(load_trial(tiny_trial), "registered")
    assert 'status: "registered"   # moved on by triplet\n' in tiny_trial.read_text()
    assert tiny_trial.read_text().replace('"registered"', '"draft"') == text


def test_status_line_added_when_omitted(tiny_trial: Path) -> None:
    text = tiny_trial.read_text().replace("status: draft\n", "") + "registered: 2024-01-02\n"
    tiny_trial.write_text(text)
    assert load_trial(tiny_trial).trial.status is Status.draft
    tf = set_status(load_trial(tiny_trial), Status.completed)
    lines = tiny_trial.read_text().splitlines()
    assert lines[:3] == ["id: tiny-trial", "title: A tiny trial", "status: completed"]
    assert tf.trial.status is Status.completed


@pytest.mark.parametrize("target", [Status.draft, Status.registered])
def test_backward_and_same_moves_refused(registry_path: Path, target: Status) -> None:
    path = registry_path.parent / "trials/offender-focus/trial.yaml"
    before = path.read_bytes()
    with pytest.raises(StateError, match="only move forward"):
        set_status(load_trial(path), target)
    assert path.read_bytes() == before


def test_status_is_read_from_disk_not_from_a_stale_copy(registry_path: Path) -> None:
    path = registry_path.parent / "trials/offender-focus/trial.yaml"
    stale = load_trial(path)
    set_status(stale, Status.in_field)
    with pytest.raises(StateError, match="cannot move back from in_field to assigned"):
        set_status(stale, Status.assigned)


def test_move_that_would_invalidate_the_file_is_refused(tiny_trial: Path) -> None:
    before = tiny_trial.read_bytes()
    with pytest.raises(InputError, match="registered: status registered needs a registered date"):
        set_status(load_trial(tiny_trial), Status.registered)
    assert tiny_trial.read_bytes() == before


def test_unknown_status(tiny_trial: Path) -> None:
    with pytest.raises(StateError, match="unknown status 'done'"):
        set_status(load_trial(tiny_trial), "done")


def test_next_statuses() -> None:
    assert next_statuses(Status.completed) == [Status.analysed]
    assert next_statuses(Status.analysed) == []
    assert next_statuses(Status.draft)[0] is Status.registered


@pytest.mark.parametrize("start", list(Status), ids=lambda s: s.value)
@pytest.mark.parametrize("target", list(Status), ids=lambda s: s.value)
def test_every_pair_of_statuses(tiny_trial: Path, start: Status, target: Status) -> None:
    text = tiny_trial.read_text().replace(
        "status: draft", f"status: {start.value}  # lifecycle\nregistered: 2023-12-01"
    )
    tiny_trial.write_text(text)
    if target.order > start.order:
        assert set_status(load_trial(tiny_trial), target).trial.status is target
        after = tiny_trial.read_text()
        assert after == text.replace(f"status: {start.value}  #", f"status: {target.value}  #")
    else:
        with pytest.raises(StateError):
            set_status(load_trial(tiny_trial), target)
        assert tiny_trial.read_text() == text
