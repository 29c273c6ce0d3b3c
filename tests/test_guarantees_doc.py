"""docs/guarantees.md names the test that holds each promise: every one must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "guarantees.md"


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_named_test_exists():
    refs = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", DOC.read_text(encoding="utf-8"))
    assert len(refs) >= 30
    missing = [
        f"{file}::{name}"
        for file, name in refs
        if not (REPO / file).exists() or name not in _tests_in(REPO / file)
    ]
    assert missing == []


def test_guarantees_are_linked_from_the_index():
    assert "(guarantees.md)" in (REPO / "docs" / "index.md").read_text(encoding="utf-8")
