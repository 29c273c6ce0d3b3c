"""``triplet track <trial>``: analyse a locked, assigned trial exactly as registered.

The workflow reads as the plan (CONSORT 2010 items 12 and 17; Sherman 2013 on tracking):

* **plan** -- :func:`plan_analyses` turns the registered analysis plan into a list of
  :class:`AnalysisSpec` rows: the registered primary analysis first, then every other
  estimator the plan names on the primary outcome, the primary estimator on each secondary
  outcome, and the primary estimator on the follow-up months (all ``exploratory``;
  ``registered`` says whether the plan named them).
* **run** -- a loop: each row's estimator is looked up in :data:`ANALYSES` (estimator -> one
  function ``(AnalysisInput) -> Estimated``) and run on its panel. Randomisation inference
  re-runs the registered assignment procedure
  (:func:`triplet.testing.assignment.draw_assignments`) ``analysis.randomisation_draws`` times.
  Then the supplements: trend and event-study figures, displacement (WDQ and buffer DiD) when
  ``analysis.buffer`` is true, the Bayesian model when the plan names
  ``bayesian_count``/``bayesian_harm``.
* **assemble** -- one ``results.json`` (layout in docs/architecture.md), ``panel.csv`` and
  ``figures/*.png`` are written into a temporary folder beside ``results/``; only when every
  step succeeded is an earlier run moved to ``results/previous/<UTC timestamp>/`` (``--rerun``)
  and the new files moved into ``results/``. A failed run leaves the earlier results as they
  were.

Before any of it, the trial must have an ``assignment.csv`` and a ``lock.json``, and the
registration must not have changed since locking without a recorded deviation. Afterwards the
status moves forward to ``analysed`` when the records cover every registered month
(``set_status`` allows skipping ``in_field``/``completed``); otherwise the status is left as it
is and the results are marked interim.

**Adding an analysis** is one function with the signature ``(AnalysisInput) -> Estimated`` and
one row in :data:`ANALYSES` (see docs/architecture.md, "Adding an analysis").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from triplet.errors import ConvergenceError, InputError, LockError, OverwriteError, StateError
from triplet.io import jsonable, write_dataframe
from triplet.registry.models import DesignMethod, Estimator, Outcome, Status, Trial
from triplet.seeds import stream_seed
from triplet.tracking.count_models import count_did
from triplet.tracking.did import did
from triplet.tracking.displacement import buffer_units, wdq
from triplet.tracking.estimate import effect_fields
from triplet.tracking.event_study import event_study
from triplet.tracking.inference import permute_within, randomisation_inference, unit_prepost
from triplet.tracking.panel import area_panel, build_panel, load_trial_records
from triplet.tracking.results import (
    RESULTS_FILE,
    analysis_record,
    publish_results,
    software_versions,
    write_results,
)
from triplet.tracking.robustness import few_cluster_fields, secondary_family, trends_sensitivity
from triplet.tracking.staggered import staggered_did

__all__ = [
    "ANALYSES",
    "AnalysisInput",
    "AnalysisKind",
    "AnalysisSpec",
    "Estimated",
    "TrackReport",
    "plan_analyses",
    "track_trial",
]

#: event-study window: leads before -12 months are binned into -12 (fewer leads to test jointly)
EVENT_WINDOW = (-12, 10_000)

BAYESIAN = {Estimator.bayesian_count, Estimator.bayesian_harm}


@dataclass(frozen=True)
class TrackReport:
    """What ``triplet track`` did: the results, where they went, and what was archived."""

    trial_id: str
    results: dict[str, Any] = field(repr=False)
    results_path: Path
    figures: dict[str, Path]
    archived: Path | None
    status: str

    def summary(self) -> pd.DataFrame:
        cols = [
            "name",
            "estimator",
            "role",
            "outcome",
            "percent_change",
            "percent_ci_low",
            "percent_ci_high",
            "p_value",
            "n_units",
        ]
        return pd.DataFrame(self.results["analyses"]).reindex(columns=cols)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self.results)

    def plot(self, ax=None):
        """Per-cent changes with intervals of every analysis (primary first)."""
        import matplotlib.pyplot as plt

        s = self.summary().dropna(subset=["percent_change"])
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.4 * len(s) + 1))
        y = np.arange(len(s))[::-1]
        ax.errorbar(
            s["percent_change"],
            y,
            xerr=[
                s["percent_change"] - s["percent_ci_low"],
                s["percent_ci_high"] - s["percent_change"],
            ],
            fmt="o",
            capsize=2,
        )
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(y, s["name"])
        ax.set_xlabel("change (%)")
        return ax


# --------------------------------------------------------------------------- helpers


def _measure(outcome) -> str:
    return "harm" if outcome.measure == "harm" else "count"


def _cluster_column(trial, panel: pd.DataFrame, notes: list[str]) -> str:
    want = trial.analysis.cluster
    if want == "unit":
        return "unit"
    if panel[want].notna().all():
        return want
    # trial.yaml validation refuses a cluster level the design does not make, so this is an
    # assignment that does not match its registration: an error, never a silent fallback
    raise StateError(
        f"analysis.cluster is {want} but {trial.id}'s assignment.csv has units with no {want}: "
        "nothing was analysed"
    )


def _block_column(trial, panel: pd.DataFrame) -> str | None:
    """Block (pair) x month effects for blocked (paired) randomised designs."""
    m = trial.design.method
    if m in (DesignMethod.block, DesignMethod.block_cluster) and panel["block"].notna().all():
        return "block"
    if m is DesignMethod.matched_pair and panel["pair"].notna().all():
        return "pair"
    return None


def _with_start(panel: pd.DataFrame, trial) -> pd.DataFrame:
    start = pd.Period(trial.periods.treatment.start, freq="M")
    starts = pd.Series(pd.NaT, index=panel.index, dtype="period[M]")
    starts[panel["treated"].to_numpy()] = start
    return panel.assign(start=starts)


class _Progress:
    """A rich progress bar over the analysis steps (silent when ``show`` is false)."""

    def __init__(self, show: bool, total: int, console=None):
        self.bar = None
        if show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self.task = self.bar.add_task("tracking", total=total)

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.__exit__(*exc)

    def step(self, text: str) -> None:
        if self.bar:
            self.bar.update(self.task, description=text)

    def done(self) -> None:
        if self.bar:
            self.bar.advance(self.task)


# --------------------------------------------------------------------------- the analyses


@dataclass(frozen=True)
class AnalysisInput:
    """What every analysis reads: one panel and the registered choices (the same for all).

    ``panel`` is a unit x month table (columns ``unit, month, count, harm, treated, post, d,
    period, block, pair, cluster``; docs/architecture.md) whose ``d`` marks the treated unit-months
    of the months analysed (treatment or follow-up) and whose ``period`` is ``baseline`` or
    ``treatment`` (follow-up months are relabelled ``treatment`` for a follow-up analysis).
    ``measure`` is the column analysed (``count`` or ``harm``). ``randomisation(panel, measure)``
    re-runs the registered assignment (the draws are shared by every analysis of the run).
    """

    panel: pd.DataFrame = field(repr=False)
    measure: str
    trial: Trial = field(repr=False)
    cluster: str
    block: str | None
    alpha: float
    randomisation: Callable[[pd.DataFrame, str], tuple[Any, float, str]] = field(repr=False)
    #: the delivered dose per unit-month (issue 16), when the trial registers delivery data
    dose: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)

    @property
    def columns(self) -> dict[str, Any]:
        """The panel-column arguments every estimator takes."""
        return {"outcome": self.measure, "unit": "unit", "time": "month", "alpha": self.alpha}


@dataclass(frozen=True)
class Estimated:
    """What an analysis returns: the estimator's fields of one ``<analysis>`` record (the keys of
    :data:`triplet.tracking.results.ANALYSIS_KEYS` it can fill, extras after) and its result."""

    record: dict[str, Any]
    result: Any = field(repr=False)


def _twfe_did(x: AnalysisInput) -> Estimated:
    r = did(x.panel, **x.columns, treated="d", cluster=x.cluster, block=x.block)
    return Estimated(few_cluster_fields(x, r.to_dict(), "twfe_did"), r)


def _event_study(x: AnalysisInput) -> Estimated:
    r = event_study(
        _with_start(x.panel, x.trial),
        **x.columns,
        start="start",
        cluster=x.cluster,
        block=x.block,
        window=EVENT_WINDOW,
    )
    d = r.to_dict()
    rec = {
        **effect_fields(r),  # the average post-start effect (the protocol's estimate)
        "fixed_effects": "unit + month" if x.block is None else f"unit + {x.block} x month",
        "pretrend_test": d["pretrend_test"],
        "coefficients": d["coefficients"],
    }
    return Estimated(rec, r)


def _count_did(family: Literal["poisson", "negbin"]) -> Callable[[AnalysisInput], Estimated]:
    def run(x: AnalysisInput) -> Estimated:
        r = count_did(
            x.panel,
            **x.columns,
            treated="d",
            cluster=x.cluster,
            family=family,
            count_outcome=x.measure == "count",
            block=x.block,
        )
        rec = r.to_dict()
        if x.measure == "harm":
            rec["notes"] += "; harm in days is not a count: quasi-likelihood (robust SE)"
        if family == "poisson":
            rec = few_cluster_fields(x, rec, "poisson_did")
        return Estimated(rec, r)

    run.__name__ = f"_{family}_did"
    return run


def _staggered_did(x: AnalysisInput) -> Estimated:
    r = staggered_did(
        _with_start(x.panel, x.trial),
        **x.columns,
        start="start",
        cluster=None if x.cluster == "unit" else x.cluster,
    )
    rec = {**r.to_dict(), "fixed_effects": "unit + month"}
    if x.block is not None:
        # Callaway & Sant'Anna compare each start cohort with the never-treated units; it has
        # no block x month version, so the design's blocks are named as not followed.
        rec["notes"] = (
            f"{rec.get('notes') or ''}; the design's {x.block}s are not used: Callaway & "
            f"Sant'Anna's group-time ATTs compare cohorts with never-treated units on unit + "
            f"month effects (no {x.block} x month version)"
        ).lstrip("; ")
    return Estimated(rec, r)


def _randomisation_inference(x: AnalysisInput) -> Estimated:
    r, _, _ = x.randomisation(x.panel, x.measure)
    rec = r.to_dict()  # per cent against the treated units' observed mean after the start
    # the statistic is a difference of unit pre/post changes; the design (blocks, pairs,
    # clusters) enters through the redrawn assignments, not as fixed effects
    rec["fixed_effects"] = "none (unit pre/post means; the design's strata in the redraws)"
    return Estimated(rec, r)


def _cace_2sls(x: AnalysisInput) -> Estimated:
    from triplet.tracking.delivery.cace import cace_2sls
    from triplet.tracking.delivery.track import with_dose

    if x.dose is None:
        raise InputError("cace_2sls needs the delivered dose: register a delivery section")
    r = cace_2sls(with_dose(x.panel, x.dose()), outcome=x.measure, alpha=x.alpha)
    return Estimated(r.to_dict(), r)


def _place_day(x: AnalysisInput) -> Estimated:
    """Place-day (crossover) trial: place + day fixed effects, RI re-drawing the schedule."""
    ri, _, procedure = x.randomisation(x.panel, x.measure)
    r = ri.effect
    # the protocol's per cent: treated place-days against their counterfactual, ratio scale
    rec = r.to_dict()
    rec["p_value_randomisation"] = rec.pop("ri_p_value")
    rec["notes"] = (
        f"{r.n_treated} treated and {r.n_obs - r.n_treated} control place-days of {r.n_places} "
        f"places over {r.n_days} days; {r.n_washout} washout place-days left out; CRV1 "
        f"clustered by place; randomisation p = {_fmt_p(rec['p_value_randomisation'])} from "
        f"{r.ri_draws} re-drawn schedules ({procedure})"
    )
    return Estimated(rec, r)


def _fmt_p(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.3f}"


@dataclass(frozen=True)
class AnalysisKind:
    """One row of :data:`ANALYSES`: how an estimator is run and what it estimates.

    ``estimand`` is a template with ``{unit}`` (crimes or days of imprisonment) and ``{months}``
    (treatment or follow-up months). ``figure`` names the PNG drawn from the result's
    ``plot()`` when the analysis is of the primary outcome over the treatment months (the plan
    sets it on those rows).
    """

    run: Callable[[AnalysisInput], Estimated]
    estimand: str
    figure: str | None = None

    def estimand_for(self, measure: str, months: str) -> str:
        unit = "days of imprisonment (harm)" if measure == "harm" else "crimes"
        return self.estimand.format(unit=unit, months=months)


#: The analyses ``triplet track`` can run: estimator -> one function and its estimand. An
#: estimator of the plan with no row here (displacement, the Bayesian models) is run as a
#: supplement of the track (see :func:`track_trial`).
ANALYSES: dict[Estimator, AnalysisKind] = {
    Estimator.twfe_did: AnalysisKind(
        _twfe_did,
        "ATT: change in {unit} per treated unit-month over the {months}, two-way fixed-effects DiD",
    ),
    Estimator.event_study: AnalysisKind(
        _event_study,
        "average of the monthly effects on {unit} over the {months} "
        "relative to the month before the start",
    ),
    Estimator.poisson_did: AnalysisKind(
        _count_did("poisson"),
        "rate ratio of {unit} in treated unit-months over the {months} (Poisson DiD)",
    ),
    Estimator.negbin_did: AnalysisKind(
        _count_did("negbin"),
        "rate ratio of {unit} in treated unit-months over the {months} (negative-binomial DiD)",
    ),
    Estimator.staggered_did: AnalysisKind(
        _staggered_did,
        "ATT on {unit} per unit-month over the {months} "
        "(Callaway & Sant'Anna, never-treated controls)",
    ),
    Estimator.randomisation_inference: AnalysisKind(
        _randomisation_inference,
        "DiD of unit means of {unit} over the {months}; "
        "Fisher sharp null of a constant additive effect",
        figure="randomisation",
    ),
    Estimator.cace_2sls: AnalysisKind(
        _cace_2sls,
        "CACE: change in {unit} per unit-month of delivering the full registered dose, "
        "assignment instrumenting the delivered dose (2SLS, unit and month effects), "
        "over the {months}",
        figure="cace",
    ),
    Estimator.place_day: AnalysisKind(
        _place_day,
        "change in {unit} per place-day on treated place-days, against control place-days "
        "(place + day fixed effects; washout days left out)",
        figure="randomisation",
    ),
}


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis of the plan: an estimator of :data:`ANALYSES` on one outcome and period."""

    name: str
    estimator: Estimator
    outcome: Outcome
    role: Literal["primary", "exploratory"]
    registered: bool
    period: Literal["treatment", "follow_up"] = "treatment"
    figure: str | None = None  # draw results/figures/<figure>.png from the result's plot()

    @property
    def months(self) -> str:
        return "treatment months" if self.period == "treatment" else "follow-up months"


def plan_analyses(trial: Trial) -> list[AnalysisSpec]:
    """The registered analysis plan as rows, in the order they are run and reported.

    The primary estimator on the primary outcome (when it is in :data:`ANALYSES`), every other
    named estimator on the primary outcome, the primary estimator (TWFE DiD when the primary is
    Bayesian) on each secondary outcome, and on the follow-up months when the trial has them.
    """
    plan = trial.analysis
    p0 = trial.outcomes.primary
    primary = plan.primary
    specs: list[AnalysisSpec] = []
    if primary in ANALYSES:
        fig = ANALYSES[primary].figure
        specs.append(AnalysisSpec("primary", primary, p0, "primary", True, figure=fig))
    for est in dict.fromkeys(plan.secondary):
        if est in ANALYSES and est is not primary:
            name, fig = f"{est.value}: {p0.name}", ANALYSES[est].figure
            specs.append(AnalysisSpec(name, est, p0, "exploratory", True, figure=fig))
    sec = primary if primary in ANALYSES else Estimator.twfe_did
    for outcome in trial.outcomes.secondary:
        name = f"{sec.value}: {outcome.name}"
        specs.append(AnalysisSpec(name, sec, outcome, "exploratory", True))
    if trial.periods.follow_up is not None:
        name = f"{sec.value}: {p0.name}, follow-up"
        specs.append(AnalysisSpec(name, sec, p0, "exploratory", False, period="follow_up"))
    return specs


def run_analysis(spec: AnalysisSpec, x: AnalysisInput) -> tuple[dict[str, Any], Any]:
    """Run one row of the plan; (``<analysis>`` record, result or None when not estimated).

    An estimator that cannot take the data (``InputError``/``StateError``) gives a record with
    ``not estimated: <why>`` in its notes; the other analyses still run.
    """
    kind = ANALYSES[spec.estimator]
    try:
        out = kind.run(x)
        rec, res = out.record, out.result
    except (InputError, StateError) as exc:
        rec, res = {"estimator": spec.estimator.value, "notes": f"not estimated: {exc}"}, None
    rec = analysis_record(
        rec,
        name=spec.name,
        estimator=spec.estimator.value,
        outcome=spec.outcome.name,
        measure=x.measure,
        role=spec.role,
        registered=spec.registered,
        estimand=kind.estimand_for(x.measure, spec.months),
    )
    return rec, res


class _Panels:
    """The panel of each (outcome, period) of the plan, built once."""

    def __init__(self, tf, assignment: pd.DataFrame, records):
        self.tf, self.assignment, self.records = tf, assignment, records
        if tf.trial.design.method is DesignMethod.place_day:  # unit x day: docs/place-day.md
            self.all = self.treatment = _place_day_panel(tf, assignment, records)
            self._cache = {}
            return
        self.all = build_panel(tf, assignment, records=records)
        self.treatment = self.all[self.all["period"] != "follow_up"].reset_index(drop=True)
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}

    def __call__(self, spec: AnalysisSpec) -> pd.DataFrame:
        primary = spec.outcome is self.tf.trial.outcomes.primary
        key = ("" if primary else spec.outcome.name, spec.period)
        if key not in self._cache and self.tf.trial.design.method is DesignMethod.place_day:
            self._cache[key] = _place_day_panel(
                self.tf, self.assignment, self.records, outcome=spec.outcome
            )
        if key not in self._cache:
            if primary:
                full = self.all
            else:
                full = build_panel(
                    self.tf, self.assignment, outcome=spec.outcome, records=self.records
                )
            if spec.period == "treatment":
                p = full[full["period"] != "follow_up"].reset_index(drop=True)
            else:
                p = full[full["period"] != "treatment"].reset_index(drop=True)
                p = p.assign(
                    d=(p["treated"] & (p["period"] == "follow_up")).astype(np.int64),
                    period=p["period"].replace({"follow_up": "treatment"}),
                )
            self._cache[key] = p
        return self._cache[key]


def _place_day_panel(tf, schedule: pd.DataFrame, records, outcome=None) -> pd.DataFrame:
    """The unit x day (x shift) panel of a place-day trial (``triplet.tracking.place_day``)."""
    from triplet.tracking.place_day import place_day_panel

    scheme = tf.trial.design.place_day
    outcome = outcome or tf.trial.outcomes.primary
    return place_day_panel(
        records.records,
        schedule,
        unit_column=records.unit_column,
        harm=records.harm_days,
        crime_types=outcome.crime_types,
        shifts=[(s.name, s.start) for s in scheme.shifts],
    )


def _place_day_randomisation(tf, n_draws: int):
    """A function (panel, measure) -> (PlaceDayEffect, None, procedure): the place-day effect
    with randomisation inference re-drawing the registered schedule from the design seed."""
    from triplet.testing.crossover import PlaceDayRules
    from triplet.tracking.place_day import place_day_effect

    trial = tf.trial
    s = trial.design.place_day
    rules = PlaceDayRules(s.treated_per_day, s.max_consecutive, s.washout_days)
    procedure = "place_day schedule re-drawn, triplet.testing.crossover.draw_place_days"

    def run(panel: pd.DataFrame, measure: str):
        r = place_day_effect(
            panel.assign(day=panel["slot"]),
            outcome=measure,
            alpha=trial.analysis.alpha,
            rules=rules,
            seed=trial.design.seed,
            n_draws=n_draws,
        )
        return _PlaceDayRI(r), None, procedure

    return run


class _PlaceDayRI:
    """A place-day effect read as a randomisation result (``estimate, draws, p_value``: the
    RI p), e.g. by the Romano-Wolf family; attributes not listed pass to the effect."""

    def __init__(self, effect):
        self.effect = effect
        self.draws = effect.ri_estimates
        self.p_value = effect.ri_p_value

    def __getattr__(self, name):
        return getattr(self.effect, name)


# --------------------------------------------------------------------------- the workflow


def _draws_factory(tf, assignment: pd.DataFrame, n_draws: int, seed: int):
    """A function (panel, measure) -> (RIResult, counterfactual mean, procedure)."""
    trial = tf.trial
    cache: dict[str, Any] = {}

    def draws(units: pd.Index) -> tuple[np.ndarray, str]:
        if "Z" in cache:
            return cache["Z"], cache["procedure"]
        table = assignment.set_index(assignment["unit"].astype(str)).reindex(units)
        table = table.reset_index(drop=True)
        table["unit"] = units.astype(str)
        try:
            from triplet.testing.assignment import draw_assignments
        except ImportError:  # pragma: no cover - testing stage not installed
            draw_assignments = None
        if draw_assignments is not None:
            units_for = table
            if trial.design.method is DesignMethod.rerandomised:
                from triplet.testing.units import unit_table

                ut = unit_table(tf).units
                units_for = table.merge(
                    ut.drop(columns=["block", "pair", "cluster"], errors="ignore"),
                    on="unit",
                    how="left",
                )
            Z = draw_assignments(units_for, trial.design, n_draws, seed)
            procedure = f"{trial.design.method.value}, triplet.testing.draw_assignments"
        else:  # pragma: no cover
            obs = (table["arm"] == "treatment").to_numpy()
            strata = (
                table["pair"]
                if table["pair"].notna().all()
                else (table["block"] if table["block"].notna().all() else None)
            )
            clusters = table["cluster"] if table["cluster"].notna().all() else None
            Z = permute_within(
                obs,
                None if strata is None else strata.to_numpy(),
                None if clusters is None else clusters.to_numpy(),
                n_draws,
                seed,
            )
            procedure = f"{trial.design.method.value}, permutation within strata"
        cache["Z"], cache["procedure"] = Z, procedure
        return Z, procedure

    def run(panel: pd.DataFrame, measure: str):
        p = panel.assign(_post=panel["period"] != "baseline")
        units, pre, post = unit_prepost(p, outcome=measure, unit="unit", post="_post")
        obs = (
            assignment.set_index(assignment["unit"].astype(str))["arm"].reindex(units)
            == "treatment"
        ).to_numpy()
        Z, procedure = draws(pd.Index(units))
        r = randomisation_inference(
            pre, post, obs, Z, outcome=measure, alpha=trial.analysis.alpha, procedure=procedure
        )
        cf = float(post[obs].mean()) - r.estimate
        return r, cf, procedure

    return run


def _save_figure(fig_or_ax, path: Path) -> Path:
    from triplet.io import atomic_path

    fig = fig_or_ax.figure if hasattr(fig_or_ax, "figure") else fig_or_ax
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _preflight(tf) -> None:
    from triplet.registry.lock import check_lock, read_lock, verify_artefacts

    if not tf.assignment_path.exists():
        raise StateError(
            f"trial {tf.id} has no {tf.assignment_path}: run `triplet assign {tf.id}` first"
        )
    if read_lock(tf) is None:
        raise LockError(
            f"trial {tf.id} has an assignment but no lock.json: the registration was never "
            "frozen, so results could not be checked against it"
        )
    problems = check_lock(tf)
    if problems:
        listing = "\n  ".join(str(p) for p in problems)
        fields = ", ".join(sorted({p.field for p in problems if p.field}))
        raise LockError(
            f"trial {tf.id}: the registration changed after it was locked without a recorded "
            f"deviation ({fields}); nothing was analysed:\n  {listing}"
        )
    verify_artefacts(tf)  # assignment.csv as locked (issue 10, defect 1)


#: The analysed panel written beside results.json (unit ids are pseudonymised for people).
PANEL_FILE = "panel.csv"


@dataclass
class _Track:
    """What the steps of one track share: the trial, its data, the notes and the figures.

    ``stage`` is the temporary folder that stands in for ``results/`` until the run succeeds.
    """

    tf: Any
    assignment: pd.DataFrame
    records: Any
    panels: _Panels
    base: AnalysisInput
    stage: Path
    notes: list[str]
    figures: dict[str, Path] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # results.json sections (issue 12)

    def input_for(self, spec: AnalysisSpec) -> AnalysisInput:
        return replace(self.base, panel=self.panels(spec), measure=_measure(spec.outcome))

    def figure(self, name: str, fig_or_ax) -> None:
        self.figures[name] = _save_figure(fig_or_ax, self.stage / "figures" / f"{name}.png")


def track_trial(
    registry: str | Path,
    trial_id: str,
    *,
    rerun: bool = False,
    draws: int | None = None,
    progress: bool = True,
    console=None,
    set_analysed: bool = True,
    bayes: bool = True,
) -> TrackReport:
    """Analyse trial ``trial_id`` of ``registry`` as registered (see the module docstring).

    ``draws`` overrides ``analysis.randomisation_draws`` (for tests and quick looks; the
    override is recorded in the results). ``bayes=False`` skips the Bayesian model (recorded
    in the notes).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from triplet.registry import find_trial
    from triplet.registry.lock import read_lock

    tf = find_trial(registry, trial_id)
    _preflight(tf)
    if (tf.results_dir / RESULTS_FILE).exists() and not rerun:
        raise OverwriteError(
            f"{tf.results_dir / RESULTS_FILE} exists; rerun with --rerun to move it to "
            f"{tf.results_dir / 'previous'}/<timestamp>/ and analyse again"
        )
    assignment, assignment_sha256 = _read_assignment(tf)
    lock = read_lock(tf)
    notes = _draws_note(tf.trial, draws)
    n_draws = int(draws or tf.trial.analysis.randomisation_draws)

    specs = plan_analyses(tf.trial)  # plan
    with (
        tempfile.TemporaryDirectory(prefix=".results-", dir=tf.dir) as stage,
        _Progress(progress, len(specs) + 4, console) as prog,
    ):
        prog.step("reading records and building the panel")
        track = _start(tf, assignment, n_draws, Path(stage), notes)
        prog.done()
        analyses: list[tuple[dict[str, Any], Any]] = []
        for spec in specs:  # run
            prog.step(spec.name)
            rec, res = run_analysis(spec, track.input_for(spec))
            analyses.append((rec, res))
            if spec.figure and res is not None:
                track.figure(spec.figure, res.plot())
            prog.done()
        displacement, bayesian = _supplements(track, prog, bayes=bayes)
        # the family pairs plan rows with their analyses, so it comes before the extra block ATT
        family = secondary_family(tf.trial, specs, analyses, track.base, track.panels)
        block_rec = _block_att(track, n_draws)
        if block_rec is not None:
            analyses.append((block_rec, None))
        results = _assemble(track, analyses, displacement, bayesian, lock, n_draws)  # assemble
        results["assignment_sha256"] = assignment_sha256  # of the file analysed, not the lock's
        results.update({"sensitivity": None, **track.extras, "multiplicity": family})
        panel = track.panels.all
        if "month" in panel.columns:
            panel = panel.assign(month=panel["month"].astype(str))
        write_dataframe(track.stage / PANEL_FILE, panel)
        write_results(track.stage, results)
        archived = publish_results(track.stage, tf.results_dir)  # only now: archive and swap

    status = tf.trial.status.value
    if set_analysed and not results["interim"] and tf.trial.status.order < Status.analysed.order:
        from triplet.registry.status import set_status

        status = set_status(tf, Status.analysed).trial.status.value
    figures = {k: tf.results_dir / v for k, v in results["figures"].items()}
    return TrackReport(tf.id, results, tf.results_dir / RESULTS_FILE, figures, archived, status)


def _read_assignment(tf) -> tuple[pd.DataFrame, str]:
    """The assignment analysed and the SHA-256 of exactly those bytes (read once)."""
    import hashlib
    import io

    from triplet.testing.assignment import read_assignment

    try:
        data = tf.assignment_path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the assignment: {exc}", file=tf.assignment_path) from exc
    if tf.trial.design.method is DesignMethod.place_day:
        from triplet.testing.crossover import read_schedule

        frame = read_schedule(io.BytesIO(data), file=tf.assignment_path)  # unit x day (x shift)
    else:
        frame = read_assignment(io.BytesIO(data), file=tf.assignment_path)
    frame["unit"] = frame["unit"].astype(str)
    return frame, hashlib.sha256(data).hexdigest()


def _draws_note(trial, draws: int | None) -> list[str]:
    plan = trial.analysis
    if (
        draws is not None
        and draws != plan.randomisation_draws
        and {Estimator.randomisation_inference, Estimator.place_day}
        & {plan.primary, *plan.secondary}
    ):
        return [
            f"randomisation draws overridden: {draws} instead of the registered "
            f"{plan.randomisation_draws}"
        ]
    return []


def _start(tf, assignment: pd.DataFrame, n_draws: int, stage: Path, notes: list[str]) -> _Track:
    """Read the records, build the panels and fix the choices every analysis shares."""
    trial = tf.trial
    records = load_trial_records(tf, assignment)
    panels = _Panels(tf, assignment, records)
    if panels.all.attrs.get("n_unmatched_harm"):
        notes.append(
            f"{panels.all.attrs['n_unmatched_harm']} records had no harm weight; "
            "their harm is left out of the totals"
        )
    tp = panels.treatment
    base = AnalysisInput(
        panel=tp,
        measure=_measure(trial.outcomes.primary),
        trial=trial,
        cluster=_cluster_column(trial, tp, notes),
        block=_block_column(trial, tp),
        alpha=trial.analysis.alpha,
        randomisation=_place_day_randomisation(tf, n_draws)
        if trial.design.method is DesignMethod.place_day
        else _draws_factory(
            tf, assignment, n_draws, seed=stream_seed(trial.design.seed, "randomisation_inference")
        ),
        dose=_dose_source(tf, assignment),
    )
    return _Track(tf, assignment, records, panels, base, stage, notes)


def _dose_source(tf, assignment: pd.DataFrame):
    """The delivered dose per unit-month, read once when first needed (issue 16)."""
    if tf.trial.delivery is None:
        return None
    from triplet.tracking.delivery.track import DoseSource

    return DoseSource(tf, assignment)


def _supplements(track: _Track, prog, *, bayes: bool) -> tuple[dict | None, dict | None]:
    """Trend and event-study figures (always), displacement and the Bayesian model (if named)."""
    tf, b, notes = track.tf, track.base, track.notes
    plan = tf.trial.analysis
    prog.step("figures")
    if tf.trial.design.method is DesignMethod.place_day:  # no months, arms or buffers
        from triplet.testing.crossover import PlaceDayAssignment, PlaceDayRules
        from triplet.tracking.place_day import place_day_trends

        s = tf.trial.design.place_day
        rules = PlaceDayRules(s.treated_per_day, s.max_consecutive, s.washout_days)
        sched = track.assignment.assign(day=b.panel["slot"].to_numpy())
        track.figure("schedule", PlaceDayAssignment(sched, rules, tf.trial.design.seed).plot())
        track.figure("trends", place_day_trends(b.panel, b.measure))
        prog.done()
        return None, None
    trend = did(b.panel, outcome=b.measure, unit="unit", time="month", treated="d")
    track.figure("trends", trend.plot())
    with contextlib.suppress(InputError):
        es = event_study(
            _with_start(b.panel, tf.trial),
            outcome=b.measure,
            unit="unit",
            time="month",
            start="start",
            cluster=b.cluster,
            block=b.block,
            alpha=b.alpha,
            window=EVENT_WINDOW,
        )
        track.figure("event_study", es.plot())
        sens, sens_results = trends_sensitivity(es, alpha=b.alpha)
        track.extras["sensitivity"] = sens
        for r in sens_results:
            track.figure(f"sensitivity_{r.restriction}", r.plot())
    prog.done()

    displacement = None
    if plan.buffer:
        prog.step("displacement")
        displacement = _displacement(tf, track.records, track.assignment, b.measure, b.alpha, notes)
        if displacement is not None:
            fig = displacement.pop("_figure", None)
            if fig is not None:
                track.figure("displacement", fig)
    prog.done()

    if b.dose is not None:  # issue 16: delivered share, dose-response, Koper curve
        from triplet.tracking.delivery.track import delivery_extras

        track.extras["delivery"] = delivery_extras(
            b.panel,
            track.records.records,
            b.dose,
            measure=b.measure,
            cace=None,
            unit_column=tf.trial.units.id_column,
            figure=track.figure,
        )

    bayesian = None
    if any(e in BAYESIAN for e in [plan.primary, *plan.secondary]):
        if bayes:
            prog.step("Bayesian model (MCMC)")
            bayesian = _bayesian(b.panel, tf, track.stage, notes)
        else:
            notes.append("the Bayesian model named in the plan was skipped (--no-bayes)")
    prog.done()
    return displacement, bayesian


def _assemble(
    track: _Track,
    analyses: list[tuple[dict[str, Any], Any]],
    displacement: dict | None,
    bayesian: dict | None,
    lock,
    n_draws: int,
) -> dict[str, Any]:
    """The ``results.json`` document (layout in docs/architecture.md)."""
    tf, b, notes = track.tf, track.base, track.notes
    trial, assignment = tf.trial, track.assignment
    records = [rec for rec, _ in analyses]
    primary_res = next((res for rec, res in analyses if rec["role"] == "primary"), None)
    primary = next((rec for rec in records if rec["role"] == "primary"), None)
    if primary is None and bayesian is not None:  # a Bayesian primary analysis
        primary = _bayesian_primary(bayesian, trial, b.measure)
    if primary is None:
        raise StateError(f"the primary analysis ({trial.analysis.primary.value}) could not be run")
    if displacement is not None and not (
        primary.get("ci_high") is not None and primary["ci_high"] < 0
    ):
        displacement["caution"] = (
            "the primary analysis does not show a fall in the treated units, so the WDQ's "
            "denominator is close to noise and the ratio should not be read as displacement "
            "or diffusion (Bowers & Johnson 2003 interpret it only after a success)"
        )
    n_analysed = primary.get("n_units") or (
        int(primary_res.n_units) if primary_res is not None else None
    )
    flow = (lock.get("flow") or {}) if lock is not None else {}
    place_day = trial.design.method is DesignMethod.place_day
    if place_day:  # the schedule's place-days, not arms (docs/place-day.md)
        n_assigned = int(assignment["unit"].nunique())
        n_arms = {"treatment": None, "control": None}
        last_day = pd.Timestamp(track.panels.all["day"].max())
        covered = bool(track.records.records["date"].max() >= last_day)
    else:
        n_assigned = len(assignment)
        n_arms = {
            "treatment": int((assignment["arm"] == "treatment").sum()),
            "control": int((assignment["arm"] == "control").sum()),
        }
        last_month = pd.PeriodIndex(track.panels.all["month"]).max()
        covered = bool(pd.PeriodIndex(track.records.records["month"]).max() >= last_month)
    if not covered:
        notes.append("the records do not reach the last registered month: interim results")
    periods = trial.periods
    return {
        "trial": trial.id,
        "title": trial.title,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "synthetic": any(s.uri.startswith("example://") for s in trial.data_sources),
        "registration_sha256": lock.registration_sha256 if lock is not None else None,
        "assignment_sha256": lock.get("assignment_sha256") if lock is not None else None,
        "versions": software_versions(),
        "n_units": {
            "eligible": flow.get("eligible"),
            "assigned": n_assigned,
            **n_arms,
            "analysed": n_analysed,
        },
        "periods": {
            "baseline": [periods.baseline.start, periods.baseline.end],
            "treatment": [periods.treatment.start, periods.treatment.end],
            "follow_up": None
            if periods.follow_up is None
            else [periods.follow_up.start, periods.follow_up.end],
        },
        "alpha": b.alpha,
        "cluster": b.cluster,
        "fixed_effects": "unit + day"
        if place_day
        else ("unit + month" if b.block is None else f"unit + {b.block} x month"),
        "randomisation_draws": n_draws,
        "interim": not covered,
        "primary": primary,
        "analyses": [primary] + [a for a in records if a is not primary],
        "bayesian": bayesian,
        "displacement": displacement,
        "figures": {k: str(v.relative_to(track.stage)) for k, v in track.figures.items()},
        "panel": PANEL_FILE,
        "decision": _decision(trial, primary, bayesian),
        "power_check": lock.get("power_check") if lock is not None else None,
        "notes": notes,
    }


def _decision(trial, primary: dict[str, Any], bayesian: dict | None) -> dict[str, Any]:
    """The registered rule and what it finds (the Board recomputes it from the same fields)."""
    from triplet.tracking.decision import apply_rule

    rule = trial.analysis.rule
    finding = apply_rule(rule, trial.analysis.alpha, primary, bayesian)
    return {**rule.model_dump(), "alpha": trial.analysis.alpha, **finding.to_dict()}


def _block_att(track: _Track, n_draws: int) -> dict[str, Any] | None:
    """The block-weighted ATT beside the TWFE when blocks differ in their treated share.

    With equal shares the block x month TWFE is the ATT and nothing is added. Otherwise the
    ATT (blocks weighted by treated units; :mod:`triplet.tracking.blocked`) is reported as an
    exploratory analysis with its stratified randomisation p-value (the same statistic on every
    redrawn assignment), and a note says the two estimands differ.
    """
    from triplet.testing.assignment import draw_assignments
    from triplet.tracking.blocked import block_att, stratified_statistic, unit_means

    b, tf = track.base, track.tf
    if b.block != "block":
        return None
    p = b.panel.assign(_post=b.panel["period"] != "baseline")
    try:
        r = block_att(
            p,
            outcome=b.measure,
            unit="unit",
            post="_post",
            treated="treated",
            block="block",
            alpha=b.alpha,
        )
    except InputError as exc:
        track.notes.append(f"block-weighted ATT not estimated: {exc}")
        return None
    note = r.note()
    if note is None:
        return None
    track.notes.append(note)
    units, pre, post = unit_means(p, outcome=b.measure, unit="unit", post="_post")
    table = track.assignment.set_index("unit").reindex(units.astype(str)).reset_index()
    obs = (table["arm"] == "treatment").to_numpy()
    delta = post - pre
    rec = r.to_dict()
    try:
        seed = stream_seed(tf.trial.design.seed, "block_att_randomisation")
        z = draw_assignments(table, tf.trial.design, n_draws, seed)
        stat = stratified_statistic(delta, z, table["block"].to_numpy())
        observed = stratified_statistic(delta, obs, table["block"].to_numpy())
        rec["p_value_randomisation"] = float(
            (1 + np.sum(np.abs(stat) >= abs(observed) - 1e-12)) / (1 + len(stat))
        )
        rec["notes"] += f" Stratified randomisation p = {rec['p_value_randomisation']:.3f}."
    except (InputError, StateError) as exc:
        rec["notes"] += f" Stratified randomisation test not run: {exc}."
    measure_name = tf.trial.outcomes.primary.name
    return analysis_record(
        rec,
        name=f"block_att: {measure_name}",
        estimator="block_att",
        outcome=measure_name,
        measure=b.measure,
        role="exploratory",
        registered=False,
        estimand="ATT: change per treated unit-month over the treatment months, blocks weighted "
        "by their treated units",
    )


def _bayesian_primary(bayesian: dict[str, Any], trial, measure: str) -> dict[str, Any]:
    """The ``primary`` record of a trial whose registered primary analysis is Bayesian."""
    ok = bayesian.get("status") == "ok"
    return analysis_record(
        {
            "percent_change": bayesian.get("percent_change") if ok else None,
            "percent_ci_low": bayesian.get("ci95_low") if ok else None,
            "percent_ci_high": bayesian.get("ci95_high") if ok else None,
            "n_obs": bayesian.get("n_obs"),
            "n_units": bayesian.get("n_units"),
            "notes": "posterior summary; see the bayesian block"
            if ok
            else f"the Bayesian model failed: {bayesian.get('reason')}",
        },
        name="primary",
        estimator=trial.analysis.primary.value,
        outcome=trial.outcomes.primary.name,
        measure=measure,
        role="primary",
        registered=True,
        estimand=bayesian.get("estimand"),
    )


def _displacement(tf, records, assignment, measure, alpha, notes) -> dict[str, Any] | None:
    """WDQ and a DiD on buffer units against the rest of the area (neither treated nor buffer)."""
    from triplet.records.sources import load_source

    trial = tf.trial
    # a boundary file gives a units table with neighbours too (issue 11)
    source = trial.source("units") or trial.source("boundaries")
    if source is None:
        notes.append(
            "analysis.buffer is true but the trial has no units source with "
            "neighbours: displacement not checked"
        )
        return None
    units = load_source(source, tf.root or tf.dir, trial=trial, file=tf.path)
    id_col = trial.units.id_column if trial.units.id_column in units.columns else "unit"
    treated = assignment.loc[assignment["arm"] == "treatment", "unit"].tolist()
    controls = assignment.loc[assignment["arm"] == "control", "unit"].tolist()
    try:
        buffers = buffer_units(units, treated, unit=id_col)
    except InputError as exc:
        notes.append(f"displacement not checked: {exc}")
        return None
    in_control_arm = sorted(set(buffers) & set(controls))
    # control area C: every other unit of the source (Bowers & Johnson's wider area),
    # neither treated nor a buffer
    everyone = units[id_col].astype(str).tolist()
    control_area = sorted(set(everyone) - set(treated) - set(buffers))
    if not len(buffers) or not control_area:
        notes.append("displacement not checked: no buffer units or no control area left")
        return None
    panel = area_panel(tf, records, [*treated, *buffers, *control_area])
    panel = panel[panel["period"] != "follow_up"]
    w = wdq(panel, treated=treated, buffer=buffers, control=control_area, outcome=measure)
    bp = panel[panel["unit"].isin([*buffers, *control_area])].reset_index(drop=True)
    bp = bp.assign(d=(bp["unit"].isin(list(buffers)) & bp["post"]).astype(np.int64))
    out: dict[str, Any] = {
        "method": "Weighted Displacement Quotient (Bowers & Johnson 2003)",
        "wdq": w.to_dict(),
        "n_buffer_units": len(buffers),
        "n_buffer_units_in_control_arm": len(in_control_arm),
    }
    try:
        r = did(bp, outcome=measure, unit="unit", time="month", treated="d", alpha=alpha)
        out["buffer_did"] = analysis_record(
            r.to_dict(),
            name=f"buffer DiD: {measure}",
            estimator="twfe_did",
            measure=measure,
            role="exploratory",
            registered=True,
            estimand=f"change in {measure} per buffer unit-month over the treatment months "
            "(buffers vs. control area): negative = diffusion of benefits, positive = "
            "displacement",
        )
    except InputError as exc:
        out["buffer_did"] = None
        notes.append(f"buffer DiD not estimated: {exc}")
    if in_control_arm:
        notes.append(
            f"{len(in_control_arm)} control-arm units border treated units (buffers "
            "for the displacement check; possible spill-over into the control arm)"
        )
    out["_figure"] = w.plot()
    return out


def _bayesian(panel, tf, results_dir: Path, notes: list[str]) -> dict[str, Any] | None:
    """Call :func:`triplet.tracking.bayes.fit_effect` if that module is installed."""
    try:
        from triplet.tracking.bayes import fit_effect
    except ImportError:
        notes.append(
            "the plan names a Bayesian model but triplet.tracking.bayes is not "
            "available: not fitted"
        )
        return None
    trial = tf.trial
    try:
        eff = fit_effect(panel, trial)
    except (ConvergenceError, InputError) as exc:
        # A model that did not converge, or that does not fit this panel (e.g. a hurdle model
        # on harm with no zero months), is reported as failed; the other analyses still stand.
        reason = str(exc) if isinstance(exc, ConvergenceError) else f"not fitted: {exc}"
        notes.append(f"Bayesian model failed: {reason}")
        return {
            "status": "failed",
            "reason": reason,
            "model": None,
            "outcome": trial.outcomes.primary.name,
        }
    if eff.to_dict().get("status") == "ok" and hasattr(eff, "save"):
        results_dir.mkdir(parents=True, exist_ok=True)
        return eff.to_dict(posterior=eff.save(results_dir))
    return eff.to_dict()
