"""Paired statistics for verify: exact McNemar test, Newcombe interval of a paired difference, margins.

Pure Python (math only): the numbers here decide pass/fail, so they are small enough to check by
hand (tests/unit/test_mcnemar.py).

Vocabulary, for one labelled image set seen by both the original model and its IR:
  a = both right, b = original right and IR wrong, c = original wrong and IR right, d = both wrong.
Only the discordant images (b + c) carry information on which of the two is more accurate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omz_mobilenet.stats import Z95, wilson_interval


@dataclass(frozen=True)
class PairedCounts:
    both_right: int  # a
    original_only: int  # b: the IR lost these images
    ir_only: int  # c: the IR gained these images
    both_wrong: int  # d

    @property
    def total(self) -> int:
        return self.both_right + self.original_only + self.ir_only + self.both_wrong

    @property
    def original_hits(self) -> int:
        return self.both_right + self.original_only

    @property
    def ir_hits(self) -> int:
        return self.both_right + self.ir_only

    @property
    def loss(self) -> int:
        """Images the IR gets wrong more than the original (negative: the IR is better)."""
        return self.original_only - self.ir_only


def paired_counts(original_right: list[bool], ir_right: list[bool]) -> PairedCounts:
    if len(original_right) != len(ir_right):
        raise ValueError("paired_counts needs one verdict per image from each side")
    pairs = list(zip(original_right, ir_right, strict=True))
    return PairedCounts(
        both_right=sum(o and i for o, i in pairs),
        original_only=sum(o and not i for o, i in pairs),
        ir_only=sum(i and not o for o, i in pairs),
        both_wrong=sum(not o and not i for o, i in pairs),
    )


def binomial_upper_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), exactly (integer arithmetic, one division)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def mcnemar_worse_p(b: int, c: int) -> float:
    """Exact one-sided McNemar p-value that the IR is less accurate than the original.

    Under H0 (equal accuracy) each discordant image is equally likely to favour either side, so
    b ~ Binomial(b + c, 1/2); the p-value is P(B >= b). No discordant images: p = 1 (no evidence).
    """
    return binomial_upper_tail(b, b + c)


def newcombe_paired_interval(counts: PairedCounts, z: float = Z95) -> tuple[float, float]:
    """95 % interval of (IR accuracy - original accuracy), as fractions, for paired proportions.

    Newcombe's square-and-add interval (Statistics in Medicine 1998, 17:2635, method 10): Wilson
    intervals of the two marginal accuracies combined with their correlation phi, whose positive
    part is continuity-corrected by n/2 as in the paper. Unlike the Wald interval it stays inside
    [-1, 1] and does not collapse to a point when b = c = 0.
    """
    a, b, c, d, n = counts.both_right, counts.original_only, counts.ir_only, counts.both_wrong, counts.total
    if n == 0:
        return -1.0, 1.0
    p_ir, p_orig = counts.ir_hits / n, counts.original_hits / n
    low_ir, high_ir = wilson_interval(counts.ir_hits, n, z)
    low_orig, high_orig = wilson_interval(counts.original_hits, n, z)
    phi = _phi(a, b, c, d)
    theta = p_ir - p_orig
    below = math.sqrt(
        max(0.0, (p_ir - low_ir) ** 2 - 2 * phi * (p_ir - low_ir) * (high_orig - p_orig) + (high_orig - p_orig) ** 2)
    )
    above = math.sqrt(
        max(0.0, (high_ir - p_ir) ** 2 - 2 * phi * (high_ir - p_ir) * (p_orig - low_orig) + (p_orig - low_orig) ** 2)
    )
    return max(-1.0, theta - below), min(1.0, theta + above)


def _phi(a: int, b: int, c: int, d: int) -> float:
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if not margins:
        return 0.0
    cross, n = a * d - b * c, a + b + c + d
    if cross > n / 2:
        return (cross - n / 2) / math.sqrt(margins)
    return min(cross, 0) / math.sqrt(margins)  # 0 <= cross <= n/2 counts as no correlation


def min_count(fraction: float, total: int) -> int:
    """Smallest count whose share of `total` reaches `fraction` (guarding float noise like 0.97*100)."""
    return math.ceil(fraction * total - 1e-9)


def floor_margin(hits: int, total: int, fraction: float) -> int:
    """How many more images must flip before hits/total drops below `fraction` (0: already fails)."""
    return max(0, hits - min_count(fraction, total) + 1)


def fails_paired(b: int, c: int, alpha: float, max_loss: int) -> bool:
    """The IR is significantly worse (McNemar p < alpha) AND loses more than `max_loss` images."""
    return b - c > max_loss and mcnemar_worse_p(b, c) < alpha


def paired_margin(counts: PairedCounts, alpha: float, max_loss: int) -> int:
    """How many more images the IR must get wrong before `fails_paired` holds (0: it already does).

    A new IR error on an image both got right adds one to b; one on an image only the IR got right
    takes one from c. The worst case over both kinds is searched (at most a + c + 1 steps).
    """
    a, b, c = counts.both_right, counts.original_only, counts.ir_only
    for flips in range(0, a + c + 1):
        for from_c in range(0, min(flips, c) + 1):
            from_a = flips - from_c
            if from_a <= a and fails_paired(b + from_a, c - from_c, alpha, max_loss):
                return flips
    return a + c + 1  # even every right answer turned wrong would not fail (tiny sets)
