"""The testing workflow: ``triplet assign`` (assign once, lock) and ``triplet design``.

``assign_trial`` loads and validates a registered trial, builds its unit table, runs the
registered method and then writes, in this order,

1. ``trials/<id>/assignment.csv`` (atomic: temporary file, fsync, rename);
2. ``trials/<id>/lock.json`` (atomic) with the registration hash, the assignment's SHA-256, the
   seed, numpy's version and bit generator, the method and the CONSORT flow;
3. ``status: assigned`` in trial.yaml (atomic).

A crash (even ``kill -9``) can only stop the run between these steps. Because the assignment
is a pure function of the registration, the data and the seed, a rerun recomputes it and
*resumes*: an ``assignment.csv`` without a lock is locked only if it is byte-for-byte the
assignment the registered procedure gives (otherwise the rerun refuses and says why); a lock
whose hashes match the assignment only needs the status. A trial whose status is past
``registered`` is never assigned again.

Only one ``triplet assign`` of a trial runs at a time: the run holds an exclusive ``flock`` on
the trial's folder from before it reads the status until the status is written; a second run
started meanwhile refuses at once and changes nothing (issue 10, defect 6).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError, OverwriteError, Problem, StateError
from triplet.io import jsonable, write_bytes, write_json
from triplet.registry.loading import TrialFile, find_trial
from triplet.registry.lock import check_lock, read_lock, write_lock
from triplet.registry.models import (
    AllocationRatio,
    Design,
    DesignMethod,
    Status,
    place_day_span,
)
from triplet.registry.status import set_status
from triplet.testing.assignment import Assignment, assign
from triplet.testing.balance import BalanceResult, balance
from triplet.testing.crossover import PlaceDayAssignment, PlaceDayRules, assign_place_days
from triplet.testing.diagnosis import Diagnosis, diagnose
from triplet.testing.units import UnitTable, unit_table

__all__ = [
    "AssignReport",
    "DesignReport",
    "PlaceDayAssignReport",
    "assign_place_day_trial",
    "assign_trial",
    "design_trial",
    "place_day_assignment",
]


@dataclass(frozen=True)
class AssignReport:
    """What ``triplet assign`` did (or, with ``dry_run``, would do)."""

    trial_id: str
    assignment: Assignment
    balance: BalanceResult
    units: UnitTable
    dry_run: bool
    written: list[Path] = field(default_factory=list)
    resumed: str | None = None
    power_check: dict[str, Any] | None = None  # triplet.testing.power_guard (issue 14)

    def summary(self) -> pd.DataFrame:
        """Arms per block."""
        return self.assignment.summary()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "trial": self.trial_id,
                "dry_run": self.dry_run,
                "assignment": self.assignment.to_dict(),
                "balance": self.balance.to_dict(),
                "flow": self.units.flow,
                "written": [str(p) for p in self.written],
                "resumed": self.resumed,
                "power_check": self.power_check,
            }
        )

    def plot(self, ax=None):
        """The love plot of the assignment's balance."""
        return self.balance.plot(ax=ax)


def _stale_temps(folder: Path) -> list[Path]:
    pats = (".assignment.csv.*.tmp", ".lock.json.*.tmp", ".trial.yaml.*.tmp")
    return [p for pat in pats for p in folder.glob(pat)]


@contextlib.contextmanager
def _exclusive(tf: TrialFile) -> Iterator[None]:
    """Hold an exclusive lock on the trial's folder, or refuse (StateError) if another process
    holds it. The kernel releases the lock when the process ends, even on ``kill -9``."""
    fd = os.open(tf.dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(
                f"trial {tf.id} is being assigned by another `triplet assign` right now; "
                "nothing was changed. Wait for it to finish, then check the trial's status"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _check_status(tf: TrialFile) -> None:
    status = tf.trial.status
    if status is Status.draft:
        raise StateError(
            f"trial {tf.id} is a draft: register it first (status: registered, with a "
            "registered date), then assign"
        )
    if status.order > Status.registered.order:
        raise StateError(
            f"trial {tf.id} is already {status.value}: a trial is assigned once; "
            f"its assignment is {tf.assignment_path}"
        )


def _balance_covariates(tf: TrialFile, units: pd.DataFrame) -> list[str]:
    d = tf.trial.design
    cov = list(d.balance.covariates)
    if d.matching is not None:
        cov += [c for c in d.matching.covariates if c not in cov]
    return [c for c in cov if c in units.columns]


def _lock_extra(a: Assignment, ut: UnitTable) -> dict[str, Any]:
    d = a.to_dict()
    return {
        "assignment_sha256": a.sha256(),
        "seed": a.seed,
        "numpy_version": a.numpy_version,
        "bit_generator": a.bit_generator,
        "method": a.method,
        "n_units": len(a.table),
        "n_treatment": a.n_treatment,
        "n_control": a.n_control,
        "probability_exact": a.probability_exact,
        "flow": ut.flow,
        "assignment_details": d["details"],
    }


def _write_locked(
    tf: TrialFile, data: bytes, extra: dict[str, Any]
) -> tuple[list[Path], str | None]:
    """Write ``assignment.csv`` (``data``), then ``lock.json`` (with ``extra``), then the
    status, resuming an interrupted run only when the files on disk are what the registered
    procedure gives (see the module docstring)."""
    for tmp in _stale_temps(tf.dir):  # left by a run killed mid-write
        tmp.unlink(missing_ok=True)
    sha = hashlib.sha256(data).hexdigest()
    apath, lpath = tf.assignment_path, tf.lock_path
    written: list[Path] = []
    resumed: str | None = None
    if lpath.exists():
        lock = read_lock(tf)
        problems = check_lock(tf)
        on_disk = apath.read_bytes() if apath.exists() else None
        if (
            problems
            or on_disk is None
            or lock.get("assignment_sha256") != sha
            or hashlib.sha256(on_disk).hexdigest() != sha
        ):
            raise StateError(
                f"trial {tf.id} already has {lpath.name} but its status is still registered and "
                "the lock does not match the assignment the registered procedure gives; an "
                "earlier run was interrupted or files were edited. Nothing was changed; compare "
                f"{apath} with lock.json (assignment_sha256) by hand"
            )
        resumed = "lock.json and assignment.csv were complete; only the status was missing"
    else:
        if apath.exists():
            if apath.read_bytes() != data:
                raise StateError(
                    f"{apath} exists but no lock.json: an earlier `triplet assign` was interrupted "
                    "before locking, and the file differs from the assignment the registered "
                    "procedure gives now (the data or the registration changed?). It was never "
                    "locked; move it aside and rerun"
                )
            resumed = "assignment.csv was complete (byte-identical); the lock was missing"
        else:
            write_bytes(apath, data)
            written.append(apath)
        write_lock(tf, **extra)
        written.append(lpath)
    set_status(tf, Status.assigned)
    written.append(tf.path)
    return written, resumed


def assign_trial(
    registry: str | Path,
    trial_id: str,
    *,
    dry_run: bool = False,
    require_power: bool = False,
    power_sims: int | None = None,
) -> AssignReport:
    """Assign the registered trial ``trial_id`` once (see the module docstring).

    The power guard (:mod:`triplet.testing.power_guard`) runs first: its result goes into the
    lock (``power_check``); with ``require_power`` an underpowered trial is refused before
    anything is written. ``power_sims=0`` skips the guard (recorded as skipped).
    """
    tf = find_trial(registry, trial_id)
    if dry_run:
        return _assign(tf, True, require_power, power_sims)
    with _exclusive(tf):
        tf = find_trial(registry, trial_id)  # the status as it is now that we hold the lock
        return _assign(tf, False, require_power, power_sims)


def _assign(
    tf: TrialFile, dry_run: bool, require_power: bool, power_sims: int | None
) -> AssignReport:
    from triplet.testing.power_guard import GUARD_SIMS, power_check

    _check_status(tf)
    if tf.trial.design.method is DesignMethod.place_day:
        return assign_place_day_trial(tf, dry_run=dry_run, require_power=require_power)
    ut = unit_table(tf)
    a = assign(ut.units, tf.trial.design)
    bal = balance(ut.units, a, _balance_covariates(tf, ut.units) or ["baseline_harm"])
    sims = GUARD_SIMS if power_sims is None else power_sims
    if sims > 0:
        pc = power_check(tf, ut, n_sims=sims).to_dict()
    else:
        pc = {"skipped": True, "reason": "power guard skipped (power_sims=0)"}
    if require_power and (pc.get("skipped") or pc.get("below_target")):
        raise StateError(
            f"trial {tf.id} refused by --require-power: "
            + (pc.get("warning") or pc.get("reason") or "power unknown")
            + " Nothing was written."
        )
    if dry_run:
        return AssignReport(tf.id, a, bal, ut, dry_run=True, power_check=pc)
    written, resumed = _write_locked(
        tf, a.to_csv_bytes(), {**_lock_extra(a, ut), "power_check": pc}
    )
    if resumed and tf.lock_path.exists():
        pc = read_lock(tf).get("power_check", pc)
    return AssignReport(
        tf.id, a, bal, ut, dry_run=False, written=written, resumed=resumed, power_check=pc
    )


# --------------------------------------------------------------------------------------------
# place-day (crossover) trials: units x days randomised day by day (docs/place-day.md)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceDayAssignReport:
    """What ``triplet assign`` did for a place-day trial: the unit x day (or shift) schedule."""

    trial_id: str
    assignment: PlaceDayAssignment
    units: UnitTable
    dry_run: bool
    written: list[Path] = field(default_factory=list)
    resumed: str | None = None
    power_check: dict[str, Any] | None = None

    def summary(self) -> pd.DataFrame:
        """Places, days and treated / washout / control place-days."""
        return self.assignment.summary()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "trial": self.trial_id,
                "dry_run": self.dry_run,
                "assignment": self.assignment.to_dict(),
                "flow": self.units.flow,
                "written": [str(p) for p in self.written],
                "resumed": self.resumed,
                "power_check": self.power_check,
            }
        )

    def plot(self, ax=None):
        """The schedule: places x days, treated and washout days coloured."""
        return self.assignment.plot(ax=ax)


def _place_day_problem(tf: TrialFile, message: str, name: str) -> InputError:
    return InputError(Problem(str(tf.path), message, field=f"design.place_day.{name}"))


def place_day_assignment(tf: TrialFile, ut: UnitTable) -> PlaceDayAssignment:
    """The registered schedule of a place-day trial: the eligible places (sorted ids) over the
    scheme's days (or day x shift slots, in order), drawn from the design seed. The table has
    ``unit, day[, shift], treated, washout``; it is a pure function of the registration and the
    eligible places, so it is reproduced exactly from the seed."""
    trial = tf.trial
    scheme = trial.design.place_day
    first, last = place_day_span(scheme, trial.periods)
    slots = scheme.slots(first, last)
    units = sorted(ut.units["unit"].astype(str))
    n = len(units)
    if not 1 <= scheme.treated_per_day < n:
        raise _place_day_problem(
            tf,
            f"treated_per_day is {scheme.treated_per_day} but {n} places are eligible: at most "
            "places - 1 can be treated a day",
            "treated_per_day",
        )
    if scheme.treated_per_day > scheme.capacity(n):
        raise _place_day_problem(
            tf,
            f"treated_per_day {scheme.treated_per_day} is more than the {n} eligible places can "
            f"give in the long run ({scheme.capacity(n):.1f} a day with these runs and washouts)",
            "treated_per_day",
        )
    rules = PlaceDayRules(scheme.treated_per_day, scheme.max_consecutive, scheme.washout_days)
    a = assign_place_days(units, slots, rules, seed=trial.design.seed)
    table = a.table
    if scheme.shifts:
        parts = table["day"].str.split("/", n=1, expand=True)
        table = table.assign(day=parts[0], shift=parts[1])
        table = table[["unit", "day", "shift", "treated", "washout"]]
    return PlaceDayAssignment(table=table.reset_index(drop=True), rules=rules, seed=a.seed)


def place_day_csv_bytes(a: PlaceDayAssignment) -> bytes:
    """``assignment.csv`` of a place-day trial: one row per place x day (x shift), 0/1 flags."""
    t = a.table.assign(
        treated=a.table["treated"].astype(int), washout=a.table["washout"].astype(int)
    )
    return t.to_csv(index=False, lineterminator="\n").encode("utf-8")


def assign_place_day_trial(
    tf: TrialFile, *, dry_run: bool = False, require_power: bool = False
) -> PlaceDayAssignReport:
    """Assign a place-day trial once: ``assignment.csv`` (the schedule), ``lock.json`` and the
    status, written and resumed exactly as for other designs (see the module docstring)."""
    _check_status(tf)
    pc = {
        "skipped": True,
        "reason": "no power guard for place-day designs yet (docs/place-day.md)",
    }
    if require_power:
        raise StateError(f"trial {tf.id} refused by --require-power: {pc['reason']}")
    ut = unit_table(tf)
    a = place_day_assignment(tf, ut)
    if dry_run:
        return PlaceDayAssignReport(tf.id, a, ut, dry_run=True, power_check=pc)
    data = place_day_csv_bytes(a)
    s = a.summary().iloc[0]
    extra = {
        "assignment_sha256": hashlib.sha256(data).hexdigest(),
        "seed": a.seed,
        "numpy_version": np.__version__,
        "bit_generator": "PCG64",
        "method": "place_day",
        "n_units": int(s["places"]),
        "n_days": int(a.table["day"].nunique()),
        "n_slots": int(len(a.table) // max(int(s["places"]), 1)),
        "n_treated_place_days": int(s["treated_place_days"]),
        "n_washout_place_days": int(s["washout_place_days"]),
        "n_control_place_days": int(s["control_place_days"]),
        "probability_exact": False,
        "flow": ut.flow,
        "assignment_details": a.to_dict(),
        "power_check": pc,
    }
    written, resumed = _write_locked(tf, data, extra)
    return PlaceDayAssignReport(
        tf.id, a, ut, dry_run=False, written=written, resumed=resumed, power_check=pc
    )


# --------------------------------------------------------------------------------------------
# triplet design
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignReport:
    """The diagnosis of a trial's design and the files written."""

    trial_id: str
    diagnosis: Diagnosis
    folder: Path
    written: list[Path] = field(default_factory=list)
    archived: Path | None = None

    def summary(self) -> pd.DataFrame:
        return self.diagnosis.summary()

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"trial": self.trial_id, **self.diagnosis.to_dict()})

    def plot(self, ax=None):
        return self.diagnosis.plot(ax=ax)


def _matched_sets_as_blocks(units: pd.DataFrame, design: Design) -> tuple[pd.DataFrame, Design]:
    """The matched units with their matched set as a block, and a block design treating one
    unit per set (the stand-in design used to diagnose a matched-control trial)."""
    a = assign(units, design)
    sets = a.table[a.table["pair"].notna()][["unit", "pair"]]
    if sets.empty:
        raise StateError(
            "no treated unit found a matched control within the caliper; nothing to diagnose "
            "(record a deviation to widen design.matching.caliper)"
        )
    matched = units.merge(sets.rename(columns={"pair": "matched_set"}), on="unit")
    k = design.matching.controls_per_treated
    stand_in = Design(
        method=DesignMethod.block,
        seed=design.seed,
        block_by="matched_set",
        allocation=AllocationRatio(treatment=1, control=k),
    )
    return matched, stand_in


def _archive(folder: Path) -> Path | None:
    files = [p for p in folder.iterdir() if p.name != "previous"] if folder.exists() else []
    if not files:
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = folder / "previous" / stamp
    dest.mkdir(parents=True, exist_ok=False)
    for p in files:
        shutil.move(str(p), dest / p.name)
    return dest


def design_trial(
    registry: str | Path,
    trial_id: str,
    *,
    n_sims: int = 1000,
    reduction: float | None = None,
    rerun: bool = False,
    progress: bool = False,
    write: bool = True,
    workers: int | None = None,
) -> DesignReport:
    """Diagnose the registered design of ``trial_id`` on its own baseline months and write
    ``trials/<id>/design/{diagnosis.json, diagnosis.csv, power_curve.png}``.

    ``reduction`` defaults to ``analysis.minimum_effect.reduction``. An earlier diagnosis is
    never overwritten: ``rerun=True`` moves it to ``design/previous/<timestamp>/`` first.
    """
    tf = find_trial(registry, trial_id)
    trial = tf.trial
    if trial.design.method is DesignMethod.place_day:
        raise StateError(
            f"trial {tf.id} is a place-day trial: `triplet design` does not diagnose place-day "
            "designs yet (docs/place-day.md); its randomisation inference re-draws the scheme"
        )
    folder = tf.dir / "design"
    existing = [p for p in folder.iterdir() if p.name != "previous"] if folder.exists() else []
    if existing and write and not rerun:
        raise OverwriteError(
            f"{folder} already holds a diagnosis ({', '.join(sorted(p.name for p in existing))});"
            " pass --rerun to archive it under design/previous/ and diagnose again"
        )
    red = trial.analysis.minimum_effect.reduction if reduction is None else reduction
    ut = unit_table(tf)
    units, design, label, note = ut.units, trial.design, None, None
    if design.method is DesignMethod.matched_control:
        units, design = _matched_sets_as_blocks(ut.units, design)
        label = "matched_control (as if randomised within matched sets)"
        note = (
            "Matched controls are not randomised. This diagnosis treats each matched set as a "
            "block randomised with one treated unit, so it measures the precision of the "
            "matched comparison only; bias from how the treated units were chosen is not "
            "diagnosed and cannot be by simulation on these data."
        )
    baseline = ut.baseline[ut.baseline["unit"].isin(set(units["unit"]))]
    diag = diagnose(
        baseline,
        units,
        design,
        outcome=trial.outcomes.primary.measure,
        reduction=red,
        n_sims=n_sims,
        alpha=trial.analysis.alpha,
        target=trial.power.target,
        progress=progress,
        workers=workers,
        label=label,
        note=note,
    )
    if not write:
        return DesignReport(tf.id, diag, folder)
    archived = _archive(folder) if rerun else None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    diag.plot(ax=ax)
    fig.tight_layout()
    png = folder / "power_curve.png"
    folder.mkdir(parents=True, exist_ok=True)
    import io as _io

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    written = [
        write_json(
            folder / "diagnosis.json",
            {
                "trial": tf.id,
                "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "numpy_version": np.__version__,
                "synthetic": any(s.uri.startswith("example://") for s in trial.data_sources),
                **diag.to_dict(),
            },
        ),
        write_bytes(folder / "diagnosis.csv", diag.table.to_csv(index=False).encode("utf-8")),
        write_bytes(png, buf.getvalue()),
    ]
    return DesignReport(tf.id, diag, folder, written=written, archived=archived)
