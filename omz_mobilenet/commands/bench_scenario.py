"""`bench --scenario singlestream|multistream|server|offline`: MLPerf LoadGen scenarios on an IR
(bench/loadgen), their flags, the checks before any work, the table and the JSON records.

`--accuracy` scores LoadGen's responses with the accuracy code (the same ranking and label mapping as
`accuracy`), so the Top-1 equals `accuracy`'s on the same images; the MLPerf rule (98 % of the FP32
Top-1) is judged against the FP32 IR's responses on the same images.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet import validators
from omz_mobilenet.errors import UsageError

SCENARIO_CHOICES = ("singlestream", "multistream", "server", "offline")
DEFAULT_SERVER_BOUND_MS = 10.0  # MLPerf v0.5 MobileNet's Server latency bound
# flags of plain bench that mean nothing to a LoadGen run: dest -> flag
NOT_WITH_SCENARIO = {
    "tune": "--tune",
    "compare": "--compare",
    "profile": "--profile",
    "e2e": "--e2e",
    "niter": "--niter",
    "time": "--time (use --duration)",
    "nireq": "--nireq",
}
COLUMNS = {
    "model": "model",
    "precision": "prec",
    "scenario": "scenario",
    "result": "result",
    "headline": "figure",
    "p99": "p99 ms",
    "compliance": "MLPerf",
    "p50": "p50 ms",
    "p90": "p90 ms",
    "samples_per_s": "samples/s",
    "target_qps": "target QPS",
    "reasons": "LoadGen's reasons",
}
SHORT_UNITS = {"singlestream": "ms p90", "multistream": "ms p99", "server": "QPS", "offline": "samples/s"}


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", choices=SCENARIO_CHOICES, help="run an MLPerf LoadGen scenario on real images")
    p.add_argument("--dataset", type=Path, metavar="DIR", help="--scenario: the images the QSL loads")
    p.add_argument("--annotations", type=Path, help="--scenario --accuracy: val.txt, FILES.tsv or CSV (as accuracy)")
    p.add_argument(
        "--duration", type=validators.seconds, metavar="S", help="--scenario: LoadGen's min_duration (default 10)"
    )
    p.add_argument(
        "--official", action="store_true", help="--scenario: MLPerf's own minimums (at least 10 minutes per run)"
    )
    p.add_argument(
        "--target-qps", type=validators.positive_float, help="--scenario server: arrival rate; offline: expected QPS"
    )
    p.add_argument("--loadgen-out", type=Path, metavar="DIR", help="--scenario: keep LoadGen's logs in DIR")
    p.add_argument("--accuracy", action="store_true", help="--scenario: LoadGen's accuracy mode, scored as accuracy")


def check_scenario_args(args: argparse.Namespace) -> None:
    """Every flag combination that makes no sense, one line each, before any work."""
    if args.scenario is None:
        used = [f for f in ("dataset", "duration", "target_qps", "loadgen_out", "annotations") if getattr(args, f)]
        used += [f for f in ("official", "accuracy") if getattr(args, f)]
        if used:
            raise UsageError(f"--{used[0].replace('_', '-')} needs --scenario")
        return
    for dest, flag in NOT_WITH_SCENARIO.items():
        if getattr(args, dest, None) not in (None, False):
            raise UsageError(f"{flag} does not apply to --scenario {args.scenario}")
    if list(args.inputs) != ["random"]:
        raise UsageError("--inputs does not apply to --scenario; the images come from --dataset DIR")
    if args.batch != 1:
        raise UsageError(f"--batch {args.batch} does not apply to --scenario: LoadGen issues single samples")
    if args.dataset is None:
        raise UsageError(f"--scenario {args.scenario} needs --dataset DIR (the images LoadGen's QSL loads)")
    if args.official and args.duration is not None:
        raise UsageError("--duration does not apply with --official (MLPerf's minimum is 600 s)")
    if args.target_qps is not None and args.scenario in ("singlestream", "multistream"):
        raise UsageError(f"--target-qps applies to --scenario server or offline, not {args.scenario}")
    if args.max_latency is not None and args.scenario != "server":
        raise UsageError(f"--max-latency is Server's latency bound; it does not apply to --scenario {args.scenario}")
    if args.max_latency is not None:
        validators.check("--max-latency", args.max_latency, validators.positive_float)
    if args.annotations is not None and not args.accuracy:
        raise UsageError("--annotations applies to --scenario with --accuracy")
    if args.loadgen_out is not None and args.loadgen_out.exists() and not args.loadgen_out.is_dir():
        raise UsageError(f"--loadgen-out {args.loadgen_out} is a file; give a folder")


def scenario_options(args: argparse.Namespace) -> Any:
    from omz_mobilenet.bench.loadgen import ScenarioOptions
    from omz_mobilenet.bench.loadgen.options import DEFAULT_DURATION_S

    bound = args.max_latency if args.max_latency is not None else DEFAULT_SERVER_BOUND_MS
    return ScenarioOptions(
        args.scenario,
        duration_s=args.duration or DEFAULT_DURATION_S,
        official=args.official,
        target_qps=args.target_qps,
        max_latency_ms=bound if args.scenario == "server" else None,
        out_dir=args.loadgen_out,
        accuracy=args.accuracy,
    )


def scenario_row(record: dict) -> dict:
    from omz_mobilenet.bench.loadgen.record import COMPLIANT

    block = record["scenario"]
    pct = block["percentiles_ms"]
    unit = SHORT_UNITS[block["scenario"]]
    figure = "accuracy mode" if block["headline"] is None else f"{block['headline']} {unit}"
    return {
        "model": record["model"],
        "precision": record["precision"],
        "scenario": block["settings"]["scenario"],
        "result": block["result"],
        "compliance": "compliant" if block["compliance"] == COMPLIANT else "exploratory",
        "headline": figure,
        "p50": pct.get("50.00"),
        "p90": pct.get("90.00"),
        "p99": pct.get("99.00"),
        "samples_per_s": block["samples_per_s"],
        "target_qps": block["settings"].get("target_qps"),
        "reasons": "; ".join(block["reasons"]) or "-",
    }


def print_scenarios(records: list[dict], device: str) -> None:
    from omz_mobilenet.bench.loadgen.record import COMPLIANT
    from omz_mobilenet.environment import isa_label
    from omz_mobilenet.output.tables import print_table

    if not records:
        return
    print_table(
        f"omz-mobilenet bench --scenario on {device} ({isa_label()}): MLPerf LoadGen",
        [{COLUMNS[k]: v for k, v in scenario_row(r).items()} for r in records],
    )
    if any(r["scenario"]["compliance"] != COMPLIANT for r in records):
        print("MLPerf exploratory: shorter than MLPerf's minimums (--official), exploratory, not MLPerf-compliant")
    for record in records:
        block = record["scenario"]
        if not block["valid"]:
            print(f"  {record['model']} {record['precision']}: INVALID: {'; '.join(block['reasons']) or '-'}")
        for attempt in block["search"]:
            print(
                f"  server search try {attempt['try']}: {attempt['target_qps']} QPS -> {attempt['result']} "
                f"(p99 {attempt['p99_ms']} ms)"
            )
        if block["accuracy"] is not None:
            print(f"  {record['model']} {record['precision']}: {accuracy_line(block['accuracy'])}")
        if block["log_dir"]:
            print(f"  LoadGen logs: {block['log_dir']}")


def accuracy_line(acc: dict) -> str:
    rule = acc["mlperf"]
    verdict = {True: "meets it", False: "DOES NOT meet it", None: "not judged"}[rule["meets"]]
    return (
        f"Top-1 {acc['top1']} % on {acc['images']} images (LoadGen accuracy mode); MLPerf rule "
        f"{rule['rule']} (FP32 {rule['fp32_top1']} %, threshold {rule['threshold']} %): {verdict}"
    )


def official_note(opts: Any) -> Optional[str]:
    from omz_mobilenet.bench.loadgen.options import MLPERF_MIN_DURATION_S
    from omz_mobilenet.bench.loadgen.run import SEARCH_TRIES

    if not opts.official or opts.accuracy:
        return None
    return (
        f"--official: MLPerf's minimums (min_duration {MLPERF_MIN_DURATION_S:.0f} s, its query counts): "
        f"each run takes at least {MLPERF_MIN_DURATION_S / 60:.0f} minutes"
        + (
            f", and a Server search runs up to {SEARCH_TRIES} of them"
            if opts.scenario == "server" and not opts.target_qps
            else ""
        )
    )


def run_scenarios(args: argparse.Namespace) -> int:
    """`bench --scenario`: every named model x precision, one LoadGen run (or Server search) each."""
    from omz_mobilenet.bench.loadgen.options import loadgen
    from omz_mobilenet.bench.loadgen.run import check_samples
    from omz_mobilenet.bench.session import plan
    from omz_mobilenet.commands.bench_cmds import parse_bench_precisions
    from omz_mobilenet.commands.common import log, selected_entries, settings_from
    from omz_mobilenet.output.envelope import check_writable
    from omz_mobilenet.runtime import check_device, new_core

    check_writable(args.json, args.csv)
    loadgen()  # not installed: one line saying how, before any work
    opts = scenario_options(args)
    files, image_set = _images(args)
    check_samples(opts, len(files), str(args.dataset))
    settings = settings_from(args)
    core = new_core()
    check_device(core, args.device)
    planned = plan(selected_entries(args), parse_bench_precisions(args.precision), bool(args.precision), settings, log)
    if planned.refused:
        raise planned.refused[0]
    if opts.accuracy and any(item.make().entry is None for item in planned.items):
        raise UsageError("--scenario --accuracy needs catalogued models (their label space); name the model")
    note = official_note(opts)
    if note:
        log(note)
    records = [_run_one(core, item.make(), files, image_set, opts, args) for item in planned.items]
    print_scenarios(records, args.device)
    _write(records, args)
    invalid = [f"{r['model']} {r['precision']}" for r in records if not r["scenario"]["valid"]]
    if invalid:
        log(f"[red]INVALID LoadGen result for {', '.join(invalid)}[/]")
    return 1 if invalid else 0


def _images(args: argparse.Namespace) -> tuple[list[Path], Any]:
    """The QSL's files: the labelled image set with --accuracy (found as `accuracy` finds it), else the
    folder's images; both sorted the same way, so sample i is the same image either way."""
    if args.accuracy:
        from omz_mobilenet.inputs.checks import check_image_set

        sets = check_image_set(args.dataset, args.annotations)
        if len(sets) != 1:
            raise UsageError(f"--dataset {args.dataset} holds {len(sets)} image sets; give one folder")
        return [path for path, _ in sets[0].items], sets[0]
    from omz_mobilenet.inputs.images import list_images

    return list_images(args.dataset), None


def _compile(core: Any, target: Any, args: argparse.Namespace) -> Any:
    """The IR at batch 1: latency hint for SingleStream, throughput for the others (--hint does not apply);
    --nstreams, --nthreads and --pinning as plain bench takes them."""
    from omz_mobilenet.runtime import compile_ir

    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY" if args.scenario == "singlestream" else "THROUGHPUT"}
    if args.nstreams is not None:
        config["NUM_STREAMS"] = args.nstreams
    if args.nthreads is not None:
        config["INFERENCE_NUM_THREADS"] = args.nthreads
    if args.pinning is not None and args.device.split(":")[0] == "CPU":
        config["ENABLE_CPU_PINNING"] = args.pinning == "on"
    infer = None if args.infer_precision == "default" else args.infer_precision
    return compile_ir(core, target.xml, args.device, infer, config, 1)


def _run_one(core: Any, target: Any, files: list[Path], image_set: Any, opts: Any, args: argparse.Namespace) -> dict:
    from omz_mobilenet.bench.loadgen import run_scenario, search_server_qps
    from omz_mobilenet.bench.loadgen.run import LoadgenTarget
    from omz_mobilenet.commands.common import log

    lt = LoadgenTarget(
        _compile(core, target, args), files, target.model, target.precision, args.device, str(target.xml), target.entry
    )
    if opts.accuracy:
        record = run_scenario(lt, opts, _classify(), log)
        record.accuracy = _scored(record, target, image_set, opts, core, args)
    elif opts.scenario == "server" and opts.target_qps is None:
        record = search_server_qps(lt, opts, log)
    else:
        record = run_scenario(lt, opts, None, log)
    return record.as_dict()


def _classify() -> Any:
    from omz_mobilenet.accuracy.metrics import rank

    return lambda scores: rank(scores, "tf").top1  # accuracy's default rule: ties to the lower index


def _top1(record: Any, entry: Any, image_set: Any, settings: Any) -> dict:
    """LoadGen's responses scored with the accuracy code against the set's labels in the model's outputs."""
    from omz_mobilenet.accuracy.metrics import accuracy_summary
    from omz_mobilenet.inputs.labels import space_for, truth_for

    responses = record.accuracy["responses"] if record.accuracy else {}
    truth = truth_for(entry, image_set, space_for(entry, [image_set], settings))
    hits = sum(int(responses.get(index) == label) for index, label in enumerate(truth))
    summary = accuracy_summary(hits, 0, len(truth))
    return {"images": len(truth), "responses": len(responses), "top1_hits": hits, "top1": summary["top1"]}


def _scored(record: Any, target: Any, image_set: Any, opts: Any, core: Any, args: argparse.Namespace) -> dict:
    from omz_mobilenet.bench.loadgen.record import mlperf_accuracy_rule
    from omz_mobilenet.commands.common import settings_from

    scored = _top1(record, target.entry, image_set, settings_from(args))
    fp32 = scored["top1"] if target.ir_precision == "FP32" else _fp32_top1(target, image_set, opts, core, args)
    scored["mlperf"] = mlperf_accuracy_rule(scored["top1"], fp32)
    if scored["responses"] != scored["images"]:
        record.result = "INVALID"
        record.reasons.append(f"{scored['responses']} responses for {scored['images']} images")
    return scored


def _fp32_top1(target: Any, image_set: Any, opts: Any, core: Any, args: argparse.Namespace) -> Optional[float]:
    """The FP32 IR's Top-1 on the same images, through the same LoadGen accuracy run."""
    from dataclasses import replace

    from omz_mobilenet.bench.loadgen import run_scenario
    from omz_mobilenet.bench.loadgen.run import LoadgenTarget
    from omz_mobilenet.bench.session import named_target
    from omz_mobilenet.commands.common import log, settings_from

    fp32 = named_target(target.entry, "FP32", settings_from(args), log)
    lt = LoadgenTarget(
        _compile(core, fp32, args),
        [p for p, _ in image_set.items],
        fp32.model,
        "FP32",
        args.device,
        str(fp32.xml),
        fp32.entry,
    )
    out = None if opts.out_dir is None else Path(opts.out_dir) / "fp32-reference"
    record = run_scenario(lt, replace(opts, out_dir=out), _classify(), log)
    return _top1(record, target.entry, image_set, settings_from(args))["top1"]


def _write(records: list[dict], args: argparse.Namespace) -> None:
    from omz_mobilenet.output.envelope import envelope
    from omz_mobilenet.output.tables import write_csv, write_json

    if args.json:
        write_json(Path(args.json), envelope("bench", records))
    if args.csv:
        write_csv(Path(args.csv), [scenario_row(r) for r in records])
