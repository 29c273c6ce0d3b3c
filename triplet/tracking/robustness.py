"""What ``triplet track`` adds to its analyses so the inference holds up (issue 12).

* :func:`few_cluster_fields`: with fewer than :data:`few_cluster_threshold` clusters, the TWFE
  and Poisson DiD records get a ``few_clusters`` table (CRV1, CR2 with Bell-McCaffrey df, wild
  cluster bootstrap; :mod:`triplet.tracking.few_clusters`) and, when the registration names
  ``analysis.inference: cr2 | wild_bootstrap``, that method's interval and p-value become the
  record's own (``inference`` says which).
* :func:`trends_sensitivity`: Rambachan-Roth bounds on the event study's average post-period
  effect (:mod:`triplet.tracking.honest_did`).
* :func:`secondary_family`: Holm and Romano-Wolf adjusted p-values for the registered secondary
  outcomes (:mod:`triplet.tracking.multiplicity`), the Romano-Wolf ones from the same
  randomisation draws for every outcome.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from triplet.errors import InputError, StateError
from triplet.seeds import stream_seed
from triplet.tracking.few_clusters import (
    few_cluster_threshold,
    poisson_few_clusters,
    twfe_few_clusters,
)
from triplet.tracking.percent import from_additive

__all__ = ["few_cluster_fields", "secondary_family", "trends_sensitivity"]

#: wild-bootstrap draws used by the track (Rademacher draws are enumerated when 2^G is fewer)
N_BOOT = 9999


def few_cluster_fields(x, rec: dict[str, Any], estimator: str) -> dict[str, Any]:
    """``rec`` with the few-cluster table added (and the registered interval applied).

    ``x`` is the workflow's ``AnalysisInput``; ``estimator`` is ``twfe_did`` or ``poisson_did``.
    Nothing changes with ``few_cluster_threshold`` clusters or more, unless the registration
    names CR2 or the wild bootstrap, which is then computed whatever the number of clusters.
    """
    chosen = getattr(x.trial.analysis, "inference", "crv1")
    n_g = x.panel[x.cluster].nunique()
    if n_g >= few_cluster_threshold and chosen == "crv1":
        return rec
    kw = {
        "outcome": x.measure,
        "unit": "unit",
        "time": "month",
        "treated": "d",
        "cluster": x.cluster,
        "alpha": x.alpha,
        "n_boot": N_BOOT,
        "seed": stream_seed(x.trial.design.seed, "wild_bootstrap"),
    }
    try:
        if estimator == "twfe_did":
            fc = twfe_few_clusters(x.panel, block=x.block, **kw)
        else:
            fc = poisson_few_clusters(x.panel, block=x.block, **kw)
    except (InputError, StateError) as exc:
        return {**rec, "few_clusters": None, "notes": _join(rec.get("notes"), f"CR2/wild: {exc}")}
    out = {**rec, "few_clusters": fc.to_dict(), "inference": "crv1"}
    if chosen != "crv1":
        row = fc.row(chosen)
        out.update(
            inference=chosen,
            se=row["se"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            p_value=row["p_value"],
        )
        if estimator == "twfe_did":
            # the registered interval mapped to the ratio scale T / (T - b), as for CRV1
            pct = from_additive(
                rec.get("estimate"), row["ci_low"], row["ci_high"], rec.get("treated_mean")
            )
            out["percent_ci_low"] = pct.percent_ci_low
            out["percent_ci_high"] = pct.percent_ci_high
        else:
            rr_lo, rr_hi = _exp(row["ci_low"], 0.0), _exp(row["ci_high"], None)
            out["rate_ratio_ci_low"], out["rate_ratio_ci_high"] = rr_lo, rr_hi
            out["percent_ci_low"] = None if rr_lo is None else 100.0 * (rr_lo - 1.0)
            out["percent_ci_high"] = None if rr_hi is None else 100.0 * (rr_hi - 1.0)
        out["notes"] = _join(
            rec.get("notes"),
            f"registered interval: {chosen.replace('_', ' ')} "
            f"({fc.n_clusters} clusters; CRV1 figures in few_clusters)",
        )
    elif n_g < few_cluster_threshold:
        out["notes"] = _join(
            rec.get("notes"),
            f"{n_g} clusters (< {few_cluster_threshold}): CR2 and wild bootstrap intervals "
            "reported beside CRV1 in few_clusters",
        )
    return out


def _join(notes: str | None, more: str) -> str:
    """Append a clause to a record's notes (no doubled full stop)."""
    base = (notes or "").rstrip().rstrip(".")
    return f"{base}; {more}" if base else more


def _exp(x, open_end):
    """exp of an interval end; an open end (None: infinite) becomes ``open_end``."""
    return open_end if x is None else float(np.exp(x))


#: leads used by the sensitivity analysis (the last months before the start)
SENSITIVITY_LEADS = 6
#: the relative-magnitude test enumerates LP vertices: beyond this many post periods it is run
#: on the first post-period effect alone (HonestDiD's default target)
RM_MAX_POST = 4


def trends_sensitivity(es, *, alpha: float) -> tuple[dict[str, Any] | None, list]:
    """Rambachan-Roth bounds on the event study's effects; (results.json section, results).

    Smoothness (FLCI) bounds the average post-period effect (the event study's headline).
    Relative magnitudes bound the same average when there are at most :data:`RM_MAX_POST` post
    periods and otherwise the first post-period effect (``target`` says which). Both use the
    last :data:`SENSITIVITY_LEADS` leads. A restriction that cannot be computed is reported
    with its reason.
    """
    from triplet.tracking.honest_did import event_study_sensitivity

    if es.cov is None:
        return None, []
    n_post = int((np.asarray(es.cov.index) >= 0).sum())
    out: dict[str, Any] = {}
    results = []
    jobs = [("smoothness", None, "average of the post-period effects")]
    if n_post <= RM_MAX_POST:
        jobs.append(("relative_magnitudes", None, "average of the post-period effects"))
    else:
        jobs.append(("relative_magnitudes", 1, "effect in the first post-period month"))
    for restriction, max_post, target in jobs:
        try:
            r = event_study_sensitivity(
                es, restriction, alpha=alpha, max_pre=SENSITIVITY_LEADS, max_post=max_post
            )
        except InputError as exc:
            out[restriction] = {"status": "not computed", "reason": str(exc)}
            continue
        out[restriction] = {**r.to_dict(), "target": target}
        results.append(r)
    return (out or None), results


def secondary_family(trial, specs, analyses, base, panels) -> dict[str, Any] | None:
    """Holm and Romano-Wolf adjusted p-values over the registered secondary outcomes.

    ``specs``/``analyses`` are the plan rows and their (record, result) pairs; ``base`` the
    shared ``AnalysisInput`` (its ``randomisation`` re-runs the registered assignment with the
    same draws for every outcome); ``panels`` builds an outcome's panel. The records of the
    family get ``p_holm`` and ``p_romano_wolf``.
    """
    from triplet.tracking.multiplicity import adjust_family

    sec_names = {o.name for o in trial.outcomes.secondary}
    rows = [
        (spec, rec)
        for spec, (rec, _) in zip(specs, analyses, strict=True)
        if spec.outcome.name in sec_names and spec.period == "treatment" and spec.role != "primary"
    ]
    rows = [(s, r) for s, r in rows if r.get("p_value") is not None]
    if not rows:
        return None
    names = [s.outcome.name for s, _ in rows]
    est = [r["estimate"] for _, r in rows]
    ps = [r["p_value"] for _, r in rows]
    stats_obs, draws, p_ri, note = None, None, None, None
    try:
        ris = []
        for spec, _ in rows:
            measure = "harm" if spec.outcome.measure == "harm" else "count"
            ri, _, _ = base.randomisation(panels(spec), measure)
            ris.append(ri)
        stats_obs = [ri.estimate for ri in ris]
        draws = np.column_stack([ri.draws for ri in ris])
        p_ri = [ri.p_value for ri in ris]
    except (InputError, StateError, ValueError) as exc:
        note = f"Romano-Wolf not computed: {exc}"
    fam = adjust_family(
        names, est, ps, draws=draws, statistics=stats_obs, randomisation_p=p_ri, alpha=base.alpha
    )
    for (_, rec), row in zip(rows, fam.table.to_dict(orient="records"), strict=True):
        rec["p_holm"] = row["p_holm"]
        rec["p_romano_wolf"] = (
            None if not np.isfinite(row["p_romano_wolf"]) else row["p_romano_wolf"]
        )
    out = fam.to_dict()
    if note:
        out["notes"] = note
    return out
