"""Shared pieces of the benchmarks: a result record, a timer and a peak-memory probe.

Benchmarks report ratios against a baseline run in the same process (never absolute times in
tests); targets are in ``../shared/TARGETS.md``.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BenchResult:
    """One benchmark line: what ran, its time, its baseline and the target it answers to."""

    name: str
    seconds: float
    baseline_name: str | None = None
    baseline_seconds: float | None = None
    target: str = ""
    met: bool | None = None
    extra: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_seconds:
            return self.seconds / self.baseline_seconds
        return None


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time over ``repeat`` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_memory_mb(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Peak Python-allocated memory (MB, tracemalloc; numpy/pandas buffers included) of ``fn``."""
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6, out
