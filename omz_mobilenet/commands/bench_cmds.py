"""`bench` (alias `benchmark`) and `devices`.

Only argparse and the catalogue helpers are imported here; OpenVINO, numpy and the runtimes load
inside the functions, so `omz-mobilenet list` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet import validators
from omz_mobilenet.commands.bench_e2e import add_measure_args, attach_stages, e2e_options, print_e2e
from omz_mobilenet.commands.bench_scenario import add_scenario_args, check_scenario_args, run_scenarios
from omz_mobilenet.commands.common import (
    add_location_args,
    add_model_args,
    add_no_progress,
    log,
    many_models,
    selected_entries,
    settings_from,
)
from omz_mobilenet.errors import UsageError

BENCH_PRECISIONS = ("FP32", "FP16", "INT8")
# bf16/f16 only on request (some CPUs default to bf16); `--infer-precision default` lets the device choose
HINT_NOTE = "FP32/FP16 IRs run with INFERENCE_PRECISION_HINT=f32 unless --infer-precision says otherwise"
# record field -> short terminal header (JSON/CSV keep the full field names). What bench is for comes
# first: at 100 columns the table keeps columns from the left, so median, p99 and FPS always show and
# the rest (hint, compiled, batch, GFlops, ...) is listed as hidden until --wide.
MAIN_COLUMNS = {
    "model": "model",
    "precision": "prec",
    "device_used": "device",
    "latency_median_ms": "median",
    "latency_p99_ms": "p99",
    "throughput_fps": "FPS",
    "latency_p90_ms": "p90",
    "latency_mean_ms": "mean",
    "latency_min_ms": "min",
    "latency_max_ms": "max",
    "infer_precision_hint": "hint",
    "compiled_precision": "compiled",
    "batch": "batch",
    "gflops": "GFlops",
    "mparams": "MParams",
    "compile_ms": "compile",
    "first_inference_ms": "first",
}
DETAIL_COLUMNS = {
    "model": "model",
    "precision": "prec",
    "performance_hint": "perf hint",
    "streams": "streams",
    "threads": "threads",
    "requests": "nireq",
    "iterations": "iters",
    "inputs": "inputs",
    "runtime_precisions": "kernels",
    "device_full_name": "device name",
    "openvino": "OpenVINO",
    "peak_rss_mb": "peak RSS MB",
}
COMPARE_COLUMNS = {
    "model": "model",
    "precision": "prec",
    "device": "device",
    "infer_precision_hint": "hint",
    "runtime": "original runtime",
    "runtime_version": "version",
    "threads": "threads",
    "openvino_median_ms": "OpenVINO median",
    "original_median_ms": "original median",
    "ratio_original_to_openvino": "original / OpenVINO",
    "note": "note",
}


def parse_bench_precisions(text: Optional[str]) -> list[str]:
    from omz_mobilenet.precision import parse

    return parse(text or "FP32")


def _inputs_dataset(args: argparse.Namespace) -> Optional[Path]:
    """`--inputs random` or `--inputs dataset DIR`; nargs="+" also swallows model names typed
    after it (`--inputs random mobilenet-v2-...`), so those go back to the model list."""
    values = list(args.inputs)
    if values and values[0] == "random":
        args.models = list(args.models) + values[1:]
        return None
    if len(values) >= 2 and values[0] == "dataset":
        args.models = list(args.models) + values[2:]
        return Path(values[1])
    raise UsageError("--inputs takes `random` or `dataset DIR`")


def options_from(args: argparse.Namespace):
    """The flags as BenchOptions; a refused value is one line naming its flag (exit 2)."""
    from pydantic import ValidationError

    from omz_mobilenet.bench.options import DEFAULT_TIME_S, BenchOptions, refusal

    time_s = args.time if args.time is not None else (None if args.niter is not None else DEFAULT_TIME_S)
    try:
        return BenchOptions(
            device=args.device,
            infer_precision=args.infer_precision,
            hint=args.hint,
            batch=args.batch,
            nireq=args.nireq,
            nstreams=args.nstreams,
            nthreads=args.nthreads,
            pinning={None: None, "on": True, "off": False}[args.pinning],
            tune=args.tune,
            max_latency_ms=args.max_latency,
            time_s=time_s,
            niter=args.niter,
            rounds=args.rounds,
            warmup=args.warmup,
            dataset=_inputs_dataset(args),
            profile=args.profile is not None,
        )
    except ValidationError as exc:
        raise refusal(exc) from None


def run_bench(args: argparse.Namespace) -> int:
    from omz_mobilenet.bench.session import SessionResult, plan, run_session
    from omz_mobilenet.output.envelope import check_writable
    from omz_mobilenet.runtime import check_device, new_core

    check_scenario_args(args)
    if args.scenario is not None:
        return run_scenarios(args)  # MLPerf LoadGen (commands/bench_scenario.py)
    check_writable(args.json, args.csv)
    opts = options_from(args)
    e2e = e2e_options(args)  # the --e2e images are checked before anything is compiled
    precisions = parse_bench_precisions(args.precision)
    settings = replace(settings_from(args), progress=not args.no_progress)
    core = new_core()
    check_device(core, opts.device)  # before any conversion: an absent GPU fails in one line, at once
    if opts.dataset is not None:
        from omz_mobilenet.inputs.images import list_images

        list_images(opts.dataset)  # an empty or missing folder fails before compiling anything
    # --all or every IR found: report a failing model and go on, like `convert --all`
    keep_going = many_models(args)
    planned = plan(selected_entries(args), precisions, bool(args.precision), settings, log)
    if planned.refused and not keep_going:
        raise planned.refused[0]  # every pair is checked before anything is compiled
    refused = [exc.message for exc in planned.refused]
    for line in refused:
        log(f"[red]{line}[/]")
    if opts.tune:
        return _tune(core, planned.items, opts, args)
    result, prepared = SessionResult(), list[Any]()
    if planned.items:
        result, prepared = run_session(
            core, planned.items, opts, keep_going and len(planned.items) > 1, args.profile, log
        )
    result.failures[:0] = refused
    if result.interrupted_during is not None:
        return _interrupted(result, args)
    if args.compare:
        _compare(prepared, opts, settings, result)
    if e2e is not None:
        attach_stages(core, prepared, result, opts, e2e, settings, log)
    _report(result, args)
    return 1 if result.failures else 0


def _tune(core, items: list, opts, args: argparse.Namespace) -> int:
    """`--tune`: per model and precision, the best throughput under --max-latency (bench/tune.py)."""
    from omz_mobilenet.bench.tune import tune_options, tune_target
    from omz_mobilenet.environment import isa_label
    from omz_mobilenet.output.envelope import envelope
    from omz_mobilenet.output.tables import print_table, write_json

    opts = tune_options(opts, args.time)
    rounds = opts.rounds
    results = []
    for item in items:
        target = item.make()
        chosen, explored = tune_target(core, target, opts, log=log)
        limit = f"median <= {args.max_latency} ms" if args.max_latency is not None else "the lowest median latency"
        print_table(
            f"bench --tune {target.model} {target.precision} on {args.device} ({isa_label()}), {rounds} alternating "
            f"rounds: best FPS with {limit}",
            [e.row() for e in explored],
        )
        print(f"chosen: {chosen.summary()}")
        results.append({"chosen": chosen.record.as_dict(), "explored": [e.record.as_dict() for e in explored]})
    if args.json:
        write_json(
            Path(args.json),
            envelope("bench", [r["chosen"] for r in results], tune=results, max_latency_ms=args.max_latency),
        )
    return 0


def _compare(prepared: list, opts, settings, result) -> None:
    from omz_mobilenet.bench.compare import compare_target

    for item in prepared:
        result.compares.append(
            compare_target(item.target, item.compiled, opts, settings, max(2, opts.rounds), log).as_dict()
        )


def _interrupted(result, args: argparse.Namespace) -> int:
    """Ctrl-C: print (and write to --json/--csv) the results gathered so far, then exit 130."""
    partial = [r for r in result.records if r.partial]
    done = len(result.records) - len(partial)
    what = f"{done} complete result(s)" + (f", {len(partial)} partial" if partial else "")
    if result.records:
        _report(result, args, interrupted=True)
    print(f"omz-mobilenet: interrupted during {result.interrupted_during}; {what}", file=sys.stderr)
    return 130


def _report(result, args: argparse.Namespace, interrupted: bool = False) -> None:
    from omz_mobilenet.output.envelope import envelope
    from omz_mobilenet.output.tables import print_table, write_csv, write_json

    records = [r.as_dict() for r in result.records]
    if interrupted:
        print("INTERRUPTED (Ctrl-C): partial results; a row with partial=True stopped early")
    if records:
        print_e2e(records, args.device)  # with --e2e, what it is for comes first
        print(HINT_NOTE)
        version = records[0]["openvino"]
        title = f"omz-mobilenet bench on {args.device} (OpenVINO {version.split('-')[0]}; times in ms, FPS = images/s)"
        print_table(title, _renamed(records, MAIN_COLUMNS))
        details = {**DETAIL_COLUMNS, "partial": "partial"} if interrupted else DETAIL_COLUMNS
        print_table(_rounds_title(records), _renamed(records, details))
    for profile in result.profiles:
        title = f"{profile['model']} {profile['precision']}: layer times over {profile['inferences']} inferences"
        print_table(f"{title} (sum {profile['layers_per_inference_ms']:.3f} ms per inference)", profile["top_layers"])
        print_table(f"{profile['model']} {profile['precision']}: per op type", profile["by_op_type"])
    if result.compares:
        title = "OpenVINO vs the original runtime (medians in ms, alternating rounds, synchronous calls, same inputs)"
        print_table(title, _renamed(result.compares, COMPARE_COLUMNS))
    if args.json:
        extra: dict = {"interrupted": True} if interrupted else {}
        extra.update({k: v for k, v in (("profile", result.profiles), ("compare", result.compares)) if v})
        write_json(Path(args.json), envelope("bench", records, **extra))
    if args.csv:
        write_csv(Path(args.csv), records)


def _rounds_title(records: list[dict]) -> str:
    noisy = [f"{r['model']} {r['precision']}" for r in records if r.get("noisy")]
    note = f"; NOISY (round spread > 10 %): {', '.join(noisy)}" if noisy else ""
    return f"how the numbers were made ({records[0]['rounds']} alternating rounds, order rotated each round){note}"


def _renamed(records: list[dict], columns: dict) -> list[dict]:
    return [{header: record.get(field) for field, header in columns.items()} for record in records]


def run_devices(args: argparse.Namespace) -> int:
    import openvino as ov

    from omz_mobilenet.output.tables import print_table
    from omz_mobilenet.runtime import device_rows, new_core

    rows = device_rows(new_core())
    if args.json:
        from omz_mobilenet.output.envelope import dumps

        print(dumps("devices", rows, openvino=ov.get_version()))
        return 0
    print_table(f"OpenVINO {ov.get_version()} devices", rows, ["device", "full_name", "capabilities"])
    print("also accepted: AUTO, AUTO:<devices>, HETERO:<devices>, MULTI:<devices>, BATCH:<device>")
    return 0


def _add_bench_args(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    add_location_args(p)
    p.add_argument(
        "-d", "--device", default="CPU", help="CPU, GPU, NPU, AUTO or any OpenVINO device string (default CPU)"
    )
    p.add_argument(
        "--precision",
        help="comma list of FP32, FP16, INT8, INT8-ASIS (an INT8 source as imported) (default FP32); INT8-RQ = INT8",
    )
    p.add_argument(
        "--infer-precision",
        default="f32",
        choices=["f32", "bf16", "f16", "default"],
        help="INFERENCE_PRECISION_HINT (default f32; 'default' lets the device choose)",
    )
    p.add_argument(
        "--hint",
        default="latency",
        choices=["latency", "throughput", "none"],
        help="PERFORMANCE_HINT (default latency)",
    )
    p.add_argument(
        "--batch", type=validators.batch, default=1, help="images per request; the IR is reshaped (default 1)"
    )
    p.add_argument(
        "--nireq", type=validators.positive_int, help="infer requests in flight (default: the device's optimal number)"
    )
    p.add_argument("--nstreams", type=validators.positive_int, help="NUM_STREAMS (default: from the hint)")
    p.add_argument("--nthreads", type=validators.positive_int, help="INFERENCE_NUM_THREADS (default: from the hint)")
    p.add_argument("--pinning", choices=["on", "off"], help="CPU ENABLE_CPU_PINNING (default: the device's own choice)")
    add_measure_args(p)
    add_scenario_args(p)
    add_no_progress(p)
    p.add_argument("--json", metavar="FILE", help="write the records (and profile/compare) as JSON")
    p.add_argument("--csv", metavar="FILE", help="write the records as CSV")
    p.set_defaults(func=run_bench)


def register(subparsers) -> None:
    for name in ("bench", "benchmark"):
        p = subparsers.add_parser(
            name,
            help="latency, throughput and GFlops of IRs on a device"
            + (" (same as bench)" if name == "benchmark" else ""),
        )
        _add_bench_args(p)
    p = subparsers.add_parser("devices", help="OpenVINO devices on this machine, with full names")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run_devices)
