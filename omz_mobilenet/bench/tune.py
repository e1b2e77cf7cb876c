"""`bench --tune`: the configuration with the best throughput under a latency limit (DL Workbench's
"sweet spot", retired with it).

The search space is small on purpose (a MobileNet on a few cores): for every inference precision the
device offers (its OPTIMIZATION_CAPABILITIES: FP32 -> f32, BF16 -> bf16, FP16 -> f16; named as
runtime precisions, never FP32), the latency hint, the throughput hint at batch 1 and a larger batch,
and explicit streams/requests without a hint. Every configuration is compiled and warmed up first,
then all are measured in alternating short rounds (order rotated each round, as `bench` does), so a
busy moment of the shared machine hits them all. The latency of a configuration is the median
request latency (one request carries `batch` images); its throughput is images per second.
Without `--max-latency` the limit is the lowest latency measured: the fastest single answer wins.
A configuration explored is a `BenchConfig` (bench/options.py), the type bench and the sweep use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omz_mobilenet.bench.compiled import BenchTarget
from omz_mobilenet.bench.loop import Log, RunResult, measure, prepare
from omz_mobilenet.bench.options import BenchConfig, BenchOptions, InferPrecision, round_options
from omz_mobilenet.bench.record import BenchRecord, make_record
from omz_mobilenet.bench.session import rotated
from omz_mobilenet.errors import ToolError

CAPABILITY_PRECISIONS: dict[str, InferPrecision] = {"FP32": "f32", "BF16": "bf16", "FP16": "f16"}
DEFAULT_TUNE_TIME_S = 1.0  # per configuration and round: short rounds, the search explores many
DEFAULT_TUNE_ROUNDS = 2


@dataclass
class Explored:
    config: BenchConfig
    record: BenchRecord
    fits: bool = False
    chosen: bool = False
    pareto: bool = False

    def row(self) -> dict:
        r, c = self.record, self.config
        marks = ["CHOSEN" if self.chosen else "", "frontier" if self.pareto else "", "" if self.fits else "over limit"]
        # What --tune is for first (tables keep columns from the left at 100 columns): the figures and
        # which configuration won, then the configuration; pinning and kernels show under --wide.
        return {
            "median ms": r.latency_median_ms,
            "FPS": r.throughput_fps,
            "note": " ".join(m for m in marks if m),
            "infer prec": r.compiled_precision,
            "hint": c.hint,
            "batch": r.batch,
            "streams": r.streams,
            "nireq": r.requests,
            "pinning": {None: "default", True: "on", False: "off"}[c.pinning],
            "kernels": r.runtime_precisions,
        }

    def summary(self) -> str:
        r, c = self.record, self.config
        return (
            f"{r.model} {r.precision}: INFERENCE_PRECISION_HINT={r.compiled_precision} PERFORMANCE_HINT={c.hint} "
            f"NUM_STREAMS={r.streams} requests={r.requests} batch={r.batch} -> median {r.latency_median_ms:.3f} ms, "
            f"{r.throughput_fps:.1f} FPS, kernels {r.runtime_precisions}"
        )


def device_precisions(core, device: str) -> list[InferPrecision]:
    """The inference precisions the device says it can run (f32 first), as runtime precision names."""
    try:
        capabilities = [str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES")]
    except RuntimeError:  # virtual devices (AUTO, HETERO) do not say: f32 only
        capabilities = ["FP32"]
    return [name for cap, name in CAPABILITY_PRECISIONS.items() if cap in capabilities] or ["f32"]


def search_space(precisions: list[InferPrecision], cores: int, max_batch: int = 4) -> list[BenchConfig]:
    configs: list[BenchConfig] = []
    for precision in precisions:
        configs += [
            BenchConfig(infer_precision=precision, hint="latency"),
            # pinned threads lose most on a shared machine
            BenchConfig(infer_precision=precision, hint="latency", pinning=False),
            BenchConfig(infer_precision=precision, hint="throughput"),
            BenchConfig(infer_precision=precision, hint="throughput", batch=max_batch),
            BenchConfig(infer_precision=precision, hint="none", nstreams=1, nireq=2),
        ]
        if cores > 1:
            configs.append(BenchConfig(infer_precision=precision, hint="none", nstreams=cores, nireq=2 * cores))
    return configs


def _pareto(explored: list[Explored]) -> None:
    """Mark the configurations no other one beats on both latency and throughput."""
    for e in explored:
        lat, fps = e.record.latency_median_ms, e.record.throughput_fps
        e.pareto = not any(
            o.record.latency_median_ms <= lat
            and o.record.throughput_fps >= fps
            and (o.record.latency_median_ms < lat or o.record.throughput_fps > fps)
            for o in explored
        )


def choose(explored: list[Explored], max_latency_ms: Optional[float]) -> Explored:
    """Best throughput among the configurations whose median latency is within the limit
    (default: the lowest median latency measured); ToolError (exit 1) when none fits."""
    if not explored:
        raise ToolError("--tune measured no configuration", 1)
    limit = max_latency_ms if max_latency_ms is not None else min(e.record.latency_median_ms for e in explored)
    for e in explored:
        e.fits = e.record.latency_median_ms <= limit
    _pareto(explored)
    fitting = [e for e in explored if e.fits]
    if not fitting:
        lowest = min(e.record.latency_median_ms for e in explored)
        raise ToolError(
            f"nothing fits --max-latency {max_latency_ms} ms: the lowest median latency measured was {lowest:.3f} ms "
            f"({explored[0].record.model} {explored[0].record.precision}); raise the limit",
            1,
        )
    best = max(fitting, key=lambda e: (e.record.throughput_fps, -e.record.latency_median_ms))
    best.chosen = True
    return best


def tune_target(
    core,
    target: BenchTarget,
    base: BenchOptions,
    configs: Optional[list[BenchConfig]] = None,
    log: Log = lambda _m: None,
) -> tuple[Explored, list[Explored]]:
    """Measure every configuration in `base.rounds` alternating short rounds, then choose under
    `base.max_latency_ms`; (chosen, everything explored)."""
    import os

    configs = configs or search_space(device_precisions(core, base.device), os.cpu_count() or 1)
    prepared = []
    for config in configs:
        opts = base.with_config(config).model_copy(update={"profile": False})
        log(f"tune {target.model} {target.precision}: compiling {config.key()}")
        prepared.append((config, opts, prepare(core, target, opts, log)))
    rounds = base.rounds
    runs: dict[int, list[RunResult]] = {}
    for round_index in range(rounds):
        for i in rotated(list(range(len(prepared))), round_index):
            _config, opts, item = prepared[i]
            runs.setdefault(i, []).append(measure(item, round_options(opts, rounds, round_index)))
    explored = [
        Explored(config, make_record(item, runs[i], opts, rounds)[0]) for i, (config, opts, item) in enumerate(prepared)
    ]
    return choose(explored, base.max_latency_ms), explored


def tune_options(base: BenchOptions, time_s: Optional[float]) -> BenchOptions:
    """Short rounds, at least DEFAULT_TUNE_ROUNDS: `--time` (if given) is per configuration, else
    DEFAULT_TUNE_TIME_S per round."""
    rounds = max(DEFAULT_TUNE_ROUNDS, base.rounds)
    total = time_s if time_s is not None else DEFAULT_TUNE_TIME_S * rounds
    return base.but(rounds=rounds, time_s=total, niter=None, warmup=min(base.warmup, 5))
