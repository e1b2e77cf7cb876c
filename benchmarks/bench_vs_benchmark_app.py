"""Is `omz-mobilenet bench` as fast as OpenVINO's own `benchmark_app` on the same IR?

For MobileNetV2 (an offline model) at FP32 with INFERENCE_PRECISION_HINT=f32 and at the device's
default precision, both tools run on the same IR with the same performance hint and random inputs,
taking turns (order swapped every round) because the machine is shared and noisy. Printed and
saved to results/bench_vs_benchmark_app.json: the median over rounds of each tool's median latency
and throughput, and our/benchmark_app ratios (target: within 5 %).

    python benchmarks/bench_vs_benchmark_app.py [--rounds 4] [--time 5] [--model mobilenet-v2-1.0-224-quant]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from common import RESULTS, environment


# (label, --infer-precision of ours, -infer_precision of benchmark_app (None: device default), hint)
CONFIGS = [
    ("FP32 f32 latency", "f32", "f32", "latency"),
    ("FP32 default latency", "default", None, "latency"),
    ("FP32 f32 throughput", "f32", "f32", "throughput"),
]


def omz(args: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "omz_mobilenet", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"omz-mobilenet {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return result


def run_ours(model: str, infer: str, hint: str, seconds: float, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        omz(["bench", model, "--precision", "FP32", "--infer-precision", infer, "--hint", hint,
             "--time", str(seconds), "--json", str(out)], env)
        record = json.loads(out.read_text())["records"][0]
    return {"median_ms": record["latency_median_ms"], "fps": record["throughput_fps"], "precision": record["compiled_precision"]}


def benchmark_app_path() -> str:
    local = Path(sys.executable).with_name("benchmark_app")
    found = str(local) if local.exists() else shutil.which("benchmark_app")
    if not found:
        sys.exit("benchmark_app not found (it comes with the openvino package)")
    return found


def run_benchmark_app(xml: Path, infer: str | None, hint: str, seconds: float) -> dict:
    cmd = [benchmark_app_path(), "-m", str(xml), "-d", "CPU", "-hint", hint, "-t", str(int(round(seconds)))]
    if infer:
        cmd += ["-infer_precision", infer]
    text = subprocess.run(cmd, capture_output=True, text=True).stdout
    median = re.search(r"Median:\s+([\d.]+) ms", text)
    fps = re.search(r"Throughput:\s+([\d.]+) FPS", text)
    if not (median and fps):
        sys.exit(f"could not parse benchmark_app output:\n{text[-1500:]}")
    return {"median_ms": float(median.group(1)), "fps": float(fps.group(1))}


def measure(config: tuple, xml: Path, model: str, rounds: int, seconds: float, env: dict) -> dict:
    label, ours_infer, app_infer, hint = config
    ours, app = [], []
    for index in range(rounds):
        first_ours = index % 2 == 0  # swap the order each round so a drift hits both tools
        for tool in (("ours", "app") if first_ours else ("app", "ours")):
            if tool == "ours":
                ours.append(run_ours(model, ours_infer, hint, seconds, env))
            else:
                app.append(run_benchmark_app(xml, app_infer, hint, seconds))
        print(f"  {label} round {index + 1}: ours {ours[-1]['median_ms']:.3f} ms, benchmark_app {app[-1]['median_ms']:.3f} ms", flush=True)
    ours_median = statistics.median(r["median_ms"] for r in ours)
    app_median = statistics.median(r["median_ms"] for r in app)
    ours_fps = statistics.median(r["fps"] for r in ours)
    app_fps = statistics.median(r["fps"] for r in app)
    return {
        "config": label, "hint": hint, "infer_precision": ours_infer, "compiled_precision": ours[0]["precision"],
        "ours_median_ms": ours_median, "benchmark_app_median_ms": app_median, "latency_ratio": ours_median / app_median,
        "ours_fps": ours_fps, "benchmark_app_fps": app_fps, "throughput_ratio": ours_fps / app_fps,
        "rounds": rounds, "seconds_per_run": seconds, "ours_runs": ours, "benchmark_app_runs": app,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobilenet-v2-1.0-224-quant")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--time", type=float, default=5.0, help="seconds per run of each tool")
    args = parser.parse_args()
    env = environment()
    omz(["convert", args.model, "--precisions", "FP32"], env)
    xml = Path(env["OMZ_MOBILENET_OUT"]) / args.model / "FP32" / f"{args.model}.xml"
    import openvino as ov

    rows = [measure(config, xml, args.model, args.rounds, args.time, env) for config in CONFIGS]
    payload = {"date": date.today().isoformat(), "model": args.model, "openvino": ov.get_version(),
               "cpu": ov.Core().get_property("CPU", "FULL_DEVICE_NAME"), "cores": os.cpu_count(), "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_vs_benchmark_app.json").write_text(json.dumps(payload, indent=2))
    from omz_mobilenet.output.tables import print_table

    columns = ["config", "compiled_precision", "ours_median_ms", "benchmark_app_median_ms", "latency_ratio",
               "ours_fps", "benchmark_app_fps", "throughput_ratio"]
    print_table(f"omz-mobilenet bench vs benchmark_app, {args.model} ({args.rounds} alternating rounds)", rows, columns)
    print(f"saved {RESULTS / 'bench_vs_benchmark_app.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
