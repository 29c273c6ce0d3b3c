"""Two-way fixed-effects difference-in-differences with cluster-robust standard errors.

The estimate is the coefficient on the treatment-by-post indicator in

    y_it = a_i + g_t + beta * D_it + e_it            (unit and month fixed effects)

or, for block-randomised and matched-pair designs, with month effects *within* blocks (pairs):
``y_it = a_i + g_{b(i),t} + beta * D_it + e_it``. ``beta`` is in outcome units per unit-month
(crimes, or days of imprisonment of harm). With a common start and never-treated controls it is
the average effect of treatment on the treated (ATT) under parallel trends (Angrist & Pischke
2009, ch. 5; Wooldridge 2021).

Computation
    * **Fast path** (balanced panel, no weights): the closed-form two-way within transform
      ``y - ybar_i - ybar_{b,t} + ybar_b`` (with one block this is ``y - ybar_i - ybar_t + ybar``),
      then OLS on the demeaned regressors.
    * Otherwise: the fixed effects are swept out by alternating projections (Guimaraes &
      Portugal 2010; Correia 2016, the method of ``reghdfe`` and ``fixest``), with weights.
    * ``method="panelols"`` runs :class:`linearmodels.panel.PanelOLS` (the reference).

Cluster-robust variance (Liang & Zeger 1986; CRV1) with the small-sample correction of R's
``fixest`` and ``pyfixest`` ``feols(vcov={"CRV1": cluster})`` defaults
(``ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")``)::

    V = G/(G-1) * (n-1)/(n-K) * (X'X)^-1 (sum_g X_g' e_g e_g' X_g) (X'X)^-1

where ``K`` counts the regressors plus the fixed effects that are *not* nested in the clusters
(a fixed effect nested in the clusters - unit effects when clustering by unit, block or pair -
counts as one parameter). Inference uses Student's t with ``G - 1`` degrees of freedom, as
fixest does. ``ssc="linearmodels"`` gives PanelOLS's ``debiased=True, group_debias=True``
correction instead (every absorbed effect counted: ``K = k + n_units + n_periods - 1``, the
same as fixest's ``k_fixef="full"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import ConvergenceError, InputError, Problem
from triplet.io import jsonable

__all__ = ["DidResult", "FixedEffectsFit", "check_columns", "did", "fit_fixed_effects"]

Ssc = Literal["fixest", "linearmodels", "none"]
SSC_CHOICES: tuple[str, ...] = get_args(Ssc)


def check_columns(frame: pd.DataFrame, columns: dict[str, str | None], what: str = "panel") -> None:
    """Raise :class:`InputError` naming every missing column and the columns available."""
    problems = [
        f"{role} column {name!r} not found"
        for role, name in columns.items()
        if name is not None and name not in frame.columns
    ]
    if problems:
        avail = ", ".join(map(str, frame.columns))
        raise InputError(f"{'; '.join(problems)}; available columns: {avail}", file=what)


# --------------------------------------------------------------------------- core machinery


@dataclass(frozen=True, eq=False)
class FixedEffectsFit:
    """Coefficients of ``X`` after sweeping out fixed effects, with the CRV1 covariance."""

    params: np.ndarray
    cov: np.ndarray
    names: tuple[str, ...]
    n_obs: int
    n_clusters: int
    df_k: int
    ssc_factor: float
    method: str
    resid: np.ndarray = field(repr=False)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def df_t(self) -> int:
        return max(self.n_clusters - 1, 1)


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(np.asarray(values), sort=True)
    if (codes < 0).any():
        raise InputError("missing values in a fixed-effect or cluster column")
    return codes.astype(np.int64), len(uniques)


def _nested(fe: np.ndarray, n_fe: int, cl: np.ndarray) -> bool:
    """True if every level of ``fe`` lies in a single cluster."""
    first = np.full(n_fe, -1, dtype=np.int64)
    first[fe] = cl  # last write wins; check all agree
    return bool(np.all(first[fe] == cl))


def _balanced_demean(
    mats: np.ndarray, unit: np.ndarray, time: np.ndarray, block: np.ndarray, n_u: int, n_t: int
) -> np.ndarray | None:
    """Closed-form within transform on a balanced panel, or None if it is not balanced.

    ``mats`` is (n, k). Units must be nested in blocks (true for blocks and pairs).
    """
    n = mats.shape[0]
    if n != n_u * n_t:
        return None
    cell = unit * n_t + time
    if np.bincount(cell, minlength=n_u * n_t).max() != 1:
        return None
    k = mats.shape[1]
    cube = np.empty((n_u, n_t, k))
    cube[unit, time] = mats
    unit_mean = cube.mean(axis=1, keepdims=True)
    if block is None:
        time_mean = cube.mean(axis=0, keepdims=True)
        grand = unit_mean.mean(axis=0, keepdims=True)
        out = cube - unit_mean - time_mean + grand
    else:
        ub = np.zeros(n_u, dtype=np.int64)
        ub[unit] = block
        n_b = int(ub.max()) + 1
        counts = np.bincount(ub, minlength=n_b).astype(float)
        # block x time means and block means
        bt = np.zeros((n_b, n_t, k))
        np.add.at(bt, ub, cube)
        bt /= counts[:, None, None]
        bmean = bt.mean(axis=1, keepdims=True)
        out = cube - unit_mean - bt[ub] + bmean[ub]
    return out[unit, time]


def _map_demean(
    mats: np.ndarray,
    fes: Sequence[tuple[np.ndarray, int]],
    w: np.ndarray,
    tol: float = 1e-13,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Weighted alternating projections: sweep each fixed effect until nothing changes."""
    out = mats.astype(float).copy()
    wsum = [np.bincount(c, weights=w, minlength=n) for c, n in fes]
    scale = np.maximum(np.abs(out).max(axis=0), 1.0)
    change = float("inf")
    for _ in range(max_iter):
        prev = out.copy()
        for (c, n), ws in zip(fes, wsum, strict=True):
            for j in range(out.shape[1]):
                m = np.bincount(c, weights=w * out[:, j], minlength=n) / ws
                out[:, j] -= m[c]
        change = float(np.max(np.abs(out - prev).max(axis=0) / scale))
        if change < tol:
            return out
    raise ConvergenceError(
        f"the fixed effects were not swept out: alternating projections stopped after "
        f"{max_iter} iterations with a relative change of {change:.2g} (tolerance {tol:g}); "
        "the panel is too sparse or badly connected for these fixed effects"
    )


def fit_fixed_effects(
    y: np.ndarray,
    X: np.ndarray,
    *,
    unit: np.ndarray,
    time: np.ndarray,
    cluster: np.ndarray | None = None,
    block: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    names: Sequence[str] = ("treated",),
    ssc: Ssc = "fixest",
) -> FixedEffectsFit:
    """OLS of ``y`` on ``X`` with unit and time (or block x time) fixed effects; CRV1 covariance.

    ``unit``, ``time``, ``cluster`` and ``block`` are label arrays (any hashable values).
    """
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    y = np.asarray(y, dtype=float)
    u, n_u = _codes(unit)
    t, n_t = _codes(time)
    b = None
    if block is not None:
        b, _ = _codes(block)
        if not _nested(u, n_u, b):
            raise InputError("units must each belong to one block (or pair)")
    cl, n_g = _codes(cluster) if cluster is not None else (u, n_u)
    if n_g < 2:
        raise InputError("cluster-robust standard errors need at least two clusters")
    mats = np.column_stack([y, X])
    demeaned = None
    method = "within_balanced"
    if weights is None:
        demeaned = _balanced_demean(mats, u, t, b, n_u, n_t)
    if demeaned is None:
        method = "alternating_projections"
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
        if (w <= 0).any() or not np.isfinite(w).all():
            raise InputError("weights must be positive and finite")
        second = (t, n_t) if b is None else _codes(b * n_t + t)
        demeaned = _map_demean(mats, [(u, n_u), second], w)
    sw = np.ones(len(y)) if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    yd = demeaned[:, 0] * sw
    Xd = demeaned[:, 1:] * sw[:, None]
    xtx = Xd.T @ Xd
    # variation left after the fixed effects, relative to the variation about the mean: a
    # regressor that is a combination of the fixed effects leaves only rounding error
    X0 = (X - X.mean(axis=0)) * sw[:, None]
    left = np.diag(xtx) / np.maximum((X0**2).sum(axis=0), np.finfo(float).tiny)
    if np.linalg.matrix_rank(xtx) < Xd.shape[1] or (left < 1e-10).any():
        raise InputError(
            "the treatment indicator is collinear with the fixed effects (no variation left: "
            "are there both treated and untreated unit-months in the post period?)"
        )
    xtx_inv = np.linalg.inv(xtx)
    beta = xtx_inv @ (Xd.T @ yd)
    e = yd - Xd @ beta
    scores = np.column_stack(
        [np.bincount(cl, weights=Xd[:, j] * e, minlength=n_g) for j in range(Xd.shape[1])]
    )
    meat = scores.T @ scores
    sandwich = xtx_inv @ meat @ xtx_inv
    n, k = len(y), Xd.shape[1]
    # fixed effects: unit (n_u levels) and time or block x time
    n_bt = n_t if b is None else len(np.unique(b * n_t + t))
    second_codes = t if b is None else _codes(b * n_t + t)[0]
    fe_levels = [(u, n_u), (second_codes, n_bt)]
    if ssc == "fixest":
        k_fe_adj = n_u + n_bt - 1
        nested = [_nested(c, m, cl) for c, m in fe_levels]
        k_nested = sum(m for (c, m), nst in zip(fe_levels, nested, strict=True) if nst)
        df_k = k + k_fe_adj - k_nested + sum(nested) if any(nested) else k + k_fe_adj
        factor = n_g / (n_g - 1) * (n - 1) / (n - df_k)
    elif ssc == "linearmodels":
        # PanelOLS counts every absorbed effect when there are two (auto_df), plus the constant
        df_k = k + n_u + n_bt - 1
        factor = n_g / (n_g - 1) * (n - 1) / (n - df_k)
    elif ssc == "none":
        df_k, factor = k, 1.0
    else:
        raise InputError(
            f"unknown small-sample correction ssc={ssc!r}; use one of {', '.join(SSC_CHOICES)}"
        )
    return FixedEffectsFit(
        params=beta,
        cov=sandwich * factor,
        names=tuple(names),
        n_obs=n,
        n_clusters=n_g,
        df_k=int(df_k),
        ssc_factor=float(factor),
        method=method,
        resid=e,
    )


# --------------------------------------------------------------------------- DiD result


@dataclass(frozen=True, eq=False)
class DidResult:
    """A two-way fixed-effects DiD estimate (outcome units per unit-month) and its inference.

    ``percent_change`` is 100 x estimate / counterfactual mean, where the counterfactual mean is
    the treated, post-period mean minus the estimate (what the treated would have had without
    the intervention). Its interval maps the effect's interval through ``T / (T - b)``
    (:func:`triplet.tracking.percent.from_additive`), so the counterfactual moves with ``b``
    and the interval never falls below -100%.
    """

    outcome: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    t_stat: float
    df: int
    n_obs: int
    n_units: int
    n_clusters: int
    cluster: str
    alpha: float
    counterfactual_mean: float
    treated_mean: float
    method: str
    ssc: str
    fixed_effects: str
    trends: pd.DataFrame = field(repr=False)

    @property
    def percent(self):
        """:class:`~triplet.tracking.percent.PercentChange` (ratio scale, log effect for pooling)."""
        from triplet.tracking.percent import from_additive

        return from_additive(
            self.estimate, self.ci_low, self.ci_high, self.treated_mean, se=self.se, df=self.df
        )

    @property
    def percent_change(self) -> float:
        v = self.percent.percent_change
        return float("nan") if v is None else v

    @property
    def percent_ci_low(self) -> float:
        v = self.percent.percent_ci_low
        return float("nan") if v is None else v

    @property
    def percent_ci_high(self) -> float:
        v = self.percent.percent_ci_high
        return float("nan") if v is None else v

    @property
    def notes(self) -> str:
        return (
            f"TWFE DiD ({self.fixed_effects} fixed effects), CRV1 clustered by "
            f"{self.cluster} ({self.n_clusters} clusters), {self.ssc} small-sample "
            f"correction, t({self.df}) inference."
        )

    def summary(self) -> pd.DataFrame:
        """One tidy row: estimate, SE, CI, p, n and the per-cent change."""
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k != "notes"}])

    def to_dict(self) -> dict:
        """JSON values (:func:`triplet.io.jsonable`: NaN and infinities become None)."""
        return jsonable(
            {
                "estimator": "twfe_did",
                "outcome": self.outcome,
                "estimate": float(self.estimate),
                "se": float(self.se),
                "ci_low": float(self.ci_low),
                "ci_high": float(self.ci_high),
                "p_value": float(self.p_value),
                "t_stat": float(self.t_stat),
                "df": int(self.df),
                "n_obs": int(self.n_obs),
                "n_units": int(self.n_units),
                "n_clusters": int(self.n_clusters),
                "cluster": self.cluster,
                "alpha": self.alpha,
                "counterfactual_mean": float(self.counterfactual_mean),
                "treated_mean": float(self.treated_mean),
                **self.percent.to_dict(),
                "method": self.method,
                "ssc": self.ssc,
                "fixed_effects": self.fixed_effects,
                "notes": self.notes,
            }
        )

    def plot(self, ax=None):
        """Mean outcome by period, treated vs comparison units, with the start marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        tr = self.trends
        for grp, style in (("treated", "-"), ("comparison", "--")):
            sub = tr[tr["group"] == grp]
            ax.plot(range(len(sub)), sub["mean"].to_numpy(), style, marker=".", label=grp)
        times = tr.loc[tr["group"] == "treated", "time"].astype(str).tolist()
        if times:
            step = max(1, len(times) // 8)
            ax.set_xticks(range(0, len(times), step), times[::step], rotation=45, ha="right")
        first_post = tr.loc[(tr["group"] == "treated") & tr["post"], "time"]
        if len(first_post):
            ax.axvline(times.index(str(first_post.iloc[0])) - 0.5, color="grey", lw=1)
        ax.set_ylabel(f"mean {self.outcome} per unit")
        ax.set_title(
            f"DiD {self.estimate:+.3g} ({self.ci_low:.3g} to {self.ci_high:.3g}), "
            f"{self.percent_change:+.1f}%"
        )
        ax.legend(frameon=False)
        return ax


def did(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str | None = None,
    weights: str | None = None,
    block: str | None = None,
    alpha: float = 0.05,
    method: Literal["auto", "panelols"] = "auto",
    ssc: Ssc | None = None,
) -> DidResult:
    """Two-way fixed-effects difference-in-differences on any unit x time panel.

    ``treated`` is the treatment-by-post indicator (0/1 or bool): 1 for a treated unit in a
    treated period. ``cluster`` defaults to ``unit``. ``block`` (optional) replaces the time
    effects by block x time effects (blocked or paired randomisation). Effects are in the units
    of ``outcome`` per unit-period. References: Angrist & Pischke (2009); Bertrand, Duflo &
    Mullainathan (2004) on clustering; Cameron & Miller (2015) for CRV1.

    ``ssc`` defaults to ``"fixest"`` (``"linearmodels"`` with ``method="panelols"``, the only
    correction PanelOLS applies here). Every input is checked before any estimation: ``alpha``
    in (0, 1), a known ``ssc`` and ``method``, finite outcomes and positive finite weights, one
    row per unit x period, and a treatment that is not collinear with the fixed effects.
    Problems name the 1-based row of ``panel`` as their ``line``.
    """
    _check_options(alpha, method, ssc)
    ssc = ssc or ("linearmodels" if method == "panelols" else "fixest")
    check_columns(
        panel,
        {
            "outcome": outcome,
            "unit": unit,
            "time": time,
            "treated": treated,
            "cluster": cluster,
            "weights": weights,
            "block": block,
        },
    )
    cols = [c for c in dict.fromkeys([outcome, unit, time, treated, cluster, weights, block]) if c]
    df = panel[cols]
    missing = df.isna().any(axis=1)
    if missing.any():
        bad = df.columns[df.isna().any()].tolist()
        row = int(np.flatnonzero(missing.to_numpy())[0])
        first_bad = next(c for c in df.columns if pd.isna(df[c].iloc[row]))
        raise InputError(
            Problem(
                "panel",
                f"{int(missing.sum())} rows have missing values in {', '.join(map(str, bad))} "
                f"(first at row {row + 1})",
                line=row + 1,
                field=str(first_bad),
            )
        )
    y = pd.to_numeric(df[outcome], errors="coerce")
    if y.isna().any():
        row = int(np.flatnonzero(y.isna().to_numpy())[0])
        raise InputError(
            Problem(
                "panel",
                f"outcome column {outcome!r} is not numeric (row {row + 1}: "
                f"{df[outcome].iloc[row]!r})",
                line=row + 1,
                field=outcome,
            )
        )
    yv = y.to_numpy(dtype=float)
    _check_finite(yv, outcome, "outcome")
    d = _indicator(df[treated], treated)
    if d.min() == d.max():
        raise InputError(
            Problem("panel", f"has no variation (all {d[0]:g})", field=treated),
        )
    w = None
    if weights is not None:
        w = pd.to_numeric(df[weights], errors="coerce").to_numpy(float)
        _check_finite(w, weights, "weight")
        if (w <= 0).any():
            row = int(np.flatnonzero(w <= 0)[0])
            raise InputError(
                Problem("panel", f"weights must be positive (row {row + 1}: {w[row]:g})",
                        line=row + 1, field=weights)
            )  # fmt: skip
    _check_unique(df, unit, time)
    _check_identified(df, d, unit, time, block, treated)
    cl_name = cluster or unit
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        try:
            if method == "panelols":
                fit = _panelols(df, yv, d, unit, time, cl_name, w, block)
            else:
                fit = fit_fixed_effects(
                    yv,
                    d[:, None],
                    unit=df[unit].to_numpy(),
                    time=df[time].to_numpy(),
                    cluster=df[cl_name].to_numpy(),
                    block=None if block is None else df[block].to_numpy(),
                    weights=w,
                    ssc=ssc,
                )
        except (FloatingPointError, RuntimeWarning) as exc:
            raise _overflow(yv, outcome, exc) from None
    est, se = float(fit.params[0]), float(fit.se[0])
    if not (math.isfinite(est) and math.isfinite(se)):
        raise _overflow(yv, outcome, None)
    dof = fit.df_t
    tcrit = stats.t.ppf(1 - alpha / 2, dof)
    tstat = est / se if se > 0 else float("nan")
    p = float(2 * stats.t.sf(abs(tstat), dof)) if se > 0 else float("nan")
    on = d == 1
    treated_mean = float(np.average(yv[on], weights=None if w is None else w[on]))
    trends = _trends(df, outcome, unit, time, d)
    return DidResult(
        outcome=outcome,
        estimate=est,
        se=se,
        ci_low=est - tcrit * se,
        ci_high=est + tcrit * se,
        p_value=p,
        t_stat=tstat,
        df=dof,
        n_obs=fit.n_obs,
        n_units=int(df[unit].nunique()),
        n_clusters=fit.n_clusters,
        cluster=cl_name,
        alpha=alpha,
        counterfactual_mean=treated_mean - est,
        treated_mean=treated_mean,
        method=fit.method,
        ssc=ssc,
        fixed_effects=f"{unit} + {time}" if block is None else f"{unit} + {block} x {time}",
        trends=trends,
    )


def _check_options(alpha: float, method: str, ssc: str | None) -> None:
    """The scalar options, before any data is touched."""
    try:
        ok = 0.0 < float(alpha) < 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(
            Problem("did", f"alpha must be between 0 and 1 (exclusive), not {alpha!r}",
                    field="alpha")
        )  # fmt: skip
    if method not in ("auto", "panelols"):
        raise InputError(
            Problem("did", f"unknown method {method!r}; use auto or panelols", field="method")
        )
    if ssc is not None and ssc not in SSC_CHOICES:
        raise InputError(
            Problem(
                "did",
                f"unknown small-sample correction {ssc!r}; use one of {', '.join(SSC_CHOICES)}",
                field="ssc",
            )
        )
    if method == "panelols" and ssc not in (None, "linearmodels"):
        raise InputError(
            Problem(
                "did",
                f"method='panelols' applies linearmodels' correction (debiased, group_debias), "
                f"not ssc={ssc!r}; pass ssc='linearmodels' or leave it out, or use "
                "method='auto' for that correction",
                field="ssc",
            )
        )


def _check_finite(v: np.ndarray, column: str, what: str) -> None:
    bad = ~np.isfinite(v)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            Problem(
                "panel",
                f"{what} values must be finite numbers: {int(bad.sum())} are not "
                f"(first at row {row + 1}: {v[row]!r})",
                line=row + 1,
                field=column,
            )
        )


def _overflow(y: np.ndarray, outcome: str, exc: BaseException | None) -> InputError:
    row = int(np.argmax(np.abs(y)))
    return InputError(
        Problem(
            "panel",
            f"outcome values are too large to estimate with (the computation overflowed; "
            f"largest |value| {abs(y[row]):.3g} at row {row + 1}); rescale the outcome",
            line=row + 1,
            field=outcome,
        )
    )


def _check_unique(df: pd.DataFrame, unit: str, time: str) -> None:
    dup = df.duplicated([unit, time], keep=False).to_numpy()
    if not dup.any():
        return
    first = int(np.flatnonzero(dup)[0])
    key = (df[unit].iloc[first], df[time].iloc[first])
    same = np.flatnonzero(dup & (df[unit].to_numpy() == key[0]) & (df[time].to_numpy() == key[1]))
    rows = " and ".join(str(int(r) + 1) for r in same[:3]) + (" ..." if len(same) > 3 else "")
    n_extra = int(df.duplicated([unit, time]).sum())
    raise InputError(
        Problem(
            "panel",
            f"one row per {unit} x {time} is needed: rows {rows} are all {unit} {key[0]!r}, "
            f"{time} {key[1]!r} ({n_extra} duplicated row{'s' if n_extra != 1 else ''} in "
            "all); remove or aggregate them",
            line=first + 1,
            field=f"{unit},{time}",
        )
    )


def _check_identified(
    df: pd.DataFrame, d: np.ndarray, unit: str, time: str, block: str | None, treated: str
) -> None:
    """The treatment must vary within units and within periods (block x periods): otherwise
    it is collinear with the fixed effects and no effect is identified."""
    dd = pd.Series(d, index=df.index)
    per = [df[time]] if block is None else [df[block], df[time]]
    where = time if block is None else f"{block} x {time}"
    if (dd.groupby(per, sort=False, observed=True).nunique() <= 1).all():
        raise InputError(
            Problem(
                "panel",
                f"varies only with {where}: in every {where} all units have the same "
                "treatment (e.g. every unit treated from the same period), so it is collinear "
                f"with the {where} fixed effects and no effect is identified; a comparison "
                "group that is untreated in the treated periods is needed",
                field=treated,
            )
        )
    if (dd.groupby(df[unit], sort=False, observed=True).nunique() <= 1).all():
        raise InputError(
            Problem(
                "panel",
                f"varies only between {unit}s: no {unit} changes treatment over {time}, so it "
                f"is collinear with the {unit} fixed effects and no effect is identified; "
                "periods before treatment are needed",
                field=treated,
            )
        )


def _indicator(s: pd.Series, name: str) -> np.ndarray:
    if s.dtype == bool:
        return s.to_numpy(dtype=float)
    v = pd.to_numeric(s, errors="coerce")
    ok = v.isin([0, 1])
    if not ok.all():
        row = int(np.flatnonzero(~ok.to_numpy())[0])
        raise InputError(
            Problem(
                "panel",
                f"treated column {name!r} must be 0/1 or true/false (row {row + 1}: "
                f"{s.iloc[row]!r})",
                line=row + 1,
                field=name,
            )
        )
    return v.to_numpy(dtype=float)


def _trends(df: pd.DataFrame, outcome: str, unit: str, time: str, d: np.ndarray) -> pd.DataFrame:
    """Mean outcome per period for ever-treated and never-treated units."""
    u, n_u = _codes(df[unit].to_numpy())
    t_codes, t_values = pd.factorize(df[time].to_numpy(), sort=True)
    n_t = len(t_values)
    ever = np.bincount(u, weights=d, minlength=n_u)[u] > 0
    y = df[outcome].to_numpy(dtype=float)
    cell = ever.astype(np.int64) * n_t + t_codes
    sums = np.bincount(cell, weights=y, minlength=2 * n_t)
    ns = np.bincount(cell, minlength=2 * n_t)
    post = np.bincount(cell, weights=d, minlength=2 * n_t) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / ns
    out = pd.DataFrame(
        {
            "group": np.repeat(["comparison", "treated"], n_t),
            "time": np.tile(np.asarray(t_values, dtype=object), 2),
            "mean": means,
            "n": ns,
            "post": post,
        }
    )
    return out[out["n"] > 0].reset_index(drop=True)


def _panelols(df, y, d, unit, time, cl_name, w, block):
    """Reference fit with linearmodels PanelOLS (entity + time or block x time effects)."""
    from linearmodels.panel import PanelOLS

    idx = pd.MultiIndex.from_arrays(
        [pd.Index(pd.factorize(df[unit], sort=True)[0]), pd.factorize(df[time], sort=True)[0]],
        names=["unit", "time"],
    )
    yy = pd.Series(y, index=idx, name="y")
    xx = pd.DataFrame({"treated": d}, index=idx)
    kw = {}
    if block is None:
        kw["time_effects"] = True
    else:
        bt = pd.factorize(df[block].astype(str).to_numpy() + "|" + df[time].astype(str).to_numpy())[
            0
        ]
        kw["other_effects"] = pd.DataFrame({"bt": bt}, index=idx)
    model = PanelOLS(
        yy,
        xx,
        entity_effects=True,
        weights=None if w is None else pd.Series(w, index=idx),
        check_rank=False,
        **kw,
    )
    clusters = pd.DataFrame({"c": pd.factorize(df[cl_name], sort=True)[0]}, index=idx)
    res = model.fit(
        cov_type="clustered",
        clusters=clusters,
        group_debias=True,
        debiased=True,
        auto_df=False,
        count_effects=True,
    )
    n_g = int(df[cl_name].nunique())
    cov = np.asarray(res.cov)
    return FixedEffectsFit(
        params=np.asarray(res.params),
        cov=cov,
        names=("treated",),
        n_obs=int(res.nobs),
        n_clusters=n_g,
        df_k=0,
        ssc_factor=float("nan"),
        method="panelols",
        resid=np.asarray(res.resids),
    )
