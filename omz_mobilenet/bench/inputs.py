"""The input pool bench feeds: POOL_SIZE distinct tensors, from real images through the model's
preprocessing (`--inputs dataset DIR`) or random pixels. Every inference gets the next one, bound as
a zero-copy tensor (not benchmark_app's one reused tensor): the cost of that policy is measured by
benchmarks/bench_vs_benchmark_app.py."""

from __future__ import annotations

from typing import Optional

import numpy as np

from omz_mobilenet.bench.options import BenchOptions
from omz_mobilenet.catalogue import Geometry, ModelEntry

POOL_SIZE = 16  # distinct inputs; more than any sensible nireq so in-flight requests never share one


def images_for_pool(
    opts: BenchOptions, entry: Optional[ModelEntry], size: tuple[int, int], count: int
) -> list[np.ndarray]:
    """`count` HxWx3 BGR u8 images: decoded through the model's preprocessing, or random pixels."""
    height, width = size
    if opts.dataset is None:
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]
    from omz_mobilenet.inputs.images import apply_geometry, decode_bgr, list_images, load_for_model

    files = list_images(opts.dataset, count)
    if entry is not None and entry.resolution == height:
        images = [load_for_model(path, entry) for path in files]
    else:  # an IR without a catalogue entry: the catalogue's usual central crop
        images = [apply_geometry(decode_bgr(path), Geometry(kind="central_crop"), height) for path in files]
    return [images[i % len(images)] for i in range(count)]  # few images: cycle them


def input_pool(compiled, opts: BenchOptions, entry: Optional[ModelEntry]) -> list:
    """POOL_SIZE distinct NCHW tensors in the compiled input's element type, batch `opts.batch`."""
    import openvino as ov

    port = compiled.input(0)
    shape = list(port.get_shape())
    dtype = port.get_element_type().to_dtype()
    images = images_for_pool(opts, entry, (shape[2], shape[3]), POOL_SIZE * opts.batch)
    pool = []
    for i in range(POOL_SIZE):
        batch = np.stack(images[i * opts.batch : (i + 1) * opts.batch]).transpose(0, 3, 1, 2)
        pool.append(ov.Tensor(np.ascontiguousarray(batch.astype(dtype))))
    return pool
