"""How concentrated harm is: Lorenz curves, Gini, the Felonious Few, repeat offenders/victims.

The figures a strategic assessment quotes: the share of units holding 50% and 80% of harm
against the same for count (Weisburd 2015, "The law of crime concentration and the
criminology of place", *Criminology* 53(2)); the "Felonious Few", the offenders who commit
half of the harm against those who commit half of the volume (Sherman 2007, "The power few",
*J. Experimental Criminology* 3(4)); repeat victims' and offenders' shares of count and harm
(Dudfield, Angel, Sherman & Torrence 2017, *Cambridge J. Evidence-Based Policing* 1).

Person-level figures never name a person: statements give counts and percentages only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from triplet.io import jsonable
from triplet.targeting.ranking import Ranking, unit_noun

__all__ = [
    "ConcentrationReport",
    "Threshold",
    "concentration",
    "gini",
    "lorenz_curve",
    "units_for_share",
]


def gini(values, *, include_zeros: bool = True) -> float:
    """Gini coefficient of non-negative values (0 = equal, -> 1 = all in one unit).

    G = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending, i = 1..n (the population
    Gini, no small-sample correction). ``include_zeros=False`` drops units with zero value
    first (the Gini among units with any crime). NaN if there are no units or no total.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if np.any(x < 0):
        raise ValueError("gini: values must be >= 0")
    if not include_zeros:
        x = x[x > 0]
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    x = np.sort(x)
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * total))


def lorenz_curve(values) -> pd.DataFrame:
    """Lorenz curve points: ``population_share`` (units, ascending value) and ``value_share``.

    Starts at (0, 0) and ends at (1, 1); the Gini is one minus twice the area under it.
    """
    x = np.sort(np.asarray(values, dtype=float)[np.isfinite(np.asarray(values, dtype=float))])
    n = x.size
    total = x.sum()
    pop = np.arange(0, n + 1) / max(n, 1)
    cum = np.concatenate([[0.0], np.cumsum(x) / total]) if total > 0 else np.full(n + 1, np.nan)
    return pd.DataFrame({"population_share": pop, "value_share": cum})


def units_for_share(values, share: float) -> int:
    """Fewest units (taken from the largest down) whose values sum to >= ``share`` of the total."""
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    total = x.sum()
    if total <= 0:
        return 0
    cum = np.cumsum(x) / total
    # tolerance so that exactly 50% by hand is 50% in floating point
    return int(np.searchsorted(cum, share - 1e-12, side="left") + 1)


@dataclass(frozen=True)
class Threshold:
    """How many units hold ``share`` of harm, and how many hold it of count."""

    share: float
    units_harm: int
    units_count: int
    n_units: int

    @property
    def pct_units_harm(self) -> float:
        return self.units_harm / self.n_units if self.n_units else float("nan")

    @property
    def pct_units_count(self) -> float:
        return self.units_count / self.n_units if self.n_units else float("nan")

    @property
    def cohort_smaller(self) -> float:
        """How much smaller the harm cohort is than the count cohort (0.95 = 95% smaller)."""
        return 1 - self.units_harm / self.units_count if self.units_count else float("nan")


@dataclass(frozen=True)
class ConcentrationReport:
    """Concentration of harm and count over the units of one :class:`Ranking`.

    ``gini_*`` include units with zero crime when the ranking listed them (``n_zero_units``);
    ``gini_*_nonzero`` are over units with at least one crime. ``repeat`` (offender/victim
    rankings) holds the share of persons with 2+ crimes and their share of count and harm.
    """

    unit_name: str
    kind: str
    index_name: str
    harm_unit: str
    n_units: int
    n_zero_units: int
    total_harm: float
    total_count: int
    gini_harm: float
    gini_count: float
    gini_harm_nonzero: float
    gini_count_nonzero: float
    thresholds: tuple[Threshold, ...]
    repeat: dict | None = None
    harm_values: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    count_values: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def threshold(self, share: float) -> Threshold:
        for t in self.thresholds:
            if abs(t.share - share) < 1e-9:
                return t
        raise KeyError(share)

    def summary(self) -> pd.DataFrame:
        """Tidy table: one row per measure (harm, count) and threshold."""
        rows = []
        for measure in ("harm", "count"):
            for t in self.thresholds:
                k = t.units_harm if measure == "harm" else t.units_count
                rows.append(
                    {
                        "measure": measure,
                        "share": t.share,
                        "units": k,
                        "pct_units": k / self.n_units if self.n_units else np.nan,
                        "gini": self.gini_harm if measure == "harm" else self.gini_count,
                        "gini_nonzero": (
                            self.gini_harm_nonzero if measure == "harm" else self.gini_count_nonzero
                        ),
                    }
                )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """JSON-ready figures and statements (no person ids)."""

        def f(v):
            return None if isinstance(v, float) and not np.isfinite(v) else v

        return jsonable(
            {
                "unit": self.unit_name,
                "kind": self.kind,
                "index": self.index_name,
                "harm_unit": self.harm_unit,
                "n_units": self.n_units,
                "n_zero_units": self.n_zero_units,
                "total_harm": f(self.total_harm),
                "total_count": self.total_count,
                "gini_harm": f(self.gini_harm),
                "gini_count": f(self.gini_count),
                "gini_harm_nonzero": f(self.gini_harm_nonzero),
                "gini_count_nonzero": f(self.gini_count_nonzero),
                "thresholds": [
                    {
                        "share": t.share,
                        "units_harm": t.units_harm,
                        "units_count": t.units_count,
                        "n_units": t.n_units,
                    }
                    for t in self.thresholds
                ],
                "repeat": self.repeat,
                "statements": self.statements(),
            }
        )

    def plot(self, ax=None):
        """Lorenz curves of harm and of count on one axes, with the line of equality."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        for values, label in ((self.harm_values, "harm"), (self.count_values, "count")):
            g = gini(values)
            lc = lorenz_curve(values)
            ax.plot(
                100 * lc["population_share"],
                100 * lc["value_share"],
                label=f"{label} (Gini {g:.2f})",
            )
        ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--", label="equality")
        ax.set_xlabel(f"% of {self._noun()} (least to most)")
        ax.set_ylabel("cumulative % of total")
        ax.set_title(f"Lorenz curves: {self._noun()}")
        ax.legend(loc="upper left")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        return ax

    # --- words ---------------------------------------------------------------------------
    def _noun(self) -> str:
        return unit_noun(self.unit_name, self.kind)

    def statements(self) -> list[str]:
        """Sentences in the words a strategic assessment quotes (counts, never ids)."""
        noun = self._noun()
        out: list[str] = []
        if self.total_count == 0:
            return [f"No crimes were recorded against any of the {self.n_units:,} {noun}."]
        zeros = f", including {self.n_zero_units:,} with no crime" if self.n_zero_units else ""
        for t in self.thresholds:
            pct = round(100 * t.share)
            if self.kind == "offender" and pct == 50:
                out.append(
                    f"The Felonious Few: {_pct(t.pct_units_harm)} of offenders "
                    f"({t.units_harm:,} of {t.n_units:,}) commit {pct}% of harm, while "
                    f"{pct}% of crimes are committed by {_pct(t.pct_units_count)} "
                    f"({t.units_count:,})."
                )
            elif self.kind == "victim" and pct == 50:
                smaller = t.cohort_smaller
                size = (
                    f"a cohort {_pct(smaller)} smaller than"
                    if smaller > 0
                    else "a cohort no smaller than"
                )
                out.append(
                    f"The victims of {pct}% of harm ({t.units_harm:,} people) are {size} "
                    f"the victims of {pct}% of count ({t.units_count:,} people)."
                )
            else:
                verb = {"offender": "commit", "victim": "suffer"}.get(self.kind, "hold")
                out.append(
                    f"{_pct(t.pct_units_harm)} of {noun} ({t.units_harm:,} of {t.n_units:,}) "
                    f"{verb} {pct}% of harm; {_pct(t.pct_units_count)} ({t.units_count:,}) "
                    f"{verb} {pct}% of crimes."
                )
        if np.isfinite(self.gini_harm) and np.isfinite(self.gini_count):
            gh, gc = f"{self.gini_harm:.2f}", f"{self.gini_count:.2f}"
            # the words follow the numbers as shown (two decimals), never the hidden digits
            compare = (
                "as concentrated as"
                if gh == gc
                else (
                    "more concentrated than" if float(gh) > float(gc) else "less concentrated than"
                )
            )
            out.append(
                f"Harm is {compare} count across {self.n_units:,} {noun}"
                f"{zeros} (Gini {gh} for harm, {gc} for count)."
            )
        if self.repeat:
            r = self.repeat
            who, verb = (
                (("Repeat offenders", "are"), ("suspects", "commit"))
                if self.kind == "offender"
                else (("Repeat victims", "are"), ("victims", "suffer"))
            )
            out.append(
                f"{who[0]} {who[1]} {_pct(r['share_of_persons'])} of {verb[0]} and {verb[1]} "
                f"{_pct(r['share_of_count'])} of crime and {_pct(r['share_of_harm'])} of harm."
            )
        return out


def _pct(x: float) -> str:
    """Percentages as a strategic assessment writes them: whole numbers, <1% when tiny."""
    if not np.isfinite(x):
        return "n/a"
    p = 100 * x
    if 0 < p < 1:
        return "<1%" if p < 0.5 else "1%"
    return f"{p:.0f}%"


def concentration(
    ranking: Ranking, *, shares: tuple[float, ...] = (0.5, 0.8), repeat_min: int = 2
) -> ConcentrationReport:
    """Concentration of harm and count across the ranked units.

    For offender and victim rankings, ``repeat`` gives persons with ``repeat_min`` or more
    crimes: their share of persons, of crimes and of harm. Weisburd (2015); Sherman (2007).
    """
    t = ranking.table
    harm = t["harm"].to_numpy(dtype=float)
    count = t["count"].to_numpy(dtype=float)
    n = len(t)
    thresholds = tuple(
        Threshold(
            share=s,
            units_harm=units_for_share(harm, s),
            units_count=units_for_share(count, s),
            n_units=n,
        )
        for s in shares
    )
    repeat = None
    if ranking.is_person and count.sum() > 0:
        rep = count >= repeat_min
        persons = int((count > 0).sum())
        repeat = {
            "min_crimes": repeat_min,
            "n_repeat": int(rep.sum()),
            "n_persons": persons,
            "share_of_persons": float(rep.sum() / persons) if persons else float("nan"),
            "share_of_count": float(count[rep].sum() / count.sum()),
            "share_of_harm": (
                float(harm[rep].sum() / harm.sum()) if harm.sum() > 0 else float("nan")
            ),
        }
    return ConcentrationReport(
        unit_name=ranking.unit_name,
        kind=ranking.kind,
        index_name=ranking.index_name,
        harm_unit=ranking.harm_unit,
        n_units=n,
        n_zero_units=int((count == 0).sum()),
        total_harm=float(harm.sum()),
        total_count=int(count.sum()),
        gini_harm=gini(harm),
        gini_count=gini(count),
        gini_harm_nonzero=gini(harm[count > 0]),
        gini_count_nonzero=gini(count[count > 0]),
        thresholds=thresholds,
        repeat=repeat,
        harm_values=harm,
        count_values=count,
    )
