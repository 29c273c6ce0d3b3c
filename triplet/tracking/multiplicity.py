"""Multiplicity: adjusted p-values for the family of registered secondary outcomes.

A trial registers one primary outcome (tested alone) and a family of secondary outcomes. Testing
each secondary outcome at ``alpha`` lets the chance of at least one false "effect" grow with
the family's size; the adjusted p-values below control that family-wise error rate (FWER).
They are reported *beside* the unadjusted ones, never instead of them.

* **Holm (1979)** step-down: sort ``p_(1) <= ... <= p_(m)``; ``p~_(i) = max_{j<=i} min(1,
  (m - j + 1) p_(j))``. Valid under any dependence; conservative when outcomes are correlated
  (crime counts and harm of the same units are).
* **Romano & Wolf (2005)** step-down with the randomisation draws: the trial's re-runs of the
  registered assignment give, for every outcome at once, the statistic each re-assignment would
  have produced under the sharp null (the draws ``triplet.tracking.inference`` already
  computed, with the *same* assignments for every outcome, so their dependence is kept).
  Statistics are studentised by their null SD so outcomes in different units compare. For the
  hypotheses ordered by ``|t|`` (largest first), ``p~_(k) = (1 + #{b : max_{l >= k} |t*_{b,l}|
  >= |t_(k)|}) / (1 + B)``, made monotone. It exploits the correlation between outcomes, so it is
  less conservative than Holm, and it is exact under the randomisation (Westfall & Young 1993;
  Romano & Wolf 2005, 2016; Clarke, Romano & Wolf 2020). With one outcome it equals the
  randomisation p-value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = ["MultiplicityResult", "adjust_family", "holm", "romano_wolf"]


def holm(p_values) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, in the input order."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)) or np.isnan(p).any():
        raise InputError("p-values must be numbers between 0 and 1")
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def romano_wolf(t_obs, t_null) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values from joint null draws.

    ``t_obs`` (m) are the observed statistics; ``t_null`` (B x m) the statistics under the null
    from the same B re-assignments (or bootstrap draws) for every hypothesis. Both should be on
    comparable scales (studentised); two-sided (absolute values). Input order is kept.
    """
    t = np.abs(np.asarray(t_obs, dtype=float))
    T = np.abs(np.asarray(t_null, dtype=float))
    if T.ndim != 2 or T.shape[1] != len(t):
        raise InputError(f"null draws must be (B, {len(t)}), got {T.shape}")
    if not (np.isfinite(t).all() and np.isfinite(T).all()):
        raise InputError("statistics and null draws must be finite")
    m, B = len(t), T.shape[0]
    order = np.argsort(-t, kind="stable")
    # max over the hypotheses still in play: reverse cumulative max over the ordered columns
    tail_max = np.maximum.accumulate(T[:, order][:, ::-1], axis=1)[:, ::-1]
    p_step = (1 + (tail_max >= t[order][None, :] - 1e-12).sum(axis=0)) / (1 + B)
    adj = np.maximum.accumulate(p_step)
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


@dataclass(frozen=True, eq=False)
class MultiplicityResult:
    """Unadjusted, Holm and Romano-Wolf p-values for one family of outcomes."""

    family: str
    alpha: float
    #: outcome, estimate, p_value, p_holm, p_randomisation, p_romano_wolf
    table: pd.DataFrame = field(repr=False)
    n_draws: int = 0

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        def num(v):
            return None if v is None or not np.isfinite(v) else float(v)

        return jsonable(
            {
                "family": self.family,
                "alpha": self.alpha,
                "n_draws": int(self.n_draws),
                "method": "Holm (1979); Romano & Wolf (2005) step-down over the randomisation draws",
                "outcomes": [
                    {
                        "outcome": r["outcome"],
                        "estimate": num(r["estimate"]),
                        "p_value": num(r["p_value"]),
                        "p_holm": num(r["p_holm"]),
                        "p_randomisation": num(r["p_randomisation"]),
                        "p_romano_wolf": num(r["p_romano_wolf"]),
                        "significant_holm": bool(r["p_holm"] < self.alpha),
                        "significant_romano_wolf": (
                            None
                            if not np.isfinite(r["p_romano_wolf"])
                            else bool(r["p_romano_wolf"] < self.alpha)
                        ),
                    }
                    for r in self.table.to_dict(orient="records")
                ],
            }
        )

    def plot(self, ax=None):
        """Unadjusted and adjusted p-values per outcome on a log scale, alpha marked."""
        import matplotlib.pyplot as plt

        t = self.table
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.45 * len(t) + 1.2))
        y = np.arange(len(t))[::-1]
        for col, mk in (("p_value", "o"), ("p_holm", "s"), ("p_romano_wolf", "D")):
            if t[col].notna().any():
                ax.plot(t[col], y, mk, label=col.replace("p_", "").replace("_", "-"))
        ax.axvline(self.alpha, color="grey", lw=1, ls="--")
        ax.set_xscale("log")
        ax.set_yticks(y, t["outcome"])
        ax.set_xlabel("p-value")
        ax.legend(frameon=False, fontsize=8)
        return ax


def adjust_family(
    outcomes: Sequence[str],
    estimates,
    p_values,
    *,
    draws=None,
    statistics=None,
    randomisation_p=None,
    family: str = "secondary outcomes",
    alpha: float = 0.05,
) -> MultiplicityResult:
    """Holm and (when ``draws`` are given) Romano-Wolf adjusted p-values for a family.

    Holm adjusts ``p_values`` (each outcome's reported analysis). ``draws`` (B x m): each
    outcome's randomisation statistic under the sharp null for the same B re-assignments (e.g.
    ``RIResult.draws`` of each outcome stacked as columns); ``statistics`` the observed ones on
    the same scale (default ``estimates``) and ``randomisation_p`` their unadjusted
    randomisation p-values (shown beside). Each column is studentised by its SD over the draws
    before the step-down.
    """
    names = list(outcomes)
    est = np.asarray(estimates, dtype=float)
    p = np.asarray(p_values, dtype=float)
    if not (len(names) == len(est) == len(p)) or len(names) == 0:
        raise InputError("outcomes, estimates and p-values must have the same non-zero length")
    rw = np.full(len(names), np.nan)
    n_draws = 0
    if draws is not None:
        D = np.asarray(draws, dtype=float)
        if D.ndim != 2 or D.shape[1] != len(names):
            raise InputError(f"draws must be (B, {len(names)}), got {D.shape}")
        sd = D.std(axis=0, ddof=1)
        if np.any(sd <= 0):
            raise InputError("an outcome's statistic does not vary over the draws")
        obs = est if statistics is None else np.asarray(statistics, dtype=float)
        if len(obs) != len(names):
            raise InputError("one observed statistic per outcome is needed")
        rw = romano_wolf(obs / sd, D / sd)
        n_draws = D.shape[0]
    p_ri = (
        np.full(len(names), np.nan)
        if randomisation_p is None
        else np.asarray(randomisation_p, dtype=float)
    )
    table = pd.DataFrame(
        {
            "outcome": names,
            "estimate": est,
            "p_value": p,
            "p_holm": holm(p),
            "p_randomisation": p_ri,
            "p_romano_wolf": rw,
        }
    )
    return MultiplicityResult(family=family, alpha=alpha, table=table, n_draws=n_draws)
