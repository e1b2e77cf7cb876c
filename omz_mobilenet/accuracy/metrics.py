"""Top-k accuracy, its 95 % confidence interval, and the rule for tied scores.

Small image sets make accuracy coarse (one image is 5 points of 20), so every figure is reported
with a Wilson score interval, which stays inside [0, 1] and behaves at 0 % and 100 %, unlike the
normal approximation.

Tie rule. Quantized models output a few hundred distinct scores, so several classes often share
the top score (250 and 1,012 of 1,300 images on two models, FACTS section 7), and which of them is
"the" prediction decides Top-1 on those images. Two rules, chosen by `--crop-rule`:
- tf (default): classes are ranked by score, ties broken by the LOWER class index (a stable sort),
  so the result never depends on the sort algorithm or numpy version. Top-1 is the first class,
  Top-5 the first five.
- accuracy-checker: exactly accuracy_checker's rule, `np.argpartition(scores, -k)[-k:]` separately
  for k=1 and k=5, a hit when the label is among those k indices. Which tied class wins is up to
  numpy's introselect (deterministic for the same scores and numpy), and the Top-1 class need not
  be in the Top-5 set when more than five classes tie.
Every accuracy row also counts `tied_top1`: the images whose top score is shared by more than one
class, i.e. the images on which the tie rule can change Top-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

# The interval lives in omz_mobilenet/stats.py (verify uses it too); re-exported for accuracy's callers.
from omz_mobilenet.stats import Z95 as Z95
from omz_mobilenet.stats import wilson_interval as wilson_interval

TIE_RULES = ("tf", "accuracy-checker")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first; ties go to the lower index (stable and repeatable).

    Quantized outputs have many equal scores, so the tie rule must not depend on the sort algorithm.
    """
    scores = np.asarray(scores).reshape(-1)
    k = min(k, scores.size)
    order = np.argsort(-scores.astype(np.float64), kind="stable")
    return order[:k]


def argpartition_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """accuracy_checker's top-k set, `np.argpartition(scores, -k)[-k:]` on the raw scores (not sorted).

    Called on the same array (dtype and values) it returns the same indices as accuracy_checker.
    """
    scores = np.asarray(scores).reshape(-1)
    k = min(k, scores.size)
    return np.argpartition(scores, -k)[-k:]


@dataclass(frozen=True)
class Ranked:
    """One image's prediction under a tie rule: the Top-1 class and the Top-5 classes (best first)."""

    top1: int
    top5: list[int]
    tied_top1: bool  # the top score is shared by more than one class


def rank(scores: np.ndarray, tie_rule: str = "tf") -> Ranked:
    scores = np.asarray(scores).reshape(-1)
    stable = top_k(scores, 5)
    tied = scores.size > 1 and int(np.count_nonzero(scores == scores[stable[0]])) > 1
    if tie_rule == "tf":
        return Ranked(int(stable[0]), [int(i) for i in stable], bool(tied))
    if tie_rule == "accuracy-checker":
        chosen = argpartition_top_k(scores, 5)
        # best first for display; the set is accuracy_checker's, the order does not change a hit
        ordered = sorted((int(i) for i in chosen), key=lambda i: (-float(scores[i]), i))
        return Ranked(int(argpartition_top_k(scores, 1)[0]), ordered, bool(tied))
    raise ValueError(f"unknown tie rule {tie_rule!r}; use one of {', '.join(TIE_RULES)}")


def in_top_k(scores: np.ndarray, label: int, k: int) -> bool:
    return bool(label in top_k(scores, k))


@dataclass
class TopKCounter:
    """Counts top-1 and top-5 hits (and images with a tied top score) image by image."""

    total: int = 0
    top1: int = 0
    top5: int = 0
    tied_top1: int = 0

    def add(self, top5_indices: np.ndarray, label: int, top1: Optional[int] = None, tied: bool = False) -> None:
        """top1 defaults to top5_indices[0]; accuracy_checker's rule can pick a Top-1 outside the Top-5 set."""
        self.total += 1
        self.top1 += int((top5_indices[0] if top1 is None else top1) == label)
        self.top5 += int(label in top5_indices[:5])
        self.tied_top1 += int(tied)

    def summary(self) -> dict:
        summary = accuracy_summary(self.top1, self.top5, self.total)
        summary["tied_top1"] = self.tied_top1
        return summary


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
    return sum(int(a == b) for a, b in zip(first, second, strict=False)) / len(first)
