"""What an accuracy run produces: per-image predictions, a run's result, one evaluation, its record.

`Prediction` (one image), `RunResult` (one runtime over one image set), `Evaluation` (a model,
precision, device and image set: the IR's run and, with --original, the original's) and
`AccuracyRecord` (the flat record tables, JSON and CSV print). The record's `status` says whether
the result has evidence enough (accuracy/evidence.py): `ok`, `incomplete` (too few evaluated images,
never a pass) or `interrupted`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.accuracy.evidence import INCOMPLETE, MinImages, shortfall
from omz_mobilenet.accuracy.metrics import TopKCounter, agreement
from omz_mobilenet.inputs.dataset import BIASED_SETS, ImageSet, relative_name

OK, INTERRUPTED = "ok", "interrupted"


@dataclass
class Prediction:
    image: Path
    label: int  # in the model's label space
    top5: list[int]  # best first
    scores: list[float]  # of top5
    top1: int = -1  # the Top-1 class under the tie rule; -1: top5[0]
    tied_top1: bool = False  # the top score is shared by more than one class

    def __post_init__(self) -> None:
        if self.top1 < 0:
            self.top1 = self.top5[0]


@dataclass
class RunResult:
    runtime: str
    predictions: list[Prediction] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    partial: bool = False

    def summary(self) -> dict:
        counter = TopKCounter()
        for p in self.predictions:
            counter.add(np.asarray(p.top5), p.label, p.top1, p.tied_top1)
        return counter.summary()

    @property
    def images_per_second(self) -> float:
        return len(self.predictions) / self.seconds if self.seconds > 0 else 0.0


class Interrupted(KeyboardInterrupt):
    """Ctrl-C: carries the evaluations finished so far (the last one marked partial). A caller that
    does not report them still ends as an interrupt (exit 130)."""

    def __init__(self, evaluations: list) -> None:
        super().__init__("interrupted")
        self.evaluations = evaluations


@dataclass
class AccuracyRecord:
    """One accuracy result with the facts behind it: the image set, hits and intervals, ties, the
    crop rule, the runtime, how many images were skipped and whether that leaves evidence enough,
    and (with --original) the original's numbers on the same images."""

    model: str
    precision: str
    device: str
    image_set: str
    status: str  # ok | incomplete | interrupted
    images: int  # evaluated
    skipped: int  # unreadable or unlabelled images of the set, never evaluated
    min_images: int  # evaluated images needed (--min-images)
    top1_hits: int
    top5_hits: int
    top1: Optional[float]
    top1_ci95: list[float]
    top5: Optional[float]
    top5_ci95: list[float]
    tied_top1: int
    images_per_s: float
    runtime: str
    crop_rule: str
    reason: Optional[str] = None  # why the status is not ok
    partial: Optional[str] = None
    original_runtime: Optional[str] = None
    original_top1: Optional[float] = None
    original_top5: Optional[float] = None
    top1_agreement: Optional[float] = None
    calibration_overlap: Optional[int] = None
    note: Optional[str] = None
    ir_folder: Optional[str] = None  # the IR folder measured (INT8 of an INT8 source: INT8-RQ; INT8-ASIS: FP32)
    xml: Optional[str] = None  # the IR's .xml, as bench records it

    def as_dict(self) -> dict:
        """Optional facts appear only when they apply (as the table and CSV columns expect)."""
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("top1", "top5")}


@dataclass
class Evaluation:
    """One (model, precision, device, image set): the IR's result and, with --original, the original's."""

    model: str
    precision: str
    device: str
    image_set: ImageSet
    ir: RunResult
    original: Optional[RunResult] = None
    calibration_overlap: int = 0
    crop_rule: str = "tf"
    min_images: MinImages = field(default_factory=lambda: MinImages(count=1))
    xml: Optional[Path] = None  # the IR evaluated

    @property
    def set_size(self) -> int:
        """Images of the set asked for, readable or not (unlabelled ones found at loading included)."""
        return len(self.image_set.items) + len(self.image_set.problems)

    @property
    def skipped(self) -> int:
        return len(self.ir.skipped) + len(self.image_set.problems)

    def shortfall(self) -> Optional[str]:
        """None when enough images were evaluated, else the reason the result is incomplete."""
        return shortfall(len(self.ir.predictions), self.skipped, self.set_size, self.min_images)

    def record(self) -> AccuracyRecord:
        summary = self.ir.summary()
        record = AccuracyRecord(
            model=self.model,
            precision=self.precision,
            device=self.device,
            image_set=self.image_set.name,
            status=OK,
            images=summary["images"],
            skipped=self.skipped,
            min_images=self.min_images.required(self.set_size),
            top1_hits=summary["top1_hits"],
            top5_hits=summary["top5_hits"],
            top1=summary["top1"],
            top1_ci95=summary["top1_ci95"],
            top5=summary["top5"],
            top5_ci95=summary["top5_ci95"],
            tied_top1=summary["tied_top1"],
            images_per_s=round(self.ir.images_per_second, 1),
            runtime=self.ir.runtime,
            crop_rule=self.crop_rule,
        )
        if self.xml is not None:
            record.ir_folder, record.xml = self.xml.parent.name, str(self.xml)
        self._add_status(record)
        self._add_original(record)
        notes = [biased_note(self.image_set.name) or ""]
        if self.calibration_overlap:
            record.calibration_overlap = self.calibration_overlap
            notes.append(f"--allow-overlap: {self.calibration_overlap} of these images calibrated this INT8 IR")
        record.note = "; ".join(n for n in notes if n) or None
        return record

    def _add_status(self, record: AccuracyRecord) -> None:
        if self.ir.partial:
            record.status = INTERRUPTED
            record.partial = f"interrupted after {len(self.ir.predictions)} of {len(self.image_set.items)} images"
            record.reason = record.partial
            return
        reason = self.shortfall()
        if reason is not None:
            record.status, record.reason = INCOMPLETE, reason

    def _add_original(self, record: AccuracyRecord) -> None:
        if self.original is None:
            return
        original = self.original.summary()
        record.original_runtime = self.original.runtime
        record.original_top1, record.original_top5 = original["top1"], original["top5"]
        record.top1_agreement = round(100.0 * agreement(_top1s(self.ir), _top1s(self.original, self.ir)), 2)

    def row(self) -> dict:
        return self.record().as_dict()


def _top1s(run: RunResult, align: Optional[RunResult] = None) -> list[int]:
    """Top-1 per image, in the image order of `align` (runs may skip different images)."""
    by_image = {p.image: p.top1 for p in run.predictions}
    order = align.predictions if align is not None else run.predictions
    return [by_image.get(p.image, -1) for p in order]


def biased_note(image_set: str) -> Optional[str]:
    return BIASED_SETS.get(image_set)


def prediction_rows(evaluation: Evaluation) -> list[dict]:
    """One row per image and runtime: label, top-5 with scores, and whether Top-1/Top-5 hit."""
    rows = []
    runs = [("ir", evaluation.ir)] + ([("original", evaluation.original)] if evaluation.original else [])
    for source, run in runs:
        for p in run.predictions:
            rows.append(
                {
                    "model": evaluation.model,
                    "precision": evaluation.precision,
                    "device": evaluation.device,
                    "image_set": evaluation.image_set.name,
                    "runtime": source,
                    "image": relative_name(p.image, evaluation.image_set.folder),
                    "label": p.label,
                    "top5": p.top5,
                    "scores": [round(s, 6) for s in p.scores],
                    "top1": p.top1,
                    "tied_top1": p.tied_top1,
                    "top1_correct": p.top1 == p.label,
                    "top5_correct": p.label in p.top5,
                }
            )
    return rows
