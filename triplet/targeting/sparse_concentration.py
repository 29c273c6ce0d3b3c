"""Crime concentration when crimes are fewer than places: the generalized Gini and Lorenz curve.

With ``N`` crimes spread over ``n > N`` places, at least ``n - N`` places must have none, so the
ordinary Gini cannot fall below ``1 - N/n`` even if crime were as evenly spread as it could be:
sparse data look concentrated whatever the process. Bernasco & Steenbeek (2017, "More places than
crimes", *J. Quantitative Criminology* 33: 451-467) compare the Lorenz curve with the line of
*maximal* equality given the data (``N`` places with one crime each) instead of perfect
equality, which gives the generalized Gini::

    G' = max(1, n / N) (G - 1) + 1

(equal to ``G`` when ``N >= n``; 0 when no place has more than one crime). The small-sample
("unbiased") version multiplies by ``k / (k - 1)``, ``k = min(n, N)``, so that all crimes in
one place gives 1 (as R ``lorenzgini::gini(unbiased = TRUE)`` does). ``G`` is the population
Gini of :func:`triplet.targeting.concentration.gini`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable
from triplet.targeting.concentration import gini, lorenz_curve

__all__ = ["SparseConcentration", "generalized_gini", "generalized_lorenz", "sparse_concentration"]


def _counts(values) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not np.isfinite(x).all() or (x < 0).any():
        raise InputError("counts must be finite, non-negative numbers (one per place)")
    return x


def generalized_gini(counts, *, unbiased: bool = False) -> float:
    """Generalized Gini of crime counts per place (Bernasco & Steenbeek 2017); NaN if no crime."""
    x = _counts(counts)
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return float("nan")
    g = max(1.0, n / total) * (gini(x) - 1.0) + 1.0
    if unbiased:
        k = min(n, total)
        if k <= 1:
            return float("nan")
        g *= k / (k - 1.0)
    return float(g)


def generalized_lorenz(counts) -> pd.DataFrame:
    """Lorenz curve with the lines of perfect and of maximal equality given the data.

    Columns ``population_share`` (places, ascending count), ``value_share`` (crimes),
    ``perfect_equality`` and ``maximal_equality``: with ``N < n`` crimes, the most equal
    possible spread has ``n - N`` empty places, so the line is 0 up to ``1 - N/n`` and then
    rises straight to (1, 1).
    """
    x = _counts(counts)
    lc = lorenz_curve(x)
    n, total = len(x), float(x.sum())
    share = min(1.0, total / n) if n else 1.0
    p = lc["population_share"].to_numpy()
    start = 1.0 - share
    max_eq = np.clip((p - start) / share, 0.0, 1.0) if share > 0 else np.zeros_like(p)
    return lc.assign(perfect_equality=p, maximal_equality=max_eq)


@dataclass(frozen=True, eq=False)
class SparseConcentration:
    """Ordinary and generalized Gini of crime counts per place, with the Lorenz curves."""

    n_places: int
    n_crimes: int
    gini: float
    gini_generalized: float
    gini_generalized_unbiased: float
    lorenz: pd.DataFrame = field(repr=False)

    @property
    def sparse(self) -> bool:
        """True when there are fewer crimes than places (the generalized Gini differs)."""
        return self.n_crimes < self.n_places

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict:
        def num(v):
            return None if not np.isfinite(v) else float(v)

        return jsonable(
            {
                "n_places": int(self.n_places),
                "n_crimes": int(self.n_crimes),
                "sparse": bool(self.sparse),
                "gini": num(self.gini),
                "gini_generalized": num(self.gini_generalized),
                "gini_generalized_unbiased": num(self.gini_generalized_unbiased),
                "reference": "Bernasco & Steenbeek (2017), J. Quantitative Criminology 33: 451-467",
            }
        )

    def plot(self, ax=None):
        """Lorenz curve against the lines of perfect and of maximal equality."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4.5))
        lc = self.lorenz
        ax.plot(lc["population_share"], lc["value_share"], color="C0", label="Lorenz curve")
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls=":", label="perfect equality")
        ax.plot(
            lc["population_share"],
            lc["maximal_equality"],
            color="C1",
            lw=1,
            ls="--",
            label="maximal equality given the data",
        )
        ax.set_xlabel("share of places (fewest crimes first)")
        ax.set_ylabel("share of crimes")
        ax.set_title(f"Gini {self.gini:.2f}, generalized {self.gini_generalized:.2f}")
        ax.legend(frameon=False, fontsize=8)
        return ax


def sparse_concentration(counts) -> SparseConcentration:
    """Gini, generalized Gini (plain and unbiased) and Lorenz curves of counts per place.

    ``counts`` must include the places with no crime (zeros), e.g. the ``count`` column of a
    ranking over all candidate places.
    """
    x = _counts(counts)
    return SparseConcentration(
        n_places=len(x),
        n_crimes=round(float(x.sum())),
        gini=gini(x),
        gini_generalized=generalized_gini(x),
        gini_generalized_unbiased=generalized_gini(x, unbiased=True),
        lorenz=generalized_lorenz(x),
    )
