"""Design diagnosis by simulation (Blair, Cooper, Coppock & Humphreys 2019, "Declaring and
diagnosing research designs", APSR).

On a baseline panel (the trial's own, or the example borough) the registered design is run many
times: units are re-assigned with the registered procedure
(:func:`triplet.testing.assignment.draw_assignments`), the last months of the baseline become a
pseudo treatment period, a known proportional reduction is injected into the treated
unit-months of that period, and the effect is estimated with a fast difference-in-differences.
The diagnosands are power, bias, RMSE, coverage of the 95% interval and (effect 0) the type-I
error, each with its Monte-Carlo standard error.

The estimator: for unit i, ``D_i`` = mean outcome in the pseudo treatment months minus mean in
the earlier months; ``D`` is regressed on treatment with block (or pair) fixed effects, with a
cluster-robust CR1 standard error (clusters = units, or the design's clusters) and a t reference
with G - 1 degrees of freedom. On a balanced panel this is the two-way fixed-effects DiD with
block-by-month effects, clustered by unit (Bertrand, Duflo & Mullainathan 2004). The estimand
of each simulated trial is the effect actually injected, averaged over treated units with the
regression's weights (equal weights when blocks share one treated fraction).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError, StateError
from triplet.io import jsonable
from triplet.registry.models import Design
from triplet.seeds import stream_seed
from triplet.testing.assignment import design_structure, draw_assignments
from triplet.testing.power import PowerDesign, power, serial_correlation

__all__ = ["Diagnosis", "diagnose", "did_draws"]


# --------------------------------------------------------------------------------------------
# The fast estimator over many assignments
# --------------------------------------------------------------------------------------------


def _indicator(codes: np.ndarray, n_groups: int) -> np.ndarray:
    m = np.zeros((len(codes), n_groups))
    m[np.arange(len(codes)), codes] = 1.0
    return m


def did_draws(
    d0: np.ndarray,
    post: np.ndarray,
    treated: np.ndarray,
    strata: np.ndarray,
    clusters: np.ndarray,
    reductions: Sequence[float],
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Vectorised DiD over assignments and injected reductions.

    ``d0`` post-minus-pre means per unit without effect, ``post`` the post-period mean per
    unit, ``treated`` draws x units (bool), ``strata`` and ``clusters`` integer codes per unit,
    ``reductions`` proportional effects (0.2 = 20% fewer in treated post months). Returns
    arrays (reductions x draws): ``estimate``, ``estimand``, ``se``, ``reject``, ``cover``.
    """
    z = np.asarray(treated, dtype=float)
    n = z.shape[1]
    s_mat = _indicator(strata, int(strata.max()) + 1)
    s_n = s_mat.sum(axis=0)
    s_mat, s_n = s_mat[:, s_n > 0], s_n[s_n > 0]
    c_codes = pd.factorize(clusters)[0]
    g = int(c_codes.max()) + 1
    # one unit per cluster: the unit scores are the cluster scores
    c_mat = None if g == n else _indicator(c_codes, g)

    def demean(a: np.ndarray) -> np.ndarray:
        return a - ((a @ s_mat) / s_n) @ s_mat.T

    zt = demean(z)
    szz = (zt * zt).sum(axis=1)
    ok = szz > 1e-12
    szz = np.where(ok, szz, np.nan)
    d0t = d0 - s_mat @ ((s_mat.T @ d0) / s_n)
    beta0 = (zt @ d0t) / szz
    p_mat = z * post[None, :]
    a = (zt * p_mat).sum(axis=1) / szz
    e0 = d0t[None, :] - beta0[:, None] * zt
    gvec = demean(p_mat) - a[:, None] * zt
    k = s_mat.shape[1] + 1
    factor = g / max(g - 1, 1) * (n - 1) / max(n - k, 1)
    crit = stats.t.ppf(1 - alpha / 2, max(g - 1, 1))
    out: dict[str, list[np.ndarray]] = {k_: [] for k_ in ("estimate", "estimand", "se")}
    for r in reductions:
        est = beta0 - r * a
        e = e0 - r * gvec
        scores = zt * e if c_mat is None else (zt * e) @ c_mat
        se = np.sqrt(factor * (scores * scores).sum(axis=1)) / szz
        out["estimate"].append(est)
        out["estimand"].append(-r * a)
        out["se"].append(se)
    res = {k_: np.vstack(v) for k_, v in out.items()}
    res["reject"] = np.abs(res["estimate"]) > crit * res["se"]
    res["cover"] = np.abs(res["estimate"] - res["estimand"]) <= crit * res["se"]
    # the registered frequentist decision rule, one direction at a time (docs/verdicts.md)
    res["reduction_verdict"] = res["estimate"] + crit * res["se"] < 0
    res["increase_verdict"] = res["estimate"] - crit * res["se"] > 0
    res["scale"] = np.broadcast_to(a, res["estimate"].shape)
    return res


def _did_chunk(args: tuple) -> dict[str, np.ndarray]:
    return did_draws(*args)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    """Diagnosands per injected reduction (``table``) and the headline at ``reduction``."""

    table: pd.DataFrame
    reduction: float
    n_sims: int
    n_units: int
    pre_months: int
    post_months: int
    outcome: str
    method: str
    alpha: float
    target: float
    seed: int
    analytic: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def _row(self, reduction: float) -> pd.Series:
        i = int(np.argmin(np.abs(self.table["reduction"] - reduction)))
        return self.table.iloc[i]

    @property
    def power(self) -> float:
        return float(self._row(self.reduction)["power"])

    @property
    def type_i_error(self) -> float:
        return float(self._row(0.0)["power"])

    @property
    def null_reduction_rate(self) -> float:
        """Share of null trials (effect 0) the frequentist rule calls a reduction."""
        return float(self._row(0.0).get("reduction_verdict_rate", np.nan))

    @property
    def null_increase_rate(self) -> float:
        """Share of null trials the frequentist rule calls an increase."""
        return float(self._row(0.0).get("increase_verdict_rate", np.nan))

    @property
    def reduction_power(self) -> float:
        """Share of trials with the registered reduction that the rule calls a reduction."""
        return float(self._row(self.reduction).get("reduction_verdict_rate", np.nan))

    @property
    def simulated_mde(self) -> float:
        """Smallest reduction with simulated power >= target (linear interpolation; NaN if the
        grid never reaches it)."""
        t = self.table.sort_values("reduction")
        x, y = t["reduction"].to_numpy(), t["power"].to_numpy()
        above = np.flatnonzero(y >= self.target)
        above = above[above > 0]
        if not len(above):
            return float("nan")
        j = int(above[0])
        if y[j] == y[j - 1]:
            return float(x[j])
        return float(x[j - 1] + (self.target - y[j - 1]) * (x[j] - x[j - 1]) / (y[j] - y[j - 1]))

    def summary(self) -> pd.DataFrame:
        """Headline diagnosands with Monte-Carlo standard errors."""
        h, z = self._row(self.reduction), self._row(0.0)
        rows = [
            ("power", h["power"], h["power_mcse"]),
            ("bias (outcome units per month)", h["bias"], h["bias_mcse"]),
            ("relative bias (% of the effect)", h["relative_bias"], h["relative_bias_mcse"]),
            ("RMSE (outcome units per month)", h["rmse"], h["rmse_mcse"]),
            ("coverage of the 95% interval", h["coverage"], h["coverage_mcse"]),
            ("type-I error (effect 0)", z["power"], z["power_mcse"]),
            ("simulated MDE (reduction)", self.simulated_mde, np.nan),
        ]
        if self.analytic:
            rows.append(("analytic power", self.analytic.get("power_at_reduction"), np.nan))
            rows.append(("analytic MDE (reduction)", self.analytic.get("mde_reduction"), np.nan))
        return pd.DataFrame(rows, columns=["diagnosand", "estimate", "mcse"])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "reference": "Blair, Cooper, Coppock & Humphreys (2019)",
                "outcome": self.outcome,
                "method": self.method,
                "reduction": self.reduction,
                "n_sims": self.n_sims,
                "n_units": self.n_units,
                "pre_months": self.pre_months,
                "post_months": self.post_months,
                "alpha": self.alpha,
                "target": self.target,
                "seed": self.seed,
                "note": self.note,
                "power": self.power,
                "type_i_error": self.type_i_error,
                "null_reduction_rate": self.null_reduction_rate,
                "null_increase_rate": self.null_increase_rate,
                "reduction_power": self.reduction_power,
                "simulated_mde": self.simulated_mde,
                "summary": self.summary().to_dict("records"),
                "curve": self.table.to_dict("records"),
                "analytic": dict(self.analytic),
            }
        )

    def plot(self, ax=None):
        """Power curve over injected reductions: simulated (with 95% Monte-Carlo bands) and
        analytic."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4))
        t = self.table.sort_values("reduction")
        x = 100 * t["reduction"]
        ax.fill_between(
            x,
            np.clip(t["power"] - 1.96 * t["power_mcse"], 0, 1),
            np.clip(t["power"] + 1.96 * t["power_mcse"], 0, 1),
            color="#2c3e50",
            alpha=0.2,
            lw=0,
        )
        ax.plot(x, t["power"], "o-", color="#2c3e50", ms=3, label=f"simulated ({self.n_sims})")
        if "power_analytic" in t:
            ax.plot(x, t["power_analytic"], "--", color="#16a085", label="analytic")
        ax.axhline(self.target, color="#7f8c8d", ls=":", lw=1)
        ax.axhline(self.alpha, color="#7f8c8d", ls=":", lw=1)
        ax.axvline(100 * self.reduction, color="#c0392b", lw=1, ls="--", label="registered")
        ax.set_xlabel(f"injected reduction in {self.outcome} (%)")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1.02)
        ax.set_title(
            f"Design diagnosis: {self.method}, {self.n_units} units, "
            f"{self.pre_months}+{self.post_months} months"
        )
        ax.legend(frameon=False, loc="lower right")
        ax.grid(alpha=0.3)
        return ax


# --------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------


def _wide(panel: pd.DataFrame, units: Sequence[str], outcome: str) -> tuple[np.ndarray, list]:
    need = {"unit", "month", outcome}
    missing = need - set(panel.columns)
    if missing:
        raise InputError(f"baseline panel: missing columns {', '.join(sorted(missing))}")
    wide = panel.assign(unit=panel["unit"].astype(str)).pivot_table(
        index="unit", columns="month", values=outcome, aggfunc="sum", fill_value=0.0
    )
    absent = [u for u in units if u not in wide.index]
    if absent:
        raise InputError(
            f"baseline panel: {len(absent)} unit(s) of the unit table have no rows, "
            f"e.g. {absent[0]!r}"
        )
    wide = wide.reindex(index=list(units)).sort_index(axis=1)
    return wide.to_numpy(dtype=float), list(wide.columns)


def _grid(reduction: float, effects: Sequence[float] | None, mde_hint: float) -> np.ndarray:
    if effects is None:
        top = 1.5 * reduction
        if np.isfinite(mde_hint):
            top = max(top, 2 * mde_hint)
        effects = np.linspace(0, min(max(top, 0.05), 0.95), 13)
    return np.unique(np.round(np.r_[0.0, np.asarray(effects, dtype=float), reduction], 10))


def _mcse_rows(res: dict[str, np.ndarray], grid: np.ndarray) -> pd.DataFrame:
    rows = []
    for j, r in enumerate(grid):
        est, tau, se = res["estimate"][j], res["estimand"][j], res["se"][j]
        keep = np.isfinite(est) & np.isfinite(se)
        est, tau, se = est[keep], tau[keep], se[keep]
        k = len(est)
        err = est - tau
        pw = float(res["reject"][j][keep].mean())
        red = (
            float(res["reduction_verdict"][j][keep].mean())
            if "reduction_verdict" in res
            else np.nan
        )
        inc = (
            float(res["increase_verdict"][j][keep].mean()) if "increase_verdict" in res else np.nan
        )
        cov = float(res["cover"][j][keep].mean())
        rmse = float(np.sqrt(np.mean(err**2)))
        scale = float(np.mean(res["scale"][j][keep]))
        sq = err**2
        rows.append(
            {
                "reduction": float(r),
                "power": pw,
                "power_mcse": math.sqrt(pw * (1 - pw) / k),
                "reduction_verdict_rate": red,
                "increase_verdict_rate": inc,
                "bias": float(err.mean()),
                "bias_mcse": float(err.std(ddof=1) / math.sqrt(k)),
                "relative_bias": 100 * float(err.mean()) / scale / r if r > 0 else np.nan,
                "relative_bias_mcse": 100 * float(err.std(ddof=1) / math.sqrt(k)) / scale / r
                if r > 0
                else np.nan,
                "rmse": rmse,
                "rmse_mcse": float(sq.std(ddof=1) / math.sqrt(k) / (2 * rmse)) if rmse > 0 else 0.0,
                "coverage": cov,
                "coverage_mcse": math.sqrt(cov * (1 - cov) / k),
                "mean_estimate": float(est.mean()),
                "mean_estimand": float(tau.mean()),
                "sd_estimate": float(est.std(ddof=1)),
                "mean_se": float(se.mean()),
                "n_sims": k,
            }
        )
    return pd.DataFrame(rows)


def _analytic(
    y: np.ndarray,
    pre: int,
    post_n: int,
    d0: np.ndarray,
    strata: np.ndarray,
    clusters: np.ndarray,
    p: float,
    alpha: float,
    target: float,
    grid: np.ndarray,
    reduction: float,
) -> tuple[dict[str, Any], np.ndarray]:
    """McKenzie (2012) DiD power from the panel's mean, SD and serial correlation."""
    n, t = y.shape
    long = pd.DataFrame(
        {"unit": np.repeat(np.arange(n), t), "month": np.tile(np.arange(t), n), "y": y.ravel()}
    )
    mean, sd, rho = serial_correlation(long, "y")
    # share of the variance of unit differences explained by strata (blocks/pairs)
    s_codes = pd.factorize(strata)[0]
    n_strata = int(s_codes.max()) + 1
    if n_strata > 1:
        smeans = pd.Series(d0).groupby(s_codes).transform("mean").to_numpy()
        within = float(((d0 - smeans) ** 2).sum()) / max(n - n_strata, 1)
        total = float(d0.var(ddof=1))
        r2 = float(np.clip(1 - within / total, 0.0, 0.95)) if total > 0 else 0.0
    else:
        r2 = 0.0
    c_codes = pd.factorize(clusters)[0]
    g = int(c_codes.max()) + 1
    csize = n / g
    icc = 0.0
    if g < n:
        cm = pd.Series(d0).groupby(c_codes).transform("mean").to_numpy()
        msw = float(((d0 - cm) ** 2).sum()) / max(n - g, 1)
        msb = float(csize * ((pd.Series(d0).groupby(c_codes).mean() - d0.mean()) ** 2).sum()) / max(
            g - 1, 1
        )
        icc = float(np.clip((msb - msw) / (msb + (csize - 1) * msw), 0.0, 0.99))
    if sd <= 0:
        return {}, np.full(len(grid), np.nan)
    design = PowerDesign(
        n_units=n,
        sd=sd,
        treated_fraction=float(np.clip(p, 0.01, 0.99)),
        estimator="did",
        pre_months=pre,
        post_months=post_n,
        rho=rho,
        r2=r2,
        cluster_size=csize,
        icc=icc,
        n_strata=n_strata,
        alpha=alpha,
    )
    from triplet.testing.power import mde

    level = float(y[:, pre:].mean())
    curve = np.array([power(design, r * level) for r in grid])
    m = mde(design, target)
    info = {
        "method": "McKenzie (2012) DiD variance with equicorrelated months; Bloom (1995) MDE",
        "mean_per_unit_month": mean,
        "sd_per_unit_month": sd,
        "rho": rho,
        "r2_strata": r2,
        "icc": icc,
        "cluster_size": csize,
        "se": design.se,
        "df": design.df,
        "mde": m,
        "mde_reduction": m / level if level > 0 else float("nan"),
        "power_at_reduction": power(design, reduction * level),
    }
    return info, curve


def diagnose(
    panel: pd.DataFrame,
    units: pd.DataFrame,
    design: Design,
    *,
    outcome: str = "harm",
    reduction: float = 0.2,
    effects: Sequence[float] | None = None,
    n_sims: int = 1000,
    post_months: int | None = None,
    alpha: float = 0.05,
    target: float = 0.8,
    seed: int | None = None,
    progress: bool = False,
    workers: int | None = None,
    label: str | None = None,
    note: str | None = None,
) -> Diagnosis:
    """Diagnose ``design`` by simulation on a baseline ``panel`` (``unit, month, <outcome>``).

    ``units`` is the unit table (or an assignment table) the design randomises; ``reduction``
    the registered proportional effect (0.2 = 20% less); ``label`` and ``note`` describe the
    design in the output when it is a stand-in (matched controls); ``effects`` the grid of the power
    curve; ``post_months`` the length of the pseudo treatment period (default: half the
    baseline, at most 12). ``seed`` defaults to one derived from ``design.seed`` (a stream
    independent of the assignment's). ``workers`` > 1 evaluates chunks of simulations in
    parallel threads (numpy releases the GIL in its array kernels, so both cores work without
    the start-up and pickling cost of processes); default: every core when the work is large.
    """
    if design.method.value == "matched_control":
        raise StateError(
            "design diagnosis re-runs the random assignment; a matched-control design has none "
            "(use the analytic power in triplet.testing.power)"
        )
    if n_sims < 2:
        raise InputError(f"n_sims must be at least 2, got {n_sims}")
    if not 0 <= reduction < 1:
        raise InputError(f"the reduction {reduction} must be in [0, 1) (0.2 = 20% fewer)")
    ids = units["unit"].astype(str).tolist()
    y, months = _wide(panel, ids, outcome)
    n, t = y.shape
    post_n = post_months or min(12, t // 2)
    if t < 2 or not 1 <= post_n < t:
        raise InputError(
            f"baseline panel: {t} month(s) cannot be split into pseudo pre and post periods"
        )
    pre = t - post_n
    pre_mean, post_mean = y[:, :pre].mean(axis=1), y[:, pre:].mean(axis=1)
    d0 = post_mean - pre_mean
    struct = design_structure(units, design)
    if struct["pair"].notna().any():
        strata = struct["pair"].fillna("__odd__" + struct["unit"]).to_numpy(dtype=object)
    elif struct["block"].notna().any():
        strata = struct["block"].to_numpy(dtype=object)
    else:
        strata = np.zeros(n, dtype=np.intp)
    strata = pd.factorize(strata)[0]
    clusters = struct["cluster"].fillna(struct["unit"]).to_numpy(dtype=object)
    clusters = pd.factorize(clusters)[0]
    sim_seed = stream_seed(design.seed, "power_simulation") if seed is None else seed
    z = draw_assignments(units, design, n_sims, seed=sim_seed)
    analytic, _ = _analytic(
        y, pre, post_n, d0, strata, clusters, float(z.mean()), alpha, target, np.zeros(1), 0.0
    )
    grid = _grid(reduction, effects, analytic.get("mde_reduction", float("nan")))
    chunk = max(50, min(math.ceil(n_sims / 10), int(2_000_000 // max(n * len(grid), 1))))
    bounds = [(s, min(n_sims, s + chunk)) for s in range(0, n_sims, chunk)]
    tasks = [(d0, post_mean, z[a:b], strata, clusters, grid, alpha) for a, b in bounds]
    if workers is None:
        workers = (os.cpu_count() or 1) if n_sims * n * len(grid) > 20_000_000 else 1
    workers = max(1, min(workers, os.cpu_count() or 1, len(tasks)))
    parts: list[dict[str, np.ndarray]] = []
    with _progress(progress, len(tasks)) as advance:
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for part in pool.map(_did_chunk, tasks):
                    parts.append(part)
                    advance()
        else:
            for task in tasks:
                parts.append(_did_chunk(task))
                advance()
    res = {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}
    table = _mcse_rows(res, grid)
    analytic, curve = _analytic(
        y, pre, post_n, d0, strata, clusters, float(z.mean()), alpha, target, grid, reduction
    )
    table["power_analytic"] = curve
    return Diagnosis(
        table=table,
        reduction=float(reduction),
        n_sims=n_sims,
        n_units=n,
        pre_months=pre,
        post_months=post_n,
        outcome=outcome,
        method=label or design.method.value,
        alpha=alpha,
        target=target,
        seed=sim_seed,
        analytic=analytic | {"months": [str(m) for m in (months[0], months[-1])]},
        note=note,
    )


class _progress:
    """A rich progress bar over chunks (a no-op when ``show`` is false)."""

    def __init__(self, show: bool, total: int):
        self.show, self.total = show, total
        self._bar = None

    def __enter__(self):
        if not self.show:
            return lambda: None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("simulating trials"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
        )
        self._bar.__enter__()
        task = self._bar.add_task("sims", total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False
