"""Measuring on this machine: a group's IR (converted once), a measurement's compiled model, its
accuracy (once per IR, device, inference precision and batch: the hint does not change
predictions) and its bench target; and the one place a stored cell record is built.
The same code runs locally and on Ray nodes; `rounds.py` decides the order of the bench rounds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.record import FAILED, INCOMPLETE, OK, CellKey, CellRecord
from omz_mobilenet.sweep.context import SweepContext
from omz_mobilenet.sweep.plan import Cell, Group
from omz_mobilenet.sweep.spec import BenchConfig

Block = dict[str, Any]
WARMUP = 10


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
            f"{group.entry.name} {group.precision}: an INT8 IR ({folder}) needs calibration images (--calibration DIR)",
            2,
        )
    from omz_mobilenet.convert.quantize import QuantizeOptions

    convert_model(group.entry, [folder], ctx.settings, ctx.log, QuantizeOptions(calibration=ctx.calibration))
    return xml


def bench_options(config: BenchConfig, device: str, ctx: SweepContext) -> Any:
    from omz_mobilenet.bench.options import BenchOptions

    return BenchOptions.of(config, device=device, time_s=ctx.time_s, rounds=ctx.rounds, warmup=WARMUP)


def accuracy_of(compiled: Any, entry: ModelEntry, sha: str, opts: Any, ctx: SweepContext) -> Optional[Block]:
    """Top-1/Top-5 of the compiled model on the sweep's images (cached per IR, device, precision, batch).

    The block carries `images` (evaluated), `skipped` (undecodable, with --skip-bad-images),
    `set_size` and `shortfall`: the evidence rule's reason when too few images were evaluated.
    """
    cache_key = (sha, opts.device, opts.infer_precision, opts.batch)
    if cache_key not in ctx.accuracy_cache:
        ctx.accuracy_cache[cache_key] = _evaluate(compiled, entry, opts, ctx)
    return ctx.accuracy_cache[cache_key]


def _evaluate(compiled: Any, entry: ModelEntry, opts: Any, ctx: SweepContext) -> Optional[Block]:
    from omz_mobilenet.accuracy.evaluate import Options, run_ir
    from omz_mobilenet.accuracy.evidence import shortfall

    image_set = ctx.image_set()
    if image_set is None:
        return None
    if ctx.decoded is None:
        from omz_mobilenet.inputs.images import DecodedCache

        ctx.decoded = DecodedCache()
    options = Options(
        device=opts.device,
        batch=opts.batch,
        skip_bad=ctx.skip_bad,
        progress=False,
        crop_rule=ctx.crop_rule,
        loader=ctx.decoded,
        labels=ctx.label_space(entry),  # read with the sweep's own settings (--mirror/--cache-dir), not the env's
    )
    result = run_ir(compiled, entry, image_set, options, lambda _n: None)
    if result.partial:  # Ctrl-C: run_ir kept what finished, but a cell is never stored half-evaluated
        raise KeyboardInterrupt
    summary = result.summary()
    # As `accuracy` counts them: unlabelled images found at loading are skipped images of the set too.
    problems = len(image_set.problems)
    evaluated, skipped, size = int(summary["images"]), len(result.skipped) + problems, len(image_set.items) + problems
    return {
        "dataset": image_set.name,
        "images": evaluated,
        "skipped": skipped,
        "set_size": size,
        "min_images": str(ctx.min_images),
        "shortfall": shortfall(evaluated, skipped, size, ctx.min_images),
        "top1": summary["top1"],
        "top1_low": summary["top1_ci95"][0],
        "top1_high": summary["top1_ci95"][1],
        "top5": summary["top5"],
        "top5_low": summary["top5_ci95"][0],
        "top5_high": summary["top5_ci95"][1],
    }


def tuned_bench(target: Any, opts: Any, ctx: SweepContext) -> tuple[Block, str]:
    """`bench --tune` for the cell: the chosen configuration's record and what was chosen. Tuning runs
    its own alternating rounds over the configurations it explores, so a tuned cell is measured alone."""
    from omz_mobilenet.bench.tune import tune_target

    chosen, _explored = tune_target(ctx.core(), target, opts, log=ctx.log)  # opts carry max_latency_ms
    return chosen.record.as_dict(), chosen.summary()


BENCH_KEYS = (
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


def bench_block(bench: Block) -> Block:
    """What a cell stores of a bench record (the full record stays with `bench --json`)."""
    block = {k: bench[k] for k in BENCH_KEYS}
    block["latency_p50_ms"] = bench["latency_quantiles_ms"][50]
    block["cdf_ms"] = bench["latency_quantiles_ms"]
    return block


def e2e_of(target: Any, opts: Any, ctx: SweepContext) -> Optional[Block]:
    """The cell's end-to-end stages (bench/e2e.py) with the spec key `e2e: DIR`, else None."""
    if ctx.e2e is None:
        return None
    from omz_mobilenet.bench.e2e import measure_e2e, output_names

    classes = target.entry.output.classes if target.entry is not None else 1001
    return measure_e2e(ctx.core(), target, opts, ctx.e2e, output_names(target.entry, ctx.settings, classes), ctx.log)


def scenarios_of(target: Any, opts: Any, ctx: SweepContext) -> Optional[list[Block]]:
    """The cell's MLPerf LoadGen runs (the spec key `scenarios:`), one stored block each, else None.
    LoadGen sends one sample per query, so the IR is compiled at batch 1 with the cell's hint; a run that
    fails is stored FAILED with its reason (the cell's own accuracy and bench stand)."""
    if ctx.scenarios is None:
        return None
    from omz_mobilenet.bench.compiled import compile_target
    from omz_mobilenet.bench.loadgen import ScenarioOptions
    from omz_mobilenet.bench.loadgen.run import LoadgenTarget

    compiled = compile_target(ctx.core(), target, opts.model_copy(update={"batch": 1}))
    files = [path for path, _label in ctx.image_set().items]
    lg_target = LoadgenTarget(
        compiled.compiled, files, target.model, target.precision, opts.device, str(target.xml), target.entry
    )
    plan = ctx.scenarios
    runs = [ScenarioOptions(name, duration_s=plan.duration_s) for name in plan.scenarios if name != "server"]
    if "server" in plan.scenarios:
        runs += [
            ScenarioOptions("server", duration_s=plan.duration_s, target_qps=plan.target_qps, max_latency_ms=bound)
            for bound in plan.bounds_ms
        ]
    return [_scenario_run(lg_target, run, ctx) for run in runs]


def _scenario_run(target: Any, options: Any, ctx: SweepContext) -> Block:
    from omz_mobilenet.bench.loadgen import run_scenario, search_server_qps

    search = options.scenario == "server" and options.target_qps is None
    try:
        record = search_server_qps(target, options, ctx.log) if search else run_scenario(target, options, log=ctx.log)
    except (ToolError, RuntimeError) as exc:
        reason = exc.message if isinstance(exc, ToolError) else str(exc)
        return scenario_block(None, options, reason)
    return scenario_block(record, options)


def scenario_block(record: Any, options: Any, failure: Optional[str] = None) -> Block:
    """What a cell stores of one LoadGen run (results/record.py SCENARIO_KEYS), from bench's ScenarioRecord;
    a failed run keeps its scenario, bound and reason, and result FAILED."""
    from omz_mobilenet.bench.loadgen.options import HEADLINE
    from omz_mobilenet.bench.loadgen.record import COMPLIANT, EXPLORATORY
    from omz_mobilenet.results.record import RUN_FAILED

    server = options.scenario == "server"
    block: Block = {"scenario": options.scenario, "unit": HEADLINE[options.scenario][1], "batch": 1}
    block["max_latency_ms"] = options.max_latency_ms if server else None
    block["duration_s"] = options.duration_s
    if record is None:
        return {**block, "result": RUN_FAILED, "reasons": [str(failure)], "headline": None, "qps": None,
                "target_qps": options.target_qps, "compliant": False, "note": EXPLORATORY}  # fmt: skip
    percentiles = record.percentiles_ms or {}
    block.update(
        result=record.result,
        reasons=list(record.reasons),
        headline=record.headline,
        qps=record.qps if server else None,
        target_qps=record.settings.get("target_qps"),
        p50_ms=percentiles.get("50.00"),
        p90_ms=percentiles.get("90.00"),
        p99_ms=percentiles.get("99.00"),
        compliant=record.compliance == COMPLIANT,
        note=record.compliance,
        search=list(record.search),
    )
    return block


def compiled_precision(bench: Block) -> str:
    runtime = bench["runtime_precisions"]
    return str(bench["compiled_precision"]) + (f" ({runtime})" if runtime and runtime != "?" else "")


def ir_size_mb(xml: Path) -> float:
    sizes = [p.stat().st_size for p in (xml, xml.with_suffix(".bin")) if p.is_file()]
    return round(sum(sizes) / 1e6, 3)


def new_record(cell: Cell, key: CellKey, ctx: SweepContext, status: str, reason: Optional[str]) -> CellRecord:
    """The one place a sweep builds a stored cell: measured fields are filled in by `measured`."""
    from omz_mobilenet.environment import environment

    now = time.time()
    return CellRecord(
        key=key,
        status=status,
        reason=reason,
        config=cell.config.model_dump(exclude_none=True),
        environment=environment(),
        command=ctx.command,
        started_at=now,
        finished_at=now,
    )


def measured(
    record: CellRecord, accuracy: Optional[Block], bench: Block, entry: ModelEntry, ctx: SweepContext
) -> CellRecord:
    """Fill a record with its measurement; too few evaluated images make it incomplete, never ok."""
    overlap = ctx.calibration_overlap.get((record.model, record.precision))
    # The block is shared by the cells of one IR; the calibration overlap is this cell's own.
    record.accuracy = {**accuracy, "calibration_overlap": overlap} if accuracy and overlap else accuracy
    record.bench = bench_block(bench)
    record.gflops = bench["gflops"] if bench["gflops"] is not None else entry.gflops
    record.mparams = bench["mparams"] if bench["mparams"] is not None else entry.mparams
    record.compiled_precision = compiled_precision(bench)
    record.skipped_images = int(accuracy["skipped"]) if accuracy else 0
    reason = accuracy.get("shortfall") if accuracy else None
    record.status, record.reason = (INCOMPLETE, reason) if reason else (OK, None)
    record.finished_at = time.time()
    return record


def failed(record: CellRecord, reason: str, entry: Optional[ModelEntry]) -> CellRecord:
    record.status, record.reason = FAILED, reason
    if entry is not None:
        record.gflops, record.mparams = entry.gflops, entry.mparams
    record.finished_at = time.time()
    return record
