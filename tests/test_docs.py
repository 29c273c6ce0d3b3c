"""`make docs`: the generated trial.yaml reference and schema are current and complete."""

from __future__ import annotations

from pathlib import Path

from triplet.docs import main, render_trial_reference
from triplet.registry.models import Trial

REPO = Path(__file__).resolve().parents[1]


def test_shipped_docs_are_up_to_date() -> None:
    assert main([str(REPO / "docs"), "--check"]) == 0


def test_check_reports_stale_docs_and_regenerates(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--check"]) == 1
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path), "--check"]) == 0
    assert (tmp_path / "trial-yaml.md").read_text() == render_trial_reference()


def test_reference_lists_every_field_with_a_description() -> None:
    text = render_trial_reference()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {row.split("`")[1] for row in rows}
    for name in Trial.model_fields:
        assert name in documented
    for path in (
        "design.seed",
        "outcomes.primary.crime_types",
        "analysis.minimum_effect.rope",
        "periods.baseline.start",
        "data_protection.pseudonymised",
    ):
        assert path in documented
    assert "data_sources[].uri" in documented
    assert all(not row.rstrip().endswith("|  |") for row in rows), "a field lacks a description"
