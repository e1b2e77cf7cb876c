"""The accuracy pipeline: decode images in a thread pool while OpenVINO's AsyncInferQueue infers.

Decoding (OpenCV releases the GIL) and inference overlap, so on 2 cores the CPU is never idle
waiting for JPEGs. The same decoded pixels (the model's crop/resize, BGR u8) feed the IR, whose
mean/scale/channel order are baked in; nothing is normalised here. `--original` runs the model
file in its own runtime on the same images, converted with the catalogue's own normalisation.

`Options.crop_rule` picks the central crop AND the top-k tie rule together: "tf" (default; TF's
central_crop, how the TF-slim numbers were produced, ties to the lower class index) or
"accuracy-checker" (its int(f*h) crop and `np.argpartition` top-k, so that both tools give the same
per-image predictions). See inputs/images.py and accuracy/metrics.py.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.accuracy.metrics import TopKCounter, agreement, rank
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet, to_model_label
from omz_mobilenet.inputs.images import ir_input, load_for_model, original_input
from omz_mobilenet.precision import DEFAULT_INFER_PRECISION, is_int8

DECODE_WORKERS = 2
LOOKAHEAD = 16  # decoded images waiting for inference; bounds memory, keeps the queue fed
# Some CPUs default to bf16 (FACTS 3); a result called FP32/FP16 computes in f32 and says so.
INFER_PRECISION = DEFAULT_INFER_PRECISION


@dataclass(frozen=True)
class Options:
    device: str = "CPU"
    batch: int = 1
    skip_bad: bool = False
    progress: bool = True
    decode_workers: int = DECODE_WORKERS
    allow_overlap: bool = False
    crop_rule: str = "tf"  # "tf" or "accuracy-checker": the crop and the top-k tie rule (module docstring)
    # How an image becomes the model's pixels; a sweep passes a cache so each image is decoded and
    # cropped once per geometry for all the precisions and devices that share it.
    loader: Callable[[Path, ModelEntry, str], np.ndarray] = load_for_model


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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C: carries the evaluations finished so far (the last one marked partial). A caller that
    does not report them still ends as an interrupt (exit 130)."""

    def __init__(self, evaluations: list) -> None:
        super().__init__("interrupted")
        self.evaluations = evaluations


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


def decoded(
    items: list[tuple[Path, int]], entry: ModelEntry, options: Options
) -> Iterator[tuple[int, Optional[np.ndarray], Optional[str]]]:
    """(index, pixels or None, problem or None) in order; decoding runs ahead in a thread pool.

    A bad image (missing, corrupt, truncated) stops the run unless --skip-bad-images is given.
    """
    import cv2

    # The pool already decodes images in parallel; OpenCV's own threads inside each resize would
    # oversubscribe the cores OpenVINO's streams use (measured slower on 2 cores). Restored after.
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield from _decoded(items, entry, options)
    finally:
        cv2.setNumThreads(previous)


def _decoded(
    items: list[tuple[Path, int]], entry: ModelEntry, options: Options
) -> Iterator[tuple[int, Optional[np.ndarray], Optional[str]]]:
    with ThreadPoolExecutor(max(1, options.decode_workers), thread_name_prefix="decode") as pool:
        pending: deque = deque()
        upcoming = iter(enumerate(items))
        for index, (path, _label) in upcoming:
            pending.append((index, pool.submit(options.loader, path, entry, options.crop_rule)))
            if len(pending) >= LOOKAHEAD:
                break
        while pending:
            index, future = pending.popleft()
            for next_index, (path, _label) in upcoming:
                pending.append((next_index, pool.submit(options.loader, path, entry, options.crop_rule)))
                break
            try:
                yield index, future.result(), None
            except ToolError as exc:
                if not options.skip_bad:
                    raise ToolError(f"{exc.message}; pass --skip-bad-images to skip such images", 2) from None
                yield index, None, exc.message


def batches(stream: Iterator, size: int, skipped: list[str]) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    indices, images = [], []
    for index, pixels, problem in stream:
        if problem is not None:
            skipped.append(problem)
            continue
        indices.append(index)
        images.append(pixels)
        if len(images) == size:
            yield indices, images
            indices, images = [], []
    if images:
        yield indices, images


def _prediction(item: tuple[Path, int], scores: np.ndarray, classes: int, tie_rule: str = "tf") -> Prediction:
    if scores.shape[-1] != classes:
        raise ToolError(f"the model returned {scores.shape[-1]} scores, the catalogue says {classes} classes", 1)
    ranked = rank(scores, tie_rule)
    return Prediction(
        item[0],
        to_model_label(item[1], classes),
        ranked.top5,
        [float(scores[i]) for i in ranked.top5],
        ranked.top1,
        ranked.tied_top1,
    )


def compile_for_accuracy(xml: Path, device: str, batch: int, label: str, hint: str = "THROUGHPUT"):
    """Compiled IR taking `batch` images, at f32 (the shared helper reshapes larger batches)."""
    from omz_mobilenet.runtime import compile_ir, new_core

    return compile_ir(new_core(), xml, device, INFER_PRECISION, {"PERFORMANCE_HINT": hint}, batch, label)


def _padded(images: list[np.ndarray], batch: int) -> np.ndarray:
    """The last batch is filled up with copies of its last image; their outputs are ignored."""
    return ir_input(images + [images[-1]] * (batch - len(images)))


def run_ir(
    compiled, entry: ModelEntry, image_set: ImageSet, options: Options, advance: Callable[[int], None]
) -> RunResult:
    """Top-5 per image from the baked IR: decode pool -> AsyncInferQueue, results read on reuse.

    No Python callback: a callback runs in OpenVINO's threads and needs the GIL, and destroying the
    compiled model afterwards deadlocked here (its executor thread waiting for the GIL we held).
    Instead, before a request is reused (the one `get_idle_request_id` names is the one
    `start_async` takes next), its finished output is read in this thread.
    """
    import openvino as ov

    items, classes = image_set.items, entry.output.classes
    slots: list[Optional[Prediction]] = [None] * len(items)
    jobs = max(2, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    queue = ov.AsyncInferQueue(compiled, jobs)
    pending: dict[int, list[int]] = {}

    def collect(request_id: int) -> None:
        scores = queue[request_id].get_output_tensor(0).data
        indices = pending.pop(request_id)
        for row, index in enumerate(indices):
            slots[index] = _prediction(items[index], scores[row], classes, options.crop_rule)
        advance(len(indices))

    result = RunResult(runtime=f"OpenVINO {ov.get_version().split('-')[0]} {options.device} {INFER_PRECISION}")
    start = time.perf_counter()
    try:
        for indices, images in batches(decoded(items, entry, options), options.batch, result.skipped):
            request_id = queue.get_idle_request_id()  # waits, GIL released, until one is free
            if request_id in pending:
                collect(request_id)
            queue.start_async({0: _padded(images, options.batch)})
            pending[request_id] = indices
    except KeyboardInterrupt:
        result.partial = True  # keep what finished; the caller reports it and exits 130
    finally:
        queue.wait_all()  # never leave requests running after an error
    for request_id in list(pending):
        collect(request_id)
    result.seconds = time.perf_counter() - start
    result.predictions = [p for p in slots if p is not None]
    return result


def run_original(
    entry: ModelEntry, model_path: Path, image_set: ImageSet, options: Options, advance: Callable[[int], None]
) -> RunResult:
    """The original file in its own runtime (LiteRT / ONNX Runtime / TF), on the same decoded pixels."""
    from omz_mobilenet.converters import open_reference

    runtime = open_reference(entry, model_path)
    result = RunResult(runtime=f"{runtime.name} {runtime.version}")
    start = time.perf_counter()
    for indices, images in batches(decoded(image_set.items, entry, options), 1, result.skipped):
        scores = runtime.run(original_input(images, entry))
        result.predictions.append(
            _prediction(image_set.items[indices[0]], scores[0], entry.output.classes, options.crop_rule)
        )
        advance(1)
    result.seconds = time.perf_counter() - start
    return result


# ---- one model: every precision x image set --------------------------------------------------


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

    def record(self) -> AccuracyRecord:
        summary = self.ir.summary()
        record = AccuracyRecord(
            model=self.model,
            precision=self.precision,
            device=self.device,
            image_set=self.image_set.name,
            images=summary["images"],
            top1_hits=summary["top1_hits"],
            top5_hits=summary["top5_hits"],
            top1=summary["top1"],
            top1_ci95=summary["top1_ci95"],
            top5=summary["top5"],
            top5_ci95=summary["top5_ci95"],
            tied_top1=summary["tied_top1"],
            images_per_s=round(self.ir.images_per_second, 1),
            runtime=self.ir.runtime,
            skipped=len(self.ir.skipped),
            crop_rule=self.crop_rule,
        )
        if self.ir.partial:
            record.partial = f"interrupted after {len(self.ir.predictions)} of {len(self.image_set.items)} images"
        if self.original is not None:
            original = self.original.summary()
            record.original_runtime, record.original_top1, record.original_top5 = (
                self.original.runtime,
                original["top1"],
                original["top5"],
            )
            record.top1_agreement = round(100.0 * agreement(_top1s(self.ir), _top1s(self.original, self.ir)), 2)
        notes = [biased_note(self.image_set.name) or ""]
        if self.calibration_overlap:
            record.calibration_overlap = self.calibration_overlap
            notes.append(f"--allow-overlap: {self.calibration_overlap} of these images calibrated this INT8 IR")
        record.note = "; ".join(n for n in notes if n) or None
        return record

    def row(self) -> dict:
        return self.record().as_dict()


@dataclass
class AccuracyRecord:
    """One accuracy result with the facts behind it: the image set, hits and intervals, ties, the
    crop rule, the runtime, and (with --original) the original's numbers on the same images."""

    model: str
    precision: str
    device: str
    image_set: str
    images: int
    top1_hits: int
    top5_hits: int
    top1: Optional[float]
    top1_ci95: list[float]
    top5: Optional[float]
    top5_ci95: list[float]
    tied_top1: int
    images_per_s: float
    runtime: str
    skipped: int
    crop_rule: str
    partial: Optional[str] = None
    original_runtime: Optional[str] = None
    original_top1: Optional[float] = None
    original_top5: Optional[float] = None
    top1_agreement: Optional[float] = None
    calibration_overlap: Optional[int] = None
    note: Optional[str] = None

    def as_dict(self) -> dict:
        """Optional facts appear only when they apply (as the table and CSV columns expect)."""
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("top1", "top5")}


def _top1s(run: RunResult, align: Optional[RunResult] = None) -> list[int]:
    """Top-1 per image, in the image order of `align` (runs may skip different images)."""
    by_image = {p.image: p.top1 for p in run.predictions}
    order = align.predictions if align is not None else run.predictions
    return [by_image.get(p.image, -1) for p in order]


def biased_note(image_set: str) -> Optional[str]:
    from omz_mobilenet.inputs.dataset import BIASED_SETS

    return BIASED_SETS.get(image_set)


def _progress_runner(progress, label: str, total: int) -> Callable[[int], None]:
    task = progress.add_task(label, total=total)
    return lambda n: progress.update(task, advance=n)


def evaluate_model(
    entry: ModelEntry,
    precisions: list[str],
    image_sets: list[ImageSet],
    settings,
    options: Options,
    with_original: bool = False,
    log: Callable[[str], None] = lambda _m: None,
) -> list[Evaluation]:
    evaluations: list[Evaluation] = []
    try:
        _evaluate(entry, precisions, image_sets, settings, options, with_original, log, evaluations)
    except KeyboardInterrupt:
        raise Interrupted(evaluations) from None
    if evaluations and evaluations[-1].ir.partial:
        raise Interrupted(evaluations)
    return evaluations


def _evaluate(entry, precisions, image_sets, settings, options, with_original, log, evaluations: list) -> None:
    from omz_mobilenet.convert.ir_store import ir_folder
    from omz_mobilenet.convert.pipeline import ensure_ir
    from omz_mobilenet.output.progress import item_progress

    with item_progress(options.progress) as progress:
        originals = _originals(entry, image_sets, settings, options, progress, log) if with_original else {}
        for precision in precisions:
            xml = ensure_ir(entry, ir_folder(entry, precision, settings.out_dir), settings, log)
            overlaps = {s.name: calibration_overlap(xml, s, options.allow_overlap) for s in image_sets}
            compiled = compile_for_accuracy(xml, options.device, options.batch, entry.name)
            for image_set in image_sets:
                advance = _progress_runner(progress, f"{entry.name} {precision} {image_set.name}", len(image_set.items))
                result = run_ir(compiled, entry, image_set, options, advance)
                evaluations.append(
                    Evaluation(
                        entry.name,
                        precision,
                        options.device,
                        image_set,
                        result,
                        originals.get(image_set.name),
                        overlaps[image_set.name],
                        options.crop_rule,
                    )
                )
                if result.partial:
                    return


def calibration_overlap(xml: Path, image_set: ImageSet, allow: bool) -> int:
    """How many images of the set calibrated this IR; refuses (exit 2) unless --allow-overlap."""
    from omz_mobilenet.convert.calibration import overlapping
    from omz_mobilenet.convert.quantize import calibration_of

    record = calibration_of(xml) if is_int8(xml.parent.name) else None
    if record is None:
        return 0
    shared = overlapping(record, [path for path, _label in image_set.items])
    if shared and not allow:
        raise ToolError(
            f"{len(shared)} image(s) of {image_set.name} (e.g. {shared[0].name}) calibrated {xml}; evaluating on them "
            "inflates INT8 accuracy. Use images disjoint from the calibration set (see `omz-mobilenet split`) or pass --allow-overlap",
            2,
        )
    return len(shared)


def _originals(entry, image_sets, settings, options, progress, log) -> dict[str, RunResult]:
    from omz_mobilenet.fetch.download import fetch_model

    model_path = fetch_model(entry, settings, log).model_path
    results = {}
    for image_set in image_sets:
        advance = _progress_runner(progress, f"{entry.name} original {image_set.name}", len(image_set.items))
        results[image_set.name] = run_original(entry, model_path, image_set, options, advance)
    return results


def prediction_rows(evaluation: Evaluation) -> list[dict]:
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
                    "image": p.image.name,
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
