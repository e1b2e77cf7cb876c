"""`bench --compare`: the IR against the original model file in its own runtime, in one run.

The machine is shared and noisy (FACTS 5), so the two are measured in alternation: several rounds,
each timing OpenVINO then the original (order swapped every round so a slow drift hits both),
on the same pixels. Both sides are timed the same way: wall time of one synchronous call from
Python, batch by batch, so the ratio compares like with like. The original gets the same thread
count as the compiled IR (LiteRT `num_threads`, ONNX Runtime `intra_op_num_threads`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Optional

from omz_mobilenet.bench.compiled import BenchTarget, Compiled
from omz_mobilenet.bench.inputs import POOL_SIZE, images_for_pool
from omz_mobilenet.bench.options import DEFAULT_TIME_S, BenchOptions
from omz_mobilenet.bench.stats import median, ratio
from omz_mobilenet.errors import ToolError
from omz_mobilenet.settings import Settings

DEFAULT_ROUNDS = 6


@dataclass
class CompareRecord:
    model: str
    precision: str
    device: str
    infer_precision_hint: str
    batch: int
    inputs: str
    runtime: str
    runtime_version: Optional[str]
    threads: Optional[int]
    rounds: int
    openvino_runs: int
    original_runs: int
    openvino_median_ms: Optional[float]
    original_median_ms: Optional[float]
    ratio_original_to_openvino: Optional[float]
    openvino: str
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def _timed_calls(call: Callable, inputs: list, iterations: Optional[int], seconds: Optional[float]) -> list[float]:
    """Latency (ms) of each call, cycling through `inputs`, for `iterations` calls or `seconds`."""
    times: list[float] = []
    started = time.perf_counter()
    while (iterations is not None and len(times) < iterations) or (
        iterations is None and (not times or time.perf_counter() - started < (seconds or 0.0))
    ):
        item = inputs[len(times) % len(inputs)]
        t0 = time.perf_counter()
        call(item)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def _ir_call(compiled) -> Callable:
    request = compiled.create_infer_request()

    def call(tensor) -> None:
        request.set_input_tensor(tensor)
        request.infer()

    return call


def _inputs(compiled, opts: BenchOptions, entry) -> tuple[list, list]:
    """The same pixels twice: as IR tensors and in the original's own input form."""
    import numpy as np
    import openvino as ov

    from omz_mobilenet.inputs.images import ir_input, original_input

    port = compiled.input(0)
    shape = list(port.get_shape())
    dtype = port.get_element_type().to_dtype()
    images = images_for_pool(opts, entry, (shape[2], shape[3]), POOL_SIZE * opts.batch)
    chunks = [images[i * opts.batch : (i + 1) * opts.batch] for i in range(POOL_SIZE)]
    ir = [ov.Tensor(np.ascontiguousarray(ir_input(c).astype(dtype))) for c in chunks]
    return ir, [original_input(c, entry) for c in chunks]


def _record(
    target: BenchTarget, opts: BenchOptions, runtime: str, version: Optional[str], threads, **measured
) -> CompareRecord:
    """A CompareRecord of this target and options; `measured` gives the timing fields (none when skipped)."""
    import openvino as ov

    timing: dict[str, Any] = {"rounds": 0, "openvino_runs": 0, "original_runs": 0, "openvino_median_ms": None, "original_median_ms": None,
              "ratio_original_to_openvino": None, "note": ""}  # fmt: skip
    timing.update(measured)
    return CompareRecord(
        model=target.model, precision=target.precision, device=opts.device,
        infer_precision_hint=opts.infer_precision_label, batch=opts.batch, inputs=opts.input_policy,
        runtime=runtime, runtime_version=version, threads=threads, openvino=ov.get_version(), **timing,
    )  # fmt: skip


def _skipped(target: BenchTarget, opts: BenchOptions, runtime: str, note: str, threads=None) -> CompareRecord:
    return _record(target, opts, runtime, None, threads, note=note)


def _runtime_label(entry) -> str:
    from omz_mobilenet.converters import source_format

    return source_format(entry.format).runtime if entry else "?"


def _budget(opts: BenchOptions, rounds: int) -> tuple[Optional[int], Optional[float]]:
    """Per round and per side: a share of --niter, or of --time split over both sides."""
    if opts.niter is not None:
        return max(1, math.ceil(opts.niter / rounds)), None
    return None, (opts.time_s or DEFAULT_TIME_S) / (2 * rounds)


def compare_target(
    target: BenchTarget,
    prepared: Compiled,
    opts: BenchOptions,
    settings: Settings,
    rounds: int = DEFAULT_ROUNDS,
    log: Callable[[str], None] = lambda _m: None,
) -> CompareRecord:
    """Alternate the compiled IR and the original runtime; a missing runtime is a note, not a crash."""

    from omz_mobilenet.converters import open_reference
    from omz_mobilenet.fetch.download import fetch_model

    entry = target.entry
    if entry is None:
        return _skipped(target, opts, "?", "not in the catalogue: no original model file to compare with")
    threads = opts.nthreads or prepared.facts.get("threads") or os.cpu_count()
    try:
        original = open_reference(entry, fetch_model(entry, settings, log).model_path, threads)
    except ToolError as exc:
        log(f"--compare skipped for {target.model}: {exc.message}")
        return _skipped(target, opts, _runtime_label(entry), f"skipped: {exc.message}", threads)
    ir_inputs, original_inputs = _inputs(prepared.compiled, opts, entry)
    sides = {"openvino": (_ir_call(prepared.compiled), ir_inputs), "original": (original.run, original_inputs)}
    times: dict[str, list[float]] = {"openvino": [], "original": []}
    for call, inputs in sides.values():
        _timed_calls(call, inputs, 3, None)  # warm-up: first calls allocate and JIT
    iterations, seconds = _budget(opts, rounds)
    for round_index in range(rounds):
        order = ["openvino", "original"] if round_index % 2 == 0 else ["original", "openvino"]
        for name in order:
            call, inputs = sides[name]
            times[name] += _timed_calls(call, inputs, iterations, seconds)
    ov_median, original_median = median(times["openvino"]), median(times["original"])
    return _record(
        target, opts, original.name, original.version, threads, rounds=rounds, openvino_runs=len(times["openvino"]),
        original_runs=len(times["original"]), openvino_median_ms=ov_median, original_median_ms=original_median,
        ratio_original_to_openvino=ratio(original_median, ov_median),
    )  # fmt: skip
