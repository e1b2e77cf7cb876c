"""Latency statistics of a run: median, mean, min, max and percentiles, in milliseconds.

Pure numpy so it is testable without OpenVINO. Percentiles use linear interpolation between
the closest ranks (numpy's default), so p50 of [1, 2, 3, 4] is 2.5, not benchmark_app's 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from omz_mobilenet.errors import ToolError


@dataclass(frozen=True)
class LatencyStats:
    count: int
    median_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    p90_ms: float
    p99_ms: float


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        raise ToolError("no latency samples were recorded; run longer (--time/--niter)")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    return float(np.percentile(values, q))


def summarize(samples_ms: Sequence[float]) -> LatencyStats:
    values = np.asarray(samples_ms, dtype=np.float64)
    if values.size == 0:
        raise ToolError("no latency samples were recorded; run longer (--time/--niter)")
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return LatencyStats(
        count=int(values.size),
        median_ms=float(p50),
        mean_ms=float(values.mean()),
        min_ms=float(values.min()),
        max_ms=float(values.max()),
        p90_ms=float(p90),
        p99_ms=float(p99),
    )


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is not positive."""
    return float(numerator / denominator) if denominator > 0 else None
