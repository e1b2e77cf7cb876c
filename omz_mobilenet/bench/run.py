"""The measurement core of `omz-mobilenet bench`.

What is timed and why:
- compile time: `core.compile_model` on the (possibly batch-reshaped) model, read from disk before.
- first inference: one synchronous inference right after compiling (kernel JIT, memory set-up).
- warm-up: `warmup` asynchronous inferences, not recorded.
- the run: the loop benchmark_app runs for the same settings (see run_queue): one request with
  synchronous `infer()` under the latency hint, else an `AsyncInferQueue` of `nireq` requests kept
  busy; every inference gets the next input of a pool of distinct inputs (not benchmark_app's one
  reused tensor), bound as a zero-copy tensor; latency per inference is OpenVINO's own
  `InferRequest.latency` (start to completion), throughput is images / wall time of the run.
  benchmarks/bench_vs_benchmark_app.py checks both against benchmark_app on the same IR.
Everything that decided a number (hint, streams, threads, requests, precision read back from the
compiled model) is stored next to it in a `BenchRecord`.
Ctrl-C during the run stops starting requests, waits for the ones in flight and returns what was
measured so far as a record marked `partial`; the command then reports it and exits 130.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from omz_mobilenet.bench.profile import LayerProfile, snapshot
from omz_mobilenet.bench.stats import round_summary, summarize
from omz_mobilenet.catalogue import Geometry, ModelEntry
from omz_mobilenet.errors import ToolError, UsageError

HINTS = ("latency", "throughput", "none")
DEFAULT_TIME_S = 10.0
POOL_SIZE = 16  # distinct inputs; more than any sensible nireq so in-flight requests never share one


@dataclass(frozen=True)
class BenchOptions:
    device: str = "CPU"
    infer_precision: Optional[str] = "f32"  # None: leave the device's default (bf16 on some CPUs)
    hint: str = "latency"
    batch: int = 1
    nireq: Optional[int] = None  # None: the compiled model's OPTIMAL_NUMBER_OF_INFER_REQUESTS
    nstreams: Optional[int] = None
    nthreads: Optional[int] = None
    time_s: Optional[float] = DEFAULT_TIME_S
    niter: Optional[int] = None  # when set, overrides time_s
    warmup: int = 10
    dataset: Optional[Path] = None  # None: random pixels
    profile: bool = False
    pinning: Optional[bool] = None  # ENABLE_CPU_PINNING; None: the device's default (pinned on Linux)

    def validate(self) -> BenchOptions:
        if self.batch < 1:
            raise UsageError(f"--batch must be at least 1 (got {self.batch})")
        if self.niter is None and (self.time_s is None or self.time_s <= 0):
            raise UsageError(f"--time must be more than 0 seconds (got {self.time_s})")
        if self.niter is not None and self.niter < 1:
            raise UsageError(f"--niter must be at least 1 (got {self.niter})")
        for name in ("nireq", "nstreams", "nthreads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--{name} must be at least 1 (got {value})")
        if self.warmup < 0:
            raise UsageError(f"--warmup cannot be negative (got {self.warmup})")
        if self.hint not in HINTS:
            raise UsageError(f"unknown --hint {self.hint!r}; choose from {', '.join(HINTS)}")
        return self

    @property
    def input_policy(self) -> str:
        return f"dataset {self.dataset}" if self.dataset else "random"


@dataclass(frozen=True)
class BenchTarget:
    """One IR to bench. `precision` is what the user asked for (INT8 may bench the FP32 IR of an
    already-quantized source), `ir_precision` is the IR folder actually used."""

    model: str
    precision: str
    ir_precision: str
    xml: Path
    entry: Optional[ModelEntry] = None


@dataclass
class BenchRecord:
    model: str
    precision: str
    ir_precision: str
    source_precision: Optional[str]
    device: str
    device_used: str
    device_full_name: str
    infer_precision_hint: str
    compiled_precision: str
    runtime_precisions: str
    performance_hint: str
    batch: int
    inputs: str
    gflops: Optional[float]
    mparams: Optional[float]
    compile_ms: float
    first_inference_ms: float
    latency_median_ms: float
    latency_mean_ms: float
    latency_min_ms: float
    latency_max_ms: float
    latency_p90_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    latency_p999_ms: float
    throughput_fps: float  # median over rounds of each round's images / wall time
    rounds: int
    round_medians_ms: list[float]
    round_fps: list[float]
    spread: float  # (max - min) / median of the round medians
    noisy: bool  # spread above NOISY_SPREAD: the machine was busy, repeat before trusting a difference
    latency_quantiles_ms: list[float]  # q = 0, 1, ..., 100: the CDF a report draws
    iterations: int
    duration_s: float
    streams: Optional[int]
    threads: Optional[int]
    requests: int
    cpu_pinning: Optional[bool]  # ENABLE_CPU_PINNING read back (None: the device does not say)
    openvino: str
    peak_rss_mb: float
    xml: str
    partial: bool = False  # True when Ctrl-C cut the run short: the numbers cover `iterations` only

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunResult:
    latencies_ms: list = field(default_factory=list)
    duration_s: float = 0.0
    iterations: int = 0
    profile: Optional[LayerProfile] = None
    interrupted: bool = False


def compile_config(opts: BenchOptions) -> dict:
    from omz_mobilenet.runtime import PERFORMANCE_HINTS, precision_config

    config = precision_config(opts.device, opts.infer_precision)
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
    from omz_mobilenet.convert.pipeline import RT_KEY

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


def _keep_going(opts: BenchOptions, iteration: int, started: float) -> bool:
    if opts.niter is not None:
        return iteration < opts.niter
    return time.perf_counter() - started < (opts.time_s or DEFAULT_TIME_S)


def _infer_error(exc: Exception) -> ToolError:
    from omz_mobilenet.converters.common import first_line

    return ToolError(f"inference failed: {first_line(exc)}")


def run_queue(queue, pool: list, opts: BenchOptions, record: bool = True) -> RunResult:
    """Run inferences until niter/time is reached, each request with the next input of `pool`.

    The API follows benchmark_app's choice so both tools time the same thing: under the latency
    hint with one request, a synchronous `infer()` loop (benchmark_app's "sync" mode); otherwise an
    `AsyncInferQueue` kept busy as in benchmark_app's async loop. The two are not interchangeable:
    with one request on a busy 2-core machine, `start_async()` + wait gave 1.5 ms median where
    `infer()` gave 4-15 ms, and the old always-async loop measured 2-11 % less throughput than
    benchmark_app (issue 10).
    Ctrl-C (KeyboardInterrupt) while recording ends the loop early: the requests in flight are
    waited for and counted, and the result says `interrupted`.
    """
    result = RunResult()
    loop = _sync_loop if opts.hint == "latency" and len(queue) == 1 else _async_loop
    try:
        loop(queue, pool, opts, result, record)
    except RuntimeError as exc:
        raise _infer_error(exc) from None
    return result


def _sync_loop(queue, pool: list, opts: BenchOptions, result: RunResult, record: bool) -> None:
    """One request, `infer()` after `infer()`. Request 0 of the queue is used so the layer profile
    (read from queue[0]) covers these inferences; infer() does not touch the queue's idle list."""
    request, count, latencies = queue[0], len(pool), result.latencies_ms
    started = time.perf_counter()
    try:
        while _keep_going(opts, result.iterations, started):
            # A fresh input each time (a pool of distinct tensors, not benchmark_app's one tensor
            # bound once): binding costs about 5-13 us of Python per inference here (timeit, busy
            # 2-core EPYC), 1-2 % of a 0.7 ms model; the whole policy's cost (binding and the
            # larger input working set) is measured by benchmarks/bench_vs_benchmark_app.py.
            request.set_input_tensor(pool[result.iterations % count])
            request.infer()
            result.iterations += 1
            if record:
                latencies.append(request.latency)
    except KeyboardInterrupt:
        # infer() is not cut short (the signal is handled when it returns): nothing in flight.
        if not record:
            raise
        result.interrupted = True
    result.duration_s = time.perf_counter() - started


def _async_loop(queue, pool: list, opts: BenchOptions, result: RunResult, record: bool) -> None:
    """Every request kept busy, as benchmark_app's async loop. A request's latency is read when it
    is idle again (before it is restarted) and once more for each request in flight after
    wait_all(), so every started inference is counted exactly once, Ctrl-C or not."""
    count, latencies = len(pool), result.latencies_ms
    requests = [queue[i] for i in range(len(queue))]  # queue[i] builds a new wrapper each call: ~13 us here
    in_flight: set[int] = set()
    started = time.perf_counter()
    try:
        while _keep_going(opts, result.iterations, started):
            index = queue.get_idle_request_id()
            request = requests[index]
            if index in in_flight:
                in_flight.discard(index)
                if record:
                    latencies.append(request.latency)
            # A fresh input per inference (see _sync_loop).
            request.set_input_tensor(pool[result.iterations % count])
            queue.start_async()  # starts the idle request just bound: `index`
            in_flight.add(index)
            result.iterations += 1
    except KeyboardInterrupt:
        if not record:
            raise
        result.interrupted = True
    queue.wait_all()
    result.duration_s = time.perf_counter() - started
    if record:
        latencies.extend(requests[index].latency for index in in_flight)


def warm_up(queue, pool: list, opts: BenchOptions) -> None:
    if opts.warmup:
        run_queue(queue, pool, replace(opts, niter=opts.warmup, profile=False), record=False)


def first_inference_ms(request, tensor) -> float:
    request.set_input_tensor(tensor)
    started = time.perf_counter()
    try:
        request.infer()
    except RuntimeError as exc:
        raise _infer_error(exc) from None
    return (time.perf_counter() - started) * 1e3


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
            if info["layerType"].astype(str) in {"Convolution", "GroupConvolution", "FullyConnected", "MatMul"}:
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
        precision = f"{opts.infer_precision or 'default'} (requested; not reported by {opts.device})"
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


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class Compiled:
    """A compiled IR plus what bench needs to know about it; `compare` reuses it."""

    model: object
    compiled: object
    compile_ms: float
    gflops: Optional[float]
    mparams: Optional[float]
    facts: dict


def compile_target(core, target: BenchTarget, opts: BenchOptions) -> Compiled:
    from omz_mobilenet.runtime import compile_model, load_model

    model = load_model(core, target.xml, opts.batch, target.model)
    gflops, mparams = model_cost(model)
    started = time.perf_counter()
    compiled = compile_model(core, model, opts.device, compile_config(opts), str(target.xml))
    compile_ms = (time.perf_counter() - started) * 1e3
    return Compiled(model, compiled, compile_ms, gflops, mparams, compiled_facts(core, compiled, opts))


@dataclass
class Prepared:
    """A target ready to measure: compiled, its input pool and request queue, first inference done."""

    target: BenchTarget
    compiled: Compiled
    queue: Any  # openvino.AsyncInferQueue (openvino is imported lazily)
    pool: list
    nireq: int
    first_inference_ms: float
    profile_before: dict = field(default_factory=dict)


def prepare(core, target: BenchTarget, opts: BenchOptions, log: Callable[[str], None] = lambda _m: None) -> Prepared:
    """Compile, first inference and warm-up: everything before the measured rounds."""
    return prepare_compiled(target, compile_target(core, target, opts), opts, log)


def prepare_compiled(
    target: BenchTarget, compiled: Compiled, opts: BenchOptions, log: Callable[[str], None] = lambda _m: None
) -> Prepared:
    """`prepare` for a model compiled already (a sweep reuses the one its accuracy pass ran on)."""
    import openvino as ov

    nireq = opts.nireq or compiled.facts["optimal_requests"] or 1
    pool = input_pool(compiled.compiled, opts, target.entry)
    queue = ov.AsyncInferQueue(compiled.compiled, nireq)
    first_ms = first_inference_ms(queue[0], pool[0])
    if opts.warmup:
        log(f"warming up {target.model} {target.precision} ({opts.warmup} inferences, not recorded)")
    warm_up(queue, pool, opts)
    before = snapshot(queue[0].profiling_info) if opts.profile else {}
    return Prepared(target, compiled, queue, pool, nireq, first_ms, before)


def round_options(opts: BenchOptions, rounds: int, round_index: int = 0) -> BenchOptions:
    """One round's share of --time or --niter, so N rounds together take exactly what was asked
    (--niter's remainder goes to the first rounds; every round measures at least once)."""
    if opts.niter is not None:
        share = opts.niter // rounds + (1 if round_index < opts.niter % rounds else 0)
        return replace(opts, niter=max(1, share))
    return replace(opts, time_s=(opts.time_s or DEFAULT_TIME_S) / rounds)


def measure(prepared: Prepared, opts: BenchOptions) -> RunResult:
    """One round: keep the queue busy for this round's budget."""
    return run_queue(prepared.queue, prepared.pool, opts)


def _profile(prepared: Prepared, opts: BenchOptions, iterations: int) -> Optional[LayerProfile]:
    if not opts.profile:
        return None
    done_before = 1 + opts.warmup  # first inference + warm-up ran on the same graph
    return LayerProfile.from_running_averages(
        prepared.profile_before,
        snapshot(prepared.queue[0].profiling_info),
        done_before,
        done_before + iterations,
        prepared.compiled.facts["streams"] == 1,
    )


def make_record(
    prepared: Prepared, runs: list[RunResult], opts: BenchOptions, planned_rounds: int = 1
) -> tuple[BenchRecord, Optional[LayerProfile]]:
    """The record of all rounds of one target: pooled latencies, per-round medians and spread.
    Fewer rounds than planned (Ctrl-C) or an interrupted round make the record partial."""
    import openvino as ov

    latencies = [ms for run in runs for ms in run.latencies_ms]
    if not latencies:
        raise KeyboardInterrupt  # stopped before a single inference finished: nothing to report
    iterations = sum(run.iterations for run in runs)
    duration = sum(run.duration_s for run in runs)
    rounds = round_summary(
        [r.latencies_ms for r in runs if r.latencies_ms],
        [r.iterations * opts.batch / r.duration_s for r in runs if r.duration_s > 0],
    )
    stats = summarize(latencies)
    target, compiled, facts = prepared.target, prepared.compiled, prepared.compiled.facts
    record = BenchRecord(
        model=target.model,
        precision=target.precision,
        ir_precision=target.ir_precision,
        source_precision=target.entry.source_precision if target.entry else None,
        device=opts.device,
        device_used=facts["device_used"],
        device_full_name=facts["device_full_name"],
        infer_precision_hint=opts.infer_precision or "device default",
        compiled_precision=facts["compiled_precision"],
        runtime_precisions=facts["runtime_precisions"],
        performance_hint=facts["performance_hint"],
        batch=opts.batch,
        inputs=opts.input_policy,
        gflops=compiled.gflops,
        mparams=compiled.mparams,
        compile_ms=compiled.compile_ms,
        first_inference_ms=prepared.first_inference_ms,
        latency_median_ms=rounds.median_ms,
        latency_mean_ms=stats.mean_ms,
        latency_min_ms=stats.min_ms,
        latency_max_ms=stats.max_ms,
        latency_p90_ms=stats.p90_ms,
        latency_p95_ms=stats.p95_ms,
        latency_p99_ms=stats.p99_ms,
        latency_p999_ms=stats.p999_ms,
        throughput_fps=rounds.median_fps,
        rounds=len(runs),
        round_medians_ms=rounds.medians_ms,
        round_fps=rounds.fps,
        spread=rounds.spread,
        noisy=rounds.noisy,
        latency_quantiles_ms=stats.quantiles_ms,
        iterations=iterations,
        duration_s=duration,
        streams=facts["streams"],
        threads=facts["threads"],
        requests=prepared.nireq,
        cpu_pinning=facts.get("cpu_pinning"),
        openvino=ov.get_version(),
        peak_rss_mb=peak_rss_mb(),
        xml=str(target.xml),
        partial=any(run.interrupted for run in runs) or len(runs) < planned_rounds,
    )
    return record, _profile(prepared, opts, iterations)


def bench_target(core, target: BenchTarget, opts: BenchOptions, log: Callable[[str], None] = lambda _m: None):
    """One target alone, one round: (record, profile or None, Compiled). Sessions of several
    targets alternate rounds instead (bench.session)."""
    prepared = prepare(core, target, opts, log)
    record, profile = make_record(prepared, [measure(prepared, opts)], opts)
    return record, profile, prepared.compiled
