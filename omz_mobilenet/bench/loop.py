"""The timed part of bench: first inference, warm-up and the measured loop.

- first inference: one synchronous inference right after compiling (kernel JIT, memory set-up).
- warm-up: `warmup` inferences, not recorded.
- the run: the loop benchmark_app runs for the same settings (see run_queue): one request with
  synchronous `infer()` under the latency hint, else an `AsyncInferQueue` of `nireq` requests kept
  busy; every inference gets the next input of the pool (bench/inputs.py); latency per inference is
  OpenVINO's own `InferRequest.latency` (start to completion), throughput is images / wall time.
  benchmarks/bench_vs_benchmark_app.py checks both against benchmark_app on the same IR.
Ctrl-C during the run stops starting requests, waits for the ones in flight and returns what was
measured so far, marked `interrupted`; the record made of it is `partial` and the command exits 130.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from omz_mobilenet.bench.compiled import BenchTarget, Compiled, compile_target
from omz_mobilenet.bench.inputs import input_pool
from omz_mobilenet.bench.options import DEFAULT_TIME_S, BenchOptions
from omz_mobilenet.bench.profile import LayerProfile, snapshot
from omz_mobilenet.errors import ToolError

Log = Callable[[str], None]


@dataclass
class RunResult:
    latencies_ms: list = field(default_factory=list)
    duration_s: float = 0.0
    iterations: int = 0
    profile: Optional[LayerProfile] = None
    interrupted: bool = False


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
        run_queue(queue, pool, opts.model_copy(update={"niter": opts.warmup, "profile": False}), record=False)


def first_inference_ms(request, tensor) -> float:
    request.set_input_tensor(tensor)
    started = time.perf_counter()
    try:
        request.infer()
    except RuntimeError as exc:
        raise _infer_error(exc) from None
    return (time.perf_counter() - started) * 1e3


def prepare(core, target: BenchTarget, opts: BenchOptions, log: Log = lambda _m: None) -> Prepared:
    """Compile, first inference and warm-up: everything before the measured rounds."""
    return prepare_compiled(target, compile_target(core, target, opts), opts, log)


def prepare_compiled(
    target: BenchTarget, compiled: Compiled, opts: BenchOptions, log: Log = lambda _m: None
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


def measure(prepared: Prepared, opts: BenchOptions) -> RunResult:
    """One round: keep the queue busy for this round's budget."""
    return run_queue(prepared.queue, prepared.pool, opts)
