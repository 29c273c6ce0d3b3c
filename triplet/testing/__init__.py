"""Testing: fair comparisons (Sherman 2013, the second T).

- :mod:`~triplet.testing.units`: the unit table (baseline harm, count, trend, harm tiers,
  covariates) with eligibility and the CONSORT flow.
- :mod:`~triplet.testing.assignment`: simple, complete, block, matched-pair, cluster,
  block-cluster and re-randomised assignment, matched controls, and ``draw_assignments`` (the
  registered procedure redrawn many times, for randomisation inference).
- :mod:`~triplet.testing.balance`: standardised mean differences, variance ratios, the
  Hansen & Bowers (2008) omnibus test, love plot.
- :mod:`~triplet.testing.power`: analytic power and minimum detectable effects.
- :mod:`~triplet.testing.diagnosis`: design diagnosis by simulation.
- :mod:`~triplet.testing.workflow`: ``triplet assign`` and ``triplet design``.
"""

from triplet.testing.assignment import (
    Assignment,
    assign,
    design_probabilities,
    design_structure,
    draw_assignments,
    harm_tiers,
    read_assignment,
)
from triplet.testing.balance import BalanceResult, balance
from triplet.testing.diagnosis import Diagnosis, diagnose
from triplet.testing.power import CountDesign, PowerDesign, mde, mde_counts, power, power_counts

__all__ = [
    "Assignment",
    "BalanceResult",
    "CountDesign",
    "Diagnosis",
    "PowerDesign",
    "assign",
    "balance",
    "design_probabilities",
    "design_structure",
    "diagnose",
    "draw_assignments",
    "harm_tiers",
    "mde",
    "mde_counts",
    "power",
    "power_counts",
    "read_assignment",
]
