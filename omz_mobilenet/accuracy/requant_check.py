"""INT8-RQ judged against the original: a requantized IR (convert/requantize.py) and the original
file in its own runtime (LiteRT/ONNX Runtime) on the same held-out images, the catalogue's own crop
for both. The rule: Top-1 may drop at most REQUANT_MAX_DROP (0.5) points on the
evaluation split, and at most UNSEEN_MAX_DROP (1) point on images never used for calibration or choice
(`RequantRule(max_drop=UNSEEN_MAX_DROP)` for those). No image slack: on 100 images 0.5 points is no image lost.
An evaluation set that shares an image with the IR's calibration or margin-validation images is refused
(exit 2), as `accuracy` refuses it.

It lives here, above convert, because judging needs the accuracy pipeline: convert writes the IR and
never imports accuracy. `gate --precision INT8-RQ` applies the same rule to whole image sets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from omz_mobilenet.accuracy.options import Options
from omz_mobilenet.accuracy.runners import compile_for_accuracy, run_ir, run_original
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet
from omz_mobilenet.precision import REQUANTIZED

REQUANT_MAX_DROP = 0.5  # Top-1 points vs the original on the evaluation split
UNSEEN_MAX_DROP = 1.0  # Top-1 points vs the original on images never used for calibration or choice


@dataclass
class RequantJudgement:
    model: str
    precision: str
    image_set: str
    images: int
    top1: float  # percent, the requantized IR
    original_top1: float  # percent, the original file in its own runtime
    original_runtime: str
    minimum_top1: float  # percent the IR needed
    passed: bool
    max_drop: float = REQUANT_MAX_DROP  # points

    @property
    def status(self) -> str:
        return "PASSED" if self.passed else "FAILED"

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "status": self.status,
            "rule": f"Top-1 within {self.max_drop:g} points of the original in its own runtime, same images",
        }


def ir_top1(entry: ModelEntry, xml: Path, image_set: ImageSet, device: str = "CPU") -> tuple[int, int]:
    """(Top-1 hits, images) of an IR at f32 on the image set, the catalogue's crop."""
    result = run_ir(
        compile_for_accuracy(xml, device, 1, entry.name),
        entry,
        image_set,
        Options(device=device, progress=False),
        lambda _n: None,
    )
    return result.summary()["top1_hits"], len(result.predictions)


def original_top1(entry: ModelEntry, original_path: Path, image_set: ImageSet) -> tuple[int, int, str]:
    """(Top-1 hits, images, runtime) of the original file in its own runtime on the same pixels."""
    result = run_original(entry, original_path, image_set, Options(progress=False), lambda _n: None)
    return result.summary()["top1_hits"], len(result.predictions), result.runtime


def judgement(
    entry: ModelEntry,
    precision: str,
    image_set_name: str,
    ours: tuple[int, int],
    original: tuple[int, int, str],
    max_drop: float = REQUANT_MAX_DROP,
) -> RequantJudgement:
    hits, total = ours
    ref, ref_total, runtime = original
    if total == 0 or total != ref_total:
        raise ToolError(
            f"{image_set_name}: the IR and the original did not see the same images ({total} vs {ref_total})", 2
        )

    def pct(n: int) -> float:
        return round(100.0 * n / total, 2)

    return RequantJudgement(
        entry.name,
        precision,
        image_set_name,
        total,
        pct(hits),
        pct(ref),
        runtime,
        round(pct(ref) - max_drop, 2),
        100 * hits >= 100 * ref - max_drop * total,  # in whole numbers: no rounding decides a verdict
        max_drop,
    )


@dataclass(frozen=True)
class RequantRule:
    """How to judge: the device the IR runs on, the name in the verdict, the Top-1 points it may lose."""

    device: str = "CPU"
    precision: str = REQUANTIZED
    max_drop: float = REQUANT_MAX_DROP


def judge_requantized(
    entry: ModelEntry, xml: Path, image_set: ImageSet, original_path: Path, rule: RequantRule = RequantRule()
) -> RequantJudgement:
    """Run the IR and the original on the same images (the catalogue's own crop for both) and apply the rule."""
    refuse_seen(xml, image_set)
    return judgement(
        entry,
        rule.precision,
        image_set.name,
        ir_top1(entry, xml, image_set, rule.device),
        original_top1(entry, original_path, image_set),
        rule.max_drop,
    )


def refuse_seen(xml: Path, image_set: ImageSet) -> None:
    """Exit 2 when the judged images calibrated the IR or chose what it keeps in float (the margin's validation)."""
    from omz_mobilenet.convert.calibration import overlapping, read_record

    record = read_record(xml)
    shared = overlapping(record, [path for path, _label in image_set.items]) if record else []
    if shared:
        raise ToolError(
            f"{image_set.name}: {len(shared)} image(s) (e.g. {shared[0].name}) calibrated {xml.name} or chose what "
            "it keeps in float; judge it on images it never saw",
            2,
        )
