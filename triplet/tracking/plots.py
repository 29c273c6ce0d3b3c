"""Plots shared by the dynamic-effect estimators (event study, staggered DiD)."""

from __future__ import annotations

import pandas as pd


def plot_dynamic_effects(
    ax, relative: pd.Series, estimate: pd.Series, ci_low: pd.Series, ci_high: pd.Series
):
    """Effects with their intervals against periods relative to the start (start = 0).

    Draws the zero line and a dotted line between the last pre-period and the start; creates a
    figure when ``ax`` is None and returns the axes for the caller's labels.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.axhline(0, color="grey", lw=1)
    ax.axvline(-0.5, color="grey", lw=1, ls=":")
    ax.errorbar(
        relative,
        estimate,
        yerr=[estimate - ci_low, ci_high - estimate],
        fmt="o",
        ms=4,
        capsize=2,
    )
    return ax
