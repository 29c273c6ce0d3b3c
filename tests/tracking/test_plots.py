"""Shared dynamic-effect plot (event study, staggered DiD)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from triplet.tracking.plots import plot_dynamic_effects


def test_points_and_interval_bars_follow_the_table():
    k = pd.Series([-2, -1, 0, 1])
    est = pd.Series([0.1, 0.0, -1.0, -2.0])
    lo, hi = est - 0.5, est + 0.25
    ax = plot_dynamic_effects(None, k, est, lo, hi)
    container = ax.containers[0]
    line, _, (bars,) = container.lines
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float), k)
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), est)
    segments = bars.get_segments()
    np.testing.assert_allclose([s[0][1] for s in segments], lo)
    np.testing.assert_allclose([s[1][1] for s in segments], hi)
