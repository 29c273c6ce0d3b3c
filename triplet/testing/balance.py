"""Balance of baseline covariates between arms: standardised mean differences, variance ratios
and the Hansen & Bowers (2008) omnibus test, as a table and a love plot.

- SMD: difference in means over the pooled standard deviation
  ``sqrt((s_t^2 + s_c^2) / 2)`` (Austin 2009; Stuart 2010). |SMD| <= 0.1 is the usual mark of
  good balance. When units have unequal probabilities of treatment (blocks of different
  shares), means and variances are weighted by the inverse probability of the arm received.
- Variance ratio ``s_t^2 / s_c^2`` (Rubin 2001): between 0.5 and 2 is acceptable.
- Omnibus: Hansen & Bowers (2008) ``d^2``. Per covariate, ``d = sum_b sum_{i in b} Z_i (x_i -
  xbar_b)`` (treated minus expected, within blocks or pairs; clusters enter as totals) has
  randomisation variance ``sum_b m_b (n_b - m_b) / (n_b (n_b - 1)) sum_{i in b} (x_i -
  xbar_b)^2``; ``d^2 = d' V^+ d`` is referred to chi-square with ``rank(V)`` degrees of freedom.
  It is a test of the randomisation itself (did the draw behave like the design says?), not of
  whether imbalance matters; under re-randomisation the chi-square reference is conservative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = ["BalanceResult", "balance", "hansen_bowers", "smd_matrix"]


def smd_matrix(x: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Standardised mean differences for many assignments at once.

    ``x`` is units x covariates, ``treated`` draws x units (bool); returns draws x covariates,
    (mean_t - mean_c) / sqrt((var_t + var_c) / 2) with ddof=1 variances (Austin 2009).
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(treated, dtype=float)
    if t.ndim == 1:
        t = t[None, :]
    c = 1.0 - t
    nt = t.sum(axis=1, keepdims=True)
    nc = c.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mt, mc = (t @ x) / nt, (c @ x) / nc
        x2 = x * x
        vt = ((t @ x2) - nt * mt**2) / (nt - 1)
        vc = ((c @ x2) - nc * mc**2) / (nc - 1)
        pooled = np.sqrt(np.maximum((vt + vc) / 2.0, 0.0))
        out = (mt - mc) / pooled
    # a covariate constant in both arms is perfectly balanced
    return np.where((pooled == 0) & np.isclose(mt, mc), 0.0, out)


def _weighted_stats(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    w = w / w.sum()
    mean = float((w * x).sum())
    n_eff = 1.0 / float((w**2).sum())
    var = float((w * (x - mean) ** 2).sum()) * n_eff / max(n_eff - 1.0, 1e-12)
    return mean, var


def hansen_bowers(
    x: np.ndarray,
    treated: np.ndarray,
    strata: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
) -> dict[str, Any]:
    """Hansen & Bowers (2008) randomisation-based balance test.

    ``x`` units x covariates; ``treated`` bool per unit; ``strata`` block or pair codes (one
    stratum if None); ``clusters`` codes of clusters assigned together (covariates summed over
    the cluster). Returns per-covariate ``z`` and ``p`` and the omnibus ``statistic`` (d^2),
    ``df`` and ``p_value``.
    """
    x = np.asarray(x, dtype=float)
    z_t = np.asarray(treated, dtype=bool)
    n = len(z_t)
    strata = np.zeros(n, dtype=np.intp) if strata is None else pd.factorize(strata)[0]
    if clusters is not None:
        ccode = pd.factorize(clusters)[0]
        k = ccode.max() + 1
        xs = np.zeros((k, x.shape[1]))
        np.add.at(xs, ccode, x)
        zt = np.zeros(k, dtype=bool)
        zt[ccode] = z_t
        st = np.zeros(k, dtype=np.intp)
        st[ccode] = strata
        x, z_t, strata = xs, zt, st
    d = np.zeros(x.shape[1])
    v = np.zeros((x.shape[1], x.shape[1]))
    for s in np.unique(strata):
        idx = strata == s
        nb, mb = int(idx.sum()), int(z_t[idx].sum())
        if nb < 2 or mb in (0, nb):
            continue
        xc = x[idx] - x[idx].mean(axis=0)
        d += xc[z_t[idx]].sum(axis=0)
        v += mb * (nb - mb) / (nb * (nb - 1)) * (xc.T @ xc)
    sd = np.sqrt(np.diag(v))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, d / sd, 0.0)
    pinv = np.linalg.pinv(v, rcond=1e-10)
    stat = float(d @ pinv @ d)
    df = int(np.linalg.matrix_rank(v, tol=1e-10 * max(np.abs(v).max(), 1e-300)))
    p_value = float(stats.chi2.sf(stat, df)) if df > 0 else float("nan")
    return {
        "z": z,
        "p": 2 * stats.norm.sf(np.abs(z)),
        "statistic": stat,
        "df": df,
        "p_value": p_value,
    }


@dataclass(frozen=True)
class BalanceResult:
    """Balance table (one row per covariate) and the omnibus test."""

    table: pd.DataFrame
    omnibus: dict[str, Any]
    n_treatment: int
    n_control: int
    weighted: bool
    notes: list[str] = field(default_factory=list)

    @property
    def max_abs_smd(self) -> float:
        return float(self.table["smd"].abs().max())

    def summary(self) -> pd.DataFrame:
        """The balance table: means, SDs, SMD, variance ratio, z and p per covariate."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.astype(object).where(self.table.notna(), None).to_dict("records")
        return jsonable(
            {
                "covariates": rows,
                "omnibus": {k: _num(v) for k, v in self.omnibus.items()},
                "max_abs_smd": _num(self.max_abs_smd),
                "n_treatment": self.n_treatment,
                "n_control": self.n_control,
                "weighted": self.weighted,
                "notes": list(self.notes),
            }
        )

    def plot(self, ax=None, threshold: float = 0.1):
        """Love plot: |SMD| per covariate with the ``threshold`` line (Ahmed et al. 2006)."""
        import matplotlib.pyplot as plt

        t = self.table.iloc[::-1]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.45 * len(t) + 1.5))
        y = np.arange(len(t))
        ax.scatter(t["smd"].abs(), y, color="#2c3e50", zorder=3, label="|SMD|")
        ax.axvline(threshold, color="#c0392b", ls="--", lw=1, label=f"{threshold}")
        ax.set_yticks(y, t["covariate"])
        ax.set_xlabel("absolute standardised mean difference")
        ax.set_xlim(left=0)
        p = self.omnibus.get("p_value")
        title = "Covariate balance"
        if p is not None and np.isfinite(p):
            title += f" (omnibus p = {p:.2f})"
        ax.set_title(title)
        ax.legend(frameon=False, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
        return ax


def _num(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def balance(
    units: pd.DataFrame,
    assignment: pd.DataFrame | Any,
    covariates: Sequence[str] = ("baseline_harm", "baseline_count"),
) -> BalanceResult:
    """Balance of ``covariates`` (columns of the unit table) between the arms of
    ``assignment`` (an :class:`~triplet.testing.assignment.Assignment` or its table).

    Blocks, pairs and clusters of the assignment define the omnibus test's strata; probabilities
    that differ between units switch on inverse-probability weights for means and SDs.
    """
    table = getattr(assignment, "table", assignment)
    method = getattr(assignment, "method", None)
    if "unit" not in units.columns:
        raise InputError("the unit table has no 'unit' column")
    u = units.assign(unit=units["unit"].astype(str))
    a = table.assign(unit=table["unit"].astype(str))
    missing = [c for c in covariates if c not in u.columns]
    if missing:
        raise InputError(f"balance covariates not in the unit table: {', '.join(missing)}")
    cols = ["unit", "arm"] + [c for c in ("block", "pair", "cluster", "probability") if c in a]
    merged = a[cols].merge(u[["unit", *covariates]], on="unit", how="left", validate="1:1")
    x = merged[list(covariates)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.isnan(x).any():
        i = int(np.flatnonzero(np.isnan(x).any(axis=1))[0])
        raise InputError(f"unit {merged['unit'].iloc[i]!r} has a missing covariate value")
    t = (merged["arm"] == "treatment").to_numpy()
    notes: list[str] = []
    prob = merged["probability"].to_numpy(dtype=float) if "probability" in merged else None
    weighted = prob is not None and np.isfinite(prob).all() and float(np.ptp(prob)) > 1e-12
    if weighted:
        w = np.where(t, 1.0 / prob, 1.0 / (1.0 - prob))
        notes.append("means and SDs weighted by 1/probability of the arm received")
    else:
        w = np.ones(len(t))
    rows = []
    for j, c in enumerate(covariates):
        mt, vt = _weighted_stats(x[t, j], w[t])
        mc, vc = _weighted_stats(x[~t, j], w[~t])
        pooled = np.sqrt((vt + vc) / 2)
        smd = (mt - mc) / pooled if pooled > 0 else (0.0 if mt == mc else np.inf)
        rows.append(
            {
                "covariate": c,
                "mean_treatment": mt,
                "mean_control": mc,
                "sd_treatment": np.sqrt(vt),
                "sd_control": np.sqrt(vc),
                "smd": smd,
                "variance_ratio": vt / vc if vc > 0 else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    strata = None
    if "pair" in merged and merged["pair"].notna().any():
        strata = merged["pair"].fillna("__unpaired__").to_numpy(dtype=object)
        if method == "matched_control":
            notes.append("matched sets used as strata: the test is descriptive (not randomised)")
    elif "block" in merged and merged["block"].notna().any():
        strata = merged["block"].fillna("__none__").to_numpy(dtype=object)
    clusters = None
    if "cluster" in merged and merged["cluster"].notna().any():
        clusters = merged["cluster"].fillna(merged["unit"]).to_numpy(dtype=object)
    hb = hansen_bowers(x, t, strata, clusters)
    out["z"] = hb["z"]
    out["p_value"] = hb["p"]
    if method == "simple":
        notes.append("simple randomisation: the test conditions on the number treated")
    if method == "rerandomised":
        notes.append(
            "re-randomised: the chi-square reference is conservative (Morgan & Rubin 2012)"
        )
    omnibus = {
        "method": "Hansen & Bowers (2008) d2, chi-square reference",
        "statistic": hb["statistic"],
        "df": hb["df"],
        "p_value": hb["p_value"],
    }
    return BalanceResult(
        table=out,
        omnibus=omnibus,
        n_treatment=int(t.sum()),
        n_control=int((~t).sum()),
        weighted=bool(weighted),
        notes=notes,
    )
