"""Top-k accuracy and its 95 % confidence interval.

Small image sets make accuracy coarse (one image is 5 points of 20), so every figure is reported
with a Wilson score interval, which stays inside [0, 1] and behaves at 0 % and 100 %, unlike the
normal approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first; ties go to the lower index (stable and repeatable).

    Quantized outputs have many equal scores, so the tie rule must not depend on the sort algorithm.
    """
    scores = np.asarray(scores).reshape(-1)
    k = min(k, scores.size)
    order = np.argsort(-scores.astype(np.float64), kind="stable")
    return order[:k]


def in_top_k(scores: np.ndarray, label: int, k: int) -> bool:
    return bool(label in top_k(scores, k))


def wilson_interval(hits: int, total: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of the proportion hits/total, as fractions."""
    if total <= 0:
        return 0.0, 1.0
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class TopKCounter:
    """Counts top-1 and top-5 hits image by image."""

    total: int = 0
    top1: int = 0
    top5: int = 0

    def add(self, top5_indices: np.ndarray, label: int) -> None:
        self.total += 1
        self.top1 += int(top5_indices[0] == label)
        self.top5 += int(label in top5_indices[:5])

    def summary(self) -> dict:
        return accuracy_summary(self.top1, self.top5, self.total)


def accuracy_summary(top1: int, top5: int, total: int) -> dict:
    """Percentages with their 95 % Wilson intervals (percent, 2 decimals)."""
    low1, high1 = wilson_interval(top1, total)
    low5, high5 = wilson_interval(top5, total)
    pct = lambda value: round(100.0 * value, 2)  # noqa: E731
    return {
        "images": total,
        "top1_hits": top1,
        "top5_hits": top5,
        "top1": pct(top1 / total) if total else None,
        "top1_ci95": [pct(low1), pct(high1)],
        "top5": pct(top5 / total) if total else None,
        "top5_ci95": [pct(low5), pct(high5)],
    }


def agreement(first: list[int], second: list[int]) -> float:
    """Fraction of images where two runs give the same top-1 class."""
    if not first:
        return 0.0
    return sum(int(a == b) for a, b in zip(first, second)) / len(first)
