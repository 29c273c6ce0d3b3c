"""triplet: the Triple-T Strategy of evidence-based policing (Sherman 2013).

Targeting ranks crime units by harm (:mod:`triplet.targeting`), testing assigns them fairly to
treatment and control (:mod:`triplet.testing`), and tracking estimates what the intervention
did (:mod:`triplet.tracking`). Trials are pre-registered in YAML (:mod:`triplet.registry`);
effect reports and the Board's "what works" page come from :mod:`triplet.reports`.

Reference: Sherman, L. W. (2013). The rise of evidence-based policing: targeting, testing, and
tracking. *Crime and Justice*, 42(1), 377-451.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("triplet")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
