"""Pre-registered trials: ``registry.yaml`` and ``trials/<id>/trial.yaml``.

- :mod:`~triplet.registry.models`: the pydantic model of a registration (CONSORT, CrimPORT).
- :mod:`~triplet.registry.loading`: load with every problem reported as ``file:line: field``.
- :mod:`~triplet.registry.status`: the lifecycle draft -> ... -> analysed (forward only).
- :mod:`~triplet.registry.lock`: freeze the registration at assignment; deviations.
- :mod:`~triplet.registry.scaffold`: ``triplet new``; :mod:`~triplet.registry.schema`: JSON Schema.
"""

from triplet.registry.loading import (
    LoadedRegistry,
    RegistryCheck,
    TrialFile,
    check_registry,
    find_trial,
    load_registry,
    load_trial,
)
from triplet.registry.lock import Lock, check_lock, read_lock, registration_sha256, write_lock
from triplet.registry.models import Registry, Status, Trial
from triplet.registry.scaffold import new_trial
from triplet.registry.schema import trial_json_schema
from triplet.registry.status import set_status
from triplet.registry.validate import validate_registry, validate_trial

__all__ = [
    "LoadedRegistry",
    "Lock",
    "Registry",
    "RegistryCheck",
    "Status",
    "Trial",
    "TrialFile",
    "check_lock",
    "check_registry",
    "find_trial",
    "load_registry",
    "load_trial",
    "new_trial",
    "read_lock",
    "registration_sha256",
    "set_status",
    "trial_json_schema",
    "validate_registry",
    "validate_trial",
    "write_lock",
]
