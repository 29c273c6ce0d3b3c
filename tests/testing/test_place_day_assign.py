"""`triplet assign` on the place-day (crossover) example trial: the unit x day schedule is a
pure function of the registration and the seed, locked, and never silently overwritten."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from triplet.cli.main import main
from triplet.errors import InputError, StateError
from triplet.registry import check_lock, find_trial, read_lock
from triplet.registry.models import Status
from triplet.testing.crossover import PlaceDayRules, assign_place_days, read_schedule
from triplet.testing.workflow import assign_trial

TRIAL = "patrol-days"


def _runs(flags: np.ndarray) -> list[int]:
    """Lengths of the runs of True in a 1-d bool array."""
    runs, n = [], 0
    for f in flags:
        if f:
            n += 1
        elif n:
            runs.append(n)
            n = 0
    return runs + ([n] if n else [])


def test_schedule_is_the_seeded_scheme_and_follows_the_rules(registry_copy):
    rep = assign_trial(registry_copy, TRIAL, dry_run=True)
    t = rep.assignment.table
    scheme = find_trial(registry_copy, TRIAL).trial.design.place_day
    units = sorted(rep.units.units["unit"])
    assert len(units) == 20 and list(t.columns) == ["unit", "day", "treated", "washout"]
    days = sorted(t["day"].unique())
    assert days[0] == "2025-07-01" and days[-1] == "2025-09-30" and len(days) == 92
    # the same draw as the library's, from the design seed alone
    rules = PlaceDayRules(5, 2, 1)
    direct = assign_place_days(units, days, rules, seed=20250616).table
    assert t[["treated", "washout"]].equals(direct[["treated", "washout"]])
    assert (t.groupby("day")["treated"].sum() == scheme.treated_per_day).all()
    for _, g in t.groupby("unit"):
        tr, wo = g["treated"].to_numpy(), g["washout"].to_numpy()
        assert max(_runs(tr)) <= scheme.max_consecutive
        # the day after every treated run (inside the trial) is a washout day
        ends = np.flatnonzero(tr[:-1] & ~tr[1:])
        assert wo[ends + 1].all()
        assert not (tr & wo).any()


def test_assign_writes_locks_and_refuses_a_second_time(registry_copy, capsys):
    folder = registry_copy.parent / "trials" / TRIAL
    assert main(["assign", TRIAL, "--registry", str(registry_copy)]) == 0
    assert "place-day schedule, seed 20250616" in capsys.readouterr().out.replace("\n", " ")
    tf = find_trial(registry_copy, TRIAL)
    assert tf.trial.status is Status.assigned
    data = (folder / "assignment.csv").read_bytes()
    lock = read_lock(tf)
    assert lock["assignment_sha256"] == hashlib.sha256(data).hexdigest()
    assert lock["method"] == "place_day" and lock["seed"] == 20250616
    assert lock["n_units"] == 20 and lock["n_days"] == 92
    assert lock["n_treated_place_days"] == 5 * 92
    assert (
        lock["n_treated_place_days"] + lock["n_washout_place_days"] + lock["n_control_place_days"]
        == 20 * 92
    )
    assert lock["registration"]["design"]["place_day"]["washout_days"] == 1
    assert check_lock(tf) == []
    back = read_schedule(folder / "assignment.csv")
    assert int(back["treated"].sum()) == lock["n_treated_place_days"]
    # a second assign is refused and leaves the schedule alone
    assert main(["assign", TRIAL, "--registry", str(registry_copy)]) == 1
    assert "already assigned" in capsys.readouterr().err
    assert (folder / "assignment.csv").read_bytes() == data
    # a changed rule after the lock is caught at its line
    path = folder / "trial.yaml"
    path.write_text(path.read_text().replace("washout_days: 1 ", "washout_days: 2 "))
    [p] = check_lock(find_trial(registry_copy, TRIAL))
    assert p.field == "design.place_day.washout_days" and p.line is not None


def test_foreign_schedule_without_lock_is_refused(registry_copy):
    folder = registry_copy.parent / "trials" / TRIAL
    (folder / "assignment.csv").write_text("unit,day,treated,washout\nx,2025-07-01,1,0\n")
    with pytest.raises(StateError, match=r"no lock\.json"):
        assign_trial(registry_copy, TRIAL)
    assert not (folder / "lock.json").exists()
    assert (folder / "assignment.csv").read_text().startswith("unit,day,treated,washout\nx,")


def test_interrupted_run_resumes_only_with_the_same_schedule(registry_copy):
    folder = registry_copy.parent / "trials" / TRIAL
    first = assign_trial(registry_copy, TRIAL, dry_run=True)
    from triplet.testing.workflow import place_day_csv_bytes

    (folder / "assignment.csv").write_bytes(place_day_csv_bytes(first.assignment))
    rep = assign_trial(registry_copy, TRIAL)  # killed before the lock: resumed
    assert rep.resumed and "byte-identical" in rep.resumed
    assert read_lock(find_trial(registry_copy, TRIAL)) is not None


def test_too_many_treated_for_the_eligible_places_is_found_at_assign(registry_copy):
    # without units.n_units the number of places is known only from the data
    path = registry_copy.parent / "trials" / TRIAL / "trial.yaml"
    text = path.read_text().replace("  n_units: 20\n", "")
    text = re.sub(r"min_baseline_count: 100", "min_baseline_count: 1000", text)
    path.write_text(text)
    with pytest.raises(InputError) as info:
        assign_trial(registry_copy, TRIAL, dry_run=True)
    [p] = info.value.problems
    assert p.field == "design.place_day.treated_per_day" and p.file == str(path)
    assert "places are eligible" in p.message


def test_shifts_are_randomised_slot_by_slot(registry_copy):
    path = registry_copy.parent / "trials" / TRIAL / "trial.yaml"
    text = path.read_text().replace(
        "    washout_days: 1 ",
        "    end: 2025-07-14\n"
        "    shifts: [{name: day, start: '07:00'}, {name: night, start: '19:00'}]\n"
        "    washout_days: 1 ",
    )
    path.write_text(text)
    t = assign_trial(registry_copy, TRIAL, dry_run=True).assignment.table
    assert list(t.columns) == ["unit", "day", "shift", "treated", "washout"]
    assert len(t) == 20 * 14 * 2
    assert (t.groupby(["day", "shift"])["treated"].sum() == 5).all()
    # runs are counted in shifts: a place is treated at most 2 shifts in a row
    for _, g in t.groupby("unit", sort=False):
        assert max(_runs(g["treated"].to_numpy())) <= 2
