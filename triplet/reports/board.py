"""The Board's one-page "what works" summary across the registry (self-contained HTML, PDF).

For each trial: the question in plain words, its status, the effect on the primary outcome with
its interval, P(reduction) from the Bayesian model, strength of evidence (Maryland SMS level,
:mod:`.verdict`), and a verdict in plain English with the rule that produced it; a forest plot;
pooled results per intervention type (:mod:`triplet.tracking.pooling`). Every count is
suppressed below the threshold and the finished page is scanned for person identifiers before it
is written (:mod:`.disclosure`). Every number carries ``data-trial``/``data-field`` attributes
naming its source in results.json (``data-value`` holds the exact JSON value, except for
suppressed counts), so tests and auditors can check the page against the results.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from triplet.errors import InputError, OverwriteError, TripletError
from triplet.io import jsonable, write_bytes, write_text
from triplet.registry.models import InterventionType, Status, Trial, UnitKind
from triplet.reports import evidence
from triplet.reports import verdict as verdicts
from triplet.reports.disclosure import (
    DEFAULT_THRESHOLD,
    IdentifierSet,
    check_no_identifiers,
    format_count,
    identifiers_in_frame,
)
from triplet.reports.forest import forest_plot
from triplet.reports.formatting import format_percent, format_probability, missing
from triplet.tracking.results import RESULTS_FILE, read_results

__all__ = [
    "Board",
    "BoardConfig",
    "BoardTrial",
    "archive_previous",
    "build_board",
    "load_results",
    "plain_question",
    "render_board",
    "trial_identifiers",
]

TEMPLATES = Path(__file__).parent / "templates"
STATUS_WORDS = {
    Status.draft: "Draft (not yet registered)",
    Status.registered: "Registered, not started",
    Status.assigned: "Units assigned, not started",
    Status.in_field: "Running in the field",
    Status.completed: "Finished, awaiting analysis",
    Status.analysed: "Analysed",
}
ACRONYM_LEVELS = {"lsoa", "msoa", "oa"}
BAYES_FAILED = "Bayesian estimate failed convergence checks: not reported"
#: estimators whose ``estimate`` is an absolute effect (outcome units per treated unit-month)
ADDITIVE_ESTIMATORS = frozenset(
    {
        "twfe_did",
        "event_study",
        "staggered_did",
        "randomisation_inference",
        "block_att",
        "place_day",
    }
)


def _harm(primary: dict, t) -> bool:
    return (primary.get("measure") or t.outcomes.primary.measure) == "harm"


@dataclass(frozen=True)
class BoardConfig:
    """Options of the Board page; read from ``board.yaml`` beside ``registry.yaml`` if present.

    ``threshold``: counts below it are shown as ``<threshold`` (default 10). ``pool_bayesian``:
    pool trials with the Bayesian hierarchical model as well as random effects (MCMC; default).
    """

    threshold: int = DEFAULT_THRESHOLD
    title: str | None = None
    pool_bayesian: bool = True

    @classmethod
    def load(cls, path: Path) -> BoardConfig:
        """Read a ``board.yaml`` (keys ``threshold``, ``title``); missing file -> defaults."""
        if not path.exists():
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {exc}", file=path) from None
        unknown = set(data) - {"threshold", "title", "pool_bayesian"}
        if unknown:
            raise InputError(
                f"unknown keys {sorted(unknown)} (allowed: threshold, title, pool_bayesian)",
                file=path,
            )
        t = data.get("threshold", DEFAULT_THRESHOLD)
        if not isinstance(t, int) or isinstance(t, bool) or t < 1:
            raise InputError(f"threshold: must be a whole number >= 1, got {t!r}", file=path)
        pb = data.get("pool_bayesian", True)
        if not isinstance(pb, bool):
            raise InputError(f"pool_bayesian: must be true or false, got {pb!r}", file=path)
        return cls(threshold=t, title=data.get("title"), pool_bayesian=pb)


@dataclass(frozen=True)
class BoardTrial:
    """One trial as the Board sees it: its registration and its results.json (None if none)."""

    trial: Trial
    results: dict[str, Any] | None = None
    dir: Path | None = None


def _other_measure_words(bayes: dict | None, primary: dict, trial: Trial) -> str:
    """'in crimes' / 'in harm' when the Bayesian measure differs from the primary's, else ''."""
    measure = (bayes or {}).get("measure")
    if not measure or measure == (primary.get("measure") or trial.outcomes.primary.measure):
        return ""
    return {"harm": "in harm", "count": "in crimes"}.get(measure, f"in {measure}")


def load_results(trial_dir: Path) -> dict[str, Any] | None:
    """``<trial_dir>/results/results.json`` as a dict, or None when the trial has no results."""
    path = Path(trial_dir) / "results" / RESULTS_FILE
    return read_results(path) if path.exists() else None


def _first_sentence(text: str, limit: int = 140) -> str:
    s = " ".join(text.split())
    for stop in (". ", "; "):
        if stop in s:
            s = s.split(stop)[0]
    s = s.rstrip(".")
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "..."


#: What each intervention type is called in a plain question ("Does ... reduce ...?").
INTERVENTION_WORDS = {
    InterventionType.hot_spot_micro_patrol: "hot-spot micro-patrolling",
    InterventionType.problem_oriented_policing: "problem-oriented policing",
    InterventionType.cctv: "CCTV",
    InterventionType.offender_focused: "offender-focused management",
    InterventionType.victim_focused: "victim-focused support",
    InterventionType.community_engagement: "community engagement",
}


def plain_question(trial: Trial) -> str:
    """The trial's question in plain words, built from its registration.

    E.g. "Does hot-spot micro-patrolling reduce crime harm in the LSOAs that get it?"; for the
    ``other`` intervention type the first sentence of the description names the intervention.
    """
    out = trial.outcomes.primary
    what = "crime harm" if out.measure == "harm" else "the number of crimes"
    if out.crime_types != "all":
        what += f" ({', '.join(out.crime_types).lower()})"
    level = trial.units.level.replace("_", " ")
    if level.lower() in ACRONYM_LEVELS:
        level = level.upper()
    plural = level if level.endswith(("s", "S")) else level + "s"
    where = (
        f"among the {plural} who get it"
        if trial.units.kind is UnitKind.person
        else f"in the {plural} that get it"
    )
    words = INTERVENTION_WORDS.get(trial.intervention.type)
    if words is None:
        desc = re.sub(r"^\s*SYNTHETIC( example)?[.:]?\s*", "", trial.intervention.description)
        words = _first_sentence(desc) or trial.intervention.type.label.lower()
        if words[:2] != words[:2].upper():
            words = words[0].lower() + words[1:]
    return f"Does {words} reduce {what} {where}?"


def short_label(title: str, width: int = 34, lines: int = 2) -> str:
    """A trial title shortened for the forest plot: before any colon, wrapped on two lines."""
    import textwrap

    head = title.split(":")[0].replace("(SYNTHETIC)", "").strip()
    wrapped = textwrap.wrap(head, width) or [title[:width]]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 3].rstrip() + "..."
    return "\n".join(wrapped)


def _get(d: dict[str, Any] | None, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


@dataclass(frozen=True)
class Board:
    """A rendered Board page: the per-trial table, the pooled rows, the forest plot and HTML."""

    rows: pd.DataFrame
    pooled: pd.DataFrame
    html: str
    forest: Any = field(repr=False)

    def summary(self) -> pd.DataFrame:
        return self.rows.copy()

    def plot(self, ax=None):
        return self.forest.figure

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready rows; unit counts suppressed below the threshold as on the page."""

        def clean(df: pd.DataFrame) -> list[dict[str, Any]]:
            return df.astype(object).where(df.notna(), None).to_dict("records")

        trials = clean(self.rows)
        for t in trials:  # the same disclosure control as the page: small counts suppressed
            for k in ("n_treatment", "n_control", "n_analysed"):
                t[k] = format_count(
                    t.get(k),
                    t.get("threshold") or DEFAULT_THRESHOLD,
                    persons=bool(t.get("persons", True)),
                )
        return jsonable({"trials": trials, "pooled": clean(self.pooled)})


def _pooled(entries: list[BoardTrial], *, bayesian: bool = True) -> tuple[pd.DataFrame, str | None]:
    """Pooled effects per intervention type (:func:`triplet.tracking.pooling.pool_results`)
    over trials with a verdict other than "too early to say"; and a note for the page."""
    cols = [
        "intervention",
        "k",
        "percent_change",
        "ci_low",
        "ci_high",
        "p_reduction",
        "method",
        "trials",
        "bayes_failed",
        "tau_sensitivity",
    ]
    by_type: dict[str, list[BoardTrial]] = {}
    for e in entries:
        if verdicts.decide(e.trial, e.results).label is not verdicts.VerdictLabel.too_early:
            by_type.setdefault(e.trial.intervention.type.value, []).append(e)
    poolable = {k: v for k, v in by_type.items() if len(v) >= 2}
    if not poolable:
        return pd.DataFrame(columns=cols), (
            "Pooled results need at least 2 analysed trials of the same intervention type; "
            "none yet, so only per-trial results are shown."
        )
    try:
        from triplet.tracking import pooling
    except ImportError:
        return pd.DataFrame(columns=cols), (
            "Pooling (triplet.tracking.pooling) is not available in this installation; "
            "only per-trial results are shown."
        )
    rows, notes = [], []
    for kind, members in sorted(poolable.items()):
        label = InterventionType(kind).label
        try:
            res = pooling.pool_results([m.results for m in members], bayesian=bayesian)
        except TripletError as exc:
            notes.append(f"{label}: not pooled ({exc}).")
            continue
        d = res.to_dict()
        rows.append(
            {
                "intervention": label,
                "k": len(members),
                "percent_change": d.get("percent_change"),
                "ci_low": d.get("percent_ci_low"),
                "ci_high": d.get("percent_ci_high"),
                "p_reduction": d.get("p_reduction"),
                "method": d.get("method", ""),
                "trials": ", ".join(m.trial.title.split(":")[0] for m in members),
                "bayes_failed": bool(d.get("bayesian"))
                and (d.get("bayesian") or {}).get("status") != "ok",
                "tau_sensitivity": (d.get("frequentist") or {}).get("tau_prior_sensitivity") or [],
            }
        )
    note = (
        "Types with a single analysed trial are shown per trial only (pooling needs at least 2)."
        if len(poolable) < len(by_type)
        else None
    )
    if notes:
        note = " ".join([*notes, *([note] if note else [])])
    return pd.DataFrame(rows, columns=cols), note


def _trial_row(e: BoardTrial, threshold: int) -> dict[str, Any]:
    t, r = e.trial, e.results
    rates = evidence.rule_error_rates(e.dir)
    v = verdicts.decide(t, r, error_rates=rates)
    sms = verdicts.sms_level(t, r)
    primary = (r or {}).get("primary") or {}
    bayes = (r or {}).get("bayesian")
    conf = round(100 * (1 - t.analysis.alpha))
    return {
        "id": t.id,
        "title": t.title,
        "question": plain_question(t),
        "intervention": t.intervention.type.label,
        "intervention_type": t.intervention.type.value,
        "status": t.status.value,
        "status_words": STATUS_WORDS[t.status],
        "synthetic": bool((r or {}).get("synthetic"))
        or any(s.uri.startswith("example://") for s in t.data_sources),
        "measure": primary.get("measure") or t.outcomes.primary.measure,
        "measure_words": {"harm": "in harm", "count": "in crimes"}.get(
            primary.get("measure") or t.outcomes.primary.measure, ""
        ),
        "conf": conf,
        "percent_change": primary.get("percent_change"),
        "percent_ci_low": primary.get("percent_ci_low"),
        "percent_ci_high": primary.get("percent_ci_high"),
        # the absolute effect beside the per cent (additive estimators: outcome units per
        # treated unit-month); ratio models have none
        "absolute": primary.get("estimate")
        if primary.get("estimator") in ADDITIVE_ESTIMATORS
        and primary.get("null") != "multiplicative"
        else None,
        "absolute_ci_low": primary.get("ci_low"),
        "absolute_ci_high": primary.get("ci_high"),
        "absolute_unit": ("days of harm per " if _harm(primary, t) else "crimes per ")
        + ("place-day" if primary.get("estimator") == "place_day" else "unit-month"),
        "estimator": primary.get("estimator"),
        "bayes_status": None if not bayes else bayes.get("status"),
        "p_reduction": v.p_reduction,
        # Say so when the Bayesian model measured another outcome than the primary estimate.
        "p_reduction_words": _other_measure_words(bayes, primary, t),
        "sms": sms.level,
        "sms_reason": sms.reason,
        "verdict": v.label.value,
        "verdict_class": v.css_class,
        "headline": v.headline,
        "rule": v.rule_short,
        "rule_rates": evidence.rates_words(rates, "errors"),
        "rule_power": evidence.rates_words(rates, "power"),
        "underpowered": bool((rates or {}).get("below_target")),
        "reason": v.reason,
        "crossover_places": _get(r, "n_units.assigned")
        if primary.get("estimator") == "place_day"
        else None,
        "n_treatment": _get(r, "n_units.treatment"),
        "n_control": _get(r, "n_units.control"),
        "n_analysed": _get(r, "n_units.analysed"),
        "threshold": threshold,
        # suppression protects people: unit counts of place trials are shown as they are
        "persons": t.units.kind is UnitKind.person,
        **_delivery_fields(e),
    }


def _delivery_fields(e: BoardTrial) -> dict[str, Any]:
    """Delivered share of the registered dose (issue 16): results.json's ``delivery`` section,
    else ``results/delivery.json``; below half, the trial says it tests the delivery."""
    from triplet.tracking.delivery.report import DOSE_SHORTFALL, SHORTFALL_TEXT

    share = _get(e.results, "delivery.delivered_share")
    path = Path(e.dir) / "results" / "delivery.json" if e.dir is not None else None
    if share is None and path is not None and path.exists():
        from triplet.io import read_json

        d = read_json(path)
        share = d.get("delivered_share") if isinstance(d, dict) else None
    if not isinstance(share, int | float) or isinstance(share, bool):
        return {"delivered_share": None, "delivery_words": None, "dose_shortfall": False}
    short = share < DOSE_SHORTFALL
    words = f"{100 * share:.0f}% of the registered dose delivered"
    if short:
        words += f": {SHORTFALL_TEXT}"
    return {"delivered_share": float(share), "delivery_words": words, "dose_shortfall": short}


def _span(trial_id: str, field_: str, value: Any, text: str, *, exact: bool = True) -> str:
    """An HTML span carrying the number's source; ``exact=False`` omits data-value."""
    import html as _html

    attrs = f'class="num" data-trial="{_html.escape(trial_id)}" data-field="{field_}"'
    if exact and not missing(value):
        attrs += f' data-value="{_html.escape(json.dumps(value))}"'
    return f"<span {attrs}>{_html.escape(text)}</span>"


def render_board(
    entries: Iterable[BoardTrial],
    *,
    registry_name: str,
    config: BoardConfig | None = None,
    identifiers: IdentifierSet | None = None,
    generated_at: dt.datetime | None = None,
    where: str | Path = "<board>",
    performance_href: str | None = None,
    maps: dict[str, str] | None = None,
) -> Board:
    """Render the Board page; raise :class:`~.disclosure.DisclosureError` if it would show a
    person identifier (``identifiers`` plus the pseudonym pattern). ``performance_href``
    links the partnership's performance page (``triplet monitor``), its companion. ``maps``:
    trial id -> PNG data URI of its small map (place-based trials only; see
    :func:`triplet.geography.trialmap.trial_map_uri`)."""
    import jinja2
    from markupsafe import Markup

    config = config or BoardConfig()
    entries = list(entries)
    th = config.threshold
    rows = [_trial_row(e, th) for e in entries]
    table = pd.DataFrame(rows)
    pooled, pooled_note = _pooled(entries, bayesian=config.pool_bayesian)
    body = evidence.board_rows(entries, pooled)

    forest_rows = [
        {
            "label": short_label(r["title"]),
            "percent_change": r["percent_change"] if r["verdict"] != "too early to say" else None,
            "ci_low": r["percent_ci_low"],
            "ci_high": r["percent_ci_high"],
            "kind": "trial",
            "verdict": r["verdict"],
        }
        for r in rows
    ] + [
        {
            "label": f"Pooled: {p['intervention']}\n({p['k']} trials)",
            "percent_change": p["percent_change"],
            "ci_low": p["ci_low"],
            "ci_high": p["ci_high"],
            "kind": "pooled",
            "verdict": "pooled",
        }
        for p in pooled.to_dict("records")
    ]
    forest = forest_plot(
        pd.DataFrame(
            forest_rows, columns=["label", "percent_change", "ci_low", "ci_high", "kind", "verdict"]
        ),
        xlabel="Change in the primary outcome (%), with its interval",
    )

    def num(r: dict[str, Any], fld: str, value: Any, kind: str) -> Markup:
        if kind == "percent":
            return Markup(_span(r["id"], fld, value, format_percent(value)))
        if kind == "prob":
            return Markup(_span(r["id"], fld, value, format_probability(value)))
        if kind == "number":
            text = "-" if missing(value) else f"{float(value):+.3g}"
            return Markup(_span(r["id"], fld, value, text))
        text = format_count(value, th, persons=bool(r.get("persons", True)))
        return Markup(_span(r["id"], fld, value, text, exact=text != f"<{th}"))

    def pnum(p: dict[str, Any], fld: str, value: Any, kind: str) -> Markup:
        import html as _html

        text = format_percent(value) if kind == "percent" else format_probability(value)
        attrs = (
            f'class="num" data-pooled="{_html.escape(p["intervention"])}" data-field="pooled.{fld}"'
        )
        if not missing(value):
            attrs += f' data-value="{_html.escape(json.dumps(value))}"'
        return Markup(f"<span {attrs}>{_html.escape(text)}</span>")

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    now = generated_at or dt.datetime.now(dt.UTC)
    counts = table["verdict"].value_counts().to_dict() if len(table) else {}
    page = env.get_template("board.html.j2").render(
        title=config.title or f"{registry_name}: what works",
        registry_name=registry_name,
        performance_href=performance_href,
        generated=now.strftime("%d %B %Y, %H:%M UTC"),
        rows=rows,
        pooled=pooled.to_dict("records"),
        pooled_note=pooled_note,
        forest_uri=forest.data_uri(),
        rules=verdicts.RULES,
        sms_mapping=verdicts.SMS_MAPPING,
        evidence_rows=body,
        evidence_standard=evidence.EVIDENCE_STANDARD,
        evidence_citation=evidence.CITATION,
        verdict_classes={v.value: v.name.replace("_", "-") for v in verdicts.VerdictLabel},
        synthetic=any(r["synthetic"] for r in rows),
        threshold=th,
        counts=counts,
        verdict_order=[v.value for v in verdicts.VerdictLabel],
        num=num,
        pnum=pnum,
        bayes_failed=BAYES_FAILED,
        format_percent=format_percent,
        format_probability=format_probability,
        maps=[
            {"id": r["id"], "label": short_label(r["title"], width=40), "uri": maps[r["id"]]}
            for r in rows
            if maps and r["id"] in maps
        ],
    )
    ids = identifiers or IdentifierSet()
    check_no_identifiers(page, ids, where=where)
    check_no_identifiers("\n".join(forest.labels()), ids, where=f"{where} (forest plot labels)")
    return Board(rows=table, pooled=pooled, html=page, forest=forest)


def trial_identifiers(trial_file: Any, root: Path, *, cache: dict | None = None) -> IdentifierSet:
    """Person identifiers in a trial's data: unit ids of person-level trials (assignment.csv and
    the units source) and person columns of its records and person tables.

    ``cache`` (a dict) shares loaded data sources between trials of one build.
    """
    t: Trial = trial_file.trial
    ids = IdentifierSet()
    assignment = Path(trial_file.dir) / "assignment.csv"
    person = t.units.kind is UnitKind.person
    if person and assignment.exists():
        from triplet.registry.lock import verify_artefacts

        verify_artefacts(trial_file)  # issue 10, defect 1
        frame = pd.read_csv(assignment, dtype=str)
        ids = ids | IdentifierSet.of(frame.get("unit", pd.Series(dtype=str)), f"{assignment}:unit")
    if person and t.units.candidates:
        ids = ids | IdentifierSet.of(t.units.candidates, f"{trial_file.path}:units.candidates")
    for src in t.data_sources:
        if src.kind not in ("records", "units"):
            continue
        frame = _load_source_cached(src, root, cache)
        extra = [t.units.id_column] if person else []
        if person and src.kind == "units":
            extra += ["unit", "offender_id"]
        ids = ids | identifiers_in_frame(frame, f"{t.id}:{src.name}", extra)
    return ids


def _trial_maps(trial_files: Iterable[Any]) -> dict[str, str]:
    """One small map per place-based trial with a boundaries source (issue 11); trials of
    people or times get none: person-level data is never mapped."""
    from triplet.geography.trialmap import trial_map_uri

    maps = {}
    for tf in trial_files:
        uri = trial_map_uri(tf)
        if uri is not None:
            maps[tf.trial.id] = uri
    return maps


def _load_source_cached(src: Any, root: Path, cache: dict | None) -> pd.DataFrame:
    from triplet.records.sources import load_source

    key = (str(Path(root).resolve()), src.uri)
    if cache is None:
        return load_source(src, root)
    if key not in cache:
        cache[key] = load_source(src, root)
    return cache[key]


def _performance_href(root: Path, out: Path) -> str | None:
    """Link to the performance page (``triplet monitor``'s default place, ``performance/``
    beside a ``performance.yaml`` in the registry root), relative to the Board page."""
    import os

    if not (root / "performance.yaml").exists():
        return None
    page = root / "performance" / "performance.html"
    return os.path.relpath(page.resolve(), Path(out).resolve().parent).replace(os.sep, "/")


def archive_previous(path: Path) -> Path | None:
    """Move ``path`` (if it exists) to ``<folder>/previous/<UTC timestamp>/``; return the copy."""
    if not path.exists():
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = path.parent / "previous" / stamp
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    path.rename(target)
    return target


def build_board(
    registry_path: str | Path,
    out: str | Path | None = None,
    *,
    threshold: int | None = None,
    pdf: bool = False,
    rerun: bool = False,
) -> Path:
    """Write the Board page for every trial of ``registry_path``; return the HTML path.

    Default ``out``: ``board.html`` beside the registry. ``threshold`` overrides ``board.yaml``
    (default 10). An existing page raises :class:`~triplet.errors.OverwriteError` unless
    ``rerun``, which first moves it (and its PDF) to ``previous/<timestamp>/``. With ``pdf``, a
    PDF is printed beside it with headless Chromium. Nothing is written if the page would show a
    person identifier (:class:`~.disclosure.DisclosureError`).
    """
    from triplet.registry import load_registry

    loaded = load_registry(registry_path)
    root = Path(loaded.root)
    config = BoardConfig.load(root / "board.yaml")
    if threshold is not None:
        if threshold < 1:
            raise InputError(f"--threshold must be >= 1, got {threshold}")
        config = BoardConfig(
            threshold=threshold, title=config.title, pool_bayesian=config.pool_bayesian
        )
    out = Path(out) if out is not None else root / "board.html"
    pdf_path = out.with_suffix(".pdf")
    if not rerun:
        for p in (out, pdf_path) if pdf else (out,):
            if p.exists():
                raise OverwriteError(f"{p}: already exists; use --rerun to archive it first")
    entries, ids, cache = [], IdentifierSet(), {}
    for tf in loaded.trials.values():
        entries.append(BoardTrial(trial=tf.trial, results=load_results(tf.dir), dir=Path(tf.dir)))
        ids = ids | trial_identifiers(tf, Path(getattr(tf, "root", None) or root), cache=cache)
    board = render_board(
        entries,
        registry_name=loaded.registry.name,
        config=config,
        identifiers=ids,
        where=out,
        performance_href=_performance_href(root, out),
        maps=_trial_maps(loaded.trials.values()),
    )
    pdf_bytes, no_chromium = None, False
    if pdf:
        from triplet.reports.chromium import find_chromium, print_to_pdf

        no_chromium = find_chromium() is None
        if not no_chromium:
            with tempfile.TemporaryDirectory(prefix="triplet-board-") as tmp:
                page = Path(tmp) / "board.html"
                page.write_text(board.html, encoding="utf-8")
                pdf_bytes = print_to_pdf(page)
    archive_previous(out)
    write_text(out, board.html)
    if pdf_bytes is not None:
        archive_previous(pdf_path)
        write_bytes(pdf_path, pdf_bytes)
    if no_chromium:
        from triplet.reports.chromium import ChromiumError

        raise ChromiumError(
            f"{out} written, but no PDF: headless Chromium not found (install the Debian "
            "package 'chromium' or set TRIPLET_CHROMIUM); or print the page from a browser"
        )
    return out
