"""End-to-end timing from image files (`bench --e2e DIR`): what an application pays per image, not
only the inference `bench` times on a pre-filled tensor.

Each image goes through the application's path, one stage after the other, each stage timed:
- read: the file's bytes (`np.fromfile`; after the first pass they come from the OS page cache,
  as they would for an application that reads the same files again);
- decode: `cv2.imdecode` to BGR u8 (what inputs/images.decode_bgr does, without its size guard,
  which the folder check before the run already applied);
- preprocess: `--preprocess host`: crop and resize with OpenCV to the model's size and NCHW, exactly as
  accuracy does (inputs/images.apply_geometry); `graph`: only a batch axis on the decoded image,
  whose crop and resize run inside the inference (bench/graph_preprocess.py);
- inference: binding the tensor, `infer()`, reading the output (one request, synchronous);
- postprocess: the top-k outputs and their names in the model's label space (inputs/labels.py).
A stage's time is perf_counter between the stamps around it, so an image's stages add up to its total
exactly; `images_per_s` is the images over the loop's wall time, which also pays for the loop itself.
The pipelined rate (bench/e2e_pipeline.py) overlaps reading and decoding with inference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from omz_mobilenet.bench.options import DEFAULT_TIME_S, BenchOptions
from omz_mobilenet.catalogue import Geometry, ModelEntry
from omz_mobilenet.errors import ToolError

STAGES = ("read", "decode", "preprocess", "inference", "postprocess")
PREPROCESS = ("host", "graph")
Log = Callable[[str], None]


@dataclass(frozen=True)
class E2EOptions:
    """What `--e2e DIR` measures besides the bench options (device, hint, threads, --time/--niter)."""

    images: tuple[Path, ...]  # the folder's decodable images, checked before any work (check_e2e_images)
    folder: Path
    preprocess: str = "host"
    pipeline: bool = False
    skipped: tuple[str, ...] = ()  # one line per image left out (--skip-bad-images)
    top_k: int = 5
    crop_rule: str = "tf"


def check_e2e_images(folder: Path, skip_bad: bool) -> tuple[list[Path], list[str]]:
    """The folder's images and the problems of those that cannot be decoded: one line naming the file
    and exit 2 unless `skip_bad`, and exit 2 when no image is left. Runs before anything is compiled."""
    from omz_mobilenet.inputs.checks import SKIP_HINT, image_problem
    from omz_mobilenet.inputs.images import list_images

    paths = list_images(Path(folder))
    found = [(path, image_problem(path)) for path in paths]
    problems = [problem for _path, problem in found if problem is not None]
    if problems and not skip_bad:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ToolError(f"--e2e: {problems[0]}{more}; {SKIP_HINT}", 2)
    good = [path for path, problem in found if problem is None]
    if not good:
        raise ToolError(f"--e2e: no decodable image in {folder}; name a folder that holds images", 2)
    return good, problems


@dataclass
class Classifier:
    """One model compiled for end-to-end runs: a request, the geometry, the output names."""

    request: Any  # openvino.InferRequest
    compiled: Any  # openvino.CompiledModel
    geometry: Geometry
    size: int
    names: list[str]
    opts: E2EOptions

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The decoded image as the compiled model's input."""
        if self.opts.preprocess == "graph":
            return image[np.newaxis]  # a view: the graph crops and resizes
        from omz_mobilenet.inputs.images import apply_geometry, ir_input

        return ir_input([apply_geometry(image, self.geometry, self.size, self.opts.crop_rule)])

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        self.request.infer({0: tensor})
        return self.request.get_output_tensor(0).data

    def top(self, scores: np.ndarray) -> list[tuple[int, str]]:
        """The top-k outputs, best first, with their names (ties: the lower index first, as accuracy)."""
        flat = scores.reshape(-1)
        k = min(self.opts.top_k, flat.size)
        best = np.argsort(-flat.astype(np.float64), kind="stable")[:k]
        return [(int(i), self.names[i] if i < len(self.names) else str(int(i))) for i in best]

    def classify(self, path: Path) -> list[tuple[int, str]]:
        """One image file, untimed: its top-k (tests compare these with accuracy's Top-1)."""
        return self.top(self.infer(self.prepare(decode(read(path), path))))


def read(path: Path) -> np.ndarray:
    return np.fromfile(str(path), dtype=np.uint8)


def decode(data: np.ndarray, path: Path) -> np.ndarray:
    import cv2

    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:  # checked before the run; a file changed since then
        raise ToolError(f"image {path} cannot be decoded (corrupt, truncated or not an image)", 2)
    return image


def output_names(entry: Optional[ModelEntry], settings: Any, classes: int) -> list[str]:
    """Names of the model's outputs: its labels file (inputs/labels.label_space), or indices for an IR
    the catalogue does not know."""
    if entry is None:
        return [str(i) for i in range(classes)]
    from omz_mobilenet.inputs.labels import label_space

    return label_space(entry, settings).output_names()


def classifier(core: Any, target: Any, opts: BenchOptions, e2e: E2EOptions, names: list[str]) -> Classifier:
    """Compile the target's IR (batch 1) for end-to-end runs with the bench's configuration; with
    `--preprocess graph` the in-memory variant that crops and resizes inside."""
    from omz_mobilenet.bench.compiled import compile_config
    from omz_mobilenet.runtime import compile_model, load_model

    if e2e.preprocess == "graph":
        from omz_mobilenet.bench.graph_preprocess import graph_model

        model = graph_model(core, target.xml, target.entry, e2e.crop_rule)
        size = 0
    else:
        model = load_model(core, target.xml, 1, target.model)
        size = int(model.input(0).get_partial_shape()[2].get_length())
    config = {k: v for k, v in compile_config(opts).items() if k != "PERF_COUNT"}
    compiled = compile_model(core, model, opts.device, config, f"{target.model} (--e2e, {e2e.preprocess})")
    geometry = target.entry.preprocessing if target.entry is not None else Geometry(kind="central_crop")
    return Classifier(compiled.create_infer_request(), compiled, geometry, size, names, e2e)


@dataclass
class StageTimes:
    """Per-image stage times in ms, in run order, and the wall time of the loop that made them."""

    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in (*STAGES, "total")})
    wall_s: float = 0.0

    @property
    def images(self) -> int:
        return len(self.times["total"])


def timed_image(model: Classifier, path: Path, into: Optional[StageTimes]) -> None:
    """One image through every stage; its stage times appended to `into` (None: warm-up)."""
    clock = time.perf_counter
    t0 = clock()
    data = read(path)
    t1 = clock()
    image = decode(data, path)
    t2 = clock()
    tensor = model.prepare(image)
    t3 = clock()
    scores = model.infer(tensor)
    t4 = clock()
    model.top(scores)
    t5 = clock()
    if into is not None:
        stamps = (t0, t1, t2, t3, t4, t5)
        for index, stage in enumerate(STAGES):
            into.times[stage].append((stamps[index + 1] - stamps[index]) * 1e3)
        into.times["total"].append((t5 - t0) * 1e3)


def budget(opts: BenchOptions, images: int) -> tuple[Optional[int], float]:
    """(image count, seconds): --niter images, else at least one pass over the folder within --time."""
    if opts.niter is not None:
        return opts.niter, 0.0
    return None, opts.time_s or DEFAULT_TIME_S


def run_sequential(model: Classifier, opts: BenchOptions) -> StageTimes:
    """Warm-up (min(--warmup, images) images, not recorded), then images one after the other."""
    paths = model.opts.images
    for path in paths[: min(opts.warmup, len(paths))]:
        timed_image(model, path, None)
    count, seconds = budget(opts, len(paths))
    result = StageTimes()
    started = time.perf_counter()
    done = 0
    while (done < count) if count is not None else (done < len(paths) or time.perf_counter() - started < seconds):
        timed_image(model, paths[done % len(paths)], result)
        done += 1
    result.wall_s = time.perf_counter() - started
    return result


def stage_stats(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples, dtype=np.float64)
    p50, p90, p95, p99 = np.percentile(values, [50, 90, 95, 99])
    return {
        "median_ms": round(float(p50), 4),
        "p90_ms": round(float(p90), 4),
        "p95_ms": round(float(p95), 4),
        "p99_ms": round(float(p99), 4),
        "mean_ms": round(float(values.mean()), 4),
    }


def stages_block(result: StageTimes, e2e: E2EOptions, pipelined: Optional[dict] = None) -> dict:
    """The record's `stages` field: each stage's and the total's median/p90/p99/mean, images/s."""
    block: dict[str, Any] = {
        "folder": str(e2e.folder),
        "placement": e2e.preprocess,  # --preprocess host|graph ("preprocess" is the stage)
        "images": result.images,
        "distinct_images": len(e2e.images),
        "skipped_images": len(e2e.skipped),
        **{stage: stage_stats(result.times[stage]) for stage in (*STAGES, "total")},
        "wall_s": round(result.wall_s, 4),
        "images_per_s": round(result.images / result.wall_s, 2) if result.wall_s > 0 else 0.0,
        "pipeline": pipelined,
    }
    return block


def measure_e2e(core: Any, target: Any, opts: BenchOptions, e2e: E2EOptions, names: list[str], log: Log) -> dict:
    """One target's `stages` block: the sequential stages and, with `pipeline`, the pipelined rate."""
    model = classifier(core, target, opts, e2e, names)
    log(f"end-to-end: {target.model} {target.precision}, {len(e2e.images)} image(s), {e2e.preprocess} preprocessing")
    sequential = run_sequential(model, opts)
    pipelined = None
    if e2e.pipeline:
        from omz_mobilenet.bench.e2e_pipeline import run_pipelined

        log(f"end-to-end pipelined: {target.model} {target.precision}")
        pipelined = run_pipelined(model, opts, sequential.images)
    return stages_block(sequential, e2e, pipelined)
