"""``performance.yaml``: the partnership's performance framework, validated once at the edge.

The file names the records, the months populations are selected on (``selection``), the months
that set the expected values and control limits (``baseline``), the populations watched (the
borough, named places, the Priority Localities, hot spots, a cohort of offenders or victims, a
trial's units) and the indicators (a measure of harm or count over a population, an owner, an
optional target). Problems are reported as ``file:line: field: message`` like trial.yaml
(:mod:`triplet.registry.yamlio`); :func:`framework_json_schema` gives the JSON Schema editors
use (``docs/performance.schema.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triplet.errors import InputError, Problem
from triplet.registry.models import ID_PATTERN, MONTH_PATTERN

__all__ = [
    "SCHEMA_FILE",
    "Framework",
    "FrameworkFile",
    "Indicator",
    "MonthSpan",
    "Population",
    "SimulatedShift",
    "framework_json_schema",
    "load_framework",
]

SCHEMA_FILE = "performance.schema.json"
PopulationKind = Literal[
    "borough", "places", "priority_localities", "hot_spots", "offenders", "victims", "trial"
]
#: Which optional fields each population kind takes (others are errors).
KIND_FIELDS: dict[str, set[str]] = {
    "borough": set(),
    "places": {"units"},
    "priority_localities": {"top"},
    "hot_spots": {"top", "grid_size_m"},
    "offenders": {"share_of_harm", "top"},
    "victims": {"min_crimes"},
    "trial": {"trial", "arm"},
}
PERSON_KINDS = {"offenders", "victims"}
PLACE_KINDS = {"borough", "places", "priority_localities", "trial"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MonthSpan(_Model):
    """A span of months, both ends included."""

    start: str = Field(pattern=MONTH_PATTERN, description="First month, YYYY-MM.")
    end: str = Field(pattern=MONTH_PATTERN, description="Last month, YYYY-MM.")

    @model_validator(mode="after")
    def _ordered(self) -> MonthSpan:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def months(self) -> pd.PeriodIndex:
        return pd.period_range(self.start, self.end, freq="M")


class Population(_Model):
    """Who or where an indicator watches. Members are chosen on the ``selection`` months.

    ``borough``: every record. ``places``: the LSOAs in ``units``. ``priority_localities``: the
    ``top`` LSOAs by harm. ``hot_spots``: the ``top`` grid cells (``grid_size_m`` metres) by
    harm. ``offenders``: the Felonious Few, the fewest offenders who caused ``share_of_harm`` of
    the harm (or the ``top`` offenders). ``victims``: repeat victims, ``min_crimes`` or more
    crimes. ``trial``: the units of a registered trial's ``arm`` (from its assignment.csv).
    """

    kind: PopulationKind = Field(description="What kind of population this is.")
    description: str | None = Field(default=None, description="What it is, in words.")
    units: list[str] | None = Field(default=None, min_length=1, description="places: LSOA codes.")
    top: int | None = Field(default=None, ge=1, description="How many units to take by harm.")
    grid_size_m: float | None = Field(default=None, gt=0, description="hot_spots: cell size, m.")
    share_of_harm: float | None = Field(
        default=None, gt=0, lt=1, description="offenders: share of harm the cohort caused."
    )
    min_crimes: int | None = Field(default=None, ge=2, description="victims: crimes to repeat.")
    trial: str | None = Field(default=None, pattern=ID_PATTERN, description="trial: its id.")
    arm: Literal["treatment", "control"] | None = Field(default=None, description="trial: arm.")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Population:
        given = {
            k
            for k in ("units", "top", "grid_size_m", "share_of_harm", "min_crimes", "trial", "arm")
            if getattr(self, k) is not None
        }
        extra = given - KIND_FIELDS[self.kind]
        if extra:
            allowed = ", ".join(sorted(KIND_FIELDS[self.kind])) or "none"
            raise ValueError(
                f"{', '.join(sorted(extra))} not used by kind {self.kind} (its fields: {allowed})"
            )
        need = {
            "places": ["units"],
            "priority_localities": ["top"],
            "hot_spots": ["top"],
            "trial": ["trial"],
        }.get(self.kind, [])
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"kind {self.kind} needs {', '.join(missing)}")
        if self.kind == "offenders" and (self.share_of_harm is None) == (self.top is None):
            raise ValueError("kind offenders needs exactly one of share_of_harm or top")
        return self

    @property
    def is_person(self) -> bool:
        return self.kind in PERSON_KINDS


class Indicator(_Model):
    """One monitored indicator: a measure over a population, with an owner."""

    id: str = Field(pattern=ID_PATTERN, description="Short id (slug), e.g. harm-priority.")
    title: str = Field(min_length=1, description="What the Board reads, e.g. 'Crime harm in ...'.")
    measure: Literal["harm", "count"] = Field(
        description="harm (days, the framework's harm index) or count of crimes."
    )
    crime_types: Literal["all"] | list[str] = Field(
        default="all", description="data.police.uk categories counted, or all."
    )
    harm_index: str | None = Field(
        default=None,
        description="harm only: cambridge, ons_css or a CSV path (default: the framework's).",
    )
    population: str = Field(min_length=1, description="Name of a population of this file.")
    owner: str = Field(min_length=1, description="The partner agency answerable for it.")
    better: Literal["lower", "higher", "neither"] = Field(
        default="lower", description="Which direction is an improvement."
    )
    target: float | None = Field(
        default=None,
        ge=0,
        description="Monthly target value (met at or below it if lower is better).",
    )
    chart: Literal["seasonal", "xmr", "laney"] = Field(
        default="seasonal",
        description="seasonal (u' around the seasonal model), xmr, or laney (u', needs residents).",
    )
    per_residents: int | None = Field(
        default=None,
        ge=1,
        description="Show as a rate per this many residents (needs denominators).",
    )
    funnel: bool = Field(
        default=False, description="Add a funnel plot of LSOA rates (counts, place populations)."
    )


class SimulatedShift(_Model):
    """SYNTHETIC example only: thin one indicator's records from ``start`` on by ``rate_ratio``."""

    indicator: str = Field(description="Id of the indicator whose records are thinned.")
    start: str = Field(pattern=MONTH_PATTERN, description="First shifted month.")
    rate_ratio: float = Field(gt=0, lt=1, description="Share of those records kept (0.7 = -30%).")
    seed: int = Field(default=17, ge=0, description="Seed of the thinning.")


class Denominators(_Model):
    """Residents per LSOA: a table with a unit column and a residents column."""

    uri: str = Field(min_length=1, description="Path (relative to this file) or example:// URI.")
    unit_column: str = Field(default="lsoa_code", description="Column of LSOA codes.")
    residents_column: str = Field(default="population", description="Column of residents.")


class Framework(_Model):
    """The performance framework of a partnership (``performance.yaml``)."""

    name: str = Field(min_length=1, description="Whose framework, as the page title says.")
    records: str = Field(
        min_length=1, description="Crime records: path (relative to this file) or example://."
    )
    harm_index: str = Field(default="cambridge", description="cambridge, ons_css or a CSV path.")
    denominators: Denominators | None = Field(default=None, description="Residents per LSOA.")
    selection: MonthSpan = Field(description="Months on which populations are chosen.")
    baseline: MonthSpan = Field(description="Months that set expected values and limits.")
    as_of: str | None = Field(
        default=None,
        pattern=MONTH_PATTERN,
        description="Last month shown (default: the last month of the records).",
    )
    registry: str | None = Field(
        default=None, description="registry.yaml (relative to this file): live trials."
    )
    threshold: int = Field(default=10, ge=1, description="Person counts below it are not shown.")
    harmonics: int = Field(default=2, ge=0, le=4, description="Seasonal harmonics of the model.")
    trend: bool = Field(default=False, description="Add a linear trend to the expected values.")
    run: int = Field(default=8, ge=6, le=12, description="Run rule: points on one side.")
    trend_points: int = Field(default=6, ge=5, le=10, description="Trend rule: points.")
    simulated_shift: SimulatedShift | None = Field(
        default=None, description="SYNTHETIC example only: an injected shift."
    )
    populations: dict[str, Population] = Field(min_length=1, description="Named populations.")
    indicators: list[Indicator] = Field(min_length=1, description="The indicators, in order.")

    def cross_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Problems between fields, each with the path of the field it concerns."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        ids = [i.id for i in self.indicators]
        for k, i in enumerate(self.indicators):
            if ids.index(i.id) != k:
                out.append((("indicators", k, "id"), f"indicator id {i.id!r} is used twice"))
            if i.population not in self.populations:
                out.append(
                    (
                        ("indicators", k, "population"),
                        f"population {i.population!r} is not defined "
                        f"(defined: {', '.join(self.populations)})",
                    )
                )
                continue
            pop = self.populations[i.population]
            if (i.per_residents or i.funnel or i.chart == "laney") and (
                pop.kind not in PLACE_KINDS or self.denominators is None
            ):
                out.append(
                    (
                        ("indicators", k),
                        "per_residents, funnel and the laney chart need residents (denominators) "
                        "and a place population (borough, places, priority_localities, trial)",
                    )
                )
            if i.harm_index is not None and i.measure != "harm":
                out.append(
                    (("indicators", k, "harm_index"), "only a harm measure takes a harm index")
                )
            if i.funnel and i.measure != "count":
                out.append((("indicators", k, "funnel"), "funnel plots are for counts, not harm"))
        ranked = {"priority_localities", "hot_spots", "offenders", "victims"}
        if any(p.kind in ranked for p in self.populations.values()) and not (
            self.selection.end < self.baseline.start
        ):
            out.append(
                (
                    ("selection", "end"),
                    "selection must end before the baseline starts: a population chosen for high "
                    "harm in the baseline months falls back afterwards by chance (regression to "
                    "the mean) and would look like an improvement",
                )
            )
        if self.as_of is not None and self.as_of <= self.baseline.end:
            out.append((("as_of",), f"must be after the baseline (ends {self.baseline.end})"))
        if self.simulated_shift is not None:
            if not self.records.startswith("example://"):
                out.append(
                    (("simulated_shift",), "only allowed with example:// (synthetic) records")
                )
            if self.simulated_shift.indicator not in ids:
                out.append(
                    (
                        ("simulated_shift", "indicator"),
                        f"no indicator {self.simulated_shift.indicator!r}",
                    )
                )
        return out

    def indicator(self, indicator_id: str) -> Indicator:
        return next(i for i in self.indicators if i.id == indicator_id)


@dataclass(frozen=True)
class FrameworkFile:
    """A validated framework and where it lives (paths in it are relative to ``dir``)."""

    framework: Framework
    path: Path

    @property
    def dir(self) -> Path:
        return self.path.parent

    def resolve(self, uri: str) -> Path:
        p = Path(uri)
        return p if p.is_absolute() else self.dir / p


def _line_problems(fw: Framework, parsed, path: Path) -> list[Problem]:
    """Files the framework names must exist (checked with the line of the field)."""
    problems = []
    checks: list[tuple[tuple[str, ...], str | None]] = [
        (("records",), fw.records),
        (("registry",), fw.registry),
        (("denominators", "uri"), fw.denominators.uri if fw.denominators else None),
    ]
    for key, uri in checks:
        if uri is None or "://" in uri:
            continue
        p = Path(uri) if Path(uri).is_absolute() else path.parent / uri
        if not p.exists():
            problems.append(
                Problem(
                    str(path),
                    f"file not found: {uri} (paths are relative to {path.parent})",
                    line=parsed.line_of(key),
                    field=".".join(key),
                )
            )
    return problems


def load_framework(path: str | Path) -> FrameworkFile:
    """Read and validate ``performance.yaml``; raise :class:`InputError` listing every problem
    as ``file:line: field: message``."""
    from triplet.registry.yamlio import parse_yaml, validation_problems

    path = Path(path)
    parsed, problems = parse_yaml(path)
    if parsed is None or problems:
        raise InputError(problems or [Problem(str(path), "cannot read file")])
    if not isinstance(parsed.data, dict):
        raise InputError(Problem(str(path), "performance.yaml must be a mapping of fields", line=1))
    try:
        fw = Framework.model_validate(parsed.data)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, parsed, Framework)) from None
    problems = [
        Problem(str(path), msg, line=parsed.line_of(key), field=".".join(map(str, key)))
        for key, msg in fw.cross_problems()
    ]
    problems += _line_problems(fw, parsed, path)
    if problems:
        raise InputError(problems)
    return FrameworkFile(framework=fw, path=path)


def framework_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of performance.yaml, from the pydantic model."""
    schema = Framework.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "triplet performance.yaml",
    }


def render_schema() -> str:
    """The schema as written to ``docs/performance.schema.json``."""
    return json.dumps(framework_json_schema(), indent=2, sort_keys=True) + "\n"
