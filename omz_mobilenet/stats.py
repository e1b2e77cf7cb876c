"""Statistics shared by verify and accuracy: the 95 % Wilson score interval of a proportion.

Small image sets make accuracy coarse (one image is 5 points of 20), so figures are reported with a
Wilson interval, which stays inside [0, 1] and behaves at 0 % and 100 %, unlike the normal
approximation. Pure math at the bottom of the layers: verify and accuracy are peers and import
neither each other nor anything above this for it.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson_interval(hits: int, total: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of the proportion hits/total, as fractions."""
    if total <= 0:
        return 0.0, 1.0
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
