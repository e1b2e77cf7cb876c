"""INT8-RQ judged against the original: a requantized IR (convert/requantize.py) and the original
file in its own runtime (LiteRT/ONNX Runtime) on the same held-out images, the catalogue's own crop
for both; the gate's INT8 rule (`judge.accepts_paired`: at most INT8_MAX_DROP points plus one image of
Top-1 lost).

It lives here, above convert, because judging needs the accuracy pipeline: convert writes the IR and
never imports accuracy. `gate --precision INT8-RQ` applies the same rule to whole image sets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from omz_mobilenet.accuracy.judge import accepts_paired, int8_tolerance
from omz_mobilenet.accuracy.options import Options
from omz_mobilenet.accuracy.runners import compile_for_accuracy, run_ir, run_original
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet
from omz_mobilenet.precision import REQUANTIZED


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

    @property
    def status(self) -> str:
        return "PASSED" if self.passed else "FAILED"

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "status": self.status,
            "rule": "Top-1 within 1 point + 1 image of the original in its own runtime, same images",
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
    entry: ModelEntry, precision: str, image_set_name: str, ours: tuple[int, int], original: tuple[int, int, str]
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
        pct(ref - int8_tolerance(total)),
        accepts_paired(hits, ref, total),  # the gate's INT8 rule, the original as the base
    )


def judge_requantized(
    entry: ModelEntry,
    xml: Path,
    image_set: ImageSet,
    original_path: Path,
    device: str = "CPU",
    precision: str = REQUANTIZED,
) -> RequantJudgement:
    """Run the IR and the original on the same images (the catalogue's own crop for both) and apply the rule."""
    return judgement(
        entry,
        precision,
        image_set.name,
        ir_top1(entry, xml, image_set, device),
        original_top1(entry, original_path, image_set),
    )
