"""Power guard for ``triplet assign``: is the registered trial able to see its minimum effect?

Before units are assigned, the registered design is diagnosed by simulation on the trial's own
baseline months (:func:`triplet.testing.diagnosis.diagnose`; Blair, Cooper, Coppock &
Humphreys 2019): the power of the registered decision rule to call a reduction when the true
effect is the registered minimum effect (``analysis.minimum_effect.reduction``), the
simulated minimum detectable effect at the registered target power (``power.target``), and the
rule's error rates under no effect. When the power is below the target, ``triplet assign``
warns loudly (``--require-power`` refuses); the check is recorded in ``lock.json``
(``power_check``) and shown in the effect report and on the Board.

An underpowered trial is not useless, but a "no clear change" from it says little: the Board
should know before the patrols start (Weisburd, Petrosino & Mason 1993 on the design
sensitivity of criminal justice experiments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from triplet.io import jsonable
from triplet.registry.loading import TrialFile
from triplet.registry.models import DesignMethod
from triplet.testing.diagnosis import Diagnosis, diagnose
from triplet.testing.units import UnitTable

__all__ = ["PowerCheck", "power_check"]

#: Simulated trials for the guard (Monte-Carlo SE of a power near 0.8: about 0.018).
GUARD_SIMS = 500


@dataclass(frozen=True)
class PowerCheck:
    """Simulated power at the registered minimum effect against the registered target."""

    power: float
    target: float
    reduction: float
    simulated_mde: float
    null_reduction_rate: float
    null_increase_rate: float
    n_sims: int
    seed: int
    method: str
    outcome: str
    note: str | None = None

    @property
    def below_target(self) -> bool:
        return not self.power >= self.target

    def warning(self) -> str | None:
        """The loud warning, or None when the target is met."""
        if not self.below_target:
            return None
        mde = (
            f"the smallest reduction it would detect with power {self.target:.0%} is about "
            f"{self.simulated_mde:.0%}"
            if math.isfinite(self.simulated_mde)
            else f"no reduction on the simulated grid reaches power {self.target:.0%}"
        )
        return (
            f"UNDERPOWERED: simulated power to find the registered minimum effect (a "
            f"{self.reduction:.0%} fall in {self.outcome}) is {self.power:.2f}, below the "
            f"registered target {self.target:.2f}; {mde}. A 'no clear change' from this trial "
            "will say little. Consider more units or months, a larger minimum effect, or record "
            "why the trial runs anyway."
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "power": self.power,
                "target": self.target,
                "reduction": self.reduction,
                "simulated_mde": self.simulated_mde,
                "null_reduction_rate": self.null_reduction_rate,
                "null_increase_rate": self.null_increase_rate,
                "n_sims": self.n_sims,
                "seed": self.seed,
                "method": self.method,
                "outcome": self.outcome,
                "below_target": self.below_target,
                "warning": self.warning(),
                "note": self.note,
            }
        )

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def plot(self, ax=None):
        """Power against the target (a bar and a line)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 2))
        ax.barh(["power"], [self.power], color="#c0392b" if self.below_target else "#1a7f37")
        ax.axvline(self.target, color="black", ls="--", label="target")
        ax.set_xlim(0, 1)
        ax.legend(frameon=False)
        return ax


def power_check(tf: TrialFile, ut: UnitTable, *, n_sims: int = GUARD_SIMS) -> PowerCheck:
    """Diagnose the registered design at its minimum effect (see the module docstring)."""
    from triplet.testing.workflow import _matched_sets_as_blocks

    trial = tf.trial
    units, design, label, note = ut.units, trial.design, None, None
    if design.method is DesignMethod.matched_control:
        units, design = _matched_sets_as_blocks(ut.units, design)
        label = "matched_control (as if randomised within matched sets)"
        note = (
            "Matched controls are not randomised: this power is that of the matched comparison "
            "if it were unbiased; selection bias is not simulated."
        )
    baseline = ut.baseline[ut.baseline["unit"].isin(set(units["unit"]))]
    diag: Diagnosis = diagnose(
        baseline,
        units,
        design,
        outcome=trial.outcomes.primary.measure,
        reduction=trial.analysis.minimum_effect.reduction,
        n_sims=n_sims,
        alpha=trial.analysis.alpha,
        target=trial.power.target,
        label=label,
        note=note,
        workers=1,
    )
    return PowerCheck(
        power=diag.reduction_power,
        target=trial.power.target,
        reduction=trial.analysis.minimum_effect.reduction,
        simulated_mde=diag.simulated_mde,
        null_reduction_rate=diag.null_reduction_rate,
        null_increase_rate=diag.null_increase_rate,
        n_sims=n_sims,
        seed=diag.seed,
        method=diag.method,
        outcome="harm" if trial.outcomes.primary.measure == "harm" else "crimes",
        note=note,
    )
