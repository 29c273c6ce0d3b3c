"""Reports: the per-trial effect report and the Board's "what works" page (see docs/reports.md).

- :func:`build_effect_report` runs ``notebooks/effect_report.ipynb`` for one trial and writes
  self-contained HTML (``trials/<id>/reports/effect_report.html``);
- :func:`build_board` writes the Board page across the registry (optionally a PDF);
- :mod:`.verdict` (verdict rules, Maryland SMS), :mod:`.disclosure` (suppression, identifier
  scan), :mod:`.forest` (forest plot), :mod:`.notebooks` (parameterised notebook runner).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_board", "build_effect_report"]


def __getattr__(name: str) -> Any:  # lazy: importing triplet.reports stays cheap
    if name == "build_board":
        from triplet.reports.board import build_board

        return build_board
    if name == "build_effect_report":
        from triplet.reports.effect_report import build_effect_report

        return build_effect_report
    raise AttributeError(f"module 'triplet.reports' has no attribute {name!r}")
