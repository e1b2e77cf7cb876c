"""What limits the small MobileNets on CPU: where one inference's time goes, per quantized model.

For each offline model's fastest faithful IR (the `ir` that benchmarks/vs_original.py chose, from
results/vs_original.json), in one run:
- the latency against the original runtime at 2 threads and at 1 thread (bench.compare: synchronous calls,
  latency hint, one request, alternating rounds), so the thread count's share of the gap shows;
- from OpenVINO's performance counters (diagnose's reader): the sum of the layers' times against the wall
  time of the same calls (the rest is per-call overhead: the Python call, the plugin's scheduling, waking
  threads), the reorders' time, and the share of depthwise convolutions (the layers int8 helps least: one
  multiply-add per weight, bound by memory, not by VNNI's dot products);
- the kernels' precisions.

    python benchmarks/vs_original.py            # first: it chooses the IRs
    python benchmarks/small_models.py [--models M1,M2] [--rounds 4] [--time 2] [--markdown]
Writes results/small_models.json (with --markdown also docs/results/small_models.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from common import RESULTS, add_markdown_option, environment, markdown_table, write_markdown
from vs_original import _time_against_original

COUNTED_CALLS = 300  # inferences whose counters are summed; the median of the per-call sums is reported
PAIR_ROUNDS = 10  # FP32 against INT8 of the float model: counted in 10 alternating rounds of 30 calls


def _category(kernel) -> str:
    """Where a layer's time is booked. The CPU plugin reports a depthwise convolution as GroupConvolution
    and names a pointwise kernel `..._1x1_...`; the other convolution is the first, 3x3 on the image."""
    if kernel.op_type == "GroupConvolution":
        return "depthwise conv"
    if kernel.op_type == "Convolution":
        return "pointwise conv" if "1x1" in kernel.exec_type else "first conv"
    if kernel.op_type in ("FullyConnected", "MatMul"):
        return "classifier"
    return "reorders" if kernel.op_type == "Reorder" else "other layers"


CATEGORIES = ("pointwise conv", "depthwise conv", "first conv", "classifier", "reorders", "other layers")


def _request(core, xml: Path, threads: int):
    """A warmed-up infer request with PERF_COUNT on, fed one fixed random input."""
    import numpy as np
    import openvino as ov

    from omz_mobilenet.runtime import compile_ir

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1}
    config |= {"PERF_COUNT": True, "ENABLE_CPU_PINNING": False}
    request = compile_ir(core, xml, "CPU", "f32", config, 1).create_infer_request()
    port = request.model_inputs[0]
    tensor = np.random.default_rng(0).random(tuple(port.shape)).astype(port.get_element_type().to_dtype())
    request.set_input_tensor(ov.Tensor(tensor))
    for _ in range(30):
        request.infer()
    return request


def _calls(request, calls: int, into: dict) -> None:
    """Per call: wall time, the sum of the layers' times, their difference, and each category's sum (us)."""
    from omz_mobilenet.diagnose.counters import kernels_of

    for _ in range(calls):
        started = time.perf_counter()
        request.infer()
        wall = (time.perf_counter() - started) * 1e6
        kernels = kernels_of(request)
        layers = sum(k.mean_us for k in kernels.values())
        into.setdefault("wall", []).append(wall)
        into.setdefault("layers", []).append(layers)
        into.setdefault("overhead", []).append(wall - layers)  # the same call's wall time minus its layers' times
        for category in CATEGORIES:
            booked = sum(k.mean_us for k in kernels.values() if _category(k) == category)
            into.setdefault(category, []).append(booked)
        into["kernels"] = kernels


def _summary(samples: dict, threads: int) -> dict:
    from omz_mobilenet.bench.stats import median
    from omz_mobilenet.diagnose.counters import kernel_mix, mix_text

    wall_us, overhead_us, kernels = median(samples["wall"]), median(samples["overhead"]), samples["kernels"]
    return {
        "threads": threads,
        "wall_us": round(wall_us, 1),
        "layers_us": round(median(samples["layers"]), 1),
        "overhead_us": round(overhead_us, 1),
        "overhead_share": round(overhead_us / wall_us, 3),
        "categories_us": {c: round(median(samples[c]), 1) for c in CATEGORIES},
        "reorders": sum(1 for k in kernels.values() if k.op_type == "Reorder"),
        "kernels": mix_text(kernel_mix(kernels)),
    }


def counters(core, xml: Path, threads: int) -> dict:
    """Medians over COUNTED_CALLS calls: wall time, the sum of the layers' times, and per category."""
    samples: dict = {}
    _calls(_request(core, xml, threads), COUNTED_CALLS, samples)
    return _summary(samples, threads)


def alternated_counters(core, xmls: list[Path], threads: int, rounds: int) -> list[dict]:
    """counters() of several IRs in alternating rounds (the order rotated every round), COUNTED_CALLS calls
    each in all: this VM's speed drifts between minutes, and IRs counted one after the other drift apart."""
    from omz_mobilenet.sweep.rounds import rotated

    requests = [_request(core, xml, threads) for xml in xmls]
    samples: list[dict] = [{} for _ in xmls]
    for round_index in range(rounds):
        for i in rotated(list(range(len(xmls))), round_index):
            _calls(requests[i], COUNTED_CALLS // rounds, samples[i])
    return [_summary(s, threads) for s in samples]


def measure_model(core, name: str, chosen: dict, settings, args) -> dict:
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.ir_store import ir_xml

    entry = {m.name: m for m in load_catalogue().models}[name]
    folder = chosen["ir"]
    xml = ir_xml(settings.out_dir, name, folder)
    row: dict = {"model": name, "ir": folder}
    for threads in (2, 1):
        timed = _time_against_original(core, entry, folder, xml, settings, argparse.Namespace(**{
            **vars(args), "threads": threads}))  # fmt: skip
        row[f"t{threads}"] = {k: timed[k] for k in ("openvino_median_ms", "original_median_ms",
                                                    "ratio_original_to_openvino", "runtime")}  # fmt: skip
    row["counters"] = counters(core, xml, 2)
    print(f"  {json.dumps(row)}", file=sys.stderr)
    return row


def float_pair(core, name: str, settings, rounds: int) -> dict:
    """A float model's FP32 and FP32-INT8 IRs, per category at 1 thread, counted in alternating rounds."""
    from omz_mobilenet.convert.ir_store import ir_xml

    xmls = [ir_xml(settings.out_dir, name, folder) for folder in ("FP32", "FP32-INT8")]
    fp32, int8 = alternated_counters(core, xmls, 1, rounds)
    pair = {"model": name, "FP32": fp32, "INT8": int8, "rounds": rounds}
    print(f"  {json.dumps(pair)}", file=sys.stderr)
    return pair


def _share(c: dict, category: str) -> str:
    return f"{c['categories_us'][category]} ({100 * c['categories_us'][category] / c['layers_us']:.0f} %)"


def markdown(rows: list[dict], pairs: list[dict], args) -> str:
    header = ["model", "IR", "OpenVINO / original ms, 2 threads", "ratio", "OpenVINO / original ms, 1 thread"]
    header += ["ratio", "layers us", "per-call overhead us", "reorders us", "depthwise us", "pointwise us", "kernels"]
    body = []
    for r in rows:
        t2, t1, c = r["t2"], r["t1"], r["counters"]
        body.append([
            r["model"], r["ir"], f"{t2['openvino_median_ms']:.3f} / {t2['original_median_ms']:.3f}",
            f"{t2['ratio_original_to_openvino']:.2f}x", f"{t1['openvino_median_ms']:.3f} / {t1['original_median_ms']:.3f}",
            f"{t1['ratio_original_to_openvino']:.2f}x", c["layers_us"],
            f"{c['overhead_us']} ({100 * c['overhead_share']:.0f} %)",
            f"{_share(c, 'reorders')}, {c['reorders']} of them", _share(c, "depthwise conv"),
            _share(c, "pointwise conv"), c["kernels"],
        ])  # fmt: skip
    text = (
        f"Latency hint, 1 request, synchronous calls, CPU pinning off, {args.rounds} alternating rounds of "
        f"{args.time} s against the original in its own runtime; ratio = original / OpenVINO (above 1: the IR is "
        f"faster). Counters: {COUNTED_CALLS} calls at 2 threads with PERF_COUNT on, medians of per-call sums; "
        "per-call overhead = the median over calls of the call's wall time minus its layers' times; shares are of the "
        "layers' time.\n\n" + markdown_table(header, body)
    )
    if pairs:
        text += "\n\n" + pairs_table(pairs)
    return text


def pairs_table(pairs: list[dict]) -> str:
    """FP32 against INT8 of the same float model, per category, at 1 thread (one throughput stream's view)."""
    header = ["model", "where", "FP32 us", "INT8 us", "FP32 / INT8"]
    body = []
    for pair in pairs:
        f32, i8 = pair["FP32"], pair["INT8"]
        for where in (*CATEGORIES, "per-call overhead", "wall time"):
            key = {"per-call overhead": "overhead_us", "wall time": "wall_us"}.get(where)
            a = f32[key] if key else f32["categories_us"][where]
            b = i8[key] if key else i8["categories_us"][where]
            body.append([pair["model"], where, a, b, f"{a / b:.2f}x" if b else "-"])
    return (
        f"FP32 against NNCF INT8 of the float model, 1 thread (what each stream of the throughput hint runs on "
        f"2 cores), {COUNTED_CALLS} calls each in {pairs[0]['rounds']} alternating rounds, medians of per-call sums:"
        "\n\n" + markdown_table(header, body)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=None, help="comma list (default: every model of vs_original.json)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--time", type=float, default=2.0, help="seconds per comparison (default 2)")
    parser.add_argument("--chosen", type=Path, default=RESULTS / "vs_original.json", help="vs_original.py's output")
    add_markdown_option(parser, "small_models")
    args = parser.parse_args()
    args.pinning = False
    os.environ.update({k: v for k, v in environment().items() if k.startswith("OMZ_MOBILENET")})
    if not args.chosen.is_file():
        raise SystemExit(f"{args.chosen} is missing: run benchmarks/vs_original.py first (it chooses the IRs)")

    from omz_mobilenet.environment import environment as machine
    from omz_mobilenet.runtime import new_core
    from omz_mobilenet.settings import Settings

    chosen = {r["model"]: r for r in json.loads(args.chosen.read_text())["rows"] if "ir" in r}
    names = args.models.split(",") if args.models else list(chosen)
    settings = Settings.resolve(progress=False)
    core = new_core()
    rows = [measure_model(core, name, chosen[name], settings, args) for name in names]
    pairs = [float_pair(core, name, settings, PAIR_ROUNDS) for name in names if chosen[name]["source"] == "FP32"]
    out = RESULTS / "small_models.json"
    out.write_text(json.dumps({"machine": machine(), "rows": rows, "pairs": pairs}, indent=1))
    table = markdown(rows, pairs, args)
    print(table)
    if args.markdown:
        write_markdown(args.markdown, "small_models", table, title="What limits the small models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
