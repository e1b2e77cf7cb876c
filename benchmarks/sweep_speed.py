"""A sweep against the same work done as separate commands (issue "The matrix", Speed).

One model, 3 precisions (FP32, FP16, INT8), the evaluation split: `sweep` once, against 3 x
(`accuracy` + `bench`) with the same image set, bench time and rounds, in fresh processes and
fresh IR folders with the IRs converted beforehand on both sides (conversion is not timed), in
alternating order. Prints wall times, their ratio, and checks both give the same Top-1. Then times
a re-run of the sweep where every cell is stored (target under 5 s).

    python benchmarks/sweep_speed.py [--model M] [--images DIR] [--calibration DIR] [--rounds N] [--time T ...]
        [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ASSETS, RESULTS, add_markdown_option, environment, markdown_table, write_markdown

from omz_mobilenet.environment import isa_label

CLI = [sys.executable, "-m", "omz_mobilenet"]
PRECISIONS = ["FP32", "FP16", "INT8"]


def run(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run(CLI + args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - started


def prepare(root: Path, model: str, calibration: str, env: dict) -> dict:
    env = {**env, "OMZ_MOBILENET_OUT": str(root / "ir")}
    run(["convert", model, "--precision", "FP32,FP16"], env)
    run(["convert", model, "--precision", "INT8", "--calibration", calibration], env)
    return env


def separate(env: dict, model: str, images: str, bench_time: float, out: Path) -> tuple[float, dict]:
    took, top1 = 0.0, {}
    for precision in PRECISIONS:
        report = out / f"acc-{precision}.json"
        took += run(
            ["accuracy", model, "--precision", precision, "--dataset", images, "--no-progress", "--json", str(report)],
            env,
        )
        took += run(["bench", model, "--precision", precision, "--time", str(bench_time), "--rounds", "3"], env)
        data = json.loads(report.read_text())
        rows = data["records"] if isinstance(data, dict) else data
        top1[precision] = rows[0]["top1"]
    return took, top1


def swept(env: dict, model: str, images: str, bench_time: float, db: Path) -> tuple[float, dict]:
    args = [
        "sweep",
        "--models",
        model,
        "--precision",
        ",".join(PRECISIONS),
        "--dataset",
        images,
        "--time",
        str(bench_time),
        "--rounds",
        "3",
        "--db",
        str(db),
        "--no-progress",
        "--force",
    ]
    took = run(args, env)
    proc = subprocess.run(CLI + ["results", str(db), "--json"], env=env, capture_output=True, text=True, check=True)
    records = json.loads(proc.stdout)["records"]
    return took, {r["precision"]: r["accuracy"]["top1"] for r in records}


def compare(env: dict, args, root: Path, bench_time: float) -> dict:
    """Alternating rounds of the sweep and the separate commands at one bench time, then a re-run."""
    sweep_times, separate_times = [], []
    for round_index in range(args.rounds):
        order = ["sweep", "separate"] if round_index % 2 == 0 else ["separate", "sweep"]
        for side in order:
            if side == "sweep":
                took, sweep_top1 = swept(env, args.model, args.images, bench_time, root / "r.db")
                sweep_times.append(took)
            else:
                took, separate_top1 = separate(env, args.model, args.images, bench_time, root)
                separate_times.append(took)
            print(f"--time {bench_time:g} round {round_index + 1} {side}: {took:.1f} s", flush=True)
    rerun = run(
        [
            "sweep",
            "--models",
            args.model,
            "--precision",
            ",".join(PRECISIONS),
            "--dataset",
            args.images,
            "--time",
            str(bench_time),
            "--db",
            str(root / "r.db"),
            "--no-progress",
        ],
        env,
    )
    s, p = statistics.median(sweep_times), statistics.median(separate_times)
    print(
        f"\nsweep (1 command, 3 cells): median {s:.1f} s over {args.rounds} rounds, range {min(sweep_times):.1f}-{max(sweep_times):.1f}"
    )
    print(
        f"separate (3 x accuracy + bench): median {p:.1f} s, range {min(separate_times):.1f}-{max(separate_times):.1f}"
    )
    print(f"speed-up: {p / s:.2f}x (target 2x); re-run with every cell stored: {rerun:.2f} s (target < 5 s)")
    print(
        f"Top-1 sweep {sweep_top1} vs separate {separate_top1}: {'same' if sweep_top1 == separate_top1 else 'DIFFERENT'}"
    )
    return {
        "time": bench_time,
        "sweep": sweep_times,
        "separate": separate_times,
        "rerun": rerun,
        "same": sweep_top1 == separate_top1,
        "top1": sweep_top1,
    }


def markdown(rows: list[dict], args) -> str:
    def span(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} s ({min(values):.1f}-{max(values):.1f})"

    table = markdown_table(
        [
            "bench time per cell (both sides)",
            "sweep",
            "3 x (accuracy + bench)",
            "speed-up",
            "re-run, every cell stored",
            "same Top-1",
        ],
        [
            [
                f"`--time {r['time']:g}`",
                span(r["sweep"]),
                span(r["separate"]),
                f"**{statistics.median(r['separate']) / statistics.median(r['sweep']):.2f}x**",
                f"{r['rerun']:.2f} s",
                ("yes (" + " / ".join(str(r["top1"].get(p)) for p in PRECISIONS) + ")") if r["same"] else "**no**",
            ]
            for r in rows
        ],
    )
    return (
        f"One `sweep` of {args.model} x {', '.join(PRECISIONS)} over `{args.images}` against 3 x (`accuracy` + "
        f"`bench --rounds 3`) in fresh processes, IRs converted beforehand on both sides, alternating which goes "
        f"first; medians (range) of {args.rounds} rounds.\n\n" + table
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="mobilenet-v1-0.25-224-tflite")
    parser.add_argument("--images", default=str(RESULTS / "split" / "evaluation"))
    parser.add_argument("--calibration", default=str(RESULTS / "split" / "calibration"))
    parser.add_argument(
        "--time",
        type=float,
        nargs="+",
        default=[3.0],
        help="bench seconds per cell on both sides; several values give a row each (default 3)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    add_markdown_option(parser, "sweep_speed")
    args = parser.parse_args()
    print(f"machine: {isa_label()}; model {args.model}; images {args.images}; assets {ASSETS}")
    root = Path(tempfile.mkdtemp(prefix="sweep-speed-"))
    try:
        env = prepare(root, args.model, args.calibration, environment())
        rows = [compare(env, args, root, bench_time) for bench_time in args.time]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.markdown:
        write_markdown(
            args.markdown, "sweep_speed", markdown(rows, args), title="Sweep speed: one sweep against separate commands"
        )


if __name__ == "__main__":
    main()
