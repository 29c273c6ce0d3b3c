"""Power guard in `triplet assign`: warn, refuse with --require-power, record in the lock."""

from __future__ import annotations

import re

import pytest

from triplet.cli.main import main
from triplet.errors import StateError
from triplet.registry import find_trial, read_lock
from triplet.testing.power_guard import power_check
from triplet.testing.units import unit_table
from triplet.testing.workflow import assign_trial

TRIAL = "hotspot-patrol"  # registers a 10% minimum effect; simulated power about 0.15


def test_underpowered_trial_warns_and_the_lock_records_it(registry_copy, capsys):
    assert main(["assign", TRIAL, "--registry", str(registry_copy), "--power-sims", "300"]) == 0
    out = capsys.readouterr().out
    assert "UNDERPOWERED" in out and "below the registered target 0.80" in out
    lock = read_lock(find_trial(registry_copy, TRIAL))
    pc = lock["power_check"]
    assert pc["below_target"] is True and pc["power"] < 0.5 and pc["target"] == 0.8
    assert pc["reduction"] == 0.1 and pc["n_sims"] == 300
    assert pc["warning"].startswith("UNDERPOWERED")
    # the rule's error rates under no effect are recorded beside the power
    assert 0 <= pc["null_reduction_rate"] <= 0.06


def test_require_power_refuses_and_writes_nothing(registry_copy):
    folder = registry_copy.parent / "trials" / TRIAL
    before = {p.name for p in folder.iterdir()}
    with pytest.raises(StateError, match="--require-power: UNDERPOWERED"):
        assign_trial(registry_copy, TRIAL, require_power=True, power_sims=200)
    assert {p.name for p in folder.iterdir()} == before
    assert (
        main(
            [
                "assign",
                TRIAL,
                "--registry",
                str(registry_copy),
                "--require-power",
                "--power-sims",
                "200",
            ]
        )
        == 1
    )


def test_adequate_power_passes_require_power(registry_copy):
    path = registry_copy.parent / "trials" / TRIAL / "trial.yaml"
    text = path.read_text()
    text = re.sub(r"reduction: 0\.1 ", "reduction: 0.6 ", text)
    path.write_text(text)
    rep = assign_trial(registry_copy, TRIAL, require_power=True, power_sims=200)
    assert rep.power_check["below_target"] is False and rep.power_check["warning"] is None
    assert rep.power_check["power"] >= 0.8


def test_power_check_agrees_with_the_design_diagnosis(registry_copy):
    """Same simulation seed and draws as `triplet design`: the same power at the same effect."""
    from triplet.testing.workflow import design_trial

    tf = find_trial(registry_copy, TRIAL)
    pc = power_check(tf, unit_table(tf), n_sims=200)
    d = design_trial(registry_copy, TRIAL, n_sims=200, write=False).diagnosis
    assert pc.power == pytest.approx(d.reduction_power)
    assert pc.simulated_mde == pytest.approx(d.simulated_mde)
