"""Compiling an IR for bench and what the compiled model says about itself.

Compile time is `core.compile_model` on the (possibly batch-reshaped) model read from disk before.
Everything that decides a number (hint, streams, threads, precision, pinning) is read back from the
compiled model; a value the device will not report is marked as requested, not measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.bench.options import BenchOptions
from omz_mobilenet.catalogue import ModelEntry

COMPUTE_LAYERS = {"Convolution", "GroupConvolution", "FullyConnected", "MatMul"}


@dataclass(frozen=True)
class BenchTarget:
    """One IR to bench. `precision` is its name in results (precision.name_for: INT8 of an
    already-quantized source benches its INT8-RQ folder, INT8-ASIS its FP32 folder), `ir_precision` is
    the IR folder actually used."""

    model: str
    precision: str
    ir_precision: str
    xml: Path
    entry: Optional[ModelEntry] = None


@dataclass
class Compiled:
    """A compiled IR plus what bench needs to know about it; `compare` reuses it."""

    model: Any  # openvino.Model (openvino is imported lazily)
    compiled: Any  # openvino.CompiledModel
    compile_ms: float
    gflops: Optional[float]
    mparams: Optional[float]
    facts: dict  # compiled_facts()


def compile_config(opts: BenchOptions) -> dict:
    from omz_mobilenet.runtime import PERFORMANCE_HINTS, precision_config

    config = precision_config(opts.device, opts.infer_hint)
    if opts.hint in PERFORMANCE_HINTS:
        config["PERFORMANCE_HINT"] = PERFORMANCE_HINTS[opts.hint]
    if opts.nstreams is not None:
        config["NUM_STREAMS"] = opts.nstreams
    if opts.nthreads is not None:
        config["INFERENCE_NUM_THREADS"] = opts.nthreads
    if opts.profile:
        config["PERF_COUNT"] = True
    if opts.pinning is not None and opts.device.split(":")[0] == "CPU":
        # Pinned threads suffer most when other processes share the cores (measured 10x here).
        config["ENABLE_CPU_PINNING"] = opts.pinning
    return config


def model_cost(model) -> tuple[Optional[float], Optional[float]]:
    """GFlops and MParams per image: what `convert` stored in the IR, else counted from the graph."""
    from omz_mobilenet.convert.ir_store import RT_KEY

    try:
        if model.has_rt_info([RT_KEY, "gflops"]):
            gflops = float(model.get_rt_info([RT_KEY, "gflops"]).astype(str))
            mparams = float(model.get_rt_info([RT_KEY, "mparams"]).astype(str))
            return gflops, mparams
    except (RuntimeError, ValueError):
        pass  # an IR from elsewhere: count below
    try:
        from omz_mobilenet.convert.ir_stats import count_cost

        cost = count_cost(model)
        batch = int(model.input(0).get_partial_shape()[0].get_length())
        return round(cost.gflops / batch, 4), round(cost.mparams, 4)
    except Exception:
        return None, None


def runtime_precisions(compiled) -> str:
    """Kernel precisions of the compute layers as executed (e.g. "i8:53 f32:1"): the hint alone
    does not show that a quantized model runs int8 convolutions."""
    from collections import Counter

    counts: Counter = Counter()
    try:
        for op in compiled.get_runtime_model().get_ops():
            info = op.get_rt_info()
            if "layerType" not in info or "runtimePrecision" not in info:
                continue
            if info["layerType"].astype(str) in COMPUTE_LAYERS:
                counts[info["runtimePrecision"].astype(str)] += 1
    except Exception:  # devices without a runtime model (some virtual devices)
        return "?"
    return " ".join(f"{k}:{v}" for k, v in counts.most_common()) or "?"


def compiled_facts(core, compiled, opts: BenchOptions) -> dict:
    """What the compiled model says it does; requested values are marked when it will not say."""
    from omz_mobilenet.runtime import compiled_property, full_device_name, type_name

    used = compiled_property(compiled, "EXECUTION_DEVICES") or opts.device
    precision = type_name(compiled_property(compiled, "INFERENCE_PRECISION_HINT"))
    if precision is None:
        precision = f"{opts.infer_precision} (requested; not reported by {opts.device})"
    hint = compiled_property(compiled, "PERFORMANCE_HINT")
    return {
        "device_used": str(used),
        "device_full_name": ", ".join(full_device_name(core, d) for d in str(used).split(",")),
        "compiled_precision": precision,
        "runtime_precisions": runtime_precisions(compiled),
        "performance_hint": str(hint).rsplit(".", 1)[-1].split(":")[0].lower() if hint is not None else opts.hint,
        "streams": _int_or_none(compiled_property(compiled, "NUM_STREAMS")),
        "threads": _int_or_none(compiled_property(compiled, "INFERENCE_NUM_THREADS")),
        "optimal_requests": _int_or_none(compiled_property(compiled, "OPTIMAL_NUMBER_OF_INFER_REQUESTS")),
        "cpu_pinning": compiled_property(compiled, "ENABLE_CPU_PINNING"),
    }


def _int_or_none(value) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def compile_target(core, target: BenchTarget, opts: BenchOptions) -> Compiled:
    from omz_mobilenet.runtime import compile_model, load_model

    model = load_model(core, target.xml, opts.batch, target.model)
    gflops, mparams = model_cost(model)
    started = time.perf_counter()
    compiled = compile_model(core, model, opts.device, compile_config(opts), str(target.xml))
    compile_ms = (time.perf_counter() - started) * 1e3
    return Compiled(model, compiled, compile_ms, gflops, mparams, compiled_facts(core, compiled, opts))
