"""Priority Localities Index: a weighted composite of standardised indicators per place.

Community Safety Partnerships rank localities on several indicators at once (crime harm,
anti-social behaviour, deprivation ...). Each indicator is standardised (z-scores, or
percentile ranks) so that its units do not matter, oriented so that higher = higher priority,
multiplied by its weight and summed (OECD/JRC 2008, *Handbook on Constructing Composite
Indicators*, ch. 5-6). The weights come from a YAML file validated once at the edge::

    unit: lsoa_code            # id column of the units table
    standardise: z             # z | rank
    indicators:
      harm:        {column: harm, weight: 0.5}
      asb:         {column: asb_count, weight: 0.2}
      deprivation: {column: deprivation, weight: 0.3}
      satisfaction: {column: confidence, weight: 0.1, higher_is_priority: false}

The composite is relative to the units ranked: adding or removing units changes every score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = ["Indicator", "PLIConfig", "PriorityIndex", "load_pli_config", "priority_index"]


class Indicator(BaseModel):
    """One indicator: the units-table column, its weight, and which direction is worse."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1, description="Column of the units table.")
    weight: float = Field(gt=0, description="Relative weight (weights are rescaled to sum to 1).")
    higher_is_priority: bool = Field(
        default=True, description="False for indicators where lower values mean more need."
    )
    label: str | None = Field(default=None, description="Name shown in tables and plots.")


class PLIConfig(BaseModel):
    """A Priority Localities Index definition (validated from YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str = Field(default="unit", min_length=1, description="Unit id column.")
    standardise: Literal["z", "rank"] = "z"
    indicators: dict[str, Indicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_columns(self) -> PLIConfig:
        cols = [i.column for i in self.indicators.values()]
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise ValueError(f"indicators use the same column more than once: {dup}")
        return self

    @property
    def weights(self) -> dict[str, float]:
        """Weights rescaled to sum to 1."""
        total = sum(i.weight for i in self.indicators.values())
        return {k: i.weight / total for k, i in self.indicators.items()}


def load_pli_config(path: str | Path) -> PLIConfig:
    """Read and validate a PLI YAML file; every problem is reported with its line."""
    from triplet.registry.yamlio import parse_yaml, validation_problems

    parsed, problems = parse_yaml(path)
    if parsed is None or problems:
        raise InputError(problems or [Problem(file=str(path), message="cannot read file")])
    try:
        return PLIConfig.model_validate(parsed.data)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, parsed, PLIConfig)) from exc


@dataclass(frozen=True)
class PriorityIndex:
    """Ranked composite scores: ``table`` has ``unit, rank, score``, then for each indicator
    its raw value, standardised value (``std_<name>``) and weighted contribution
    (``contrib_<name>``); ``score`` is the sum of the contributions."""

    table: pd.DataFrame
    config: PLIConfig

    @property
    def indicator_names(self) -> list[str]:
        return list(self.config.indicators)

    def summary(self) -> pd.DataFrame:
        """Per indicator: weight, direction, mean/sd of the raw values, correlation with score."""
        rows = []
        for name, ind in self.config.indicators.items():
            raw = self.table[name].astype(float)
            rows.append(
                {
                    "indicator": name,
                    "column": ind.column,
                    "weight": self.config.weights[name],
                    "higher_is_priority": ind.higher_is_priority,
                    "mean": raw.mean(),
                    "sd": raw.std(ddof=0),
                    "corr_with_score": raw.corr(self.table["score"])
                    * (1 if ind.higher_is_priority else -1),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self, *, top: int | None = None) -> dict:
        """JSON-ready config, weights and ranked rows."""
        t = self.table if top is None else self.table.head(top)
        rows = t.astype({"unit": "str"}).to_dict(orient="records")
        rows = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in rows
        ]
        return jsonable(
            {
                "standardise": self.config.standardise,
                "weights": self.config.weights,
                "table": rows,
            }
        )

    def plot(self, ax=None, *, top: int = 15):
        """Stacked horizontal bars: the top units' scores split into indicator contributions."""
        import matplotlib.pyplot as plt

        t = self.table.head(top)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, max(2.5, 0.3 * len(t) + 1)))
        pos = np.arange(len(t))
        left_pos = np.zeros(len(t))
        left_neg = np.zeros(len(t))
        for name, ind in self.config.indicators.items():
            c = t[f"contrib_{name}"].to_numpy(dtype=float)
            left = np.where(c >= 0, left_pos, left_neg)
            ax.barh(pos, c, left=left, label=ind.label or name)
            left_pos = left_pos + np.where(c >= 0, c, 0)
            left_neg = left_neg + np.where(c < 0, c, 0)
        ax.scatter(t["score"], pos, color="black", zorder=3, s=12, label="score")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(pos, t["unit"].astype(str))
        ax.invert_yaxis()
        scale = "z-scores" if self.config.standardise == "z" else "centred percentile ranks"
        ax.set_xlabel(f"weighted contribution ({scale})")
        ax.set_title(f"Priority Localities Index: top {len(t)}")
        ax.legend(loc="lower right", fontsize="small")
        return ax


def _standardise(x: pd.Series, how: str) -> pd.Series:
    if how == "z":
        sd = x.std(ddof=0)
        return (x - x.mean()) / sd if sd > 0 else x * 0.0
    # percentile rank centred on 0: in (-0.5, 0.5], ties get their average rank
    return x.rank(method="average", pct=True) - 0.5


def priority_index(units: pd.DataFrame, config: PLIConfig) -> PriorityIndex:
    """Rank units by the weighted sum of standardised, priority-oriented indicators.

    Missing indicator values are an error (naming the units), never imputed silently.
    An indicator that is constant across units contributes 0. OECD/JRC (2008).
    """
    problems: list[Problem] = []
    if config.unit not in units.columns:
        problems.append(Problem(file="<units>", field=config.unit, message="unit column missing"))
    for name, ind in config.indicators.items():
        if ind.column not in units.columns:
            problems.append(
                Problem(
                    file="<units>",
                    field=ind.column,
                    message=f"indicator {name!r}: column missing "
                    f"(columns: {', '.join(map(str, units.columns))})",
                )
            )
    if problems:
        raise InputError(problems)
    if units[config.unit].duplicated().any():
        dup = units.loc[units[config.unit].duplicated(), config.unit].astype(str).head(5).tolist()
        raise InputError(
            Problem(file="<units>", field=config.unit, message=f"duplicate unit ids: {dup}")
        )
    out = pd.DataFrame({"unit": units[config.unit].to_numpy()})
    score = np.zeros(len(units))
    weights = config.weights
    for name, ind in config.indicators.items():
        raw = pd.to_numeric(units[ind.column], errors="coerce").reset_index(drop=True)
        bad = raw.isna()
        if bad.any():
            ids = out.loc[bad, "unit"].astype(str).head(5).tolist()
            problems.append(
                Problem(
                    file="<units>",
                    field=ind.column,
                    message=f"{int(bad.sum())} units have no numeric value, e.g. {ids}",
                )
            )
            continue
        std = _standardise(raw.astype(float), config.standardise)
        if not ind.higher_is_priority:
            std = -std
        out[name] = raw.to_numpy()
        out[f"std_{name}"] = std.to_numpy()
        out[f"contrib_{name}"] = weights[name] * std.to_numpy()
        score = score + out[f"contrib_{name}"].to_numpy()
    if problems:
        raise InputError(problems)
    out["score"] = score
    unit_key = out["unit"].astype(str)
    order = np.lexsort((unit_key.to_numpy(), -score))
    out = out.iloc[order].reset_index(drop=True)
    out.insert(1, "rank", np.arange(1, len(out) + 1))
    cols = ["unit", "rank", "score"] + [
        c for c in out.columns if c not in ("unit", "rank", "score")
    ]
    return PriorityIndex(table=out[cols], config=config)
