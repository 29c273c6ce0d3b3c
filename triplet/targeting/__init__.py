"""Targeting: where, when, by and against whom harm concentrates (Sherman 2013).

- :mod:`~triplet.targeting.harm`: harm indices (Cambridge Crime Harm Index, ONS CSS, custom)
- :mod:`~triplet.targeting.ranking`: rank places, times, offenders and victims by harm
- :mod:`~triplet.targeting.concentration`: Lorenz, Gini, the Felonious Few, repeat persons
- :mod:`~triplet.targeting.priority`: the Priority Localities Index
- :mod:`~triplet.targeting.candidates`: candidate units for trials, with buffer rings
"""

from triplet.targeting.candidates import Candidates, select_candidates
from triplet.targeting.concentration import (
    ConcentrationReport,
    concentration,
    gini,
    lorenz_curve,
    units_for_share,
)
from triplet.targeting.harm import HarmIndex, HarmScores, harm_of, load_index
from triplet.targeting.priority import PLIConfig, PriorityIndex, load_pli_config, priority_index
from triplet.targeting.ranking import (
    Ranking,
    grid_cell_centres,
    grid_cells,
    hot_spots,
    hour_of_week,
    rank_units,
)

__all__ = [
    "Candidates",
    "ConcentrationReport",
    "HarmIndex",
    "HarmScores",
    "PLIConfig",
    "PriorityIndex",
    "Ranking",
    "concentration",
    "gini",
    "grid_cell_centres",
    "grid_cells",
    "harm_of",
    "hot_spots",
    "hour_of_week",
    "load_index",
    "load_pli_config",
    "lorenz_curve",
    "priority_index",
    "rank_units",
    "select_candidates",
    "units_for_share",
]
