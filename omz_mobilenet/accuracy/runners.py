"""The two runners of an accuracy run: the baked IR in OpenVINO and the original file in its own runtime.

Both see the same decoded pixels (the model's crop/resize, BGR u8, from accuracy/decode.py). The
IR's mean/scale/channel order are baked in, so nothing is normalised for it; the original gets
the pixels converted with the catalogue's own normalisation (inputs/images.original_input).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.accuracy.decode import batches, decoded
from omz_mobilenet.accuracy.metrics import rank
from omz_mobilenet.accuracy.options import INFER_PRECISION, Options
from omz_mobilenet.accuracy.records import Prediction, RunResult
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet
from omz_mobilenet.inputs.images import ir_input, original_input
from omz_mobilenet.inputs.labels import truth_for

Advance = Callable[[int], None]


def _prediction(image: Path, label: int, scores: np.ndarray, classes: int, tie_rule: str = "tf") -> Prediction:
    """One image's ranked scores against its label (already in the model's outputs: inputs/labels.py)."""
    if scores.shape[-1] != classes:
        raise ToolError(f"the model returned {scores.shape[-1]} scores, the catalogue says {classes} classes", 1)
    ranked = rank(scores, tie_rule)
    return Prediction(
        image,
        label,
        ranked.top5,
        [float(scores[i]) for i in ranked.top5],
        ranked.top1,
        ranked.tied_top1,
    )


def compile_for_accuracy(xml: Path, device: str, batch: int, label: str, hint: str = "THROUGHPUT"):
    """Compiled IR taking `batch` images, at f32 (the shared helper reshapes larger batches)."""
    from omz_mobilenet.runtime import compile_ir, new_core

    return compile_ir(new_core(), xml, device, INFER_PRECISION, {"PERFORMANCE_HINT": hint}, batch)


def _padded(images: list[np.ndarray], batch: int) -> np.ndarray:
    """The last batch is filled up with copies of its last image; their outputs are ignored."""
    return ir_input(images + [images[-1]] * (batch - len(images)))


def run_ir(compiled, entry: ModelEntry, image_set: ImageSet, options: Options, advance: Advance) -> RunResult:
    """Top-5 per image from the baked IR: decode pool -> AsyncInferQueue, results read on reuse.

    No Python callback: a callback runs in OpenVINO's threads and needs the GIL, and destroying the
    compiled model afterwards deadlocked here (its executor thread waiting for the GIL we held).
    Instead, before a request is reused (the one `get_idle_request_id` names is the one
    `start_async` takes next), its finished output is read in this thread.
    """
    import openvino as ov

    items, classes = image_set.items, entry.output.classes
    truth = truth_for(entry, image_set, options.labels)
    slots: list[Optional[Prediction]] = [None] * len(items)
    jobs = max(2, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    queue = ov.AsyncInferQueue(compiled, jobs)
    pending: dict[int, list[int]] = {}

    def collect(request_id: int) -> None:
        scores = queue[request_id].get_output_tensor(0).data
        indices = pending.pop(request_id)
        for row, index in enumerate(indices):
            slots[index] = _prediction(items[index][0], truth[index], scores[row], classes, options.crop_rule)
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
    entry: ModelEntry, model_path: Path, image_set: ImageSet, options: Options, advance: Advance
) -> RunResult:
    """The original file in its own runtime (LiteRT / ONNX Runtime / TF), on the same decoded pixels."""
    from omz_mobilenet.converters import open_reference
    from omz_mobilenet.converters.native_log import quiet_native_stderr

    with quiet_native_stderr():  # LiteRT's "Created ... XNNPACK delegate" line, as in verify
        runtime = open_reference(entry, model_path)
    result = RunResult(runtime=f"{runtime.name} {runtime.version}")
    truth = truth_for(entry, image_set, options.labels)
    start = time.perf_counter()
    try:
        for n, (indices, images) in enumerate(batches(decoded(image_set.items, entry, options), 1, result.skipped)):
            if n == 0:  # some runtimes build their delegate on the first run
                with quiet_native_stderr():
                    scores = runtime.run(original_input(images, entry))
            else:
                scores = runtime.run(original_input(images, entry))
            index = indices[0]
            result.predictions.append(
                _prediction(image_set.items[index][0], truth[index], scores[0], entry.output.classes, options.crop_rule)
            )
            advance(1)
    finally:
        del runtime  # the interpreter/session goes now, in this thread, not at interpreter exit
    result.seconds = time.perf_counter() - start
    return result
