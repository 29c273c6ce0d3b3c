"""Randomisation inference: re-run the registered assignment and ask how unusual the result is.

Under Fisher's **sharp null** every unit's outcome is what it would have been under the other
arm too (or differs by a stated effect), so the only thing random is *which* units the
registered procedure picked. Re-running that procedure (same method, blocks, pairs, clusters,
seed stream) many times gives the exact distribution of the statistic under the null, with no
assumption about the outcome's distribution, clustering or panel structure (Fisher 1935;
Rosenbaum 2002; Gerber & Green 2012, ch. 3; Young 2019).

Statistic: the difference-in-differences of unit means, ``mean_treated(post - pre) -
mean_control(post - pre)``, which equals the TWFE estimate on a balanced panel with a common
start. For all draws at once it is one matrix product ``Z @ diff`` (draws x units).

p-value: two-sided, ``(1 + #{|T_b| >= |T_obs|}) / (1 + B)`` (the observed assignment counted
as one of the draws, so p is never 0).

Interval by test inversion (Hodges & Lehmann 1963; Rosenbaum 2002, ch. 2): the set of effects
``tau`` not rejected at level alpha under the sharp null

    * ``additive``: each treated unit-month would have had ``y - tau`` without treatment;
    * ``multiplicative``: it would have had ``y / rho`` (``rho`` a rate ratio).

Both nulls are linear in one parameter, so the statistic for every draw and every ``tau`` is
``A_b - tau * C_b`` with ``A = Z @ diff`` and ``C = Z @ (post mean x observed treatment)``;
the interval ends are found by bisection on the p-value. The point estimate reported is the
observed statistic (the Hodges-Lehmann estimate for this statistic: the ``tau`` whose adjusted
statistic is zero).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable
from triplet.tracking.estimate import effect_fields
from triplet.tracking.percent import PercentChange, from_additive

__all__ = ["RIResult", "permute_within", "randomisation_inference", "unit_prepost"]


@dataclass(frozen=True, eq=False)
class RIResult:
    """Randomisation-inference p-value and test-inversion interval for a DiD statistic."""

    outcome: str
    null: str
    estimate: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float
    n_draws: int
    n_units: int
    draws: np.ndarray = field(repr=False)  # statistic for each re-assignment (null of no effect)
    procedure: str = ""
    #: observed mean outcome of the treated units after the start (the per cent's numerator)
    treated_mean: float = float("nan")

    # ---- the effect-estimate protocol (triplet.tracking.estimate)
    @property
    def se(self) -> float:
        """The SD of the statistic over the draws (under the null of no effect)."""
        return float(np.std(self.draws, ddof=1))

    #: no reference distribution with degrees of freedom: the draws are the distribution
    df = None

    @property
    def n_obs(self) -> int:
        """Units: the statistic is a difference of unit pre/post means."""
        return self.n_units

    @property
    def n_clusters(self) -> None:
        return None

    @property
    def percent(self) -> PercentChange:
        if self.null == "multiplicative":  # the estimate is a rate ratio already
            pct = [None if not np.isfinite(v) else 100.0 * (v - 1.0) for v in self._ratio()]
            return PercentChange(*pct, None, None, None, "rate ratio under a multiplicative null")
        return from_additive(self.estimate, self.ci_low, self.ci_high, self.treated_mean)

    def _ratio(self) -> tuple[float, float, float]:
        return (float(self.estimate), float(self.ci_low), float(self.ci_high))

    @property
    def notes(self) -> str:
        return (
            f"Fisher randomisation test over {self.n_draws} re-runs of the registered "
            f"assignment ({self.procedure}); sharp {self.null} null; CI by test inversion; "
            "'se' is the SD of the statistic over draws under the null of no effect"
        )

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k != "notes"}])

    def to_dict(self) -> dict:
        d = {
            "estimator": "randomisation_inference",
            "outcome": self.outcome,
            "null": self.null,
            **effect_fields(self),
            "n_draws": int(self.n_draws),
        }
        if self.null == "multiplicative":
            d["rate_ratio_ci_low"] = float(self.ci_low)
            d["rate_ratio_ci_high"] = float(self.ci_high)
        return jsonable(d)

    def plot(self, ax=None):
        """Histogram of the statistic over re-assignments with the observed value marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        ax.hist(self.draws, bins=60, color="0.7")
        ax.axvline(self.estimate, color="C3", lw=2, label="observed")
        ax.set_xlabel(f"DiD of {self.outcome} under re-assignment (sharp null of no effect)")
        ax.set_ylabel("re-assignments")
        ax.set_title(f"Randomisation p = {self.p_value:.4f} ({self.n_draws:,} draws)")
        ax.legend(frameon=False)
        return ax


def unit_prepost(
    panel: pd.DataFrame, *, outcome: str, unit: str, post: str, units: pd.Index | None = None
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Per-unit mean of ``outcome`` before and after the start (units in ``units`` order)."""
    g = panel.groupby([unit, post], observed=True)[outcome].mean().unstack(post)
    if True not in g.columns or False not in g.columns:
        raise InputError(f"column {post!r} needs both pre (false) and post (true) rows")
    if units is not None:
        missing = pd.Index(units).difference(g.index)
        if len(missing):
            raise InputError(f"{len(missing)} assigned units have no panel rows, e.g. {missing[0]}")
        g = g.reindex(units)
    if g.isna().any().any():
        raise InputError("every unit needs rows both before and after the start")
    return g.index, g[False].to_numpy(float), g[True].to_numpy(float)


def permute_within(
    observed: np.ndarray,
    strata: np.ndarray | None,
    clusters: np.ndarray | None,
    n_draws: int,
    seed: int,
) -> np.ndarray:
    """Re-assignments (bool, draws x units) by permuting treatment within strata (blocks/pairs).

    Whole clusters are permuted when ``clusters`` is given. Keeps the number treated in each
    stratum fixed: complete, block, matched-pair and cluster randomisation. Seeded PCG64.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    obs = np.asarray(observed, dtype=bool)
    n = len(obs)
    if clusters is not None:
        c_codes, c_uni = pd.factorize(pd.Series(clusters), sort=True)
        c_obs = np.zeros(len(c_uni), dtype=bool)
        c_obs[c_codes] = obs
        if not np.array_equal(c_obs[c_codes], obs):
            raise InputError("treatment varies within a cluster")
        c_strata = None
        if strata is not None:
            s = np.zeros(len(c_uni), dtype=np.int64)
            s[c_codes] = pd.factorize(pd.Series(strata), sort=True)[0]
            c_strata = s
        return permute_within(c_obs, c_strata, None, n_draws, seed)[:, c_codes]
    s = np.zeros(n, dtype=np.int64) if strata is None else pd.factorize(pd.Series(strata))[0]
    out = np.empty((n_draws, n), dtype=bool)
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    bounds = np.flatnonzero(np.diff(s_sorted)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, n]
    for a, b in zip(starts, ends, strict=True):
        idx = order[a:b]
        vals = obs[idx]
        # random permutation of the stratum's labels for every draw at once
        keys = rng.random((n_draws, len(idx)))
        perm = np.argsort(keys, axis=1)
        out[:, idx] = vals[perm]
    return out


def _pvalues(stat_obs: np.ndarray, stats_draws: np.ndarray) -> np.ndarray:
    """Two-sided p for each column (candidate effect), the observed draw counted."""
    ge = (np.abs(stats_draws) >= np.abs(stat_obs)[None, :] - 1e-12).sum(axis=0)
    return (1 + ge) / (1 + stats_draws.shape[0])


def randomisation_inference(
    pre: np.ndarray,
    post: np.ndarray,
    observed: np.ndarray,
    draws: np.ndarray,
    *,
    outcome: str = "outcome",
    null: Literal["additive", "multiplicative"] = "additive",
    alpha: float = 0.05,
    procedure: str = "",
    progress: Callable[[int], None] | None = None,
) -> RIResult:
    """Randomisation p-value and CI of a DiD for per-unit ``pre``/``post`` means.

    ``observed`` is the assignment actually made (bool per unit); ``draws`` (bool, draws x
    units) are re-runs of the registered procedure, e.g. from
    :func:`triplet.testing.assignment.draw_assignments` or :func:`permute_within`. Additive
    effects are in outcome units per unit-month; multiplicative ones are rate ratios.
    """
    obs = np.asarray(observed, dtype=bool)
    Z = np.asarray(draws, dtype=bool)
    if Z.ndim != 2 or Z.shape[1] != len(obs):
        raise InputError(f"draws must be (n_draws, {len(obs)}), got {Z.shape}")
    n1 = Z.sum(axis=1).astype(float)
    n0 = Z.shape[1] - n1
    if (n1 == 0).any() or (n0 == 0).any():
        raise InputError("a re-assignment left one arm empty")
    Zf = Z.astype(np.float64)

    def stat(M: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Difference in means of v between arms for each row of M (vectorised)."""
        s1 = M @ v
        return s1 / n1 - (v.sum() - s1) / n0

    diff = post - pre
    one = np.ones((1, len(obs)))
    ob = obs[None, :].astype(float)
    n1o, n0o = obs.sum(), (~obs).sum()

    def stat_obs(v: np.ndarray) -> float:
        return float((ob @ v)[0] / n1o - (one @ v - ob @ v)[0] / n0o)

    if null == "additive":
        shift = obs.astype(float)  # d_i(tau) = diff_i - tau * obs_i
    elif null == "multiplicative":
        if (post < 0).any():
            raise InputError("a multiplicative null needs non-negative outcomes")
        shift = post * obs  # d_i(rho) = diff_i - (1 - 1/rho) * post_i * obs_i
    else:
        raise InputError(f"null must be additive or multiplicative, not {null!r}")
    A = stat(Zf, diff)
    C = stat(Zf, shift)
    a_obs, c_obs = stat_obs(diff), stat_obs(shift)
    if progress:
        progress(Z.shape[0])
    p0 = float(_pvalues(np.array([a_obs]), A[:, None])[0])

    def p_at(lam: float) -> float:
        return float(_pvalues(np.array([a_obs - lam * c_obs]), (A - lam * C)[:, None])[0])

    lam_hat = a_obs / c_obs  # adjusted observed statistic is zero here
    spread = max(float(np.std(A)), 1e-12) / max(abs(c_obs), 1e-12)

    def bound(direction: int) -> float:
        lo = lam_hat
        step = spread
        hi = lam_hat + direction * step
        for _ in range(60):
            if p_at(hi) < alpha:
                break
            lo, hi = hi, hi + direction * step
            step *= 2
        else:
            return float(direction * np.inf)
        for _ in range(60):  # bisection between accepted lo and rejected hi
            mid = 0.5 * (lo + hi)
            if p_at(mid) >= alpha:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    lam_low, lam_high = bound(-1), bound(+1)
    if null == "additive":
        est, ci_low, ci_high = a_obs, lam_low, lam_high
    else:
        # lam = 1 - 1/rho  ->  rho = 1 / (1 - lam), increasing in lam for lam < 1
        def rho(lam: float) -> float:
            return float(1.0 / (1.0 - lam)) if lam < 1 else float("inf")

        est, ci_low, ci_high = rho(lam_hat), rho(lam_low), rho(min(lam_high, 1.0))
    return RIResult(
        outcome=outcome,
        null=null,
        estimate=est,
        p_value=p0,
        ci_low=ci_low,
        ci_high=ci_high,
        alpha=alpha,
        n_draws=int(Z.shape[0]),
        n_units=len(obs),
        draws=A,
        procedure=procedure,
        treated_mean=float(post[obs].mean()),
    )
