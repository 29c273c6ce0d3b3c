"""One shape for every estimator's result: the effect-estimate protocol (issue 15, item 3).

Every estimator of an effect (:func:`~triplet.tracking.did.did`,
:func:`~triplet.tracking.count_models.count_did`, :func:`~triplet.tracking.event_study.event_study`,
:func:`~triplet.tracking.staggered.staggered_did`,
:func:`~triplet.tracking.inference.randomisation_inference`,
:func:`~triplet.tracking.blocked.block_att`) returns a frozen dataclass that implements
:class:`EffectEstimate`:

* ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value`` - the effect on the estimator's own
  scale (outcome units per unit-month for additive models, the log rate ratio for count
  models), its standard error and ``(1 - alpha)`` interval; ``df`` the degrees of freedom of
  the reference distribution (None: normal, or none for randomisation inference);
* ``n_obs``, ``n_units``, ``n_clusters`` (None where the estimator has no clusters);
* ``percent`` - a :class:`~triplet.tracking.percent.PercentChange`, always from a ratio scale
  (:mod:`triplet.tracking.percent`: it never falls below -100%);
* ``notes`` - one sentence on how it was estimated;
* ``summary()`` (a tidy DataFrame), ``plot(ax=None)`` (draws on ``ax`` or a new one and
  returns the axes drawn on) and ``to_dict()`` (JSON values through :func:`triplet.io.jsonable`:
  NaN and infinities become None).

:func:`effect_fields` reads the protocol into the fields of one ``<analysis>`` record of
``results.json``; the track workflow builds every estimator's record with it
(:mod:`triplet.tracking.workflow`), so a record never has to be assembled by hand.
tests/test_architecture.py checks that each result class implements the protocol.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from triplet.io import jsonable
from triplet.tracking.percent import PercentChange

__all__ = ["PROTOCOL_FIELDS", "EffectEstimate", "effect_fields"]

#: the fields every effect estimate has, in the order of a results.json ``<analysis>``
PROTOCOL_FIELDS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "df",
    "n_obs",
    "n_units",
    "n_clusters",
    "notes",
)


@runtime_checkable
class EffectEstimate(Protocol):
    """What every estimator result offers (see the module docstring)."""

    @property
    def estimate(self) -> float: ...

    @property
    def se(self) -> float: ...

    @property
    def ci_low(self) -> float: ...

    @property
    def ci_high(self) -> float: ...

    @property
    def p_value(self) -> float: ...

    @property
    def df(self) -> float | None: ...

    @property
    def n_obs(self) -> int: ...

    @property
    def n_units(self) -> int: ...

    @property
    def n_clusters(self) -> int | None: ...

    @property
    def percent(self) -> PercentChange: ...

    @property
    def notes(self) -> str: ...

    def summary(self) -> Any: ...

    def plot(self, ax=None) -> Any: ...

    def to_dict(self) -> dict[str, Any]: ...


def effect_fields(result: EffectEstimate) -> dict[str, Any]:
    """The protocol's fields as JSON values: estimate ... n_clusters, the per cent change and
    its interval (with the log ratio for pooling), then ``notes``."""
    out = {k: getattr(result, k) for k in PROTOCOL_FIELDS if k != "notes"}
    out.update(result.percent.to_dict())
    out["notes"] = result.notes
    return jsonable(out)
