"""Pydantic models of a trial's pre-registration (``trials/<id>/trial.yaml``) and the registry.

The fields follow trial-registration practice: CONSORT 2010 (Schulz et al. 2010), the CrimPORT
protocol for police experiments (Sherman & Strang; Neyroud 2017) and the AEA RCT registry.
Configuration is validated once, here, at the edge; the rest of triplet takes these typed
objects, never raw dicts.

Units used throughout: harm in days of imprisonment (Cambridge Crime Harm Index), periods in
calendar months written ``YYYY-MM``, effects as proportional changes (``-0.2`` is a 20% fall).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "AllocationRatio",
    "AnalysisPlan",
    "Balance",
    "DataProtection",
    "DataSource",
    "DecisionRule",
    "Delivery",
    "DeliverySource",
    "Design",
    "DesignMethod",
    "Deviation",
    "Dosage",
    "Eligibility",
    "Estimator",
    "Hypotheses",
    "Intervention",
    "InterventionType",
    "Matching",
    "MinimumEffect",
    "Month",
    "Outcome",
    "Outcomes",
    "Owner",
    "PatrolAreas",
    "Period",
    "Periods",
    "Pipeline",
    "PlaceDay",
    "Power",
    "Prior",
    "Priors",
    "Registry",
    "RegistryEntry",
    "Reporting",
    "Shift",
    "Status",
    "Trial",
    "UnitKind",
    "Units",
    "VisitRules",
]

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"

Month = Annotated[str, Field(pattern=MONTH_PATTERN, description="A calendar month, YYYY-MM.")]


class _Model(BaseModel):
    """Strict base: unknown keys are errors (a typo must not silently drop a field)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Status(StrEnum):
    """Lifecycle of a trial. Moves forward only: draft -> ... -> analysed."""

    draft = "draft"
    registered = "registered"
    assigned = "assigned"
    in_field = "in_field"
    completed = "completed"
    analysed = "analysed"

    @property
    def order(self) -> int:
        return list(Status).index(self)


class InterventionType(StrEnum):
    """Vocabulary of interventions, used to pool trials of the same kind."""

    hot_spot_micro_patrol = "hot_spot_micro_patrol"
    problem_oriented_policing = "problem_oriented_policing"
    cctv = "cctv"
    offender_focused = "offender_focused"
    victim_focused = "victim_focused"
    community_engagement = "community_engagement"
    other = "other"

    @property
    def label(self) -> str:
        return {
            "hot_spot_micro_patrol": "Hot-spot micro-patrol",
            "problem_oriented_policing": "Problem-oriented policing",
            "cctv": "CCTV",
            "offender_focused": "Offender-focused",
            "victim_focused": "Victim-focused",
            "community_engagement": "Community engagement",
            "other": "Other",
        }[self.value]


class UnitKind(StrEnum):
    """What a unit of assignment is: a place, a person (pseudonymised) or a time slot."""

    place = "place"
    person = "person"
    time = "time"


class DesignMethod(StrEnum):
    """How units are allocated (Gerber & Green 2012, ch. 3-4; Morgan & Rubin 2012)."""

    simple = "simple"  # independent coin flips (Bernoulli)
    complete = "complete"  # exactly m of N treated
    block = "block"  # complete randomisation within blocks (strata)
    matched_pair = "matched_pair"  # optimal non-bipartite pairs, one of each pair treated
    cluster = "cluster"  # whole clusters assigned
    block_cluster = "block_cluster"  # clusters assigned within blocks
    rerandomised = "rerandomised"  # complete/block, redrawn until the balance criterion holds
    matched_control = "matched_control"  # no randomisation: treated chosen, controls matched
    place_day = "place_day"  # places randomised day by day (crossover; design.place_day)

    @property
    def randomised(self) -> bool:
        return self is not DesignMethod.matched_control


class Estimator(StrEnum):
    """Estimators an analysis plan may name (see :mod:`triplet.tracking`)."""

    twfe_did = "twfe_did"  # two-way fixed-effects difference-in-differences (PanelOLS)
    event_study = "event_study"  # leads and lags around the start
    poisson_did = "poisson_did"  # Poisson DiD, rate ratio
    negbin_did = "negbin_did"  # negative-binomial DiD, rate ratio
    staggered_did = "staggered_did"  # Callaway & Sant'Anna (2021) group-time ATT
    randomisation_inference = "randomisation_inference"  # re-runs the registered assignment
    displacement = "displacement"  # WDQ (Bowers & Johnson 2003) and buffer DiD
    bayesian_count = "bayesian_count"  # hierarchical negative-binomial (PyMC, nutpie)
    bayesian_harm = "bayesian_harm"  # hurdle model for harm (PyMC, nutpie)
    cace_2sls = "cace_2sls"  # complier average causal effect of the delivered dose (2SLS)
    place_day = "place_day"  # place + day fixed effects on a place-day (crossover) trial


class Owner(_Model):
    """The person accountable for the trial and their agency."""

    name: str = Field(min_length=1, description="Person accountable for the trial.")
    agency: str = Field(min_length=1, description="Agency the owner works for.")
    email: str | None = Field(default=None, description="Contact address (optional).")


class Dosage(_Model):
    """How much intervention each treated unit gets, e.g. 15-minute patrols, 3 a day."""

    description: str = Field(description="The dose in words.", min_length=1)
    minutes_per_visit: float | None = Field(
        description="Length of a visit, minutes (Koper curve: about 15).", default=None, gt=0
    )
    visits_per_day: float | None = Field(description="Visits per unit per day.", default=None, gt=0)
    days_per_week: float | None = Field(
        description="Days a week the intervention runs.", default=None, gt=0, le=7
    )


class Intervention(_Model):
    """What is tested: its type, a description and (optionally) its dosage."""

    type: InterventionType = Field(
        description="Intervention type from the vocabulary (used to pool similar trials)."
    )
    description: str = Field(
        description="What treated units receive, who delivers it, and what controls receive.",
        min_length=1,
    )
    dosage: Dosage | None = Field(
        default=None, description="How much intervention each treated unit gets."
    )
    comparison: str | None = Field(
        default=None,
        min_length=1,
        description="What the comparison (control) condition gets (CrimPORT: business as "
        "usual, in words).",
    )


class Hypotheses(_Model):
    """The primary (confirmatory) hypothesis and any secondary ones."""

    primary: str = Field(min_length=1, description="The confirmatory hypothesis.")
    secondary: list[str] = Field(
        description="Secondary hypotheses (exploratory).", default_factory=list
    )


class Units(_Model):
    """What is randomised or matched, and where the list of units comes from."""

    kind: UnitKind = Field(description="place, person or time.")
    level: str = Field(
        min_length=1,
        description="Unit type: lsoa, grid, hotspot, offender, victim, month ...",
    )
    id_column: str = Field(
        default="unit_id", description="Column of the crime records holding the unit id."
    )
    source: str = Field(min_length=1, description="Where the unit list comes from (prose).")
    candidates: list[str] | None = Field(
        default=None,
        description="Explicit unit ids, e.g. from `triplet target --candidates`. If omitted, "
        "every unit passing the eligibility rules is used.",
    )
    n_units: int | None = Field(default=None, gt=0, description="How many units to take.")


class Eligibility(_Model):
    """Which units may enter the trial (minimum baseline harm or count, exclusions, rules)."""

    min_baseline_harm: float | None = Field(
        default=None,
        ge=0,
        description="Minimum baseline harm (days of imprisonment, total over the baseline months).",
    )
    min_baseline_count: int | None = Field(
        description="Minimum baseline crime count (total over the baseline months).",
        default=None,
        ge=0,
    )
    exclude: list[str] = Field(default_factory=list, description="Unit ids excluded by name.")
    rules: list[str] = Field(default_factory=list, description="Other rules, in prose.")


class Outcome(_Model):
    """One outcome: its name, measure (harm or count), crime types and harm index."""

    name: str = Field(description="Short name of the outcome, e.g. crime_harm.", min_length=1)
    measure: Literal["harm", "count"] = Field(
        description="harm (days of imprisonment) or count (crimes)."
    )
    crime_types: list[str] | Literal["all"] = Field(
        default="all", description="`all`, or a list of data.police.uk crime categories."
    )
    harm_index: str = Field(
        default="cambridge",
        description="cambridge (Cambridge Crime Harm Index), ons_css, or a path to a weights CSV.",
    )


class Outcomes(_Model):
    """The primary outcome and the secondary outcomes (reported as exploratory)."""

    primary: Outcome = Field(description="The one primary outcome (confirmatory).")
    secondary: list[Outcome] = Field(
        description="Secondary outcomes (exploratory).", default_factory=list
    )


class Balance(_Model):
    """Balance criterion on baseline covariates (standardised mean differences)."""

    covariates: list[str] = Field(
        description="Baseline covariates whose balance is checked.",
        default_factory=lambda: ["baseline_harm", "baseline_count"],
    )
    max_abs_smd: float = Field(
        description="Largest acceptable absolute standardised mean difference.", default=0.1, gt=0
    )
    max_draws: int = Field(default=1000, gt=0, description="Re-randomisation limit.")


class Matching(_Model):
    """Matched controls (nearest neighbour, Mahalanobis distance) for non-randomised designs."""

    covariates: list[str] = Field(
        description="Covariates of the Mahalanobis distance.",
        default_factory=lambda: ["baseline_harm", "baseline_trend", "deprivation"],
    )
    caliper: float | None = Field(
        default=0.2, gt=0, description="Caliper in standard deviations of the distance."
    )
    controls_per_treated: int = Field(
        description="Matched controls per treated unit.", default=1, ge=1
    )
    treated: list[str] = Field(default_factory=list, description="Units chosen for treatment.")


class AllocationRatio(_Model):
    """Allocation ratio treatment:control (1:1 by default)."""

    treatment: int = Field(
        description="Treatment share of the allocation ratio (e.g. 1 of 1:1).", default=1, ge=1
    )
    control: int = Field(
        description="Control share of the allocation ratio (e.g. 2 of 1:2).", default=1, ge=1
    )

    @property
    def treated_fraction(self) -> float:
        return self.treatment / (self.treatment + self.control)


class Shift(_Model):
    """A shift of a place-day trial randomised by shift: its name and the time it starts."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$", description="Shift name.")
    start: str = Field(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Start time HH:MM; a shift runs until the next shift starts.",
    )


class PlaceDay(_Model):
    """Place-day (crossover) scheme of ``method: place_day``: every day (or shift) a few places
    are drawn for treatment from those eligible that day; see docs/place-day.md."""

    treated_per_day: int = Field(ge=1, description="Places treated each day (or shift).")
    max_consecutive: int = Field(
        default=1, ge=1, description="Longest run of treated days (or shifts) of a place."
    )
    washout_days: int = Field(
        default=0,
        ge=0,
        description="Untreated days (or shifts) after a treated run, neither treated nor "
        "controls (carry-over).",
    )
    start: dt.date | None = Field(
        default=None, description="First day (YYYY-MM-DD); default: first day of the treatment."
    )
    end: dt.date | None = Field(
        default=None, description="Last day (YYYY-MM-DD); default: last day of the treatment."
    )
    shifts: list[Shift] = Field(
        default_factory=list,
        description="Randomise shifts, not days: the shifts of a day in order of start time "
        "(empty: whole days).",
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if v is not None and start is not None and v < start:
            raise ValueError(f"end {v} is before start {start}")
        return v

    @field_validator("shifts")
    @classmethod
    def _shifts_in_order(cls, v: list[Shift]) -> list[Shift]:
        if len(v) == 1:
            raise ValueError("name two or more shifts, or none (whole days)")
        names = [s.name for s in v]
        if len(set(names)) < len(names):
            raise ValueError("shift names must be unique")
        starts = [s.start for s in v]
        if starts != sorted(starts) or len(set(starts)) < len(starts):
            raise ValueError("shifts must be listed in order of start time, all different")
        return v

    def capacity(self, n_places: int) -> float:
        """Most places the scheme can treat per day in the long run: a place's cycle is at
        least ``max_consecutive`` treated days then ``max(washout_days, 1)`` days off."""
        c = self.max_consecutive
        return n_places * c / (c + max(self.washout_days, 1))

    def slots(self, first: dt.date, last: dt.date) -> list[str]:
        """The randomised periods in order: ISO days, or ``YYYY-MM-DD/<shift>``."""
        days = [d.date().isoformat() for d in pd.date_range(first, last, freq="D")]
        if not self.shifts:
            return days
        return [f"{d}/{s.name}" for d in days for s in self.shifts]


class Design(_Model):
    """How units are allocated: the method, seed and the columns it needs (blocks, clusters,
    pairs).
    """

    method: DesignMethod = Field(description="How units are allocated to treatment and control.")
    seed: int = Field(ge=0, lt=2**63, description="Seed of numpy's PCG64 bit generator.")
    allocation: AllocationRatio = Field(
        description="Allocation ratio treatment:control.", default_factory=AllocationRatio
    )
    block_by: str | None = Field(
        default=None, description="Unit column defining blocks, e.g. harm_tier."
    )
    n_tiers: int | None = Field(
        default=None, ge=2, description="If block_by is harm_tier: how many harm tiers."
    )
    cluster_by: str | None = Field(default=None, description="Unit column defining clusters.")
    pair_on: list[str] = Field(
        default_factory=lambda: ["baseline_harm"],
        description="Covariates used to form matched pairs.",
    )
    balance: Balance = Field(
        description="Balance criterion (and re-randomisation limit).", default_factory=Balance
    )
    matching: Matching | None = Field(
        default=None, description="Matched controls; required by method matched_control."
    )
    place_day: PlaceDay | None = Field(
        default=None,
        validate_default=True,
        description="Day-by-day scheme; required by method place_day (docs/place-day.md).",
    )

    @field_validator("place_day")
    @classmethod
    def _place_day_with_method(cls, v: PlaceDay | None, info: ValidationInfo) -> PlaceDay | None:
        m = info.data.get("method")
        if m is None or (m is DesignMethod.place_day) == (v is not None):
            return v
        if v is None:
            raise ValueError("method place_day needs a place_day section (treated_per_day ...)")
        raise ValueError(f"a place_day section needs method place_day, not {m.value}")

    @model_validator(mode="after")
    def _method_needs(self) -> Design:
        m = self.method
        if m in (DesignMethod.block, DesignMethod.block_cluster) and not self.block_by:
            raise ValueError(f"method {m.value} needs block_by")
        if m in (DesignMethod.cluster, DesignMethod.block_cluster) and not self.cluster_by:
            raise ValueError(f"method {m.value} needs cluster_by")
        if m is DesignMethod.matched_control and self.matching is None:
            raise ValueError("method matched_control needs a matching section")
        a = self.allocation
        if m is DesignMethod.matched_pair and a.treatment != a.control:
            raise ValueError(
                f"method matched_pair needs a 1:1 allocation (one unit of each pair treated), "
                f"not {a.treatment}:{a.control}"
            )
        return self


class Period(_Model):
    """A span of whole months, start and end inclusive (YYYY-MM)."""

    start: Month
    end: Month

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def months(self) -> pd.PeriodIndex:
        return pd.period_range(self.start, self.end, freq="M")


class Periods(_Model):
    """Baseline, treatment and (optional) follow-up months, in that order without overlap."""

    baseline: Period = Field(
        description="Months before treatment, used for eligibility, blocks and DiD."
    )
    treatment: Period = Field(description="Months the intervention runs.")
    follow_up: Period | None = Field(
        default=None, description="Months after the intervention ends (persistence of the effect)."
    )

    @model_validator(mode="after")
    def _sequence(self) -> Periods:
        if self.treatment.start <= self.baseline.end:
            raise ValueError("treatment must start after the baseline ends")
        if self.follow_up is not None and self.follow_up.start <= self.treatment.end:
            raise ValueError("follow_up must start after the treatment ends")
        return self


class Prior(_Model):
    """A normal prior, ``mu`` and ``sigma`` on the stated scale."""

    mu: float = Field(default=0.0, description="Mean of the normal prior.")
    sigma: float = Field(description="Standard deviation of the normal prior.", gt=0)


class Priors(_Model):
    """Priors for the Bayesian models. Defaults are weakly informative (see docs/bayes.md)."""

    effect: Prior = Field(
        default_factory=lambda: Prior(mu=0.0, sigma=0.5),
        description="Log rate ratio of treatment x post: N(0, 0.5) puts 95% on 0.38x-2.7x.",
    )
    unit_sd: Prior = Field(
        description="Prior of the between-unit standard deviation (half-normal scale).",
        default_factory=lambda: Prior(mu=0.0, sigma=1.0),
    )
    period_sd: Prior = Field(
        description="Prior of the between-month standard deviation (half-normal scale).",
        default_factory=lambda: Prior(mu=0.0, sigma=0.5),
    )


class MinimumEffect(_Model):
    """Smallest effect worth acting on: a proportional reduction (0.1 = 10% less harm)."""

    reduction: float = Field(
        description="Proportional reduction worth acting on (0.1 = 10% less).", gt=0, lt=1
    )
    rope: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="Half-width of the region of practical equivalence, proportional.",
    )


class DecisionRule(_Model):
    """The one rule that turns the primary analysis into a verdict; registered and locked.

    ``frequentist``: the primary interval at level ``1 - analysis.alpha``; a reduction when it
    lies wholly below no change, an increase when wholly above (each at most ``alpha / 2`` of
    null trials). ``bayesian``: the registered Bayesian primary model; a reduction when
    P(reduction) >= ``probability``, an increase when P(increase) >= ``probability``
    (symmetric). See docs/verdicts.md for the rules' error rates.
    """

    kind: Literal["frequentist", "bayesian"] = Field(
        default="frequentist",
        description="frequentist (the primary interval) or bayesian (posterior probabilities).",
    )
    probability: float = Field(
        default=0.975,
        gt=0.5,
        lt=1,
        description="Bayesian rule only: P(reduction) or P(increase) needed (same both ways).",
    )


BAYESIAN_ESTIMATORS = frozenset({"bayesian_count", "bayesian_harm"})


class AnalysisPlan(_Model):
    """The analysis plan, fixed before outcomes are seen: primary and secondary estimators, alpha,
    clustering, inference, the decision rule.
    """

    primary: Estimator = Field(
        description="The one confirmatory estimator; the others are reported as exploratory."
    )
    secondary: list[Estimator] = Field(
        description="Further estimators, reported as exploratory.", default_factory=list
    )
    alpha: float = Field(
        description="Two-sided significance level of the primary test.", default=0.05, gt=0, lt=1
    )
    covariates: list[str] = Field(
        description="Baseline covariates adjusted for (unit-table columns).", default_factory=list
    )
    cluster: Literal["unit", "block", "pair", "cluster"] = Field(
        default="unit",
        description="Level at which standard errors are clustered; cluster at the unit of assignment.",
    )
    randomisation_draws: int = Field(
        description="Re-assignments drawn for randomisation inference.", default=10_000, ge=100
    )
    inference: Literal["crv1", "cr2", "wild_bootstrap"] = Field(
        default="crv1",
        description="Primary interval of the DiD: crv1 (cluster-robust), cr2 (Bell-McCaffrey "
        "df) or wild_bootstrap (wild cluster restricted bootstrap); see docs/tracking.md.",
    )
    priors: Priors = Field(
        description="Priors of the Bayesian models (defaults are weakly informative).",
        default_factory=Priors,
    )
    minimum_effect: MinimumEffect = Field(
        description="Smallest effect worth acting on, and the region of practical equivalence."
    )
    buffer: bool = Field(
        default=False, description="Check displacement into buffer rings around treated units."
    )
    decision_rule: DecisionRule | None = Field(
        default=None,
        description="The verdict rule (default: frequentist for a frequentist primary "
        "estimator, bayesian with probability 0.975 for a Bayesian one).",
    )

    @field_validator("primary")
    @classmethod
    def _primary_estimates_the_effect(cls, v: Estimator) -> Estimator:
        if v is Estimator.displacement:
            raise ValueError(
                "displacement cannot be the primary analysis: it checks where crime went "
                "(WDQ and buffer DiD around the treated units), not the effect on them; name "
                "an effect estimator (e.g. twfe_did) and set analysis.buffer: true"
            )
        return v

    @model_validator(mode="after")
    def _rule_fits_primary(self) -> AnalysisPlan:
        rule = self.decision_rule
        if rule is None:
            return self
        bayes = self.primary.value in BAYESIAN_ESTIMATORS
        if rule.kind == "bayesian" and not bayes:
            raise ValueError(
                "decision_rule.kind bayesian needs a Bayesian primary estimator "
                "(bayesian_count or bayesian_harm)"
            )
        if rule.kind == "frequentist" and bayes:
            raise ValueError(
                f"decision_rule.kind frequentist needs an interval estimator as primary, not "
                f"{self.primary.value} (use kind: bayesian)"
            )
        return self

    @property
    def rule(self) -> DecisionRule:
        """The registered rule, or the default for the primary estimator."""
        if self.decision_rule is not None:
            return self.decision_rule
        bayes = self.primary.value in BAYESIAN_ESTIMATORS
        return DecisionRule(kind="bayesian" if bayes else "frequentist")


class Power(_Model):
    """Power target of the primary test and how it is computed."""

    target: float = Field(description="Target power of the primary test.", default=0.8, gt=0, lt=1)
    method: Literal["analytic", "simulation"] = Field(
        default="simulation",
        description="analytic (normal approximation) or simulation (by design diagnosis).",
    )
    minimum_detectable_effect: float | None = Field(
        default=None, description="Filled in by `triplet design` (proportional reduction)."
    )
    notes: str | None = Field(default=None, description="How power was assessed.")


class DataSource(_Model):
    """A data set the trial uses. ``uri`` is a path (relative to the registry) or example://..."""

    name: str = Field(description="What the data set is.", min_length=1)
    kind: Literal["records", "units", "covariates", "boundaries", "other"] = Field(
        description="records (crime records), units (unit table), covariates, boundaries "
        "(polygons of the units: GeoJSON, GeoPackage or Shapefile, for buffer rings and maps) "
        "or other."
    )
    uri: str = Field(
        description="Path relative to the folder of registry.yaml, or example://borough[/lsoas|/offenders|/polygons]?seed=N.",
        min_length=1,
    )
    id_column: str | None = Field(
        default=None,
        description="Boundaries only (other kinds ignore it): the id column (default: the finest "
        "ONS code column, e.g. LSOA21CD); its values are the trial's unit ids.",
    )
    where: str | None = Field(
        default=None,
        description="Boundaries only: keep areas where COLUMN=VALUE (e.g. LAD22NM=Croydon).",
    )
    layer: str | None = Field(default=None, description="Boundaries only: GeoPackage layer.")
    provider: str | None = Field(default=None, description="Agency that supplies the data.")
    mapping: str | None = Field(default=None, description="Column-mapping YAML for an extract.")
    simulated_effect: float | None = Field(
        default=None,
        gt=0,
        description="Synthetic sources only: rate ratio injected into treated unit-months.",
    )
    simulated_dose: bool = Field(
        default=False,
        description="Synthetic sources only: simulated_effect is the rate ratio at the full "
        "registered dose, and each unit-month (either arm) gets simulated_effect ** (its share "
        "of the dose delivered, from the example pings of the delivery section).",
    )

    @model_validator(mode="after")
    def _simulated_only_for_examples(self) -> DataSource:
        if self.simulated_effect is not None and not self.uri.startswith("example://"):
            raise ValueError("simulated_effect is only allowed on example:// (synthetic) sources")
        if self.simulated_dose and not self.uri.startswith("example://"):
            raise ValueError("simulated_dose is only allowed on example:// (synthetic) sources")
        return self


class DataProtection(_Model):
    """How personal data is protected (UK GDPR / Data Protection Act 2018)."""

    note: str = Field(
        min_length=1, description="What personal data is used, who sees it, how it is protected."
    )
    lawful_basis: str | None = Field(
        default=None, description="Lawful basis for processing and sharing."
    )
    pseudonymised: bool = Field(
        default=True, description="Person identifiers are pseudonymised (required for people)."
    )
    retention: str | None = Field(default=None, description="How long data is kept.")


class Deviation(_Model):
    """A recorded change to a locked registration (CONSORT item 6b)."""

    date: dt.date = Field(description="Date the change was decided (YYYY-MM-DD).")
    field: str = Field(min_length=1, description="Dotted path of the changed field.")
    reason: str = Field(description="Why the registration changed.", min_length=1)
    approved_by: str | None = Field(
        default=None, description="Who approved the change (e.g. the partnership board)."
    )


class DeliverySource(_Model):
    """A delivery data set: GPS pings (radios, vehicles) or a patrol/visit log (docs/delivery.md)."""

    name: str = Field(min_length=1, description="What the data set is.")
    kind: Literal["pings", "visit_log"] = Field(
        description="pings (device, time, position) or visit_log (unit, start, end, officer)."
    )
    uri: str = Field(
        min_length=1,
        description="Path relative to the folder of registry.yaml (CSV or Parquet), or "
        "example://borough/pings?seed=N (synthetic pings of the example borough).",
    )
    mapping: str | None = Field(
        default=None,
        description="Column-mapping YAML (relative path); required for files (docs/delivery.md).",
    )
    provider: str | None = Field(default=None, description="Agency that supplies the data.")


class PatrolAreas(_Model):
    """Each unit's patrol area: where a stay counts as a visit to the unit."""

    kind: Literal["circles", "polygons", "grid", "lsoa"] = Field(
        description="circles (a point and a radius per unit), polygons (a boundary file of hot "
        "spots), grid (units are British National Grid cell ids) or lsoa (LSOA boundaries)."
    )
    uri: str | None = Field(
        default=None,
        min_length=1,
        description="circles: a table (CSV/Parquet: unit, x, y[, radius_m]) or "
        "example://borough/hotspots?seed=N; polygons, lsoa: a boundary file (GeoJSON, "
        "GeoPackage, Shapefile); grid: not used.",
    )
    id_column: str = Field(default="unit", min_length=1, description="Column of the unit id.")
    crs: str = Field(
        default="EPSG:27700",
        min_length=1,
        description="CRS of the circles' x/y (EPSG:27700 British National Grid, EPSG:4326 "
        "longitude/latitude); boundary files carry their own.",
    )
    radius_m: float | None = Field(
        default=None, gt=0, description="circles: radius in metres when the table has none."
    )
    grid_size_m: float | None = Field(default=None, gt=0, description="grid: cell size, metres.")

    @model_validator(mode="after")
    def _kind_needs(self) -> PatrolAreas:
        if self.kind == "grid" and self.grid_size_m is None:
            raise ValueError("patrol areas of kind grid need grid_size_m")
        if self.kind != "grid" and self.uri is None:
            raise ValueError(f"patrol areas of kind {self.kind} need a uri")
        return self


class VisitRules(_Model):
    """How pings become visits (docs/delivery.md); registered so they cannot be tuned later."""

    min_minutes: float = Field(
        default=5, gt=0, description="A stay counts as a visit from this many minutes on."
    )
    join_gap_minutes: float = Field(
        default=3,
        gt=0,
        description="Stays of one device in one area less than this many minutes apart are "
        "joined into one visit; a longer gap (also between pings) ends the visit. Must exceed "
        "the ping interval.",
    )
    max_speed_kmh: float = Field(
        default=120, gt=0, description="Pings implying a faster move are skipped as impossible."
    )
    timezone: str = Field(
        default="Europe/London",
        description="IANA time zone whose calendar days are the unit-days (Europe/London: "
        "GMT in winter, BST in summer).",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name, e.g. Europe/London)"
            ) from None
        return v


class Delivery(_Model):
    """How delivery is measured and managed (CrimPORT: measuring and managing treatments)."""

    sources: list[DeliverySource] = Field(
        min_length=1, description="Delivery data sets (GPS pings, patrol logs)."
    )
    patrol_areas: PatrolAreas = Field(description="Each unit's patrol area.")
    visit_rules: VisitRules = Field(
        default_factory=VisitRules, description="How pings become visits."
    )
    measurement: str | None = Field(
        default=None, min_length=1, description="How delivery is measured, in words."
    )
    management: str | None = Field(
        default=None,
        min_length=1,
        description="How delivery is managed during the field period (who sees the delivery "
        "report, how often, what they do when the dose falls short).",
    )


class Pipeline(_Model):
    """CrimPORT: the expected flow of units or cases into the trial."""

    description: str = Field(min_length=1, description="How units or cases enter, in words.")
    expected_units: int | None = Field(
        default=None, gt=0, description="Units (or cases) expected to enter in all."
    )


class Reporting(_Model):
    """CrimPORT: when the result is due and how it will be disseminated."""

    due: dt.date = Field(description="Date the final report is due (YYYY-MM-DD).")
    dissemination: str = Field(
        min_length=1, description="Who receives the result and how it is published."
    )


class Trial(_Model):
    """One pre-registered trial (``trials/<id>/trial.yaml``)."""

    id: str = Field(pattern=ID_PATTERN, description="Lower-case slug; also the folder name.")
    title: str = Field(description="Full title; label synthetic examples SYNTHETIC.", min_length=1)
    status: Status = Field(
        default=Status.draft,
        description="Lifecycle status: draft, registered, assigned, in_field, completed, analysed.",
    )
    registered: dt.date | None = Field(
        default=None,
        validate_default=True,
        description="Date of registration (YYYY-MM-DD); required from status registered on.",
    )
    owner: Owner = Field(description="Person accountable for the trial.")
    partners: list[str] = Field(
        description="Partner agencies (council, police, fire, probation, health, voluntary sector).",
        default_factory=list,
    )
    intervention: Intervention = Field(description="What is tested.")
    hypotheses: Hypotheses = Field(description="Primary (confirmatory) and secondary hypotheses.")
    units: Units = Field(description="Units of assignment and where they come from.")
    eligibility: Eligibility = Field(
        description="Which units may enter the trial.", default_factory=Eligibility
    )
    outcomes: Outcomes = Field(description="Primary and secondary outcomes.")
    design: Design = Field(description="How units are allocated.")
    periods: Periods = Field(description="Baseline, treatment and follow-up months.")
    analysis: AnalysisPlan = Field(description="Analysis plan, fixed before outcomes are seen.")
    power: Power = Field(description="Power target and method.", default_factory=Power)
    data_sources: list[DataSource] = Field(
        description="Data sets the trial uses (at least one).", min_length=1
    )
    data_protection: DataProtection = Field(
        description="Data-protection note (lawful basis, pseudonymisation, retention)."
    )
    delivery: Delivery | None = Field(
        default=None,
        description="Delivery data, patrol areas and visit rules (`triplet delivery`); the "
        "planned dose is intervention.dosage.",
    )
    pipeline: Pipeline | None = Field(
        default=None, description="Expected flow of units or cases (CrimPORT)."
    )
    reporting: Reporting | None = Field(
        default=None, description="Due date and dissemination plan (CrimPORT)."
    )
    deviations: list[Deviation] = Field(
        description="Changes after the lock (date, field, reason); CONSORT item 6b.",
        default_factory=list,
    )

    # Field validators (not a model validator) so that errors point at the offending field's
    # line in trial.yaml; they see the fields declared before them in ``info.data``.
    @field_validator("registered")
    @classmethod
    def _registered_date(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        status = info.data.get("status")
        if v is None and status is not None and status is not Status.draft:
            raise ValueError(f"status {Status(status).value} needs a registered date")
        return v

    @field_validator("analysis")
    @classmethod
    def _count_likelihood_on_counts(cls, v: AnalysisPlan, info: ValidationInfo) -> AnalysisPlan:
        """negbin_did (a count likelihood) only on count outcomes (issue 14, item 3)."""
        outcomes = info.data.get("outcomes")
        if outcomes is None:
            return v
        measures = {"primary": outcomes.primary.measure}
        named = {v.primary, *v.secondary}
        harm_secondary = any(o.measure == "harm" for o in outcomes.secondary)
        if Estimator.negbin_did in named and measures["primary"] == "harm":
            raise ValueError(
                "negbin_did on the harm outcome: the negative-binomial likelihood treats its "
                "values as counts, so its per cent effect changes with the unit of harm; use "
                "poisson_did (quasi-likelihood), twfe_did or bayesian_harm"
            )
        if v.primary is Estimator.negbin_did and harm_secondary:
            raise ValueError(
                "negbin_did as primary would also run on the harm secondary outcome; use "
                "poisson_did (quasi-likelihood), twfe_did or bayesian_harm"
            )
        if v.primary is Estimator.bayesian_count and measures["primary"] == "harm":
            raise ValueError("bayesian_count on the harm outcome: use bayesian_harm")
        return v

    @field_validator("analysis")
    @classmethod
    def _analysis_fits_design(cls, v: AnalysisPlan, info: ValidationInfo) -> AnalysisPlan:
        """The plan can be run on the design (checked here so ``validate`` finds it, not
        ``track``): randomisation inference needs a randomised design, and the cluster level
        must exist in the assignment (no silent fallback to units)."""
        design = info.data.get("design")
        if design is None:
            return v
        m = design.method
        if m is DesignMethod.matched_control and Estimator.randomisation_inference in {
            v.primary,
            *v.secondary,
        }:
            raise ValueError(
                "randomisation_inference needs a randomised design: method matched_control "
                "chose the treated units, so there is no assignment procedure to re-run"
            )
        has = {
            "unit": True,
            "block": design.block_by is not None,
            "pair": m in (DesignMethod.matched_pair, DesignMethod.matched_control),
            "cluster": design.cluster_by is not None,
        }
        if not has[v.cluster]:
            need = {
                "block": "design.block_by (methods block, block_cluster)",
                "pair": "pairs (methods matched_pair, matched_control)",
                "cluster": "design.cluster_by (methods cluster, block_cluster)",
            }[v.cluster]
            raise ValueError(
                f"cluster: {v.cluster}, but design method {m.value} has no {v.cluster}s "
                f"(clustering by {v.cluster} needs {need}); cluster at the unit of assignment"
            )
        return v

    @field_validator("design")
    @classmethod
    def _place_day_places(cls, v: Design, info: ValidationInfo) -> Design:
        """A place-day scheme must be possible with the registered places (docs/place-day.md)."""
        pd_ = v.place_day
        units = info.data.get("units")
        if pd_ is None or units is None:
            return v
        if units.kind is not UnitKind.place:
            raise ValueError(f"method place_day randomises places; units.kind is {units.kind}")
        n = len(units.candidates) if units.candidates else units.n_units
        if n is None:  # known only from the data: checked again by `triplet assign`
            return v
        if pd_.treated_per_day >= n:
            raise ValueError(
                f"place_day.treated_per_day is {pd_.treated_per_day} but the trial has {n} "
                "places: at most places - 1 can be treated a day (a day needs controls)"
            )
        cap = pd_.capacity(n)
        if pd_.treated_per_day > cap:
            raise ValueError(
                f"place_day.treated_per_day {pd_.treated_per_day} is more than the scheme can "
                f"treat: with {n} places, runs of at most {pd_.max_consecutive} day(s) and "
                f"{max(pd_.washout_days, 1)} day(s) off after each run, at most {cap:.1f} places "
                "a day are eligible in the long run"
            )
        return v

    @field_validator("periods")
    @classmethod
    def _place_day_within_treatment(cls, v: Periods, info: ValidationInfo) -> Periods:
        design = info.data.get("design")
        if design is None or design.place_day is None:
            return v
        first, last = place_day_span(design.place_day, v)
        months = v.treatment.months
        if pd.Period(first, freq="M") < months[0] or pd.Period(last, freq="M") > months[-1]:
            raise ValueError(
                f"design.place_day runs {first}..{last}, outside the treatment months "
                f"{v.treatment.start}..{v.treatment.end}"
            )
        if last < first:
            raise ValueError(f"design.place_day ends ({last}) before it starts ({first})")
        if v.follow_up is not None:
            raise ValueError(
                "a place-day trial has no follow_up months: each place is its own control "
                "day by day, so there is no later period to compare (remove follow_up)"
            )
        return v

    @field_validator("analysis")
    @classmethod
    def _place_day_estimator(cls, v: AnalysisPlan, info: ValidationInfo) -> AnalysisPlan:
        design = info.data.get("design")
        if design is None:
            return v
        place_day = design.method is DesignMethod.place_day
        named = [v.primary, *v.secondary]
        if place_day and (v.primary is not Estimator.place_day or len(named) > 1):
            raise ValueError(
                "a place_day design is analysed with the place_day estimator only (primary: "
                "place_day, no secondary estimators): the other estimators compare arms over "
                "months, and a place-day trial has no arms"
            )
        if place_day and v.cluster != "unit":
            raise ValueError(
                f"a place_day design is clustered by place (cluster: unit), not {v.cluster}"
            )
        if not place_day and Estimator.place_day in named:
            raise ValueError("the place_day estimator needs design.method place_day")
        return v

    @field_validator("data_protection")
    @classmethod
    def _pseudonymised(cls, v: DataProtection, info: ValidationInfo) -> DataProtection:
        units = info.data.get("units")
        if units is not None and units.kind is UnitKind.person and not v.pseudonymised:
            raise ValueError("person-level units must be pseudonymised (pseudonymised: true)")
        return v

    def source(self, kind: str) -> DataSource | None:
        """The first data source of ``kind`` (records, units, ...), or None when there is none.

        None, not an exception, is the "not found" signal: a ``KeyError`` caught around the
        call would also hide a real bug inside whatever reads the source.
        """
        return next((s for s in self.data_sources if s.kind == kind), None)


def place_day_span(scheme: PlaceDay, periods: Periods) -> tuple[dt.date, dt.date]:
    """First and last day of a place-day scheme (default: the treatment months)."""
    months = periods.treatment.months
    first = scheme.start or months[0].start_time.date()
    last = scheme.end or months[-1].end_time.date()
    return first, last


class RegistryEntry(_Model):
    """One trial listed in registry.yaml: its id, folder and intervention type."""

    id: str = Field(
        description="Trial id (equals the id in trial.yaml and the folder name).",
        pattern=ID_PATTERN,
    )
    folder: str = Field(min_length=1, description="Folder of the trial, relative to registry.")
    intervention: InterventionType = Field(
        description="Intervention type (equals intervention.type in trial.yaml)."
    )

    @field_validator("folder")
    @classmethod
    def _relative(cls, v: str) -> str:
        if v.startswith("/") or re.search(r"(^|/)\.\.(/|$)", v):
            raise ValueError("folder must be relative and inside the registry")
        return v


class Registry(_Model):
    """``registry.yaml``: the list of trials."""

    name: str = Field(min_length=1, description="Partnership or programme name.")
    trials: list[RegistryEntry] = Field(description="The registered trials.", default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Registry:
        ids = [t.id for t in self.trials]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate trial ids: {', '.join(dup)}")
        return self
