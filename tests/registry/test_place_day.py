"""Place-day (crossover) registrations: impossible or inconsistent schemes are found by
`triplet validate`, each at the file and line of the field concerned."""

from __future__ import annotations

from pathlib import Path

import pytest

from triplet.cli.main import main
from triplet.errors import InputError
from triplet.registry import load_trial
from triplet.registry.models import PlaceDay

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (REPO / "trials/patrol-days/trial.yaml").read_text()


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "trial.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_trial(path)
    return [str(p) for p in info.value.problems]


def line_of(text: str, start: str) -> int:
    """1-based line of the first line of ``text`` that starts with ``start``."""
    return next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith(start))


def edit(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


def test_the_shipped_place_day_trial_validates() -> None:
    t = load_trial(REPO / "trials/patrol-days/trial.yaml").trial
    assert t.design.method.value == "place_day"
    assert t.design.place_day == PlaceDay(treated_per_day=5, max_consecutive=2, washout_days=1)
    # long-run capacity: 20 places, runs of 2 then 1 day off -> 20 * 2 / 3 places a day
    assert t.design.place_day.capacity(20) == pytest.approx(40 / 3)


def test_more_treated_a_day_than_places(tmp_path: Path) -> None:
    text = edit("treated_per_day: 5 ", "treated_per_day: 20 ")
    [p] = problems(tmp_path, text)
    assert p.startswith(f"{tmp_path / 'trial.yaml'}:{line_of(text, 'design:')}: design: ")
    assert "treated_per_day is 20 but the trial has 20 places" in p


def test_more_treated_a_day_than_the_scheme_can_give(tmp_path: Path) -> None:
    # 20 places, runs of 1 day and 3 washout days: each place at most 1 day in 4 -> 5 a day
    text = edit("max_consecutive: 2 ", "max_consecutive: 1 ").replace(
        "washout_days: 1 ", "washout_days: 3 "
    )
    text = text.replace("treated_per_day: 5 ", "treated_per_day: 6 ")
    [p] = problems(tmp_path, text)
    assert f":{line_of(text, 'design:')}: design: " in p
    assert "at most 5.0 places a day are eligible" in p


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("max_consecutive: 2 ", "max_consecutive: 0 ", "max_consecutive", "greater than or"),
        ("washout_days: 1 ", "washout_days: -1 ", "washout_days", "greater than or"),
        ("treated_per_day: 5 ", "treated_per_day: 0 ", "treated_per_day", "greater than or"),
    ],
)
def test_rule_out_of_range_at_its_line(tmp_path, old, new, field, message) -> None:
    text = edit(old, new)
    [p] = problems(tmp_path, text)
    assert p.startswith(
        f"{tmp_path / 'trial.yaml'}:{line_of(text, f'    {field}:')}: design.place_day.{field}: "
    )
    assert message in p


def test_dates_and_shifts(tmp_path: Path) -> None:
    text = edit(
        "    washout_days: 1 ",
        "    start: 2025-08-10\n    end: 2025-08-01\n"
        "    shifts: [{name: late, start: '15:00'}, {name: early, start: '07:00'}]\n"
        "    washout_days: 1 ",
    )
    got = problems(tmp_path, text)
    assert any(
        f":{line_of(text, '    end:')}: design.place_day.end: " in p and "before start" in p
        for p in got
    )
    assert any(
        f":{line_of(text, '    shifts:')}: design.place_day.shifts: " in p and "order" in p
        for p in got
    )


def test_days_outside_the_treatment_months(tmp_path: Path) -> None:
    text = edit("    washout_days: 1 ", "    end: 2025-10-03\n    washout_days: 1 ")
    [p] = problems(tmp_path, text)
    assert f":{line_of(text, 'periods:')}: periods: " in p
    assert "outside the treatment months 2025-07..2025-09" in p


def test_method_and_section_go_together(tmp_path: Path) -> None:
    text = edit("  method: place_day", "  method: complete")
    [p] = problems(tmp_path, text)
    assert f":{line_of(text, '  place_day:')}: design.place_day: " in p
    assert "needs method place_day, not complete" in p
    # and the other way round: method place_day without the section
    start, end = SHIPPED.index("  place_day:\n"), SHIPPED.index("\nperiods:")
    text = SHIPPED[:start] + SHIPPED[end:]
    [p] = problems(tmp_path, text)
    assert "design.place_day" in p and "needs a place_day section" in p


def test_estimators_fit_the_design(tmp_path: Path) -> None:
    text = edit("  primary: place_day", "  primary: twfe_did")
    [p] = problems(tmp_path, text)
    assert f":{line_of(text, 'analysis:')}: analysis: " in p
    assert "place_day estimator only" in p
    hotspot = (REPO / "trials/hotspot-patrol/trial.yaml").read_text()
    text = hotspot.replace("    - poisson_did\n", "    - poisson_did\n    - place_day\n", 1)
    [p] = problems(tmp_path, text)
    assert "the place_day estimator needs design.method place_day" in p


def test_no_follow_up_for_a_place_day_trial(tmp_path: Path) -> None:
    text = edit(
        "  treatment: {start: 2025-07, end: 2025-09}",
        "  treatment: {start: 2025-07, end: 2025-09}\n  follow_up: {start: 2025-10, end: 2025-12}",
    )
    [p] = problems(tmp_path, text)
    assert "periods" in p and "no follow_up" in p


def test_validate_command_reports_file_and_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "trials/patrol-days").mkdir(parents=True)
    (tmp_path / "registry.yaml").write_text(
        "name: test\ntrials:\n  - id: patrol-days\n    folder: trials/patrol-days\n"
        "    intervention: hot_spot_micro_patrol\n"
    )
    text = edit("treated_per_day: 5 ", "treated_per_day: 25 ")
    path = tmp_path / "trials/patrol-days/trial.yaml"
    path.write_text(text)
    assert main(["validate", str(tmp_path / "registry.yaml")]) == 1
    err = capsys.readouterr()
    out = err.out + err.err
    assert f"{path}:{line_of(text, 'design:')}" in out.replace("\n", "")
    assert "treated_per_day is 25" in out.replace("\n", "")
