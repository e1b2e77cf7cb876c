"""Latency statistics of a run: median, mean, min, max and percentiles, in milliseconds.

Pure numpy so it is testable without OpenVINO. Percentiles use linear interpolation between
the closest ranks (numpy's default), so p50 of [1, 2, 3, 4] is 2.5, not benchmark_app's 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    p95_ms: float
    p99_ms: float
    p999_ms: float
    quantiles_ms: list[float]  # q = 0..100 in steps of 1


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
    p50, p90, p95, p99, p999 = np.percentile(values, [50, 90, 95, 99, 99.9])
    return LatencyStats(
        count=int(values.size),
        median_ms=float(p50),
        mean_ms=float(values.mean()),
        min_ms=float(values.min()),
        max_ms=float(values.max()),
        p90_ms=float(p90),
        p95_ms=float(p95),
        p99_ms=float(p99),
        p999_ms=float(p999),
        quantiles_ms=[round(float(v), 4) for v in np.percentile(values, np.arange(101))],
    )


NOISY_SPREAD = 0.10  # (max - min) / median of round medians above this marks a result noisy


@dataclass(frozen=True)
class RoundSummary:
    medians_ms: list[float]
    fps: list[float]
    median_ms: float  # the median of the round medians
    median_fps: float
    spread: float
    noisy: bool


def round_summary(round_latencies_ms: Sequence[Sequence[float]], round_fps: Sequence[float]) -> RoundSummary:
    """Across alternating rounds: the median of per-round medians, and their spread."""
    medians = [median(r) for r in round_latencies_ms]
    if not medians:
        raise ToolError("no latency samples were recorded; run longer (--time/--niter)")
    middle = float(np.median(medians))
    spread = (max(medians) - min(medians)) / middle if middle > 0 else 0.0
    return RoundSummary(
        medians_ms=[round(m, 4) for m in medians],
        fps=[round(f, 2) for f in round_fps],
        median_ms=middle,
        median_fps=float(np.median(round_fps)) if len(round_fps) else 0.0,
        spread=round(spread, 4),
        noisy=spread > NOISY_SPREAD,
    )


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is not positive."""
    return float(numerator / denominator) if denominator > 0 else None
