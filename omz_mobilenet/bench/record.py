"""`BenchRecord`: one target's result over all its rounds, with everything that decided the numbers
(hint, streams, threads, requests, the precision read back from the compiled model) stored next to
them. JSON and CSV carry every field by name; the results database and the report read those names,
so a field is added, never renamed."""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass
from typing import Optional

from omz_mobilenet.bench.loop import Prepared, RunResult
from omz_mobilenet.bench.options import BenchOptions
from omz_mobilenet.bench.profile import LayerProfile, snapshot
from omz_mobilenet.bench.stats import LatencyStats, RoundSummary, round_summary, summarize


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
    # `bench --e2e DIR`: per-stage times from image files (bench/e2e.py `stages_block`); None without --e2e
    stages: Optional[dict] = None
    # `bench --scenario` / a sweep cell's scenario: the LoadGen block (bench/loadgen ScenarioRecord.block())
    scenario: Optional[dict] = None

    def as_dict(self) -> dict:
        return asdict(self)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _what_ran(prepared: Prepared, opts: BenchOptions) -> dict:
    """The fields that say what was measured and how it was compiled."""
    import openvino as ov

    target, compiled, facts = prepared.target, prepared.compiled, prepared.compiled.facts
    return {
        "model": target.model,
        "precision": target.precision,
        "ir_precision": target.ir_precision,
        "source_precision": target.entry.source_precision if target.entry else None,
        "device": opts.device,
        "device_used": facts["device_used"],
        "device_full_name": facts["device_full_name"],
        "infer_precision_hint": opts.infer_precision_label,
        "compiled_precision": facts["compiled_precision"],
        "runtime_precisions": facts["runtime_precisions"],
        "performance_hint": facts["performance_hint"],
        "batch": opts.batch,
        "inputs": opts.input_policy,
        "gflops": compiled.gflops,
        "mparams": compiled.mparams,
        "compile_ms": compiled.compile_ms,
        "first_inference_ms": prepared.first_inference_ms,
        "streams": facts["streams"],
        "threads": facts["threads"],
        "requests": prepared.nireq,
        "cpu_pinning": facts.get("cpu_pinning"),
        "openvino": ov.get_version(),
        "xml": str(target.xml),
    }


def _numbers(stats: LatencyStats, rounds: RoundSummary) -> dict:
    """The measured figures: pooled latency statistics and the per-round medians and throughput."""
    return {
        "latency_median_ms": rounds.median_ms,
        "latency_mean_ms": stats.mean_ms,
        "latency_min_ms": stats.min_ms,
        "latency_max_ms": stats.max_ms,
        "latency_p90_ms": stats.p90_ms,
        "latency_p95_ms": stats.p95_ms,
        "latency_p99_ms": stats.p99_ms,
        "latency_p999_ms": stats.p999_ms,
        "throughput_fps": rounds.median_fps,
        "round_medians_ms": rounds.medians_ms,
        "round_fps": rounds.fps,
        "spread": rounds.spread,
        "noisy": rounds.noisy,
        "latency_quantiles_ms": stats.quantiles_ms,
    }


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
    latencies = [ms for run in runs for ms in run.latencies_ms]
    if not latencies:
        raise KeyboardInterrupt  # stopped before a single inference finished: nothing to report
    iterations = sum(run.iterations for run in runs)
    rounds = round_summary(
        [r.latencies_ms for r in runs if r.latencies_ms],
        [r.iterations * opts.batch / r.duration_s for r in runs if r.duration_s > 0],
    )
    record = BenchRecord(
        **_what_ran(prepared, opts),
        **_numbers(summarize(latencies), rounds),
        rounds=len(runs),
        iterations=iterations,
        duration_s=sum(run.duration_s for run in runs),
        peak_rss_mb=peak_rss_mb(),
        partial=any(run.interrupted for run in runs) or len(runs) < planned_rounds,
    )
    return record, _profile(prepared, opts, iterations)
