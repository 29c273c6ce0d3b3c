"""Bayesian effect estimates (PyMC 6 models sampled with nutpie, ArviZ 1.x diagnostics).

* :func:`fit_effect` - the registered Bayesian analysis of a trial (count or harm model).
* :func:`fit_count_model` - hierarchical negative-binomial / Poisson DiD on any panel.
* :func:`fit_harm_model` - hurdle (any harm x lognormal size) model for harm in days.
* :class:`BayesianEffect` - the result: per cent change, intervals, P(reduction), ROPE,
  diagnostics, predictive checks; ``to_dict()`` is results.json's ``bayesian`` block.

See docs/bayes.md for the models, priors, checks and the failure rule.
"""

from triplet.tracking.bayes.diagnostics import Diagnostics, SamplerSettings, Thresholds
from triplet.tracking.bayes.effect import (
    BayesianEffect,
    fit_count_model,
    fit_effect,
    fit_harm_model,
    predictive_checks,
)
from triplet.tracking.bayes.model import PanelArrays, panel_arrays

__all__ = [
    "BayesianEffect",
    "Diagnostics",
    "PanelArrays",
    "SamplerSettings",
    "Thresholds",
    "fit_count_model",
    "fit_effect",
    "fit_harm_model",
    "panel_arrays",
    "predictive_checks",
]
