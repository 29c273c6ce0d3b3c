"""The effect report of one trial: the sections of ``notebooks/effect_report.ipynb`` and its runner.

The notebook is thin: each section is a function here taking a :class:`ReportContext` and
returning a DataFrame, a Markdown string or a matplotlib Figure, so every section is tested in
Python and the notebook only lays them out. :func:`build_effect_report` executes the notebook
for one trial (nbclient) and writes ``trials/<id>/reports/effect_report.html`` (self-contained,
nbconvert). An existing report is never overwritten: with ``rerun=True`` it is first moved to
``reports/previous/<timestamp>/``.

Sections follow CONSORT 2010 (Schulz et al. 2010) for the flow of units and the registered
primary analysis, and report exploratory analyses as exploratory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from triplet.errors import InputError, OverwriteError
from triplet.io import read_json
from triplet.registry.models import Trial
from triplet.reports.board import BAYES_FAILED, load_results
from triplet.reports.evidence import rates_words, rule_error_rates
from triplet.reports.formatting import format_percent, format_probability, missing
from triplet.reports.verdict import decide, sms_level
from triplet.tracking.decision import describe_rule

__all__ = [
    "NOTEBOOK",
    "ReportContext",
    "analyses_table",
    "balance_section",
    "bayesian_section",
    "build_effect_report",
    "caveats",
    "context_for",
    "delivery_section",
    "deviations_table",
    "displacement_table",
    "event_study_image",
    "few_clusters_table",
    "flow_figure",
    "flow_table",
    "headline",
    "load_context",
    "map_figure",
    "multiplicity_table",
    "primary_table",
    "randomisation_table",
    "registration_table",
    "reproducibility_table",
    "result_figure",
    "rounded",
    "sensitivity_section",
    "trends_figure",
]

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "effect_report.ipynb"
REPORT_FILE = "effect_report.html"


@dataclass(frozen=True)
class ReportContext:
    """Everything the report reads for one trial: registration, lock, assignment, results."""

    trial_file: Any
    results: dict[str, Any] | None
    lock: dict[str, Any] | None
    assignment: pd.DataFrame | None

    @property
    def trial(self) -> Trial:
        return self.trial_file.trial

    @property
    def synthetic(self) -> bool:
        return bool((self.results or {}).get("synthetic")) or any(
            s.uri.startswith("example://") for s in self.trial.data_sources
        )

    @property
    def results_dir(self) -> Path:
        return Path(self.trial_file.dir) / "results"


def _read_json(path: Path) -> dict[str, Any] | None:
    return read_json(path) if path.exists() else None


def load_context(
    trial_id: str, registry: str | Path = "registry.yaml", trial_path: str | Path | None = None
) -> ReportContext:
    """Load a trial of ``registry`` (or the trial.yaml at ``trial_path``) with its lock.json,
    assignment.csv and results.json."""
    from triplet.registry import find_trial, load_trial

    if trial_path is not None:
        tf = load_trial(trial_path)
        if tf.trial.id != trial_id:
            raise InputError(f"holds trial {tf.trial.id!r}, not {trial_id!r}", file=trial_path)
        return context_for(tf)
    return context_for(find_trial(registry, trial_id))


def _place_day(trial) -> bool:
    """A place-day (crossover) trial: places randomised day by day (docs/place-day.md)."""
    return trial.design.method.value == "place_day"


def context_for(trial_file: Any) -> ReportContext:
    """The :class:`ReportContext` of an already loaded ``TrialFile``."""
    d = Path(trial_file.dir)
    assignment = None
    if (d / "assignment.csv").exists():
        from triplet.registry.lock import verify_artefacts

        verify_artefacts(trial_file)  # issue 10, defect 1
    if (d / "assignment.csv").exists() and _place_day(trial_file.trial):
        from triplet.testing.crossover import read_schedule

        assignment = read_schedule(d / "assignment.csv")  # unit x day schedule
    elif (d / "assignment.csv").exists():
        from triplet.testing.assignment import read_assignment

        assignment = read_assignment(d / "assignment.csv")
    return ReportContext(
        trial_file=trial_file,
        results=load_results(d),
        lock=_read_json(d / "lock.json"),
        assignment=assignment,
    )


# --- registration -------------------------------------------------------------------------


def headline(ctx: ReportContext) -> str:
    """Markdown: title, SYNTHETIC label, status, verdict and the registered primary estimate."""
    t, r = ctx.trial, ctx.results
    lines = [f"# {t.title}", ""]
    if ctx.synthetic:
        lines += [
            "**SYNTHETIC DATA.** This trial runs on the made-up example borough: the results "
            "show how the method works, not what works in real policing.",
            "",
        ]
    rates = rule_error_rates(ctx.trial_file.dir)
    v = decide(t, r, error_rates=rates)
    lines.append(
        f"Trial `{t.id}` - status **{t.status.value}** - verdict **{v.label.value}** "
        f"(SMS level {v.sms})."
    )
    lines.append(f"\n{v.rule}" + (f" {rates_words(rates)}" if rates_words(rates) else ""))
    if rates and rates.get("warning"):
        lines.append(f"\n**Power guard at assignment:** {rates['warning']}")
    if r and r.get("primary"):
        p = r["primary"]
        lines.append(
            f"\nRegistered primary estimate: {format_percent(p.get('percent_change'))} "
            f"{p.get('measure', '')} ({format_percent(p.get('percent_ci_low'))} to "
            f"{format_percent(p.get('percent_ci_high'))}), estimator `{p.get('estimator')}`."
        )
    else:
        lines.append("\nNo results yet: run `triplet track` once the trial has completed.")
    return "\n".join(lines)


def registration_table(ctx: ReportContext) -> pd.DataFrame:
    """The registration as a two-column table (what was promised before the trial began)."""
    t = ctx.trial
    sms = sms_level(t, ctx.results)
    rows = [
        ("Registered", str(t.registered or "not registered")),
        ("Owner", f"{t.owner.name} ({t.owner.agency})"),
        ("Intervention", f"{t.intervention.type.label}: {t.intervention.description}"),
        ("Dosage", t.intervention.dosage.description if t.intervention.dosage else "-"),
        ("Primary hypothesis", t.hypotheses.primary),
        *[(f"Secondary hypothesis {i + 1}", h) for i, h in enumerate(t.hypotheses.secondary)],
        ("Units", f"{t.units.kind.value}: {t.units.level} ({t.units.source})"),
        ("Design", f"{t.design.method.value}, seed {t.design.seed}"),
        ("Strength of evidence", f"SMS level {sms.level}: {sms.reason}"),
        (
            "Primary outcome",
            f"{t.outcomes.primary.name} ({t.outcomes.primary.measure}, "
            f"index {t.outcomes.primary.harm_index})",
        ),
        ("Baseline", f"{t.periods.baseline.start} to {t.periods.baseline.end}"),
        ("Treatment", f"{t.periods.treatment.start} to {t.periods.treatment.end}"),
        ("Primary analysis", f"{t.analysis.primary.value} (alpha {t.analysis.alpha})"),
        ("Decision rule", describe_rule(t.analysis.rule, t.analysis.alpha)),
        ("Secondary analyses", ", ".join(e.value for e in t.analysis.secondary) or "-"),
        (
            "Smallest effect worth acting on",
            f"{100 * t.analysis.minimum_effect.reduction:.0f}% reduction",
        ),
    ]
    if ctx.lock:
        rows.append(
            (
                "Locked",
                f"{ctx.lock.get('locked_at', '?')}, registration SHA-256 "
                f"{str(ctx.lock.get('registration_sha256', '?'))[:12]}...",
            )
        )
    return pd.DataFrame(rows, columns=["item", "registered"])


def deviations_table(ctx: ReportContext) -> pd.DataFrame:
    """Recorded deviations from the locked registration (CONSORT item 6b)."""
    rows = [
        {
            "date": str(d.date),
            "field": d.field,
            "reason": d.reason,
            "approved_by": d.approved_by or "",
        }
        for d in ctx.trial.deviations
    ]
    return pd.DataFrame(rows, columns=["date", "field", "reason", "approved_by"])


# --- CONSORT flow and balance -------------------------------------------------------------


def flow_table(ctx: ReportContext) -> pd.DataFrame:
    """CONSORT-style flow: units in the source, excluded (by reason), eligible, assigned (by
    arm), analysed.

    Figures come from lock.json (``flow`` from the unit table, ``n_treatment``/``n_control``
    written at assignment), results.json's ``n_units`` (written at analysis) and
    assignment.csv, in that order of preference; the source of each number is given.
    """
    lock = ctx.lock or {}
    flow = dict(lock.get("flow") or {})
    excluded = flow.get("excluded")
    reasons: dict[str, int] = {}
    if isinstance(excluded, dict):
        reasons = {str(k): int(v) for k, v in excluded.items() if v}
        flow["excluded"] = sum(int(v) for v in excluded.values())
    from_lock = {
        "assigned": lock.get("n_units"),
        "treatment": lock.get("n_treatment"),
        "control": lock.get("n_control"),
    }
    n = dict((ctx.results or {}).get("n_units") or {})
    a = ctx.assignment
    from_assignment = {}
    if a is not None and "arm" in a:
        from_assignment = {
            "assigned": len(a),
            "treatment": int((a["arm"] == "treatment").sum()),
            "control": int((a["arm"] == "control").sum()),
        }
    if _place_day(ctx.trial):  # arms are place-days here, not units
        from_lock = {"assigned": lock.get("n_units")}
        for key in ("treated", "control", "washout"):
            if lock.get(f"n_{key}_place_days") is not None:
                from_lock[f"{key} place-days"] = lock[f"n_{key}_place_days"]
        n.pop("treatment", None), n.pop("control", None)
    sources = (
        ("lock.json flow", flow),
        ("lock.json", from_lock),
        ("results.json n_units", n),
        ("assignment.csv", from_assignment),
    )
    rows = []
    stages = (
        "source_units",
        "excluded",
        "eligible",
        "assigned",
        "treatment",
        "control",
        "treated place-days",
        "control place-days",
        "washout place-days",
        "analysed",
    )
    for stage in stages:
        for source, d in sources:
            if d.get(stage) is not None:
                label = "units in the source" if stage == "source_units" else stage
                rows.append({"stage": label, "units": int(d[stage]), "source": source})
                if stage == "excluded":
                    rows += [
                        {"stage": f"excluded: {r}", "units": k, "source": source}
                        for r, k in reasons.items()
                    ]
                break
    return pd.DataFrame(rows, columns=["stage", "units", "source"])


def flow_figure(ctx: ReportContext) -> Figure | None:
    """A CONSORT flow diagram of :func:`flow_table` (boxes and arrows), or None if empty."""
    table = flow_table(ctx).set_index("stage")["units"]
    if table.empty:
        return None
    fig = Figure(figsize=(7, 4.8))
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)

    def box(x, y, text):
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.5", "fc": "#f6f8fa", "ec": "#57606a"},
        )

    def arrow(x0, y0, x1, y1):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->"})

    def n(stage):
        return f"{table[stage]:,}" if stage in table else "?"

    y = 9.3
    if "units in the source" in table:
        box(5, y, f"Units in the source\nn = {n('units in the source')}")
        if "excluded" in table:
            box(8.7, 8.45, f"Excluded\nn = {n('excluded')}")
            arrow(5, 8.45, 7.8, 8.45)
        arrow(5, y - 0.6, 5, 8.2)
        y = 7.6
    box(5, y, f"Eligible\nn = {n('eligible')}")
    arrow(5, y - 0.6, 5, 6.5)
    box(5, 5.9, f"Assigned\nn = {n('assigned')}")
    if "treated place-days" in table:  # place-day trial: every place is in both arms
        box(2.6, 3.6, f"Treated place-days\nn = {n('treated place-days')}")
        box(7.4, 3.6, f"Control place-days\nn = {n('control place-days')}")
        if "washout place-days" in table:
            box(5, 2.3, f"Washout (not analysed)\nn = {n('washout place-days')}")
    else:
        box(2.6, 3.6, f"Treatment\nn = {n('treatment')}")
        box(7.4, 3.6, f"Control\nn = {n('control')}")
    arrow(5, 5.3, 2.6, 4.2)
    arrow(5, 5.3, 7.4, 4.2)
    if "analysed" in table:  # not before the trial is analysed
        box(5, 1.0, f"Analysed\nn = {n('analysed')}")
        arrow(2.6, 3.0, 4.6, 1.6)
        arrow(7.4, 3.0, 5.4, 1.6)
    fig.tight_layout()
    return fig


def balance_section(ctx: ReportContext) -> tuple[pd.DataFrame | None, str]:
    """Baseline balance of the assigned arms (:func:`triplet.testing.balance.balance`)."""
    if ctx.assignment is None:
        return None, "Not assigned yet: no balance to show."
    if _place_day(ctx.trial):
        return None, (
            "Place-day design: every place is treated on some days and a control on others, so "
            "there are no arms of places to balance; place and day fixed effects absorb places' "
            "levels and days' shocks (docs/place-day.md)."
        )
    from triplet.testing.balance import balance
    from triplet.testing.units import unit_table

    units = unit_table(ctx.trial_file).units
    covs = [c for c in ctx.trial.design.balance.covariates if c in units.columns]
    res = balance(units, ctx.assignment, covs)
    p = res.omnibus.get("p_value")
    note = (
        f"Largest absolute standardised mean difference {res.max_abs_smd:.3f} "
        f"(criterion {ctx.trial.design.balance.max_abs_smd}); omnibus test "
        f"(Hansen & Bowers 2008) p = {p:.2f}."
        if p is not None and p == p
        else f"Largest absolute standardised mean difference {res.max_abs_smd:.3f}."
    )
    return res.summary(), note


# --- outcomes -----------------------------------------------------------------------------


def trends_figure(ctx: ReportContext) -> Figure | None:
    """Mean primary outcome per unit and month, treated vs control, with the start marked."""
    if ctx.assignment is None or _place_day(ctx.trial):  # place-day: `triplet track` draws it
        return None
    from triplet.tracking.panel import build_panel

    panel = build_panel(ctx.trial_file, ctx.assignment)
    measure = ctx.trial.outcomes.primary.measure
    means = panel.groupby(["month", "arm"], observed=True)[measure].mean().unstack("arm")
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    x = means.index.to_timestamp() if hasattr(means.index, "to_timestamp") else means.index
    for arm, colour in (("treatment", "#cf222e"), ("control", "#0550ae")):
        if arm in means:
            ax.plot(x, means[arm].to_numpy(), label=arm, color=colour, lw=1.8)
    start = pd.Period(ctx.trial.periods.treatment.start, "M").to_timestamp()
    ax.axvline(start, color="black", ls="--", lw=1)
    ax.text(start, ax.get_ylim()[1], " treatment starts", va="top", fontsize=8)
    unit = "days of imprisonment (CCHI)" if measure == "harm" else "crimes"
    ax.set_ylabel(f"mean {measure} per unit-month\n({unit})")
    ax.legend(frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def result_figure(ctx: ReportContext, name: str) -> Path | None:
    """A figure ``triplet track`` wrote (results.json ``figures[name]``), if it exists."""
    figs = (ctx.results or {}).get("figures") or {}
    rel = figs.get(name)
    if not rel:
        return None
    path = (ctx.results_dir / rel).resolve()
    inside = ctx.results_dir.resolve() in path.parents
    return path if inside and path.exists() else None


def event_study_image(ctx: ReportContext) -> Path | None:
    """The event-study figure written by ``triplet track`` (results/figures/...), if any."""
    return result_figure(ctx, "event_study")


_ANALYSIS_COLUMNS = [
    "name",
    "estimator",
    "role",
    "measure",
    "percent_change",
    "percent_ci_low",
    "percent_ci_high",
    "p_value",
    "n_units",
]
_PRIMARY_FIELDS = (
    ("estimator", "Estimator"),
    ("outcome", "Outcome"),
    ("measure", "Measure"),
    ("estimand", "Estimand"),
    ("percent_change", "Change (%)"),
    ("percent_ci_low", "Interval, lower (%)"),
    ("percent_ci_high", "Interval, upper (%)"),
    ("percent_blank_reason", "Per cent interval: why a bound is blank"),
    ("percent_method", "Per cent change computed as"),
    ("rate_ratio", "Rate ratio"),
    ("estimate", "Estimate (model scale)"),
    ("se", "Standard error"),
    ("ci_low", "Interval, lower (model scale)"),
    ("ci_high", "Interval, upper (model scale)"),
    ("p_value", "p-value"),
    ("n_units", "Units analysed"),
    ("n_obs", "Unit-months analysed"),
    ("notes", "Notes"),
)


def primary_table(ctx: ReportContext) -> pd.DataFrame:
    """The registered primary analysis as a two-column table (empty before results exist)."""
    p = (ctx.results or {}).get("primary") or {}
    rows = [
        (label, _display(p[key]))
        for key, label in _PRIMARY_FIELDS
        if key in p and not missing(p[key]) and p[key] != ""
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def _display(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def analyses_table(ctx: ReportContext) -> pd.DataFrame:
    """Every analysis in results.json (primary first), with its role."""
    rows = (ctx.results or {}).get("analyses") or []
    return pd.DataFrame(rows).reindex(columns=_ANALYSIS_COLUMNS)


def randomisation_table(ctx: ReportContext) -> pd.DataFrame:
    """Randomisation-inference analyses (Fisher's exact test of the sharp null; Young 2019)."""
    rows = [
        a
        for a in (ctx.results or {}).get("analyses") or []
        if a.get("estimator") in ("randomisation_inference", "place_day")
    ]
    rows = [  # place-day: the randomisation p of the re-drawn schedules
        {**a, "p_value": a.get("p_value_randomisation")} if a["estimator"] == "place_day" else a
        for a in rows
    ]
    cols = ["name", "outcome", "measure", "estimate", "p_value", "n_units", "notes"]
    return pd.DataFrame(rows).reindex(columns=cols)


def bayesian_section(ctx: ReportContext) -> tuple[str, pd.DataFrame | None]:
    """Markdown summary of the posterior and its diagnostics; the failure notice if it failed."""
    b = (ctx.results or {}).get("bayesian")
    if not b:
        return "No Bayesian model was fitted for this trial.", None
    if b.get("status") != "ok":
        reason = b.get("reason")
        return BAYES_FAILED + (f" ({reason})." if reason else "."), None
    rope = b.get("rope") or {}
    text = (
        f"Posterior ({b.get('model')}, outcome {b.get('outcome')}): change "
        f"{format_percent(b.get('percent_change'))}, 89% HDI "
        f"{format_percent(b.get('hdi89_low'))} to {format_percent(b.get('hdi89_high'))}, "
        f"95% interval {format_percent(b.get('ci95_low'))} to "
        f"{format_percent(b.get('ci95_high'))}.\n\n"
        f"**P(reduction) = {format_probability(b.get('p_reduction'))}**; probability the "
        f"reduction is at least the smallest effect worth acting on: "
        f"{format_probability(b.get('p_reduction_mei'))}; probability inside the region of "
        f"practical equivalence ({format_percent(rope.get('low'))} to "
        f"{format_percent(rope.get('high'))}): {format_probability(rope.get('p_inside'))}."
    )
    diag = pd.DataFrame([b.get("diagnostics") or {}])
    return text, diag


_DISPLACEMENT_ROWS = (
    ("method", "Method"),
    ("wdq.wdq", "Weighted Displacement Quotient"),
    ("wdq.interpretation", "Reading of the WDQ"),
    ("wdq.success_measure", "Success measure (treated vs control change)"),
    ("wdq.buffer_measure", "Buffer measure (buffer vs control change)"),
    ("n_buffer_units", "Buffer units"),
    ("n_buffer_units_in_control_arm", "Buffer units that are in the control arm"),
    ("buffer_did.percent_change", "Buffer DiD: change (%)"),
    ("buffer_did.percent_ci_low", "Buffer DiD: interval, lower (%)"),
    ("buffer_did.percent_ci_high", "Buffer DiD: interval, upper (%)"),
    ("buffer_did.p_value", "Buffer DiD: p-value"),
    ("buffer_did.estimand", "Buffer DiD: estimand"),
)


def displacement_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Displacement / diffusion of benefits: the WDQ (Bowers & Johnson 2003) and the buffer DiD.

    Known keys are shown with plain labels; any other scalar of the block follows under its
    dotted name. None when displacement was not analysed.
    """
    d = (ctx.results or {}).get("displacement")
    if not d:
        return None
    flat = pd.json_normalize(d, sep=".").iloc[0]
    flat = flat[[not any(p.startswith("_") for p in k.split(".")) for k in flat.index]]
    flat = flat[[not missing(v) and v != "" and not isinstance(v, list | dict) for v in flat]]
    known = dict(_DISPLACEMENT_ROWS)
    rows = [(label, _display(flat[k])) for k, label in _DISPLACEMENT_ROWS if k in flat.index]
    shown_prefixes = ("buffer_did.", "wdq.counts.")
    rows += [
        (k, _display(flat[k]))
        for k in flat.index
        if k not in known and not k.startswith(shown_prefixes)
    ]
    for group in ("treated", "buffer", "control"):
        b, a = f"wdq.counts.{group}.before", f"wdq.counts.{group}.after"
        if b in flat.index and a in flat.index:
            rows.append(
                (
                    f"{group.capitalize()} area: before -> after",
                    f"{_display(flat[b])} -> {_display(flat[a])}",
                )
            )
    return pd.DataFrame(rows, columns=["measure", "value"])


def caveats(ctx: ReportContext) -> str:
    """Markdown: the assumptions the estimates rest on and the limits of the data."""
    t = ctx.trial
    items = []
    if ctx.synthetic:
        items.append(
            "**SYNTHETIC data**: the example borough is simulated; "
            "any effect was injected by design (`simulated_effect`)."
        )
    if _place_day(t):
        items.append(
            "Place-day (crossover) design: each place is its own control. The estimate assumes "
            "no carry-over beyond the registered washout days, no spill-over between places on "
            "the same day (displacement would bias it towards no effect) and effects that add "
            "up (docs/place-day.md)."
        )
    elif t.design.method.randomised:
        items.append(
            "Randomised design: the estimate is causal under the trial's assignment "
            "mechanism, provided units received the arm assigned (intention to treat) "
            "and treated units did not affect control units (no interference, SUTVA)."
        )
    else:
        items.append(
            "Matched-control design (not randomised): the difference-in-differences "
            "estimate assumes parallel trends - treated and control units would have "
            "moved alike without the intervention. Check the pre-period event-study "
            "coefficients; unmeasured differences can bias the estimate."
        )
    items += [
        "Recorded crime reflects reporting and police activity as well as offending; an "
        "intervention that changes reporting can change recorded crime without changing crime.",
        "Harm is weighted by the Cambridge Crime Harm Index (days of imprisonment of the "
        "starting-point sentence); a few serious offences dominate it, so harm is noisier than "
        "counts.",
        "Secondary and exploratory analyses were not the registered test and are reported "
        "as exploratory.",
    ]
    if t.deviations:
        items.append(
            f"{len(t.deviations)} deviation(s) from the registration were recorded (see above)."
        )
    return "\n".join(f"- {i}" for i in items)


def rounded(df: pd.DataFrame | None, digits: int = 3) -> pd.DataFrame | None:
    """``df`` with float columns rounded for display."""
    if df is None:
        return None
    return df.apply(lambda c: c.round(digits) if c.dtype.kind == "f" else c)


def reproducibility_table(ctx: ReportContext) -> pd.DataFrame:
    """Versions, hashes and times that let the analysis be re-run exactly."""
    r = ctx.results or {}
    rows = [
        ("results generated", r.get("generated_at", "-")),
        ("registration SHA-256", r.get("registration_sha256", "-")),
        ("lock registration SHA-256", (ctx.lock or {}).get("registration_sha256", "-")),
        ("assignment SHA-256", (ctx.lock or {}).get("assignment_sha256", "-")),
        ("seed", str(ctx.trial.design.seed)),
        *[(f"version: {k}", str(v)) for k, v in (r.get("versions") or {}).items()],
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


# --- the runner ---------------------------------------------------------------------------


def _trial_file(trial_file: Any, registry: str | Path | None) -> Any:
    if hasattr(trial_file, "trial"):
        return trial_file
    p = Path(trial_file)
    if p.suffix in (".yaml", ".yml") or p.is_dir():
        from triplet.registry import load_trial

        return load_trial(p / "trial.yaml" if p.is_dir() else p)
    from triplet.registry import find_trial

    return find_trial(registry or "registry.yaml", str(trial_file))


def build_effect_report(
    trial_file: Any,
    out: str | Path | None = None,
    *,
    registry: str | Path | None = None,
    include_code: bool = False,
    rerun: bool = False,
    notebook: str | Path | None = None,
    timeout: int = 900,
) -> Path:
    """Execute the effect-report notebook for a trial and write self-contained HTML.

    ``trial_file`` is a ``TrialFile``, a trial.yaml path or a trial id (with ``registry``).
    Default ``out``: ``trials/<id>/reports/effect_report.html``. An existing report raises
    :class:`~triplet.errors.OverwriteError` unless ``rerun``, which first moves it to
    ``reports/previous/<UTC timestamp>/``. The page is scanned for person identifiers (pseudonym
    pattern and the trial's data) before it is written.
    """
    from triplet.io import write_text
    from triplet.reports.board import archive_previous, trial_identifiers
    from triplet.reports.disclosure import check_no_identifiers
    from triplet.reports.notebooks import execute_notebook, export_html

    tf = _trial_file(trial_file, registry)
    root = Path(getattr(tf, "root", None) or Path(tf.dir).parent)
    reg = Path(registry) if registry is not None else root / "registry.yaml"
    out = Path(out) if out is not None else Path(tf.dir) / "reports" / REPORT_FILE
    if out.exists() and not rerun:
        raise OverwriteError(f"{out}: already exists; use --rerun to archive it and write anew")
    nb = execute_notebook(
        notebook or NOTEBOOK,
        parameters={
            "trial_id": tf.trial.id,
            "registry": str(reg.resolve()),
            "trial_path": str(Path(tf.path).resolve()),
        },
        cwd=Path(tf.dir),
        timeout=timeout,
    )
    title = f"Effect report: {tf.trial.title}"
    page = export_html(nb, include_code=include_code, title=title)
    check_no_identifiers(page, trial_identifiers(tf, root), where=out)
    archive_previous(out)
    return write_text(out, page)


# --------------------------------------------------------------------------- issue 12 sections


def few_clusters_table(ctx: ReportContext) -> pd.DataFrame:
    """CRV1, CR2 (Bell-McCaffrey df) and wild-bootstrap inference of the DiD analyses that
    report them (fewer than 40 clusters, or a registered CR2/bootstrap interval)."""
    rows = []
    for a in (ctx.results or {}).get("analyses") or []:
        fc = a.get("few_clusters")
        if not fc:
            continue
        for m in fc.get("methods") or []:
            rows.append(
                {
                    "analysis": a.get("name"),
                    "method": m.get("method"),
                    "reported": m.get("method") == a.get("inference"),
                    "estimate": fc.get("estimate"),
                    "se": m.get("se"),
                    "df": m.get("df"),
                    "ci_low": m.get("ci_low"),
                    "ci_high": m.get("ci_high"),
                    "p_value": m.get("p_value"),
                    "clusters": fc.get("n_clusters"),
                }
            )
    return pd.DataFrame(rows)


_SENSITIVITY = {
    "smoothness": ("M", "the slope of the treated-comparison gap changes by at most M a month"),
    "relative_magnitudes": (
        "Mbar",
        "month-to-month changes in the gap after the start are at most Mbar times the largest "
        "before it",
    ),
}


def sensitivity_section(ctx: ReportContext) -> list[tuple[str, pd.DataFrame | None, Path | None]]:
    """Rambachan-Roth bounds: for each restriction a Markdown line, its table and its figure."""
    s = (ctx.results or {}).get("sensitivity") or {}
    out: list[tuple[str, pd.DataFrame | None, Path | None]] = []
    for key, (sym, meaning) in _SENSITIVITY.items():
        r = s.get(key)
        name = key.replace("_", " ").capitalize()
        if not r:
            continue
        if "bounds" not in r:
            out.append((f"**{name}**: not computed ({r.get('reason')}).", None, None))
            continue
        bd = r.get("breakdown")
        if bd is None:
            verdict = f"the interval includes no effect even at {sym} = 0"
        elif bd == "all":
            verdict = "significant for every bound tried"
        else:
            verdict = f"significant up to {sym} = {bd:.3g} (the breakdown value)"
        lo, hi = r["original_ci"]
        text = (
            f"**{name}** ({meaning}); target: {r.get('target')}; interval assuming parallel "
            f"trends {lo:.4g} to {hi:.4g}; {verdict}."
        )
        table = pd.DataFrame(r["bounds"]).reindex(columns=["m", "ci_low", "ci_high"])
        table = table.rename(columns={"m": sym}).astype(float)
        out.append((text, table, result_figure(ctx, f"sensitivity_{key}")))
    return out


def multiplicity_table(ctx: ReportContext) -> pd.DataFrame | None:
    """Unadjusted, Holm and Romano-Wolf p-values of the registered secondary outcomes."""
    m = (ctx.results or {}).get("multiplicity")
    if not m:
        return None
    cols = ["outcome", "estimate", "p_value", "p_holm", "p_randomisation", "p_romano_wolf"]
    table = pd.DataFrame(m.get("outcomes") or []).reindex(columns=cols)
    return table.astype({c: float for c in cols[1:]})  # null -> NaN, shown as "-"


# --------------------------------------------------------------------------- issue 16 section


def delivery_section(
    ctx: ReportContext,
) -> tuple[str, pd.DataFrame | None, pd.DataFrame | None, list[Path]]:
    """Planned vs delivered dose in both arms, and the ITT beside the CACE (issue 16).

    Returns (text, delivery table, ITT-vs-CACE table, figure paths). Reads the ``delivery``
    section of results.json, else ``results/delivery.json`` (``triplet delivery``).
    """
    from triplet.tracking.delivery.report import SHORTFALL_TEXT

    res = ctx.results or {}
    d = res.get("delivery") or {}
    djson = ctx.results_dir / "delivery.json"
    field_run = _read_json(djson) if djson.exists() else None
    src = {**(field_run or {}), **{k: v for k, v in d.items() if v is not None}}
    dosage = ctx.trial.intervention.dosage
    if ctx.trial.delivery is None and not src:
        return (
            "_The registration names no delivery data (no `delivery` section): the dose "
            'was not measured, so a null result cannot tell "it does not work" from '
            '"it was not done"._',
            None,
            None,
            [],
        )
    if src.get("delivered_share") is None:
        return (
            "_Delivery not measured yet: run `triplet delivery` (and `triplet track`)._",
            None,
            None,
            [],
        )
    share = float(src["delivered_share"])
    planned = src.get("planned_minutes_per_day")
    rows = [
        ("registered dose", dosage.description if dosage is not None else ""),
        ("planned minutes per treated unit-day", _display(planned)),
        ("delivered minutes per treated unit-day", _display(src.get("treated_minutes_per_day"))),
        ("delivered share of the registered dose", _share(share)),
        ("treated unit-days meeting the dose", _share(src.get("met_share"))),
        (
            "minutes per control unit-day (patrols drifting into controls)",
            _display(src.get("control_minutes_per_day")),
        ),
    ]
    if field_run is not None:
        rows.append(("days with no delivery data", _display(field_run.get("n_gap_days"))))
        rows.append(
            ("period measured", f"{field_run.get('first_day')} to {field_run.get('last_day')}")
        )
    table = pd.DataFrame(rows, columns=["item", "value"])
    text = f"**{_share(share)} of the registered dose was delivered** to treated units."
    if share < 0.5:
        text += f" **The trial was {SHORTFALL_TEXT}.**"
    cace = next(
        (
            a
            for a in res.get("analyses") or []
            if a.get("estimator") == "cace_2sls" and a.get("estimate") is not None
        ),
        None,
    )
    itt_cace = None
    if cace is not None:

        def ci(lo, hi):
            return "" if lo is None or hi is None else f"{_display(lo)} to {_display(hi)}"

        itt_cace = pd.DataFrame(
            [
                (
                    "ITT: assigned to treatment",
                    _display(cace.get("itt")),
                    ci(cace.get("itt_ci_low"), cace.get("itt_ci_high")),
                    format_percent(cace.get("itt_percent")),
                ),
                (
                    "CACE: full registered dose delivered (2SLS)",
                    _display(cace.get("estimate")),
                    ci(cace.get("ci_low"), cace.get("ci_high")),
                    format_percent(cace.get("percent_change")),
                ),
            ],
            columns=["effect", "per unit-month", "interval", "% of the treated counterfactual"],
        )
        text += (
            f" Assignment moved the delivered dose by "
            f"{_share(cace.get('first_stage'))} of the registered "
            f"dose (first-stage F = {_display(cace.get('first_stage_f'))})."
        )
        if cace.get("weak_instrument"):
            text += " **Weak instrument (F < 10): the CACE is unreliable and is not interpreted.**"
        text += (
            " The CACE is the effect of the full dose for units whose dose follows "
            "assignment; it assumes assignment acts only through the measured dose "
            "(docs/delivery.md). The registered result remains the ITT."
        )
    figs: list[Path] = []
    for rel in ("delivery/figures/heatmap.png", "delivery/figures/minutes.png"):
        p = ctx.results_dir / rel
        if p.exists():
            figs.append(p)
    for name in ("cace", "dose_response", "koper"):
        p = result_figure(ctx, name)
        if p is not None:
            figs.append(p)
    return text, table, itt_cace, figs


def _share(v: float | None) -> str:
    return "-" if missing(v) else f"{100 * float(v):.0f}%"


# --------------------------------------------------------------------------- issue 11 map


def map_figure(ctx: ReportContext) -> Figure | None:
    """Map of the trial's treatment, control and buffer areas (place-based trials with a
    ``kind: boundaries`` source; None otherwise: people and times are never mapped)."""
    from triplet.geography.trialmap import trial_map

    tm = trial_map(ctx.trial_file, ctx.assignment)
    if tm is None:
        return None
    fig = Figure(figsize=(6.5, 5.2))
    tm.plot(ax=fig.add_subplot())
    return fig
