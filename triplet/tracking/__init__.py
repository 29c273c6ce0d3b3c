"""Tracking: did the intervention work, how sure are we, and did crime move next door?

Estimators for any unit x period panel (``did``, ``event_study``, ``count_did``,
``staggered_did``), randomisation inference that re-runs the registered assignment, the
Weighted Displacement Quotient, and the ``triplet track`` workflow for registered trials.
"""

from triplet.tracking.count_models import CountDidResult, count_did
from triplet.tracking.did import DidResult, did
from triplet.tracking.displacement import WDQResult, buffer_units, wdq
from triplet.tracking.event_study import EventStudyResult, event_study
from triplet.tracking.inference import RIResult, permute_within, randomisation_inference
from triplet.tracking.staggered import StaggeredResult, staggered_did

__all__ = [
    "CountDidResult",
    "DidResult",
    "EventStudyResult",
    "RIResult",
    "StaggeredResult",
    "WDQResult",
    "buffer_units",
    "count_did",
    "did",
    "event_study",
    "permute_within",
    "randomisation_inference",
    "staggered_did",
    "wdq",
]

# Bayesian models (triplet.tracking.bayes, pooling) are imported from their own modules.
from triplet.tracking.bayes import (
    BayesianEffect,
    fit_count_model,
    fit_effect,
    fit_harm_model,
)
from triplet.tracking.pooling import PooledEffect, pool_effects, pool_results

__all__ += [
    "BayesianEffect",
    "PooledEffect",
    "fit_count_model",
    "fit_effect",
    "fit_harm_model",
    "pool_effects",
    "pool_results",
]
