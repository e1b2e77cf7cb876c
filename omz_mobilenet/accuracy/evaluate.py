"""The accuracy pipeline of one model: every precision x image set, decoded once per run while
OpenVINO's AsyncInferQueue infers (accuracy/decode.py, accuracy/runners.py).

The same decoded pixels (the model's crop/resize, BGR u8) feed the IR, whose mean/scale/channel
order are baked in; nothing is normalised here. `Options.original` also runs the model file in its
own runtime on the same images, converted with the catalogue's own normalisation.

`Options.crop_rule` picks the central crop AND the top-k tie rule together: "tf" (default; TF's
central_crop, how the TF-slim numbers were produced, ties to the lower class index) or
"accuracy-checker" (its int(f*h) crop and `np.argpartition` top-k, so that both tools give the same
per-image predictions). See inputs/images.py and accuracy/metrics.py.

The names of the split modules stay importable from here (`Options`, `run_ir`, `Evaluation`, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from omz_mobilenet.accuracy.decode import LOOKAHEAD, batches, decoded
from omz_mobilenet.accuracy.options import DECODE_WORKERS, INFER_PRECISION, Options
from omz_mobilenet.accuracy.records import (
    AccuracyRecord,
    Evaluation,
    Interrupted,
    Prediction,
    RunResult,
    biased_note,
    prediction_rows,
)
from omz_mobilenet.accuracy.runners import compile_for_accuracy, run_ir, run_original
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet
from omz_mobilenet.precision import is_int8

__all__ = [
    "DECODE_WORKERS",
    "INFER_PRECISION",
    "LOOKAHEAD",
    "AccuracyRecord",
    "Evaluation",
    "Interrupted",
    "Options",
    "Prediction",
    "RunResult",
    "batches",
    "biased_note",
    "calibration_overlap",
    "compile_for_accuracy",
    "decoded",
    "evaluate_model",
    "prediction_rows",
    "run_ir",
    "run_original",
]

Log = Callable[[str], None]


def evaluate_model(
    entry: ModelEntry,
    precisions: list[str],
    image_sets: list[ImageSet],
    settings,
    options: Options,
    log: Log = lambda _m: None,
) -> list[Evaluation]:
    """One Evaluation per precision x image set; Ctrl-C raises Interrupted with those finished."""
    from omz_mobilenet.inputs.checks import check_label_spaces

    evaluations: list[Evaluation] = []
    if options.labels is None:  # a set's class the model does not name stops here, before any conversion
        options = dataclasses.replace(options, labels=check_label_spaces(image_sets, [entry], settings)[entry.name])
    job = _Job(entry, image_sets, settings, options, log)
    try:
        job.run(precisions, evaluations)
    except KeyboardInterrupt:
        raise Interrupted(evaluations) from None
    if evaluations and evaluations[-1].ir.partial:
        raise Interrupted(evaluations)
    return evaluations


class _Job:
    """One model's evaluation: what it needs, held together so each step takes few arguments."""

    def __init__(self, entry: ModelEntry, image_sets: list[ImageSet], settings, options: Options, log: Log) -> None:
        self.entry, self.image_sets, self.settings, self.options, self.log = entry, image_sets, settings, options, log

    def run(self, precisions: list[str], evaluations: list[Evaluation]) -> None:
        from omz_mobilenet.output.progress import item_progress
        from omz_mobilenet.precision import name_for, old_spelling

        for note in filter(None, (old_spelling(self.entry, p) for p in precisions)):
            self.log(f"[dim]{note}[/]")
        # results carry one name per IR (INT8-RQ of an INT8 source is INT8, its FP32 is INT8-ASIS), each once
        names = list(dict.fromkeys(name_for(self.entry, p) for p in precisions))
        with item_progress(self.options.progress) as progress:
            originals = self._originals(progress) if self.options.original else {}
            for precision in names:
                if not self._precision(precision, progress, originals, evaluations):
                    return

    def _precision(self, precision: str, progress, originals: dict[str, RunResult], evaluations: list) -> bool:
        """Every image set at one precision; False when interrupted."""
        from omz_mobilenet.convert.ir_store import ir_folder
        from omz_mobilenet.convert.pipeline import ensure_ir

        entry, options = self.entry, self.options
        folder = ir_folder(entry, precision, self.settings.out_dir)
        xml = ensure_ir(entry, folder, self.settings, self.log)
        overlaps = {s.name: calibration_overlap(xml, s, options.allow_overlap) for s in self.image_sets}
        compiled = compile_for_accuracy(xml, options.device, options.batch, entry.name)
        try:
            for image_set in self.image_sets:
                advance = _advance(progress, f"{entry.name} {precision} {image_set.name}", len(image_set.items))
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
                        options.min_images,
                        xml,
                    )
                )
                if result.partial:
                    return False
        finally:
            del compiled  # released here, after its requests, before the next precision compiles
        return True

    def _originals(self, progress) -> dict[str, RunResult]:
        from omz_mobilenet.fetch.download import fetch_model

        model_path = fetch_model(self.entry, self.settings, self.log).model_path
        results = {}
        for image_set in self.image_sets:
            advance = _advance(progress, f"{self.entry.name} original {image_set.name}", len(image_set.items))
            results[image_set.name] = run_original(self.entry, model_path, image_set, self.options, advance)
        return results


def _advance(progress, label: str, total: int) -> Callable[[int], None]:
    task = progress.add_task(label, total=total)
    return lambda n: progress.update(task, advance=n)


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
            f"{len(shared)} image(s) of {image_set.name} (e.g. {shared[0].name}) calibrated {xml}; evaluating on "
            "them inflates INT8 accuracy. Use images disjoint from the calibration set (see `omz-mobilenet split`) "
            "or pass --allow-overlap",
            2,
        )
    return len(shared)
