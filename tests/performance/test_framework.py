"""performance.yaml: validation with file:line errors, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triplet.errors import InputError
from triplet.performance.framework import load_framework, render_schema

REPO = Path(__file__).resolve().parents[2]


def test_example_framework_loads(repo_root):
    ff = load_framework(repo_root / "performance.yaml")
    fw = ff.framework
    assert [i.id for i in fw.indicators][:2] == ["harm-priority-localities", "harm-hot-spots"]
    assert fw.simulated_shift.indicator == "burglary"
    assert fw.populations["felonious-few"].is_person


def _problems(tmp_path, text: str) -> list[str]:
    p = tmp_path / "performance.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_framework(p)
    return [str(x) for x in exc.value.problems]


BASE = """\
name: t
records: example://borough
selection: {start: 2022-01, end: 2022-12}
baseline: {start: 2023-01, end: 2024-12}
populations:
  borough: {kind: borough}
indicators:
  - id: crimes
    title: Crimes
    measure: count
    population: borough
    owner: CSP
"""


def test_valid_minimal_framework(tmp_path):
    p = tmp_path / "performance.yaml"
    p.write_text(BASE, encoding="utf-8")
    assert load_framework(p).framework.indicators[0].chart == "seasonal"


def test_typo_is_reported_with_its_line_and_a_suggestion(tmp_path):
    text = BASE.replace("    owner: CSP", "    owner: CSP\n    tagret: 5")
    (msg,) = _problems(tmp_path, text)
    assert msg.endswith(
        "performance.yaml:13: indicators.0.tagret: unknown field (did you mean 'target'?)"
    )


def test_unknown_population_named_at_its_line(tmp_path):
    (msg,) = _problems(tmp_path, BASE.replace("population: borough", "population: boro"))
    assert ":11: indicators.0.population: population 'boro' is not defined" in msg


def test_wrong_fields_for_a_population_kind(tmp_path):
    (msg,) = _problems(tmp_path, BASE.replace("{kind: borough}", "{kind: borough, top: 5}"))
    assert ":6: populations.borough:" in msg and "top not used by kind borough" in msg


def test_selection_overlapping_the_baseline_is_refused_for_ranked_populations(tmp_path):
    text = BASE.replace("{start: 2022-01, end: 2022-12}", "{start: 2022-01, end: 2023-06}")
    text = text.replace(
        "  borough: {kind: borough}", "  borough: {kind: priority_localities, top: 5}"
    )
    (msg,) = _problems(tmp_path, text)
    assert ":3: selection.end:" in msg and "regression to the mean" in msg


def test_month_format_and_missing_files(tmp_path):
    msgs = _problems(tmp_path, BASE.replace("end: 2024-12", "end: 2024-13x"))
    assert any(":4: baseline.end: should be a month written YYYY-MM" in m for m in msgs)
    msgs = _problems(tmp_path, BASE.replace("example://borough", "nowhere.csv"))
    assert any(":2: records: file not found: nowhere.csv" in m for m in msgs)


def test_simulated_shift_only_for_example_records(tmp_path):
    (tmp_path / "r.csv").write_text("x\n", encoding="utf-8")
    text = BASE.replace("example://borough", "r.csv") + (
        "simulated_shift: {indicator: crimes, start: 2025-01, rate_ratio: 0.8}\n"
    )
    (msg,) = _problems(tmp_path, text)
    assert "simulated_shift" in msg and "synthetic" in msg


def test_funnel_needs_denominators_and_counts(tmp_path):
    text = BASE.replace("    owner: CSP", "    owner: CSP\n    funnel: true")
    (msg,) = _problems(tmp_path, text)
    assert "indicators.0" in msg and "denominators" in msg


def test_harm_index_only_on_harm_indicators(tmp_path):
    text = BASE.replace("    owner: CSP", "    owner: CSP\n    harm_index: ons_css")
    (msg,) = _problems(tmp_path, text)
    assert ":13: indicators.0.harm_index: only a harm measure takes a harm index" in msg


def test_committed_schema_is_current():
    committed = (REPO / "docs" / "performance.schema.json").read_text(encoding="utf-8")
    assert committed == render_schema(), (
        "regenerate: triplet monitor --schema > docs/performance.schema.json"
    )
    schema = json.loads(committed)
    assert "indicators" in schema["required"]
