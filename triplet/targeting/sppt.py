"""Andresen's spatial point pattern test (SPPT): are two point patterns alike place by place?

Compares the share of a *base* pattern's points in each area (e.g. last year's burglaries, or
the places ranked by count) with the share of a *test* pattern's points (this year's, or ranked
by harm). The test pattern is resampled ``n_samples`` times (85% of its points without
replacement, Andresen 2009; or a bootstrap of all of them); each area gets the ``conf_level``
interval of its test share over the samples, and the base share is *similar* when it lies
inside. ``S`` (the global S-index) is the share of areas that are similar, 1 = identical
patterns; the robust S leaves out areas with no points in either pattern (R package ``sppt``,
Steenbeek et al. 2018). ``local_s`` is +1 where the test share is higher
than the base share (an increase), -1 where lower, 0 where alike.

The test is area-based: points are given by the area they fall in (an LSOA code, a grid id);
points in no area are counted and reported, never silently lost. References: Andresen (2009),
*J. Quantitative Criminology* 25: 333-347; Andresen & Malleson (2011), *J. Research in Crime
and Delinquency* 48: 58-82; Andresen (2016), *Methodological Innovations* 9; Wheeler, Steenbeek
& Andresen (2018), *Transactions in GIS* 22: 760-774.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = ["SPPTResult", "sppt"]


@dataclass(frozen=True, eq=False)
class SPPTResult:
    """Per-area shares, intervals and similarity of two point patterns; the S-indices."""

    table: pd.DataFrame = field(repr=False)
    global_s: float
    global_s_robust: float
    n_base: int
    n_test: int
    n_base_outside: int
    n_test_outside: int
    n_samples: int
    percent: float
    conf_level: float
    bootstrap: bool

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return jsonable(
            {
                "global_s": float(self.global_s),
                "global_s_robust": float(self.global_s_robust),
                "n_areas": len(self.table),
                "n_base": self.n_base,
                "n_test": self.n_test,
                "n_base_outside": self.n_base_outside,
                "n_test_outside": self.n_test_outside,
                "n_increase": int((self.table["local_s"] == 1).sum()),
                "n_decrease": int((self.table["local_s"] == -1).sum()),
                "n_samples": self.n_samples,
                "percent": self.percent,
                "conf_level": self.conf_level,
                "bootstrap": self.bootstrap,
                "reference": "Andresen (2009, 2016) spatial point pattern test",
            }
        )

    def plot(self, ax=None):
        """Base share against the test interval for each area, dissimilar areas highlighted."""
        import matplotlib.pyplot as plt

        t = self.table.sort_values("pct_base").reset_index(drop=True)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        x = np.arange(len(t))
        ax.vlines(x, t["conf_low"], t["conf_high"], color="0.6", lw=2, label="test interval")
        colours = np.where(t["local_s"] == 0, "C0", np.where(t["local_s"] > 0, "C3", "C2"))
        ax.scatter(x, t["pct_base"], c=colours, s=12, zorder=3, label="base share")
        ax.set_xlabel("areas (by base share)")
        ax.set_ylabel("% of points")
        ax.set_title(f"SPPT: S = {self.global_s:.2f} (robust {self.global_s_robust:.2f})")
        ax.legend(frameon=False, fontsize=8)
        return ax


def _codes(points: pd.Series, areas: pd.Index) -> tuple[np.ndarray, int]:
    s = pd.Series(points)
    known = s.notna() & s.isin(areas)
    outside = int((~known).sum())
    return areas.get_indexer(s[known]), outside


def sppt(
    base: pd.Series,
    test: pd.Series,
    areas=None,
    *,
    n_samples: int = 200,
    percent: float = 85,
    conf_level: float = 95,
    bootstrap: bool = False,
    seed: int = 0,
) -> SPPTResult:
    """Andresen's SPPT of the area labels of ``base`` and ``test`` points.

    ``areas`` lists every area (including those with no points); by default the areas seen in
    either pattern. Points whose label is missing or not in ``areas`` are counted as outside.
    Interval ends are the order statistics ``floor(a n) + 1`` and ``ceil((1 - a) n)`` of the
    sampled shares, ``a = (1 - conf_level/100) / 2`` (as R ``sppt``). Sampling from
    ``Generator(PCG64(seed))``.
    """
    if areas is None:
        areas = pd.Index(pd.unique(pd.concat([pd.Series(base), pd.Series(test)]).dropna()))
    areas = pd.Index(areas)
    if areas.has_duplicates:
        raise InputError("areas must be unique")
    if not (0 < percent <= 100) or not (0 < conf_level < 100) or n_samples < 2:
        raise InputError("percent in (0, 100], conf_level in (0, 100) and n_samples >= 2")
    b, b_out = _codes(base, areas)
    t, t_out = _codes(test, areas)
    if len(b) == 0 or len(t) == 0:
        raise InputError("both point patterns need at least one point inside the areas")
    k = len(areas)
    nb = np.bincount(b, minlength=k)
    nt = np.bincount(t, minlength=k)
    pct_b = 100.0 * nb / nb.sum()
    pct_t = 100.0 * nt / nt.sum()
    rng = np.random.Generator(np.random.PCG64(seed))
    size = len(t) if bootstrap else int(np.round(percent / 100.0 * len(t)))
    size = max(size, 1)
    if bootstrap:
        idx = rng.integers(0, len(t), size=(n_samples, size))
    else:
        idx = np.argsort(rng.random((n_samples, len(t))), axis=1)[:, :size]
    sampled = t[idx]  # n_samples x size area codes
    counts = np.zeros((n_samples, k))
    np.add.at(counts, (np.repeat(np.arange(n_samples), size), sampled.ravel()), 1.0)
    shares = np.sort(100.0 * counts / size, axis=0)
    a = (100.0 - conf_level) / 100.0 / 2.0
    lo = shares[int(np.floor(a * n_samples)), :]  # order statistic floor(a n) + 1 (1-based)
    hi = shares[int(np.ceil((1.0 - a) * n_samples)) - 1, :]
    s_index = np.where(pct_b < lo, -1, np.where(pct_b > hi, 1, 0))
    table = pd.DataFrame(
        {
            "area": areas,
            "n_base": nb,
            "n_test": nt,
            "pct_base": pct_b,
            "pct_test": pct_t,
            "conf_low": lo,
            "conf_high": hi,
            "local_s": -s_index,
            "similar": s_index == 0,
        }
    )
    any_pts = (nb + nt) > 0
    return SPPTResult(
        table=table,
        global_s=float(table["similar"].mean()),
        global_s_robust=float(table.loc[any_pts, "similar"].mean()),
        n_base=len(b),
        n_test=len(t),
        n_base_outside=b_out,
        n_test_outside=t_out,
        n_samples=n_samples,
        percent=float(percent),
        conf_level=float(conf_level),
        bootstrap=bootstrap,
    )
