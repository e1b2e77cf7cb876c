"""One rule for evidence: a result on too few evaluated images is never a pass.

accuracy, gate and sweep all ask here how many evaluated images a result needs and whether it has
them. Too few is INCOMPLETE (exit 3), shown as such in every table, JSON record and report; skipped
(undecodable) images never count as evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from omz_mobilenet.errors import UsageError

#: Status word of a result without enough evidence (tables, JSON, the results database).
INCOMPLETE = "incomplete"

#: Defaults of --min-images: any one image for `accuracy` and `sweep`, half of the set for `gate`.
DEFAULT_MIN_IMAGES = {"accuracy": "1", "sweep": "1", "gate": "50%"}


@dataclass(frozen=True)
class MinImages:
    """--min-images: a count (`200`) or a share of the image set (`50%`)."""

    count: Optional[int] = None
    percent: Optional[float] = None

    @classmethod
    def parse(cls, text: str, flag: str = "--min-images") -> MinImages:
        text = str(text).strip()
        try:
            if text.endswith("%"):
                percent = float(text[:-1])
                if not (math.isfinite(percent) and 0 < percent <= 100):
                    raise ValueError
                return cls(percent=percent)
            count = int(text)
            if count < 1:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise UsageError(
                f"{flag} takes a count of images of at least 1 (e.g. 200) or a share of the set "
                f"above 0 and at most 100% (e.g. 50%), not {text!r}"
            ) from None

    def required(self, set_size: int) -> int:
        """Evaluated images a result on a set of `set_size` images needs (never fewer than 1)."""
        if self.percent is not None:
            return max(1, math.ceil(set_size * self.percent / 100.0))
        return max(1, self.count or 1)

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


def shortfall(evaluated: int, skipped: int, set_size: int, minimum: MinImages) -> Optional[str]:
    """None when `evaluated` images are enough; otherwise the one-line reason the result is incomplete."""
    need = minimum.required(set_size)
    if evaluated >= need:
        return None
    skipped_note = f", {skipped} skipped as unreadable" if skipped else ""
    return (
        f"only {evaluated} of {set_size} images evaluated{skipped_note}; at least {need} needed "
        f"(--min-images {minimum})"
    )
