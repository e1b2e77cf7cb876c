"""Is `omz-mobilenet bench` as fast as OpenVINO's own `benchmark_app` on the same IR?

Issue 10 point 3 ("bench fidelity"). On one IR at FP32 (INFERENCE_PRECISION_HINT=f32), for each
performance hint, the two tools take turns: one `omz-mobilenet bench --rounds 1 --time T` run and
one `benchmark_app -t T` run per round, the order swapped every round (the machine is shared and
noisy, a drift must hit both). Both leave streams, threads and requests to the hint; what each
ended up with is printed next to the numbers. Reported: the median over rounds of each tool's
median latency and throughput, the spread ((max - min) / median) of each, and ours/benchmark_app
ratios (target: within 5 %).

What the two tools time, so the comparison is apples to apples (openvino/tools/benchmark):
- latency hint: benchmark_app runs one request synchronously (`infer()` in a loop); bench does too.
- throughput hint: benchmark_app keeps an AsyncInferQueue busy, reading each request's latency
  when it is idle again; bench does too.
- latency: OpenVINO's `InferRequest.latency` of every inference, median of them (benchmark_app
  takes the lower median, bench interpolates: indistinguishable over thousands of samples);
  throughput: inferences / wall time of the loop, both tools.
- inputs: benchmark_app binds one random tensor per request once; bench binds the next tensor of a
  pool of 16 distinct inputs before every inference. What that policy costs is measured apart, in
  this process: bench's own loop (omz_mobilenet.bench.run) with its pool vs with one reused tensor,
  alternating rounds of T seconds.

    python benchmarks/bench_vs_benchmark_app.py [--rounds 5] [--time 5] [--model mobilenet-v1-0.25-224-tflite]
        [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Optional

from common import RESULTS, add_markdown_option, environment, write_markdown

HINTS = ("latency", "throughput")


def omz(args: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "omz_mobilenet", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"omz-mobilenet {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return result


def run_ours(model: str, hint: str, seconds: float, env: dict) -> dict:
    """One `bench` run of one round (its default warm-up of 10 inferences is not timed)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        omz(
            [
                "bench",
                model,
                "--precision",
                "FP32",
                "--infer-precision",
                "f32",
                "--hint",
                hint,
                "--rounds",
                "1",
                "--time",
                str(seconds),
                "--json",
                str(out),
            ],
            env,
        )
        record = json.loads(out.read_text())["records"][0]
    return {
        "median_ms": record["latency_median_ms"],
        "fps": record["throughput_fps"],
        "precision": record["compiled_precision"],
        "streams": record["streams"],
        "threads": record["threads"],
        "requests": record["requests"],
        "iterations": record["iterations"],
    }


def benchmark_app_path() -> str:
    local = Path(sys.executable).with_name("benchmark_app")
    found = str(local) if local.exists() else shutil.which("benchmark_app")
    if not found:
        sys.exit("benchmark_app not found: it comes with the openvino package (pip install openvino)")
    return found


def _number(pattern: str, text: str) -> Optional[float]:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else None


def parse_benchmark_app(text: str) -> dict:
    """benchmark_app's console report. It prints latencies in microseconds ("us") when the average
    is under 1 ms, in milliseconds otherwise."""
    median = re.search(r"Median:\s+([\d.]+) (ms|us)", text)
    fps = _number(r"Throughput:\s+([\d.]+) FPS", text)
    if not (median and fps):
        sys.exit(f"could not parse benchmark_app output:\n{text[-1500:]}")
    requests = _number(r"(\d+) inference requests", text)  # async only; sync runs one request
    return {
        "median_ms": float(median.group(1)) / (1000.0 if median.group(2) == "us" else 1.0),
        "fps": fps,
        "streams": _number(r"NUM_STREAMS: (\d+)", text),
        "threads": _number(r"INFERENCE_NUM_THREADS: (\d+)", text),
        "requests": int(requests) if requests else 1,
        "iterations": _number(r"Count:\s+(\d+) iterations", text),
    }


def run_benchmark_app(xml: Path, hint: str, seconds: float) -> dict:
    cmd = [
        benchmark_app_path(),
        "-m",
        str(xml),
        "-d",
        "CPU",
        "-hint",
        hint,
        "-infer_precision",
        "f32",
        "-t",
        str(int(round(seconds))),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return parse_benchmark_app(done.stdout)


def spread(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.median(values)


def summary(runs: list[dict]) -> dict:
    medians, fps = [r["median_ms"] for r in runs], [r["fps"] for r in runs]
    return {
        "median_ms": statistics.median(medians),
        "fps": statistics.median(fps),
        "latency_spread": spread(medians),
        "fps_spread": spread(fps),
    }


def paired(ours: list[dict], theirs: list[dict], key: str) -> float:
    """Median of the per-round ratios: steadier than a ratio of medians when the load drifts."""
    return statistics.median(o[key] / t[key] for o, t in zip(ours, theirs, strict=True))


def alternate(rounds: int, sides: dict[str, Callable[[], dict]], label: str) -> dict[str, list[dict]]:
    """`rounds` rounds of every side, the order reversed every other round (two sides) or rotated by
    one each round (more), so no side always runs first."""
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    names = list(sides)
    for index in range(rounds):
        if len(names) == 2:
            order = names if index % 2 == 0 else names[::-1]
        else:
            order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            runs[name].append(sides[name]())
        line = ", ".join(
            f"{name} {runs[name][-1]['median_ms']:.3f} ms {runs[name][-1]['fps']:.0f} FPS" for name in sides
        )
        print(f"  {label} round {index + 1}/{rounds}: {line}", flush=True)
    return runs


def compare_tools(xml: Path, model: str, hint: str, rounds: int, seconds: float, env: dict) -> dict:
    runs = alternate(
        rounds,
        {
            "bench": lambda: run_ours(model, hint, seconds, env),
            "benchmark_app": lambda: run_benchmark_app(xml, hint, seconds),
        },
        f"{hint}: tools",
    )
    ours, app = summary(runs["bench"]), summary(runs["benchmark_app"])
    setup = {
        tool: "/".join(str(int(r[k])) if r[k] is not None else "?" for k in ("streams", "threads", "requests"))
        for tool, r in ((t, runs[t][0]) for t in runs)
    }
    return {
        "hint": hint,
        "compiled_precision": runs["bench"][0]["precision"],
        "streams_threads_requests": setup["bench"],
        "benchmark_app_streams_threads_requests": setup["benchmark_app"],
        "bench_median_ms": ours["median_ms"],
        "benchmark_app_median_ms": app["median_ms"],
        "latency_ratio": ours["median_ms"] / app["median_ms"],
        "bench_fps": ours["fps"],
        "benchmark_app_fps": app["fps"],
        "throughput_ratio": ours["fps"] / app["fps"],
        # Paired per-round ratios: both tools of one round saw about the same machine load.
        "paired_latency_ratio": paired(runs["bench"], runs["benchmark_app"], "median_ms"),
        "paired_throughput_ratio": paired(runs["bench"], runs["benchmark_app"], "fps"),
        "bench_spread": max(ours["latency_spread"], ours["fps_spread"]),
        "benchmark_app_spread": max(app["latency_spread"], app["fps_spread"]),
        "rounds": rounds,
        "seconds_per_run": seconds,
        "bench_runs": runs["bench"],
        "benchmark_app_runs": runs["benchmark_app"],
    }


class _OneBatch:
    """The one thing benchmark_app's loops ask of their input queue in inference-only mode."""

    def get_next_batch_size(self) -> int:
        return 1


def benchmark_app_loop(compiled, queue, tensor, hint: str, seconds: float) -> Callable[[], dict]:
    """benchmark_app's own measuring loop (openvino.tools.benchmark.benchmark.Benchmark), run on
    bench's compiled model and queue: `sync_inference` under the latency hint, else
    `async_inference_only`, with one tensor bound to every request once, as benchmark_app does."""
    from openvino.tools.benchmark.benchmark import Benchmark

    app = Benchmark(
        "CPU",
        number_infer_requests=len(queue),
        duration_seconds=seconds,
        api_type="sync" if hint == "latency" else "async",
        inference_only=True,
    )
    requests = [queue[i] for i in range(len(queue))]
    for request in requests:
        request.set_input_tensor(tensor)

    def run() -> dict:
        if app.api_type == "sync":
            times, duration, iterations = app.sync_inference(requests[0], _OneBatch())
        else:
            times, duration, iterations = app.async_inference_only(queue, _OneBatch())
        return {"median_ms": statistics.median(times), "fps": iterations / duration}

    return run


def in_process(xml: Path, model: str, hint: str, rounds: int, seconds: float) -> dict:
    """In one process, on one compiled model, in alternating rounds: bench's loop with its pool of
    distinct inputs, the same loop with one reused tensor (what the fresh-input policy costs), and
    benchmark_app's own loop (what is left of the difference between the two loops). Process
    start-up and machine drift between separate runs are gone, so short rounds resolve a few %."""
    from omz_mobilenet.bench.compiled import BenchTarget
    from omz_mobilenet.bench.loop import measure, prepare
    from omz_mobilenet.bench.options import BenchOptions
    from omz_mobilenet.runtime import new_core

    opts = BenchOptions(hint=hint, time_s=seconds, infer_precision="f32").validate()
    prepared = prepare(new_core(), BenchTarget(model, "FP32", "FP32", xml), opts)
    one = replace(prepared, pool=prepared.pool[:1])

    def side(which) -> Callable[[], dict]:
        def run() -> dict:
            result = measure(which, opts)
            return {"median_ms": statistics.median(result.latencies_ms), "fps": result.iterations / result.duration_s}

        return run

    app = benchmark_app_loop(prepared.compiled.compiled, prepared.queue, prepared.pool[0], hint, seconds)
    runs = alternate(
        rounds, {"pool": side(prepared), "one tensor": side(one), "benchmark_app loop": app}, f"{hint}: in one process"
    )
    pool, single, loop = summary(runs["pool"]), summary(runs["one tensor"]), summary(runs["benchmark_app loop"])
    return {
        "hint": hint,
        "pool_size": len(prepared.pool),
        "rounds": rounds,
        "seconds_per_run": seconds,
        "pool_median_ms": pool["median_ms"],
        "one_tensor_median_ms": single["median_ms"],
        "app_loop_median_ms": loop["median_ms"],
        "pool_fps": pool["fps"],
        "one_tensor_fps": single["fps"],
        "app_loop_fps": loop["fps"],
        # paired per-round ratios: the sides of one round saw about the same machine load
        "latency_cost": paired(runs["pool"], runs["one tensor"], "median_ms") - 1,
        "throughput_cost": 1 - paired(runs["pool"], runs["one tensor"], "fps"),
        "loop_latency_ratio": paired(runs["pool"], runs["benchmark_app loop"], "median_ms"),
        "loop_throughput_ratio": paired(runs["pool"], runs["benchmark_app loop"], "fps"),
        "spread": max(max(x["latency_spread"], x["fps_spread"]) for x in (pool, single, loop)),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobilenet-v1-0.25-224-tflite")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per hint (default 5)")
    parser.add_argument(
        "--time",
        type=float,
        default=5.0,
        help="seconds per run of each tool (whole seconds for benchmark_app; default 5)",
    )
    parser.add_argument(
        "--inproc-rounds", type=int, default=15, help="rounds of the in-process comparison (default 15)"
    )
    parser.add_argument(
        "--inproc-time", type=float, default=1.0, help="seconds per side and round in one process (default 1)"
    )
    parser.add_argument("--hints", default=",".join(HINTS), help="comma-separated (default latency,throughput)")
    parser.add_argument("--json", type=Path, default=RESULTS / "bench_vs_benchmark_app.json")
    add_markdown_option(parser, "bench_vs_benchmark_app")
    args = parser.parse_args()
    from omz_mobilenet.environment import isa_label
    from omz_mobilenet.output.envelope import check_writable, envelope

    check_writable(str(args.json))
    print(f"machine: {isa_label()}", flush=True)
    env = environment()
    omz(["convert", args.model, "--precisions", "FP32"], env)
    xml = Path(env["OMZ_MOBILENET_OUT"]) / args.model / "FP32" / f"{args.model}.xml"
    hints = [h for h in args.hints.split(",") if h]
    rows = [compare_tools(xml, args.model, hint, args.rounds, args.time, env) for hint in hints]
    costs = [in_process(xml, args.model, hint, args.inproc_rounds, args.inproc_time) for hint in hints]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            envelope("bench_vs_benchmark_app", rows, model=args.model, in_process=costs, invocation=" ".join(sys.argv)),
            indent=2,
        )
    )
    tables = report(args, rows, costs)
    print(f"\n{tables}\n\nsaved {args.json}")
    if args.markdown:
        write_markdown(args.markdown, "bench_vs_benchmark_app", tables, title="bench against benchmark_app")
    return 0


def report(args, rows: list[dict], costs: list[dict]) -> str:
    """Markdown tables for docs/results (rich tables would drop columns in a narrow terminal)."""
    out: list[str] = []

    def pct(x: float) -> str:
        return f"{100 * x:+.1f} %"

    out.append(
        f"\nbench vs benchmark_app, {args.model} FP32 (INFERENCE_PRECISION_HINT=f32), median of {args.rounds} "
        f"alternating rounds of {args.time:g} s each\n"
    )
    out.append(
        "| hint | streams/threads/requests | bench latency ms | benchmark_app latency ms | ratio (paired) | bench FPS | "
        "benchmark_app FPS | ratio (paired) | spread bench / benchmark_app |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        out.append(
            f"| {r['hint']} | {r['streams_threads_requests']} | {r['bench_median_ms']:.3f} | {r['benchmark_app_median_ms']:.3f} "
            f"| {r['latency_ratio']:.3f} ({r['paired_latency_ratio']:.3f}) | {r['bench_fps']:.0f} | {r['benchmark_app_fps']:.0f} "
            f"| {r['throughput_ratio']:.3f} ({r['paired_throughput_ratio']:.3f}) "
            f"| {100 * r['bench_spread']:.0f} % / {100 * r['benchmark_app_spread']:.0f} % |"
        )
    pool = costs[0]["pool_size"] if costs else "?"
    out.append(
        f"\nin one process, one compiled model: bench's loop with its pool of {pool} distinct inputs, the same loop "
        f"with one reused tensor, and benchmark_app's own loop (openvino.tools.benchmark), "
        f"{costs[0]['rounds'] if costs else '?'} rotating rounds of {args.inproc_time:g} s each\n"
    )
    out.append(
        "| hint | bench (pool) ms | one tensor ms | benchmark_app loop ms | bench (pool) FPS | one tensor FPS "
        "| benchmark_app loop FPS | fresh-input cost, latency / FPS | bench / benchmark_app loop, latency / FPS "
        "| spread |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for c in costs:
        out.append(
            f"| {c['hint']} | {c['pool_median_ms']:.3f} | {c['one_tensor_median_ms']:.3f} | {c['app_loop_median_ms']:.3f} "
            f"| {c['pool_fps']:.0f} | {c['one_tensor_fps']:.0f} | {c['app_loop_fps']:.0f} "
            f"| {pct(c['latency_cost'])} / {pct(c['throughput_cost'])} "
            f"| {c['loop_latency_ratio']:.3f} / {c['loop_throughput_ratio']:.3f} | {100 * c['spread']:.0f} % |"
        )
    out.append(
        "\nratio = median of bench's round values / median of benchmark_app's; (paired) and the in-process "
        "ratios and costs = median of the per-round ratios (cost: + means the pool is slower); "
        "spread = (max - min) / median over the rounds (the largest of the latencies' and throughputs')"
    )
    return "\n".join(out).strip()


if __name__ == "__main__":
    sys.exit(main())
