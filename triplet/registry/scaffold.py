"""``triplet new``: scaffold a commented ``trials/<id>/trial.yaml`` and list it in the registry.

The scaffold explains every section in comments, starts at status ``draft`` and validates as it
stands, so an evaluator can fill it in while ``triplet validate`` (and an editor using the JSON
Schema) checks each step. The registry entry is appended with ruamel.yaml's round-trip writer,
so the registry's comments and layout are kept; both writes are atomic and nothing existing is
overwritten.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from triplet.errors import InputError, OverwriteError, Problem
from triplet.io import write_json, write_text
from triplet.registry.loading import TRIAL_FILE, TrialFile, load_trial
from triplet.registry.models import ID_PATTERN, InterventionType, Trial, UnitKind
from triplet.registry.schema import SCHEMA_FILE, trial_json_schema
from triplet.registry.yamlio import parse_yaml, parse_yaml_text, validation_problems

__all__ = ["new_trial", "scaffold_text"]

_PERSON_TYPES = {InterventionType.offender_focused, InterventionType.victim_focused}

_DESIGN_FOR_PLACES = """\
design:                         # how units are allocated
  # How units are allocated: simple, complete, block, matched_pair, cluster, block_cluster,
  # rerandomised, or matched_control (no randomisation: treated units chosen, controls matched).
  # place_day randomises places day by day instead (a place_day section; docs/place-day.md).
  method: block
  # Seed of numpy's PCG64 generator: with the registered design it reproduces the assignment.
  seed: {seed}
  allocation: {{treatment: 1, control: 1}}
  block_by: harm_tier           # blocks of units with similar baseline harm
  n_tiers: 4
  balance:                      # baseline balance is checked on these (standardised differences)
    covariates: [baseline_harm, baseline_count]
    max_abs_smd: 0.1
"""

_DESIGN_FOR_PEOPLE = """\
design:                         # how units are allocated
  # How units are allocated: simple, complete, block, matched_pair, cluster, block_cluster,
  # rerandomised, or matched_control (no randomisation: treated units chosen, controls matched).
  method: matched_pair
  # Seed of numpy's PCG64 generator: with the registered design it reproduces the assignment.
  seed: {seed}
  pair_on: [baseline_harm, baseline_count]   # pairs are formed on these baseline covariates
  balance:
    covariates: [baseline_harm, baseline_count]
    max_abs_smd: 0.1
"""

_TEMPLATE = """\
# yaml-language-server: $schema={schema}
#
# Pre-registration of trial `{id}`, scaffolded by `triplet new`. Fill in every section BEFORE
# any unit is assigned: `triplet assign` freezes the registration in lock.json, and any later
# change must then be recorded under `deviations`. `triplet validate` checks this file;
# docs/trial-yaml.md describes every field. Lines starting with # are comments.

id: {id}                        # lower-case slug; also the folder name under trials/
title: "{title}"  # full title, as it will appear in reports
# Lifecycle: draft -> registered -> assigned -> in_field -> completed -> analysed.
# Move it on with `triplet status {id} registered` once the partnership has signed it off.
status: draft
registered: null                # date of registration (YYYY-MM-DD), required from `registered`

# Who is accountable, and the partner agencies (council, police, fire, probation, health,
# voluntary sector ...).
owner:
  name: Name of the accountable evaluator
  agency: Agency of the owner
  email: null
partners: []                    # e.g. [Example Borough Council, Example Police, ...]

intervention:                   # what is tested
  # One of: hot_spot_micro_patrol, problem_oriented_policing, cctv, offender_focused,
  # victim_focused, community_engagement, other.
  type: {intervention}
  description: >-
    What treated units receive, who delivers it, and what control units receive instead.
  dosage:                       # how much each treated unit gets
    description: {dosage}
{dosage_fields}
hypotheses:                     # fixed before any outcome data is seen
  primary: >-
    The one confirmatory hypothesis, with its direction, outcome and period.
  secondary: []                 # exploratory hypotheses, reported as such

units:                          # what is assigned to treatment or control
  kind: {kind}                  # place, person or time
  level: {level}
  id_column: {id_column}        # column of the crime records that holds the unit id
  source: Where the list of units comes from (e.g. `triplet target --candidates`).
  n_units: null                 # how many eligible units to take (highest baseline harm first)

eligibility:                    # applied to the baseline period
  min_baseline_harm: null       # days of imprisonment, total over the baseline months
  min_baseline_count: null      # crimes, total over the baseline months
  exclude: []                   # unit ids excluded by name
  rules: []                     # other rules, in prose

outcomes:                       # what is measured in every unit and month
  primary:                      # exactly one primary outcome
    name: crime_harm
    measure: harm               # harm (days of imprisonment) or count
    crime_types: all            # `all`, or a list of data.police.uk categories
    harm_index: cambridge       # cambridge, ons_css, or the path of a weights CSV
  secondary: []

{design}
periods:                        # calendar months, YYYY-MM; they must not overlap
  baseline: {{start: 2022-01, end: 2023-12}}
  treatment: {{start: 2024-01, end: 2024-12}}
  follow_up: null               # e.g. {{start: 2025-01, end: 2025-06}}

analysis:                       # the analysis plan, fixed before outcomes are seen
  # Estimators: twfe_did, event_study, poisson_did, negbin_did (counts only), staggered_did,
  # randomisation_inference, displacement, bayesian_count, bayesian_harm (place_day: only on
  # a place_day design).
  primary: twfe_did
  secondary: [event_study, randomisation_inference]
  alpha: 0.05
  covariates: []
  cluster: unit                 # standard errors clustered on: unit, block, pair or cluster
  minimum_effect:
    reduction: 0.1              # smallest effect worth acting on: 0.1 = a 10% fall
    rope: 0.05                  # region of practical equivalence, +/- 5%
  buffer: false                 # check displacement into rings around treated places

power:                          # can the trial detect the minimum effect?
  target: 0.8
  method: simulation            # `triplet design` estimates the minimum detectable effect

data_sources:                   # paths are relative to the registry (registry.yaml's folder)
  - name: Recorded crime
    kind: records               # records, units, covariates or other
    uri: data/records.csv
    provider: Name of the force or agency

data_protection:                # UK GDPR / Data Protection Act 2018
  note: >-
    What personal data is used, who sees it, and how it is protected.
  lawful_basis: null
  pseudonymised: true           # person-level ids must be pseudonymised
  retention: null

# Changes after the lock: one entry per changed field, e.g.
#   - {{date: 2024-03-01, field: design.seed, reason: "...", approved_by: "..."}}
deviations: []
"""


def scaffold_text(
    trial_id: str,
    intervention: InterventionType | str = InterventionType.other,
    *,
    title: str | None = None,
    schema: str = f"../../docs/{SCHEMA_FILE}",
    seed: int | None = None,
) -> str:
    """The commented trial.yaml of a new draft trial (it validates as it stands)."""
    kind_of = InterventionType(intervention)
    person = kind_of in _PERSON_TYPES
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    dosage_fields = (
        "    minutes_per_visit: 15\n    visits_per_day: 3\n    days_per_week: 7\n"
        if kind_of is InterventionType.hot_spot_micro_patrol
        else ""
    )
    return _TEMPLATE.format(
        id=trial_id,
        title=(title or f"{kind_of.label} trial {trial_id}").replace('"', "'"),
        intervention=kind_of.value,
        dosage=(
            "Three 15-minute visits a day (Koper curve), every day."
            if kind_of is InterventionType.hot_spot_micro_patrol
            else "How much, how often and for how long."
        ),
        dosage_fields=dosage_fields,
        kind=UnitKind.person.value if person else UnitKind.place.value,
        level=("victim" if kind_of is InterventionType.victim_focused else "offender")
        if person
        else "lsoa",
        id_column=("victim_id" if kind_of is InterventionType.victim_focused else "suspect_id")
        if person
        else "lsoa_code",
        design=(_DESIGN_FOR_PEOPLE if person else _DESIGN_FOR_PLACES).format(seed=seed),
        schema=schema,
    )


def new_trial(
    registry_path: str | Path,
    trial_id: str,
    *,
    intervention: InterventionType | str = InterventionType.other,
    title: str | None = None,
    registry_name: str | None = None,
    seed: int | None = None,
) -> TrialFile:
    """Scaffold ``trials/<id>/trial.yaml`` and append its entry to the registry.

    Refuses (OverwriteError) if the id is already listed or the folder exists. Creates the
    registry (named ``registry_name``) if it does not exist yet, and ``trial.schema.json`` at
    the registry root if neither it nor ``docs/trial.schema.json`` exists.
    """
    registry_path = Path(registry_path)
    root = registry_path.parent
    if not re.match(ID_PATTERN, trial_id):
        raise InputError(
            Problem(
                "<id>",
                f"{trial_id!r} is not a valid trial id: use 3-64 lower-case letters, digits "
                "and hyphens, starting and ending with a letter or digit",
                field="id",
            )
        )
    try:
        kind_of = InterventionType(intervention)
    except ValueError:
        allowed = ", ".join(t.value for t in InterventionType)
        raise InputError(
            Problem(
                "<intervention>", f"unknown intervention type {intervention!r}; one of {allowed}"
            )
        ) from None

    doc, dumper, registry_text = _registry_doc(registry_path, registry_name)
    trials = doc.get("trials")
    if trials is None:
        trials = CommentedSeq()
        doc["trials"] = trials
    if not isinstance(trials, list):
        raise InputError(
            Problem(
                str(registry_path),
                "trials must be a list",
                line=doc.lc.key("trials")[0] + 1,
                field="trials",
            )
        )
    if any(isinstance(t, dict) and t.get("id") == trial_id for t in trials):
        raise OverwriteError(f"{registry_path}: trial {trial_id!r} is already registered")
    folder_rel = f"trials/{trial_id}"
    folder = root / folder_rel
    if folder.exists():
        raise OverwriteError(f"{folder}: already exists; refusing to overwrite it")

    schema_path = root / "docs" / SCHEMA_FILE
    if not schema_path.exists():
        schema_path = root / SCHEMA_FILE
    schema_rel = Path(os.path.relpath(schema_path, folder)).as_posix()
    text = scaffold_text(trial_id, kind_of, title=title, schema=schema_rel, seed=seed)
    _check_scaffold(text)

    entry = CommentedMap(
        [("id", trial_id), ("folder", folder_rel), ("intervention", kind_of.value)]
    )
    trials.append(entry)
    if hasattr(trials, "fa"):
        trials.fa.set_block_style()
    buf = io.StringIO()
    dumper.dump(doc, buf)
    new_registry = buf.getvalue()
    parsed, problems = parse_yaml_text(new_registry, file=str(registry_path))
    if parsed is None:  # pragma: no cover - ruamel wrote what it read
        raise InputError(problems)

    trial_path = folder / TRIAL_FILE
    write_text(trial_path, text)
    try:
        write_text(registry_path, new_registry, overwrite=registry_text is not None)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if not schema_path.exists():
        write_json(schema_path, trial_json_schema())
    return load_trial(trial_path)


def _registry_doc(path: Path, name: str | None) -> tuple[CommentedMap, YAML, str | None]:
    """The registry as a round-trip document, and a writer that keeps its indentation."""
    y = YAML(typ="rt")
    y.width = 4096
    y.preserve_quotes = True
    if not path.exists():
        doc = CommentedMap(
            [("name", name or f"{path.resolve().parent.name} trials"), ("trials", CommentedSeq())]
        )
        y.indent(mapping=2, sequence=4, offset=2)
        return doc, y, None
    parsed, problems = parse_yaml(path)
    if parsed is None:
        raise InputError(problems)
    if not isinstance(parsed.data, dict):
        raise InputError(
            Problem(str(path), "registry.yaml must be a mapping (name, trials)", line=1)
        )
    text = parsed.text
    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    if indent is None:  # no block sequence yet: write entries as `  - id: ...`
        indent, block_seq_indent = 4, 2
    block_seq_indent = block_seq_indent or 0
    mapping = indent - block_seq_indent if indent > block_seq_indent else indent
    y.indent(mapping=mapping, sequence=indent, offset=block_seq_indent)
    return y.load(text), y, text


def _check_scaffold(text: str) -> None:
    parsed, problems = parse_yaml_text(text, file=TRIAL_FILE)
    if parsed is None:  # pragma: no cover - the template is tested
        raise InputError(problems)
    try:
        Trial.model_validate(parsed.data)
    except Exception as exc:  # pragma: no cover - the template is tested
        raise InputError(validation_problems(exc, parsed, Trial)) from None
