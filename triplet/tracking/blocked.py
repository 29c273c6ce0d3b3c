"""Block-weighted average effect on the treated (ATT) for block-randomised trials.

With blocks of unequal treated shares (odd-sized blocks round the treated count), the two-way
fixed-effects DiD with block x month effects is a *variance-weighted* average of the block
effects: block ``b`` gets weight proportional to ``n_b p_b (1 - p_b)`` (``n_b`` units, a share
``p_b`` treated), not the ATT's ``n_b p_b`` (Angrist 1998; Gibbons, Suarez Serrato & Urbancic
2019, "Broken or fixed effects?"). When effects differ between blocks the two disagree.

This module estimates the ATT directly. For unit ``i`` the change ``D_i`` = mean outcome in the
post months minus mean in the pre months; in block ``b`` the effect is
``tau_b = mean(D | treated, b) - mean(D | control, b)``, and

    ATT = sum_b n_tb tau_b / sum_b n_tb            (n_tb treated units in block b)

(Imbens & Rubin 2015, ch. 9). Its standard error is the stratified Neyman variance
``sum_b w_b^2 (s_tb^2 / n_tb + s_cb^2 / n_cb)`` (conservative under randomisation; an arm with
one unit borrows the pooled within-cell variance), with ``N - 2B`` degrees of freedom. The
randomisation test uses the **same statistic** on every redrawn assignment
(:func:`stratified_statistic`), so the test and the estimate agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError
from triplet.io import jsonable
from triplet.tracking.did import check_columns
from triplet.tracking.estimate import effect_fields
from triplet.tracking.percent import PercentChange, from_additive

__all__ = [
    "BlockAttResult",
    "block_att",
    "stratified_statistic",
    "twfe_block_weights",
]


def twfe_block_weights(n_treated: np.ndarray, n_units: np.ndarray) -> pd.DataFrame:
    """Weights the block x month TWFE and the ATT give each block (each summing to 1)."""
    nt = np.asarray(n_treated, dtype=float)
    n = np.asarray(n_units, dtype=float)
    p = nt / n
    v = n * p * (1 - p)
    return pd.DataFrame({"twfe_weight": v / v.sum(), "att_weight": nt / nt.sum()})


def stratified_statistic(delta: np.ndarray, z: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """The block-weighted ATT of unit changes ``delta`` for each assignment row of ``z``.

    ``z`` is draws x units (bool) or one assignment; ``blocks`` integer codes per unit. Blocks
    where a draw leaves an arm empty contribute nothing to that draw.
    """
    z2 = np.atleast_2d(np.asarray(z, dtype=float))
    codes = pd.factorize(np.asarray(blocks))[0]
    s = np.zeros((len(codes), codes.max() + 1))
    s[np.arange(len(codes)), codes] = 1.0
    n_b = s.sum(axis=0)
    n_t = z2 @ s
    n_c = n_b[None, :] - n_t
    sum_t = (z2 * delta[None, :]) @ s
    sum_c = (delta @ s)[None, :] - sum_t
    ok = (n_t > 0) & (n_c > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(ok, sum_t / np.where(ok, n_t, 1) - sum_c / np.where(ok, n_c, 1), 0.0)
    w = np.where(ok, n_t, 0.0)
    out = (w * tau).sum(axis=1) / w.sum(axis=1)
    return out if np.ndim(z) == 2 else out[0]


@dataclass(frozen=True, eq=False)
class BlockAttResult:
    """Block-weighted ATT (outcome units per unit-month), its SE and the per-block table."""

    outcome: str
    estimate: float
    se: float
    df: int
    alpha: float
    treated_mean: float
    blocks: pd.DataFrame = field(repr=False)  # block, n_treated, n_control, effect, att/twfe wt
    n_units: int
    n_blocks_dropped: int

    @property
    def ci_low(self) -> float:
        return self.estimate - stats.t.ppf(1 - self.alpha / 2, self.df) * self.se

    @property
    def ci_high(self) -> float:
        return self.estimate + stats.t.ppf(1 - self.alpha / 2, self.df) * self.se

    @property
    def p_value(self) -> float:
        if not self.se > 0:
            return float("nan")
        return float(2 * stats.t.sf(abs(self.estimate / self.se), self.df))

    @property
    def percent(self) -> PercentChange:
        return from_additive(
            self.estimate, self.ci_low, self.ci_high, self.treated_mean, se=self.se, df=self.df
        )

    @property
    def percent_change(self) -> float:
        v = self.percent.percent_change
        return float("nan") if v is None else v

    @property
    def unequal_shares(self) -> bool:
        """True when blocks differ in treated share, so the TWFE and the ATT weights differ."""
        b = self.blocks
        share = b["n_treated"] / (b["n_treated"] + b["n_control"])
        return bool(share.max() - share.min() > 1e-12)

    def note(self) -> str | None:
        """A sentence for the results when the registered TWFE is not the ATT."""
        if not self.unequal_shares:
            return None
        b = self.blocks
        gap = float(np.abs(b["twfe_weight"] - b["att_weight"]).max())
        return (
            "Blocks differ in their share of treated units, so the block x month TWFE weighs "
            "blocks by n p (1 - p), not by their treated units as the ATT does (largest weight "
            f"gap {gap:.3f}); the block-weighted ATT is reported beside it."
        )

    def summary(self) -> pd.DataFrame:
        return self.blocks.copy()

    @property
    def n_obs(self) -> int:
        """Units: the ATT is built from unit pre/post means."""
        return self.n_units

    @property
    def n_clusters(self) -> None:
        return None

    @property
    def notes(self) -> str:
        return (
            self.note()
            or "Block-weighted ATT (blocks weighted by treated units), stratified Neyman SE."
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "estimator": "block_att",
                "outcome": self.outcome,
                **effect_fields(self),
                "treated_mean": float(self.treated_mean),
                "blocks": self.blocks.to_dict("records"),
                "n_blocks_dropped": int(self.n_blocks_dropped),
            }
        )

    def plot(self, ax=None):
        """Each block's effect (marker size = treated units) and the ATT."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        b = self.blocks
        x = np.arange(len(b))
        ax.scatter(x, b["effect"], s=30 * b["n_treated"], color="#333333")
        ax.axhline(self.estimate, color="#0550ae", label="ATT")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, b["block"].astype(str))
        ax.set_xlabel("block")
        ax.set_ylabel(f"effect on {self.outcome}")
        ax.legend(frameon=False)
        return ax


def block_att(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    post: str,
    treated: str,
    block: str,
    alpha: float = 0.05,
) -> BlockAttResult:
    """Block-weighted ATT on a unit x month panel (see the module docstring).

    ``post`` marks the treatment months (bool), ``treated`` the treated units (bool, constant
    within a unit), ``block`` each unit's block. Blocks lacking an arm are dropped and counted.
    """
    check_columns(
        panel, {"outcome": outcome, "unit": unit, "post": post, "treated": treated, "block": block}
    )
    units, pre, post_mean = unit_means(panel, outcome=outcome, unit=unit, post=post)
    per_unit = panel.groupby(unit, sort=True)[[treated, block]].first().reindex(units)
    z = per_unit[treated].astype(bool).to_numpy()
    b_codes, b_labels = pd.factorize(per_unit[block], sort=True)
    delta = post_mean - pre
    rows, dropped = [], 0
    resid: list[np.ndarray] = []
    for k, label in enumerate(b_labels):
        sel = b_codes == k
        dt, dc = delta[sel & z], delta[sel & ~z]
        if not len(dt) or not len(dc):
            dropped += 1
            continue
        rows.append(
            {
                "block": label,
                "n_treated": len(dt),
                "n_control": len(dc),
                "effect": float(dt.mean() - dc.mean()),
                "var_t": float(dt.var(ddof=1)) if len(dt) > 1 else math.nan,
                "var_c": float(dc.var(ddof=1)) if len(dc) > 1 else math.nan,
            }
        )
        resid += [dt - dt.mean(), dc - dc.mean()]
    if not rows:
        raise InputError("no block has both treated and control units", file="panel")
    tab = pd.DataFrame(rows)
    n_used = int((tab["n_treated"] + tab["n_control"]).sum())
    df = max(n_used - 2 * len(tab), 1)
    pooled = float(np.sum(np.concatenate(resid) ** 2) / df)
    vt = tab["var_t"].fillna(pooled).to_numpy()
    vc = tab["var_c"].fillna(pooled).to_numpy()
    nt, nc = tab["n_treated"].to_numpy(float), tab["n_control"].to_numpy(float)
    w = nt / nt.sum()
    est = float(np.sum(w * tab["effect"]))
    se = float(np.sqrt(np.sum(w**2 * (vt / nt + vc / nc))))
    weights = twfe_block_weights(nt, nt + nc)
    tab = pd.concat([tab.drop(columns=["var_t", "var_c"]), weights], axis=1)
    used = np.isin(b_codes, [list(b_labels).index(v) for v in tab["block"]])
    on = panel[post].astype(bool) & panel[treated].astype(bool)
    on &= panel[block].isin(tab["block"])
    return BlockAttResult(
        outcome=outcome,
        estimate=est,
        se=se,
        df=df,
        alpha=alpha,
        treated_mean=float(panel.loc[on, outcome].mean()),
        blocks=tab,
        n_units=int(used.sum()),
        n_blocks_dropped=dropped,
    )


def unit_means(
    panel: pd.DataFrame, *, outcome: str, unit: str, post: str
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Units (sorted) and their mean ``outcome`` before and after the start."""
    g = panel.groupby([unit, panel[post].astype(bool)], sort=True)[outcome].mean().unstack()
    if True not in g.columns or False not in g.columns or g.isna().any().any():
        raise InputError(f"every unit needs rows both before and after the start ({post!r})")
    return g.index, g[False].to_numpy(float), g[True].to_numpy(float)
