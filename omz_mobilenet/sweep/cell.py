"""Measuring the cells of one IR: convert once, then per device and bench configuration compile
once, run accuracy on that compiled model (once per device, precision hint and batch: the hint
does not change predictions) and bench it in rounds. The same code runs locally and on Ray nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.settings import Settings
from omz_mobilenet.sweep.plan import Cell, Group
from omz_mobilenet.sweep.spec import BenchConfig

Log = Callable[[str], None]
Record = dict[str, Any]


@dataclass
class SweepContext:
    """What every cell of a sweep shares."""

    settings: Settings
    dataset: Optional[Path]
    limit: Optional[int]
    calibration: Optional[Path]
    crop_rule: str
    time_s: float
    rounds: int
    command: str
    log: Log = lambda _m: None
    loaded_set: Any = None  # inputs.dataset.ImageSet, loaded on first use
    decoded: Any = None  # inputs.images.DecodedCache, made on first use

    def image_set(self):
        from omz_mobilenet.inputs.dataset import load_image_set

        if self.dataset is None:
            return None
        if self.loaded_set is None:
            self.loaded_set = load_image_set(self.dataset, subset=self.limit)
        return self.loaded_set

    def dataset_fingerprint(self) -> str:
        import hashlib

        image_set = self.image_set()
        if image_set is None:
            return "no-dataset"
        text = f"{image_set.list_sha256}|{self.crop_rule}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_group_ir(group: Group, ctx: SweepContext) -> Path:
    """The IR of the group's precision, converted (and for INT8 of a float model, quantized) once."""
    from omz_mobilenet.convert.ir_store import ir_folder, ir_xml
    from omz_mobilenet.convert.pipeline import convert_model, ensure_ir
    from omz_mobilenet.precision import needs_calibration

    folder = ir_folder(group.entry, group.precision, ctx.settings.out_dir)
    xml = ir_xml(ctx.settings.out_dir, group.entry.name, folder)
    if xml.is_file() or not needs_calibration(group.entry, folder):
        return ensure_ir(group.entry, folder, ctx.settings, ctx.log)
    if ctx.calibration is None:
        raise ToolError(
            f"{group.entry.name} {group.precision}: INT8 of a float model needs calibration images (--calibration DIR)",
            2,
        )
    from omz_mobilenet.convert.quantize import QuantizeOptions

    convert_model(group.entry, [folder], ctx.settings, ctx.log, QuantizeOptions(calibration=ctx.calibration))
    return xml


def cell_key(cell: Cell, ir_sha256: str, ctx: SweepContext, machine: str) -> dict[str, str]:
    return {
        "model": cell.model,
        "precision": cell.precision,
        "device": cell.device,
        "config": cell.config.key(),
        "ir_sha256": ir_sha256,
        "dataset_fingerprint": ctx.dataset_fingerprint(),
        "machine": machine,
    }


def _bench_options(config: BenchConfig, device: str, ctx: SweepContext):
    from omz_mobilenet.bench.run import BenchOptions

    infer = None if config.infer_precision == "default" else config.infer_precision
    return BenchOptions(
        device=device,
        infer_precision=infer,
        hint=config.hint,
        batch=config.batch,
        nireq=config.nireq,
        nstreams=config.nstreams,
        time_s=ctx.time_s,
        warmup=10,
    ).validate()


def _accuracy(compiled, entry: ModelEntry, batch: int, device: str, ctx: SweepContext) -> Optional[dict]:
    from omz_mobilenet.accuracy.evaluate import Options, run_ir

    image_set = ctx.image_set()
    if image_set is None:
        return None
    if ctx.decoded is None:
        from omz_mobilenet.inputs.images import DecodedCache

        ctx.decoded = DecodedCache()
    options = Options(device=device, batch=batch, progress=False, crop_rule=ctx.crop_rule, loader=ctx.decoded)
    summary = run_ir(compiled, entry, image_set, options, lambda _n: None).summary()
    return {
        "dataset": image_set.name,
        "images": summary["images"],
        "top1": summary["top1"],
        "top1_low": summary["top1_ci95"][0],
        "top1_high": summary["top1_ci95"][1],
        "top5": summary["top5"],
        "top5_low": summary["top5_ci95"][0],
        "top5_high": summary["top5_ci95"][1],
    }


def _bench(prepared_compiled, target, opts, ctx: SweepContext) -> dict:
    from omz_mobilenet.bench.run import make_record, measure, prepare_compiled, round_options

    prepared = prepare_compiled(target, prepared_compiled, opts, ctx.log)
    runs = [measure(prepared, round_options(opts, ctx.rounds, r)) for r in range(ctx.rounds)]
    record, _profile = make_record(prepared, runs, opts, ctx.rounds)
    if record.partial:
        raise KeyboardInterrupt
    return record.as_dict()


def _bench_block(bench: dict) -> dict:
    keys = (
        "latency_median_ms",
        "latency_p90_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "latency_p999_ms",
        "latency_min_ms",
        "latency_max_ms",
        "throughput_fps",
        "rounds",
        "round_medians_ms",
        "spread",
        "noisy",
    )
    block = {k: bench[k] for k in keys}
    block["latency_p50_ms"] = bench["latency_quantiles_ms"][50]
    block["cdf_ms"] = bench["latency_quantiles_ms"]
    return block


def measure_cell(
    cell: Cell, entry: ModelEntry, xml: Path, key: dict, ctx: SweepContext, accuracy_cache: dict
) -> Record:
    """One cell, end to end on this machine; failures become a record with status failed."""
    from omz_mobilenet.environment import environment

    started = time.time()
    base: Record = {
        "key": key,
        "model": cell.model,
        "precision": cell.precision,
        "device": cell.device,
        "config": cell.config.model_dump(exclude_none=True),
        "environment": environment(),
        "started_at": started,
        "command": ctx.command,
        "ir_size_mb": _ir_size_mb(xml),
    }
    try:
        base.update(_measure(cell, entry, xml, ctx, accuracy_cache), status="ok", reason=None)
    except ToolError as exc:
        base.update(
            status="failed",
            reason=exc.message,
            accuracy=None,
            bench=None,
            gflops=entry.gflops,
            mparams=entry.mparams,
            compiled_precision=None,
        )
    base["finished_at"] = time.time()
    return base


def _measure(cell: Cell, entry: ModelEntry, xml: Path, ctx: SweepContext, accuracy_cache: dict) -> dict:
    from omz_mobilenet.bench.run import BenchTarget, compile_target
    from omz_mobilenet.runtime import new_core

    opts = _bench_options(cell.config, cell.device, ctx)
    target = BenchTarget(entry.name, cell.precision, xml.parent.name, xml, entry)
    compiled = compile_target(new_core(), target, opts)
    accuracy_key = (cell.device, cell.config.infer_precision, cell.config.batch)
    if accuracy_key not in accuracy_cache:
        accuracy_cache[accuracy_key] = _accuracy(compiled.compiled, entry, cell.config.batch, cell.device, ctx)
    tuned = None
    if cell.config.tune:
        bench, tuned = _tuned(target, opts, cell.config.max_latency_ms, ctx)
    else:
        bench = _bench(compiled, target, opts, ctx)
    runtime = bench["runtime_precisions"]
    return {
        "tuned": tuned,
        "gflops": bench["gflops"],
        "mparams": bench["mparams"],
        "accuracy": accuracy_cache[accuracy_key],
        "compiled_precision": bench["compiled_precision"] + (f" ({runtime})" if runtime and runtime != "?" else ""),
        "bench": _bench_block(bench),
    }


def _tuned(target, opts, max_latency_ms: Optional[float], ctx: SweepContext) -> tuple[dict, str]:
    """`bench --tune` for the cell: the chosen configuration's record and what was chosen."""
    from omz_mobilenet.bench.tune import tune_target
    from omz_mobilenet.runtime import new_core

    chosen, _explored = tune_target(new_core(), target, opts, max_latency_ms, log=ctx.log)
    return chosen.record.as_dict(), chosen.summary()


def _ir_size_mb(xml: Path) -> float:
    sizes = [p.stat().st_size for p in (xml, xml.with_suffix(".bin")) if p.is_file()]
    return round(sum(sizes) / 1e6, 3)


def unavailable_record(cell: Cell, key: dict, reason: str, ctx: SweepContext) -> Record:
    from omz_mobilenet.environment import environment

    now = time.time()
    return {
        "key": key,
        "model": cell.model,
        "precision": cell.precision,
        "device": cell.device,
        "config": cell.config.model_dump(exclude_none=True),
        "status": "unavailable",
        "reason": reason,
        "accuracy": None,
        "bench": None,
        "environment": environment(),
        "started_at": now,
        "finished_at": now,
        "command": ctx.command,
    }


def measure_group(group: Group, cells: list[Cell], keys: list[dict], xml: Path, ctx: SweepContext) -> Iterator[Record]:
    """The group's pending cells, one record each as it finishes."""
    accuracy_cache: dict = {}
    for cell, key in zip(cells, keys, strict=True):
        yield measure_cell(cell, group.entry, xml, key, ctx, accuracy_cache)
