"""The decode pool: images decoded and cropped in threads, ahead of inference, in order.

Decoding (OpenCV releases the GIL) and inference overlap, so on 2 cores the CPU is never idle
waiting for JPEGs. A bad image (missing, corrupt, truncated) stops the run unless
--skip-bad-images is given; then it is yielded as a problem and counted as skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.accuracy.options import Options
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError

LOOKAHEAD = 16  # decoded images waiting for inference; bounds memory, keeps the queue fed

Decoded = tuple[int, Optional[np.ndarray], Optional[str]]


def decoded(items: list[tuple[Path, int]], entry: ModelEntry, options: Options) -> Iterator[Decoded]:
    """(index, pixels or None, problem or None) in order; decoding runs ahead in a thread pool."""
    import cv2

    # The pool already decodes images in parallel; OpenCV's own threads inside each resize would
    # oversubscribe the cores OpenVINO's streams use (measured slower on 2 cores). Restored after.
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield from _decoded(items, entry, options)
    finally:
        cv2.setNumThreads(previous)


def _decoded(items: list[tuple[Path, int]], entry: ModelEntry, options: Options) -> Iterator[Decoded]:
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


def batches(stream: Iterator[Decoded], size: int, skipped: list[str]) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    """Decoded images grouped `size` at a time (the last group may be short); problems go to `skipped`."""
    indices: list[int] = []
    images: list[np.ndarray] = []
    for index, pixels, problem in stream:
        if problem is not None or pixels is None:
            skipped.append(problem or f"image {index} could not be decoded")
            continue
        indices.append(index)
        images.append(pixels)
        if len(images) == size:
            yield indices, images
            indices, images = [], []
    if images:
        yield indices, images
