"""The pipelined end-to-end rate (`bench --e2e DIR --pipeline`): what an application that overlaps
reading and decoding the next images with inference reaches.

Decoder threads read, decode and preprocess images into a bounded queue (at most two images per
infer request wait in it, so memory stays flat however fast decoding is); the main thread feeds an
`AsyncInferQueue` from it, and each request's callback does the post-processing (top-k with names).
OpenCV's imdecode and OpenVINO's inference release the GIL, so the stages really overlap on separate
cores. The rate is the images over the wall time from the first read to the last result.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

from omz_mobilenet.bench.e2e import Classifier, decode, read
from omz_mobilenet.bench.options import BenchOptions

_DONE = object()  # a decoder's end-of-work marker


def decoder_count() -> int:
    """One decoder per two cores (the rest infer), at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def _requests(model: Classifier, opts: BenchOptions) -> int:
    """--nireq, else the compiled model's optimal number, at least two so one waits while one runs."""
    if opts.nireq:
        return opts.nireq
    try:
        optimal = int(model.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    except Exception:  # virtual devices may not say
        optimal = 1
    return max(2, optimal)


def _decode_into(model: Classifier, indices: range, out: queue.Queue, errors: list) -> None:
    paths = model.opts.images
    try:
        for index in indices:
            path = paths[index % len(paths)]
            out.put(model.prepare(decode(read(path), path)))
    except Exception as exc:  # handed to the main thread, which raises it after the run
        errors.append(exc)
    finally:
        out.put(_DONE)


def run_pipelined(model: Classifier, opts: BenchOptions, images: int) -> dict[str, Any]:
    """`images` images (as many as the sequential run measured) through the pipeline."""
    import openvino as ov

    requests, decoders = _requests(model, opts), decoder_count()
    waiting: queue.Queue = queue.Queue(maxsize=2 * requests)
    errors: list[Exception] = []
    infer_queue = ov.AsyncInferQueue(model.compiled, requests)

    def done(request: Any, _data: Any) -> None:
        # runs on an OpenVINO thread: an exception must not escape into native code (it would abort the
        # process); it is handed to the main thread like a decoder's
        try:
            model.top(request.get_output_tensor(0).data)
        except Exception as exc:
            errors.append(exc)

    infer_queue.set_callback(done)
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_decode_into, args=(model, range(d, images, decoders), waiting, errors), daemon=True)
        for d in range(decoders)
    ]
    for thread in threads:
        thread.start()
    finished = 0
    while finished < decoders:
        item = waiting.get()
        if item is _DONE:
            finished += 1
            continue
        infer_queue.start_async({0: item})
    infer_queue.wait_all()
    wall = time.perf_counter() - started
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return {
        "images": images,
        "wall_s": round(wall, 4),
        "images_per_s": round(images / wall, 2) if wall > 0 else 0.0,
        "requests": requests,
        "decoders": decoders,
        "queue": waiting.maxsize,
    }
