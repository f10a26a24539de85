"""What every benchmark here shares: timing with median/p95, and undoing its writes."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


class Rollback(Exception):
    """Raised at the end of a benchmark's transaction to undo everything it wrote."""


@dataclass
class Timing:
    label: str
    size: int
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]


def time_it(label: str, fn: Callable[[], int], reps: int, warmup: int = 3) -> Timing:
    size = 0
    for _ in range(warmup):
        size = fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        size = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return Timing(label, size, samples)
