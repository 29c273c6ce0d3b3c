"""Parallel-trends sensitivity of event-study effects (Rambachan & Roth 2023, "HonestDiD").

The event study estimates ``beta = (beta_pre, beta_post)`` relative to the month before the
start, ``beta ~ N(tau + delta, Sigma)`` with ``tau_pre = 0``: ``delta`` is the difference in
trends that parallel trends assumes away. Instead of assuming ``delta_post = 0``, bound how far
it can stray given what ``delta_pre`` shows, and report the confidence interval for
``theta = l' tau_post`` (by default the first post-period effect) under each bound:

**Smoothness** ``Delta^SD(M)``: the slope of the difference in trends changes by at most ``M``
(outcome units per period per period) between consecutive periods,
``|(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M``; ``M = 0`` allows exactly linear
trends. Interval: the optimal fixed-length confidence interval (FLCI, Armstrong & Kolesar 2018;
Rambachan & Roth section 4.1): among affine estimators ``v' beta`` that are unbiased for linear
trends, the one whose interval ``v' beta +- sigma_v cv_alpha(b_v / sigma_v)`` is shortest, with
``b_v`` the worst-case bias over ``Delta^SD(M)`` (a linear programme; its dual is the
``l1``-norm of ``mu`` with ``v = A' mu``, A the second-difference matrix) and ``cv_alpha(t)``
the ``1 - alpha`` quantile of ``|N(t, 1)|``.

**Relative magnitudes** ``Delta^RM(Mbar)``: the post-period period-to-period change in the
difference in trends is at most ``Mbar`` times the largest such change before the start
(``Mbar = 1``: no worse than the worst pre-period month). ``Delta^RM`` is a union of polyhedra
(one per pre-period change and sign); for each, the interval collects the ``theta`` not
rejected by the conditional-least-favourable hybrid moment-inequality test of Andrews, Roth &
Pakes (2023) (``kappa = alpha / 10``), on a grid of ``theta``; the reported interval is the
union. This is HonestDiD's default method ``C-LF``.

The **breakdown value** is the largest ``M`` (``Mbar``) at which the interval still excludes
zero: how large a violation of parallel trends the conclusion survives. Reproduces the R
package's README example (Medicaid expansion, ``tests/tracking/test_honest_did.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = [
    "SensitivityResult",
    "event_study_sensitivity",
    "original_ci",
    "relative_magnitudes_bounds",
    "smoothness_bounds",
]

Restriction = Literal["smoothness", "relative_magnitudes"]


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """Robust confidence intervals for ``theta = l' tau_post`` under growing violations.

    ``table`` has one row per bound: ``m`` (``M`` for smoothness, in outcome units per period
    squared; ``Mbar`` for relative magnitudes, a ratio), ``ci_low``, ``ci_high``, ``method``.
    ``breakdown`` is the largest ``m`` at which the interval excludes 0 (None if none does;
    ``inf`` if all do) found by bisection to ``breakdown_tol``.
    """

    restriction: str
    outcome: str
    l_vec: tuple[float, ...]
    alpha: float
    estimate: float
    original: tuple[float, float]
    table: pd.DataFrame = field(repr=False)
    breakdown: float | None = None

    def summary(self) -> pd.DataFrame:
        orig = pd.DataFrame(
            [
                {
                    "m": np.nan,
                    "ci_low": self.original[0],
                    "ci_high": self.original[1],
                    "method": "original",
                }
            ]
        )
        return pd.concat([orig, self.table], ignore_index=True)

    def to_dict(self) -> dict:
        def num(v):
            return None if v is None or not np.isfinite(v) else float(v)

        return jsonable(
            {
                "analysis": "honest_did",
                "restriction": self.restriction,
                "outcome": self.outcome,
                "l_vec": [float(x) for x in self.l_vec],
                "alpha": self.alpha,
                "estimate": float(self.estimate),
                "original_ci": [float(self.original[0]), float(self.original[1])],
                "breakdown": num(self.breakdown) if self.breakdown != np.inf else "all",
                "bounds": [
                    {"m": float(r.m), "ci_low": num(r.ci_low), "ci_high": num(r.ci_high)}
                    for r in self.table.itertuples()
                ],
                "notes": (
                    f"Rambachan & Roth (2023) sensitivity, {self.restriction.replace('_', ' ')}; "
                    f"method {self.table['method'].iloc[0] if len(self.table) else ''}"
                ),
            }
        )

    def plot(self, ax=None):
        """The sensitivity plot: the original interval, then the robust interval for each m."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        t = self.table
        ms = t["m"].to_numpy(float)
        step = np.min(np.diff(ms)) if len(ms) > 1 else 1.0
        x0 = ms.min() - step
        ax.errorbar(
            [x0],
            [0.5 * sum(self.original)],
            yerr=[[0.5 * (self.original[1] - self.original[0])]],
            fmt="none",
            capsize=4,
            color="C3",
            label="original",
        )
        mid = 0.5 * (t["ci_low"] + t["ci_high"])
        ax.errorbar(
            ms,
            mid,
            yerr=[mid - t["ci_low"], t["ci_high"] - mid],
            fmt="none",
            capsize=4,
            color="C0",
            label="robust (" + str(t["method"].iloc[0]) + ")",
        )
        ax.axhline(0, color="grey", lw=1)
        sym = "M" if self.restriction == "smoothness" else "Mbar"
        ax.set_xlabel(sym)
        ax.set_ylabel(f"{int(100 * (1 - self.alpha))}% CI for effect on {self.outcome}")
        bd = "" if self.breakdown is None else f"; breakdown {sym} = {self.breakdown:.3g}"
        ax.set_title(f"Sensitivity to parallel trends ({self.restriction.replace('_', ' ')}){bd}")
        ax.legend(frameon=False, fontsize=8)
        return ax


# --------------------------------------------------------------------------- helpers


def _check(betahat, sigma, n_pre, n_post, l_vec):
    b = np.asarray(betahat, dtype=float).ravel()
    S = np.asarray(sigma, dtype=float)
    if n_pre < 1 or n_post < 1 or len(b) != n_pre + n_post:
        raise InputError(
            f"betahat has {len(b)} coefficients; expected n_pre + n_post = {n_pre + n_post}"
        )
    if S.shape != (len(b), len(b)) or not np.allclose(S, S.T, atol=1e-12 * np.abs(S).max()):
        raise InputError(f"sigma must be a symmetric {len(b)} x {len(b)} matrix")
    lv = np.zeros(n_post) if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if l_vec is None:
        lv[0] = 1.0
    if len(lv) != n_post:
        raise InputError(f"l_vec needs {n_post} weights (one per post period)")
    return b, S, lv


def original_ci(betahat, sigma, n_pre: int, n_post: int, l_vec=None, alpha: float = 0.05):
    """``l' beta_post +- z_{1-alpha/2} sqrt(l' Sigma_post l)`` (parallel trends assumed)."""
    b, S, lv = _check(betahat, sigma, n_pre, n_post, l_vec)
    est = float(lv @ b[n_pre:])
    se = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    z = stats.norm.ppf(1 - alpha / 2)
    return est, (est - z * se, est + z * se)


def _second_differences(n_pre: int, n_post: int) -> np.ndarray:
    """(T-1) x T second-difference matrix on (delta_pre, delta_post), delta_0 = 0 removed."""
    T = n_pre + n_post
    full = np.zeros((T - 1, T + 1))
    for r in range(T - 1):
        full[r, r : r + 3] = [1.0, -2.0, 1.0]
    return np.delete(full, n_pre, axis=1)


def _folded_cv(t: float, alpha: float) -> float:
    """``1 - alpha`` quantile of ``|N(t, 1)|``: the root of Phi(q - t) - Phi(-q - t) = 1 - alpha.

    Newton's method from ``max(t + z_{1-alpha}, z_{1-alpha/2})`` (the function is concave in
    ``q`` beyond the root's neighbourhood, so the steps are monotone); exact to rounding.
    """
    t = abs(float(t))
    q = max(t + stats.norm.ppf(1 - alpha), stats.norm.ppf(1 - alpha / 2))
    for _ in range(60):
        # P(|N(t,1)| <= q) - (1 - alpha), written with the tails so it keeps its precision
        g = alpha - stats.norm.sf(q - t) - stats.norm.cdf(-q - t)
        step = g / (stats.norm.pdf(q - t) + stats.norm.pdf(q + t))
        q -= step
        if abs(step) < 1e-14 * max(1.0, q):
            break
    return float(q)


# --------------------------------------------------------------------------- smoothness / FLCI


def _flci(b, S, lv, n_pre, n_post, M, alpha) -> tuple[float, float]:
    A = _second_differences(n_pre, n_post)
    Q = A @ S @ A.T
    C = A.T[n_pre:]  # post rows of A': A'_post mu = l
    # minimum-variance affine estimator unbiased for linear trends (closed form)
    Qi_Ct = np.linalg.solve(Q, C.T)
    mu0 = Qi_Ct @ np.linalg.solve(C @ Qi_Ct, lv)
    h_min = float(np.sqrt(mu0 @ Q @ mu0))
    z = stats.norm.ppf(1 - alpha / 2)
    if M == 0:
        est = float((A.T @ mu0) @ b)
        return est - z * h_min, est + z * h_min
    # The half-length sigma * cv_alpha(b / sigma) is the perspective of the convex cv_alpha, so
    # it is convex and non-decreasing in (b, sigma); b = M ||mu||_1 and sigma = ||mu||_Q are
    # convex, so the composition is convex in mu: one smooth programme in (mu+, mu-) >= 0 with
    # A'_post mu = l finds the global optimum (Armstrong & Kolesar 2018 minimise over a grid of
    # sigma instead).
    k = len(mu0)
    C2 = np.hstack([C, -C])

    def parts(x):
        mu = x[:k] - x[k:]
        Qmu = Q @ mu
        sig = float(np.sqrt(max(mu @ Qmu, 1e-300)))
        b = M * float(x.sum())
        t = b / sig
        q = _folded_cv(t, alpha)
        f1, f2 = stats.norm.pdf(q - t), stats.norm.pdf(q + t)
        dq = (f1 - f2) / (f1 + f2)
        return mu, Qmu, sig, t, q, dq

    def fun(x):
        _, _, sig, _, q, _ = parts(x)
        return sig * q / h_min

    def jac(x):
        _, Qmu, sig, t, q, dq = parts(x)
        g_mu = (q - t * dq) * Qmu / sig
        return np.concatenate([M * dq + g_mu, M * dq - g_mu]) / h_min

    x0 = np.concatenate([np.clip(mu0, 0, None), np.clip(-mu0, 0, None)])
    res = optimize.minimize(
        fun,
        x0,
        jac=jac,
        bounds=[(0, None)] * (2 * k),
        constraints=[{"type": "eq", "fun": lambda x: C2 @ x - lv, "jac": lambda x: C2}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 2000},
    )
    mu = res.x[:k] - res.x[k:]
    chi = fun(res.x) * h_min
    est = float((A.T @ mu) @ b)
    return est - chi, est + chi


def smoothness_bounds(
    betahat,
    sigma,
    n_pre: int,
    n_post: int,
    m_values,
    *,
    l_vec=None,
    alpha: float = 0.05,
    outcome: str = "outcome",
    breakdown_tol: float | None = None,
) -> SensitivityResult:
    """FLCIs for ``theta = l' tau_post`` under ``Delta^SD(M)`` for each ``M`` in ``m_values``.

    ``betahat`` lists the ``n_pre`` pre-period then ``n_post`` post-period event-study
    coefficients (the reference period left out), ``sigma`` their covariance. ``l_vec``
    defaults to the first post period. Reference: Rambachan & Roth (2023), section 4.1.
    """
    b, S, lv = _check(betahat, sigma, n_pre, n_post, l_vec)
    est, orig = original_ci(b, S, n_pre, n_post, lv, alpha)
    ms = [float(m) for m in m_values]
    if any(m < 0 for m in ms):
        raise InputError("M must be >= 0")
    rows = []
    for m in ms:
        lo, hi = _flci(b, S, lv, n_pre, n_post, m, alpha)
        rows.append({"m": m, "ci_low": lo, "ci_high": hi, "method": "FLCI"})
    table = pd.DataFrame(rows)

    def excludes(m: float) -> bool:
        lo, hi = _flci(b, S, lv, n_pre, n_post, m, alpha)
        return lo > 0 or hi < 0

    scale = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    bd = _breakdown(excludes, scale, breakdown_tol or 1e-4 * scale)
    return SensitivityResult(
        restriction="smoothness",
        outcome=outcome,
        l_vec=tuple(lv),
        alpha=alpha,
        estimate=est,
        original=orig,
        table=table,
        breakdown=bd,
    )


def _breakdown(excludes, scale: float, tol: float) -> float | None:
    """Largest m with ``excludes(m)`` (monotone: true up to the breakdown, false after)."""
    if not excludes(0.0):
        return None
    lo, hi = 0.0, scale
    while excludes(hi):
        lo, hi = hi, 2 * hi
        if hi > 1e6 * scale:
            return float("inf")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if excludes(mid):
            lo = mid
        else:
            hi = mid
    return lo


# --------------------------------------------------------------------------- relative magnitudes


def _rm_polyhedra(n_pre: int, n_post: int, mbar: float):
    """``(A, post_rows)`` for each piece ``Delta^RM_{s,sign}``: ``A delta <= 0`` (delta_0 dropped).

    Piece (s, +): every pre-period change is at most ``Delta_s = delta_{s+1} - delta_s`` in
    absolute value and every post-period change at most ``Mbar Delta_s``; (s, -) uses
    ``-Delta_s``. ``post_rows`` marks the rows that involve post-period coefficients (the
    moments the test uses, as HonestDiD does by default).
    """
    T = n_pre + n_post
    D = np.zeros((T, T + 1))
    for r in range(T):
        D[r, r : r + 2] = [-1.0, 1.0]
    scale = np.r_[np.ones(n_pre), np.full(n_post, float(mbar))]
    for s in range(n_pre):
        for sign in (1.0, -1.0):
            v = sign * D[s]
            A = np.vstack([D - scale[:, None] * v, -D - scale[:, None] * v])
            A = A[np.sum(A**2, axis=1) > 1e-10]
            A = np.delete(A, n_pre, axis=1)
            post = np.abs(A[:, n_pre:]).sum(axis=1) > 0
            yield A, post


def _dual_vertices(X: np.ndarray, sd: np.ndarray, limit: int = 200_000) -> np.ndarray:
    """Vertices of ``{g >= 0 : X'g = 0, sd'g = 1}`` as columns (K x n_vertices)."""
    from itertools import combinations
    from math import comb

    K, p = X.shape
    if p == 0:
        return np.diag(1.0 / sd)
    size = p + 1
    if comb(K, size) > limit:
        raise InputError(
            f"relative-magnitude bounds with {p + 1} post periods need too many LP vertices; "
            "aggregate the post periods (e.g. quarters) or use the smoothness bounds"
        )
    M = np.vstack([X.T, sd[None, :]])  # (p+1) x K
    rhs = np.r_[np.zeros(p), 1.0]
    out = []
    for J in combinations(range(K), size):
        sub = M[:, J]
        if abs(np.linalg.det(sub)) < 1e-12 * max(1.0, np.abs(sub).max() ** size):
            continue
        g = np.linalg.solve(sub, rhs)
        if (g >= -1e-12).all():
            v = np.zeros(K)
            v[list(J)] = np.clip(g, 0, None)
            out.append(v)
    if not out:
        raise InputError("the moment inequalities have no feasible dual vertex")
    V = np.unique(np.round(np.array(out), 14), axis=0)
    return V.T


def _arp_hybrid_accepts(
    Y0: np.ndarray,
    a: np.ndarray,
    X: np.ndarray,
    sigma_y: np.ndarray,
    thetas: np.ndarray,
    alpha: float,
    kappa: float,
    rng: np.random.Generator,
    n_sims: int,
) -> np.ndarray:
    """Conditional-least-favourable hybrid test of ``E[Y0 - a theta] - X nu <= 0`` on a grid.

    Andrews, Roth & Pakes (2023), sections 3.2-3.3: the statistic ``eta = max_g g'Y`` over the
    dual vertices; conditional on the optimal vertex it is normal truncated to ``[v_lo, v_up]``;
    the least-favourable critical value at level ``kappa`` also caps ``v_up``.
    """
    sd = np.sqrt(np.diag(sigma_y))
    V = _dual_vertices(X, sd)
    # least-favourable critical value (moments at the boundary, nuisance profiled out)
    L = np.linalg.cholesky(sigma_y + 1e-14 * np.eye(len(sd)) * sd.max() ** 2)
    xi = rng.standard_normal((n_sims, len(sd))) @ L.T
    c_lf = float(np.quantile((xi @ V).max(axis=1), 1 - kappa))
    Y = Y0[:, None] - a[:, None] * thetas[None, :]  # K x G
    vals = V.T @ Y  # nv x G
    best = np.argmax(vals, axis=0)
    eta = vals[best, np.arange(len(thetas))]
    G = V[:, best]  # K x G optimal vertices
    s2 = np.einsum("kg,kl,lg->g", G, sigma_y, G)
    b = sigma_y @ G / s2  # K x G
    S = Y - b * eta
    slope = V.T @ b  # nv x G
    inter = V.T @ S
    inter_star = np.einsum("kg,kg->g", G, S)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_c = np.where(slope < 1 - 1e-10, (inter - inter_star) / (1 - slope), -np.inf)
        up_c = np.where(slope > 1 + 1e-10, (inter_star - inter) / (slope - 1), np.inf)
    v_lo = lo_c.max(axis=0)
    v_up = np.minimum(up_c.min(axis=0), c_lf)
    sig = np.sqrt(s2)
    alpha_c = (alpha - kappa) / (1 - kappa)
    reject = eta > c_lf
    ok = ~reject & (v_up > v_lo)
    lo_z, up_z, z = (
        v_lo[ok] / sig[ok],
        v_up[ok] / sig[ok],
        np.clip(eta[ok], v_lo[ok], v_up[ok]) / sig[ok],
    )
    # P(eta' <= eta) under the truncated normal, computed on the side that keeps precision
    num = stats.norm.sf(lo_z) - stats.norm.sf(z)
    den = stats.norm.sf(lo_z) - stats.norm.sf(up_z)
    small = lo_z < 0
    num = np.where(small, stats.norm.cdf(z) - stats.norm.cdf(lo_z), num)
    den = np.where(small, stats.norm.cdf(up_z) - stats.norm.cdf(lo_z), den)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(den > 0, num / den, 0.0)
    # ARP: the critical value is max(0, truncated-normal quantile), so eta <= 0 never rejects
    rej_ok = (1 - alpha_c < F) & (eta[ok] > 0)
    reject[ok] = rej_ok
    return ~reject


def _rm_identified_set(b, lv, n_pre, n_post, mbar) -> tuple[float, float]:
    """Identified set of theta under Delta^RM(Mbar) treating betahat as the truth (LPs)."""
    lo, hi = np.inf, -np.inf
    theta_hat = float(lv @ b[n_pre:])
    for A, _ in _rm_polyhedra(n_pre, n_post, mbar):
        Apre, Apost = A[:, :n_pre], A[:, n_pre:]
        rhs = -Apre @ b[:n_pre]
        for sgn in (1.0, -1.0):
            res = optimize.linprog(
                sgn * lv, A_ub=Apost, b_ub=rhs, bounds=[(None, None)] * n_post, method="highs"
            )
            if res.status == 0:
                bias = sgn * res.fun
                lo, hi = min(lo, theta_hat - bias), max(hi, theta_hat - bias)
            elif res.status == 3:  # unbounded
                return -np.inf, np.inf
    return lo, hi


def _rm_ci(b, S, lv, n_pre, n_post, mbar, alpha, grid_points, n_sims, seed):
    Lpost = np.vstack([np.zeros((n_pre, n_post)), np.eye(n_post)])
    N = np.linalg.svd(lv[None, :])[2][1:].T  # basis of the null space of l'
    sd_theta = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    grid = np.linspace(-20 * sd_theta, 20 * sd_theta, grid_points)
    accept = np.zeros(grid_points, dtype=bool)
    rng = np.random.Generator(np.random.PCG64(seed))
    for A, post in _rm_polyhedra(n_pre, n_post, mbar):
        A = A[post]
        Y0 = A @ b
        a = A @ Lpost @ lv / (lv @ lv)
        X = A @ Lpost @ N
        sigma_y = A @ S @ A.T
        accept |= _arp_hybrid_accepts(Y0, a, X, sigma_y, grid, alpha, alpha / 10, rng, n_sims)
    if not accept.any():
        return np.nan, np.nan
    return float(grid[accept].min()), float(grid[accept].max())


def relative_magnitudes_bounds(
    betahat,
    sigma,
    n_pre: int,
    n_post: int,
    mbar_values,
    *,
    l_vec=None,
    alpha: float = 0.05,
    outcome: str = "outcome",
    grid_points: int = 1000,
    n_sims: int = 100_000,
    seed: int = 0,
    breakdown_tol: float = 0.01,
) -> SensitivityResult:
    """C-LF confidence intervals for ``theta = l' tau_post`` under ``Delta^RM(Mbar)``.

    Arguments as :func:`smoothness_bounds`. The interval is the set of grid points (``grid_points``
    over the identified set +- 20 SE, as HonestDiD) not rejected by the hybrid test for some
    piece of ``Delta^RM``; its ends are therefore accurate to one grid step. The least-favourable
    critical values are simulated (``n_sims`` draws, ``Generator(PCG64(seed))``). Reference:
    Rambachan & Roth (2023), section 4.2; Andrews, Roth & Pakes (2023).
    """
    b, S, lv = _check(betahat, sigma, n_pre, n_post, l_vec)
    est, orig = original_ci(b, S, n_pre, n_post, lv, alpha)
    ms = [float(m) for m in mbar_values]
    if any(m < 0 for m in ms):
        raise InputError("Mbar must be >= 0")
    rows = []
    for m in ms:
        lo, hi = _rm_ci(b, S, lv, n_pre, n_post, m, alpha, grid_points, n_sims, seed)
        rows.append({"m": m, "ci_low": lo, "ci_high": hi, "method": "C-LF"})

    def excludes(m: float) -> bool:
        lo, hi = _rm_ci(b, S, lv, n_pre, n_post, m, alpha, grid_points, n_sims, seed)
        return bool(lo > 0 or hi < 0)

    bd = _breakdown(excludes, 1.0, breakdown_tol)
    return SensitivityResult(
        restriction="relative_magnitudes",
        outcome=outcome,
        l_vec=tuple(lv),
        alpha=alpha,
        estimate=est,
        original=orig,
        table=pd.DataFrame(rows),
        breakdown=bd,
    )


def event_study_sensitivity(
    result,
    restriction: Restriction = "relative_magnitudes",
    values=None,
    *,
    l_vec=None,
    alpha: float | None = None,
    max_pre: int | None = None,
    max_post: int | None = None,
    **kwargs,
) -> SensitivityResult:
    """Sensitivity of an :class:`~triplet.tracking.event_study.EventStudyResult`.

    Takes the coefficients and CRV1 covariance of the event study (leads below the reference,
    then lags from 0). ``l_vec`` defaults to the average of the post-period effects (the
    event study's headline estimate). ``max_pre`` keeps only the last ``max_pre`` leads and
    ``max_post`` the first ``max_post`` lags (the bounds on those effects are unchanged by
    leaving later lags out; only their intervals lose a little information). ``values`` default
    to Mbar 0, 0.5, ..., 2, or M = (0, 0.25, 0.5, 1, 2) x SE(theta) / max(1, T_post^2 / 6): a
    slope change M adds about M T^2 / 6 to the average bias over T post periods.
    """
    if result.cov is None:
        raise InputError("the event-study result carries no covariance matrix")
    ks = np.asarray(result.cov.index, dtype=int)
    pre = ks[ks < result.reference]
    post = ks[ks >= 0]
    if max_pre is not None:
        pre = pre[-max_pre:]
    if max_post is not None:
        post = post[:max_post]
    if len(pre) < 1 or len(post) < 1:
        raise InputError("the sensitivity analysis needs at least one lead and one lag")
    keep = np.r_[pre, post]
    coef = result.coefficients.set_index("k")["estimate"]
    b = coef.loc[keep].to_numpy(float)
    S = result.cov.loc[keep, keep].to_numpy(float)
    lv = np.full(len(post), 1.0 / len(post)) if l_vec is None else l_vec
    a = result.alpha if alpha is None else alpha
    if restriction == "relative_magnitudes":
        vals = np.arange(0, 2.01, 0.5) if values is None else values
        return relative_magnitudes_bounds(
            b, S, len(pre), len(post), vals, l_vec=lv, alpha=a, outcome=result.outcome, **kwargs
        )
    if restriction == "smoothness":
        lvv = np.asarray(lv, dtype=float)
        se = float(np.sqrt(lvv @ S[len(pre) :, len(pre) :] @ lvv))
        unit = se / max(1.0, len(post) ** 2 / 6.0)
        vals = unit * np.array([0.0, 0.25, 0.5, 1.0, 2.0]) if values is None else values
        return smoothness_bounds(
            b, S, len(pre), len(post), vals, l_vec=lv, alpha=a, outcome=result.outcome, **kwargs
        )
    raise InputError(f"restriction must be smoothness or relative_magnitudes, not {restriction!r}")
