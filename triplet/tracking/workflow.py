"""``triplet track <trial>``: analyse a locked, assigned trial exactly as registered.

Order of work (CONSORT 2010 items 12 and 17; Sherman 2013 on tracking):

1. Refuse unless the trial has an ``assignment.csv`` and a ``lock.json`` and the registration
   has not changed since locking without a recorded deviation (every changed field listed).
2. Build the unit x month panel of the primary outcome (:func:`build_panel`).
3. Run the **registered primary analysis** first, on the baseline and treatment months.
4. Run every other estimator the plan names on the primary outcome, the primary estimator on
   each secondary outcome, and the primary estimator on the follow-up months: all labelled
   ``exploratory`` (``registered`` says whether the plan named them).
5. Randomisation inference re-runs the registered assignment procedure
   (:func:`triplet.testing.assignment.draw_assignments`) ``analysis.randomisation_draws`` times.
6. Displacement (WDQ and buffer DiD) when ``analysis.buffer`` is true; the Bayesian model when
   the plan names ``bayesian_count``/``bayesian_harm`` and :mod:`triplet.tracking.bayes` exists.
7. Write ``results/results.json`` and ``results/figures/*.png``. An earlier run is never
   overwritten: ``--rerun`` moves it to ``results/previous/<UTC timestamp>/``.
8. Move the status forward to ``analysed`` when the records cover every registered month
   (``set_status`` allows skipping ``in_field``/``completed``); otherwise the status is left as
   it is and the results are marked interim.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import ConvergenceError, InputError, LockError, OverwriteError, StateError
from triplet.io import write_dataframe
from triplet.registry.models import DesignMethod, Estimator, Status
from triplet.tracking.count_models import count_did
from triplet.tracking.did import did
from triplet.tracking.displacement import buffer_units, wdq
from triplet.tracking.event_study import event_study
from triplet.tracking.inference import permute_within, randomisation_inference, unit_prepost
from triplet.tracking.panel import area_panel, build_panel, load_trial_records
from triplet.tracking.results import (
    RESULTS_FILE,
    analysis_record,
    archive_results,
    software_versions,
    write_results,
)
from triplet.tracking.staggered import staggered_did

__all__ = ["TrackReport", "track_trial"]

#: event-study window: leads before -12 months are binned into -12 (fewer leads to test jointly)
EVENT_WINDOW = (-12, 10_000)

BAYESIAN = {Estimator.bayesian_count, Estimator.bayesian_harm}
POINT_ESTIMATORS = {
    Estimator.twfe_did,
    Estimator.event_study,
    Estimator.poisson_did,
    Estimator.negbin_did,
    Estimator.staggered_did,
    Estimator.randomisation_inference,
}


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
        return self.results

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


def _pct(x: float, base: float) -> float | None:
    if base is None or not np.isfinite(base) or base == 0 or x is None or not np.isfinite(x):
        return None
    return float(100.0 * x / base)


def _cluster_column(trial, panel: pd.DataFrame, notes: list[str]) -> str:
    want = trial.analysis.cluster
    if want == "unit":
        return "unit"
    if panel[want].notna().all():
        return want
    notes.append(
        f"analysis.cluster is {want} but the assignment has no {want}s: clustered by unit instead"
    )
    return "unit"


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


def _estimand(est: Estimator, measure: str, months: str) -> str:
    unit = "days of imprisonment (harm)" if measure == "harm" else "crimes"
    return {
        Estimator.twfe_did: f"ATT: change in {unit} per treated unit-month over the {months}, "
        "two-way fixed-effects DiD",
        Estimator.event_study: f"average of the monthly effects on {unit} over the {months} "
        "relative to the month before the start",
        Estimator.poisson_did: f"rate ratio of {unit} in treated unit-months over the {months} "
        "(Poisson DiD)",
        Estimator.negbin_did: f"rate ratio of {unit} in treated unit-months over the {months} "
        "(negative-binomial DiD)",
        Estimator.staggered_did: f"ATT on {unit} per unit-month over the {months} "
        "(Callaway & Sant'Anna, never-treated controls)",
        Estimator.randomisation_inference: f"DiD of unit means of {unit} over the {months}; "
        "Fisher sharp null of a constant additive effect",
    }[est]


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


# --------------------------------------------------------------------------- estimators


def _run(
    est: Estimator,
    panel: pd.DataFrame,
    trial,
    *,
    measure: str,
    months: str,
    cluster: str,
    block: str | None,
    alpha: float,
    ri: Callable | None = None,
) -> tuple[dict[str, Any], Any]:
    """Run one estimator on a panel whose ``d`` marks treated post months; (record, result)."""
    # every estimator reads the same panel layout (contract: unit, month, d, start)
    cols = {"outcome": measure, "unit": "unit", "time": "month", "alpha": alpha}
    if est is Estimator.twfe_did:
        r = did(panel, **cols, treated="d", cluster=cluster, block=block)
        return r.to_dict(), r
    if est is Estimator.event_study:
        r = event_study(
            _with_start(panel, trial),
            **cols,
            start="start",
            cluster=cluster,
            block=block,
            window=EVENT_WINDOW,
        )
        lo, hi = r.post_mean_ci
        on = panel["d"] == 1
        cf = float(panel.loc[on, measure].mean()) - r.post_mean
        rec = {
            "estimator": "event_study",
            "estimate": r.post_mean,
            "se": r.post_mean_se,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": r.post_mean_p,
            "n_obs": r.n_obs,
            "n_units": r.n_units,
            "percent_change": _pct(r.post_mean, cf),
            "percent_ci_low": _pct(lo, cf),
            "percent_ci_high": _pct(hi, cf),
            "pretrend_test": r.to_dict()["pretrend_test"],
            "coefficients": r.to_dict()["coefficients"],
            "notes": f"joint pre-trend test F({r.pretrend_df[0]}, {r.pretrend_df[1]}) = "
            f"{r.pretrend_f:.2f}, p = {r.pretrend_p:.3f}",
        }
        return rec, r
    if est in (Estimator.poisson_did, Estimator.negbin_did):
        fam = "poisson" if est is Estimator.poisson_did else "negbin"
        r = count_did(panel, **cols, treated="d", cluster=cluster, family=fam)
        rec = r.to_dict()
        if measure == "harm":
            rec["notes"] += "; harm in days is not a count: quasi-likelihood (robust SE)"
        return rec, r
    if est is Estimator.staggered_did:
        r = staggered_did(
            _with_start(panel, trial),
            **cols,
            start="start",
            cluster=None if cluster == "unit" else cluster,
        )
        return r.to_dict(), r
    if est is Estimator.randomisation_inference:
        assert ri is not None
        r, cf, _ = ri(panel, measure)
        rec = r.to_dict()
        rec.update(
            percent_change=_pct(r.estimate, cf),
            percent_ci_low=_pct(r.ci_low, cf),
            percent_ci_high=_pct(r.ci_high, cf),
        )
        return rec, r
    raise StateError(f"estimator {est.value} is not a point estimator")  # pragma: no cover


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


# --------------------------------------------------------------------------- the workflow


def _preflight(tf) -> None:
    from triplet.registry.lock import check_lock, read_lock

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


#: The analysed panel written beside results.json (unit ids are pseudonymised for people).
PANEL_FILE = "panel.csv"


def _prepare_results_dir(results_dir: Path, rerun: bool) -> Path | None:
    if (results_dir / RESULTS_FILE).exists():
        if not rerun:
            raise OverwriteError(
                f"{results_dir / RESULTS_FILE} exists; rerun with --rerun to move it to "
                f"{results_dir / 'previous'}/<timestamp>/ and analyse again"
            )
        return archive_results(results_dir)
    # files left by an interrupted run (no results.json): keep them, out of the way
    return archive_results(results_dir, suffix="-incomplete")


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
    from triplet.testing.assignment import read_assignment

    tf = find_trial(registry, trial_id)
    _preflight(tf)
    trial = tf.trial
    plan = trial.analysis
    alpha = plan.alpha
    assignment = read_assignment(tf.assignment_path)
    assignment["unit"] = assignment["unit"].astype(str)
    lock = read_lock(tf)
    results_dir = tf.results_dir
    archived = _prepare_results_dir(results_dir, rerun)
    fig_dir = results_dir / "figures"

    estimators = list(dict.fromkeys([plan.primary, *plan.secondary]))
    n_steps = 4 + len(estimators) + len(trial.outcomes.secondary)
    notes: list[str] = []
    figures: dict[str, Path] = {}
    analyses: list[dict[str, Any]] = []
    n_draws = int(draws or plan.randomisation_draws)
    if (
        draws is not None
        and draws != plan.randomisation_draws
        and Estimator.randomisation_inference in estimators
    ):
        notes.append(
            f"randomisation draws overridden: {draws} instead of the registered "
            f"{plan.randomisation_draws}"
        )

    with _Progress(progress, n_steps, console) as prog:
        prog.step("reading records and building the panel")
        records = load_trial_records(tf, assignment)
        panel_all = build_panel(tf, assignment, records=records)
        prog.done()
        if panel_all.attrs.get("n_unmatched_harm"):
            notes.append(
                f"{panel_all.attrs['n_unmatched_harm']} records had no harm weight; "
                "their harm is left out of the totals"
            )
        tp = panel_all[panel_all["period"] != "follow_up"].reset_index(drop=True)
        cluster = _cluster_column(trial, tp, notes)
        block = _block_column(trial, tp)
        measure = _measure(trial.outcomes.primary)
        ri = _draws_factory(tf, assignment, n_draws, seed=trial.design.seed + 1)
        months_text = "treatment months"
        p0 = trial.outcomes.primary

        def add(est: Estimator, panel, outcome, role, name, registered, months=months_text):
            m = _measure(outcome)
            try:
                rec, res = _run(
                    est,
                    panel,
                    trial,
                    measure=m,
                    months=months,
                    cluster=cluster,
                    block=block,
                    alpha=alpha,
                    ri=ri,
                )
            except (InputError, StateError) as exc:
                rec, res = {"estimator": est.value, "notes": f"not estimated: {exc}"}, None
            rec = analysis_record(
                rec,
                name=name,
                estimator=est.value,
                outcome=outcome.name,
                measure=m,
                role=role,
                registered=registered,
                estimand=_estimand(est, m, months),
            )
            analyses.append(rec)
            return res

        # 1. the registered primary analysis
        primary_est = plan.primary
        frequentist_primary = primary_est in POINT_ESTIMATORS
        prog.step(f"primary: {primary_est.value}")
        if frequentist_primary:
            primary_res = add(primary_est, tp, p0, "primary", "primary", True)
        else:
            primary_res = None
        prog.done()
        # 2. the other named estimators on the primary outcome
        for est in estimators:
            prog.step(f"{est.value}")
            if est in POINT_ESTIMATORS and est is not primary_est:
                res = add(est, tp, p0, "exploratory", f"{est.value}: {p0.name}", True)
                if est is Estimator.randomisation_inference and res is not None:
                    figures["randomisation"] = _save_figure(
                        res.plot(), fig_dir / "randomisation.png"
                    )
            prog.done()
        # 3. secondary outcomes with the primary (or TWFE) estimator
        sec_est = primary_est if frequentist_primary else Estimator.twfe_did
        for outcome in trial.outcomes.secondary:
            prog.step(f"secondary outcome {outcome.name}")
            sp = build_panel(tf, assignment, outcome=outcome, records=records)
            sp = sp[sp["period"] != "follow_up"].reset_index(drop=True)
            add(sec_est, sp, outcome, "exploratory", f"{sec_est.value}: {outcome.name}", True)
            prog.done()
        # 4. follow-up months (persistence), primary estimator, exploratory
        prog.step("follow-up")
        if trial.periods.follow_up is not None:
            fu = panel_all[panel_all["period"] != "treatment"].reset_index(drop=True)
            fu = fu.assign(
                d=(fu["treated"] & (fu["period"] == "follow_up")).astype(np.int64),
                period=fu["period"].replace({"follow_up": "treatment"}),
            )
            add(
                sec_est,
                fu,
                p0,
                "exploratory",
                f"{sec_est.value}: {p0.name}, follow-up",
                False,
                months="follow-up months",
            )
        prog.done()

        # figures: trends and event study (always drawn; event study analysis only if named)
        prog.step("figures")
        trend = did(tp, outcome=measure, unit="unit", time="month", treated="d")
        figures["trends"] = _save_figure(trend.plot(), fig_dir / "trends.png")
        with contextlib.suppress(InputError):
            es = event_study(
                _with_start(tp, trial),
                outcome=measure,
                unit="unit",
                time="month",
                start="start",
                cluster=cluster,
                block=block,
                alpha=alpha,
                window=EVENT_WINDOW,
            )
            figures["event_study"] = _save_figure(es.plot(), fig_dir / "event_study.png")
        prog.done()

        # displacement
        displacement = None
        if plan.buffer:
            prog.step("displacement")
            displacement = _displacement(tf, records, assignment, measure, alpha, notes)
            if displacement is not None:
                fig = displacement.pop("_figure", None)
                if fig is not None:
                    figures["displacement"] = _save_figure(fig, fig_dir / "displacement.png")

        # Bayesian
        bayesian = None
        if any(e in BAYESIAN for e in estimators):
            if bayes:
                prog.step("Bayesian model (MCMC)")
                bayesian = _bayesian(tp, tf, results_dir, notes)
            else:
                notes.append("the Bayesian model named in the plan was skipped (--no-bayes)")
        prog.done()

    primary = next((a for a in analyses if a["role"] == "primary"), None)
    if primary is None and bayesian is not None:  # a Bayesian primary analysis
        ok = bayesian.get("status") == "ok"
        primary = analysis_record(
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
            estimator=primary_est.value,
            outcome=p0.name,
            measure=measure,
            role="primary",
            registered=True,
            estimand=bayesian.get("estimand"),
        )
        analyses.insert(0, primary)
    if primary is None:
        raise StateError(f"the primary analysis ({primary_est.value}) could not be run")
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
    last_month = pd.PeriodIndex(panel_all["month"]).max()
    covered = bool(pd.PeriodIndex(records.records["month"]).max() >= last_month)
    if not covered:
        notes.append("the records do not reach the last registered month: interim results")
    results = {
        "trial": trial.id,
        "title": trial.title,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "synthetic": any(s.uri.startswith("example://") for s in trial.data_sources),
        "registration_sha256": lock.registration_sha256 if lock is not None else None,
        "assignment_sha256": lock.get("assignment_sha256") if lock is not None else None,
        "versions": software_versions(),
        "n_units": {
            "eligible": flow.get("eligible"),
            "assigned": len(assignment),
            "treatment": int((assignment["arm"] == "treatment").sum()),
            "control": int((assignment["arm"] == "control").sum()),
            "analysed": n_analysed,
        },
        "periods": {
            "baseline": [trial.periods.baseline.start, trial.periods.baseline.end],
            "treatment": [trial.periods.treatment.start, trial.periods.treatment.end],
            "follow_up": None
            if trial.periods.follow_up is None
            else [trial.periods.follow_up.start, trial.periods.follow_up.end],
        },
        "alpha": alpha,
        "cluster": cluster,
        "fixed_effects": "unit + month" if block is None else f"unit + {block} x month",
        "randomisation_draws": n_draws,
        "interim": not covered,
        "primary": primary,
        "analyses": [primary] + [a for a in analyses if a is not primary],
        "bayesian": bayesian,
        "displacement": displacement,
        "figures": {k: str(v.relative_to(results_dir)) for k, v in figures.items()},
        "panel": PANEL_FILE,
        "notes": notes,
    }
    # The analysed unit x month panel, so any estimate can be reproduced (`triplet did`).
    write_dataframe(
        results_dir / PANEL_FILE, panel_all.assign(month=panel_all["month"].astype(str))
    )
    path = write_results(results_dir, results)
    status = trial.status.value
    if set_analysed and covered and trial.status.order < Status.analysed.order:
        from triplet.registry.status import set_status

        status = set_status(tf, Status.analysed).trial.status.value
    return TrackReport(trial.id, results, path, figures, archived, status)


def _displacement(tf, records, assignment, measure, alpha, notes) -> dict[str, Any] | None:
    """WDQ and a DiD on buffer units against the rest of the area (neither treated nor buffer)."""
    from triplet.records.sources import load_source

    trial = tf.trial
    try:
        units = load_source(trial.source("units"), tf.root or tf.dir, trial=trial, file=tf.path)
    except KeyError:
        notes.append(
            "analysis.buffer is true but the trial has no units source with "
            "neighbours: displacement not checked"
        )
        return None
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
