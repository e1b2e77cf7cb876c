"""The Server QPS each offline model holds at p99 <= --max-latency (default 10 ms) on CPU under MLPerf
LoadGen, next to its Offline samples/s and bench's throughput-hint FPS, stamped with the machine.

Each model runs, through the CLI: `bench MODEL --hint throughput --inputs dataset DIR --json` (the FPS),
`bench MODEL --scenario offline --dataset DIR --duration S --json` and `bench MODEL --scenario server
--max-latency MS --dataset DIR --duration S --json` (the bisection for the highest VALID QPS, every try
kept). Runs are exploratory (short durations), never MLPerf-compliant; an INVALID result is shown as such.

    python benchmarks/loadgen.py [--dataset ../shared/assets/imagenet/val_100_cropped_reencoded]
        [--model M ...] [--duration 10] [--max-latency 10] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ASSETS, OFFLINE_MODELS, REPO, add_markdown_option, environment, markdown_table, write_markdown

from omz_mobilenet.bench.loadgen.run import early_stopping_minimum

MIN_QUERIES = early_stopping_minimum()  # the least every Server search try asks of LoadGen


def bench(model: str, *args: str) -> dict:
    """One `bench` run through the CLI; its first record. Exit 1 (an INVALID LoadGen run) still has one."""
    with tempfile.TemporaryDirectory(prefix="omz-loadgen-") as folder:
        out = Path(folder) / "bench.json"
        command = [sys.executable, "-m", "omz_mobilenet", "bench", model, *args, "--no-progress", "--json", str(out)]
        done = subprocess.run(command, env=environment(), cwd=REPO, capture_output=True, text=True)
        if not out.is_file():
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        return json.loads(out.read_text())["records"][0]


def measure(model: str, args: argparse.Namespace) -> dict:
    data, seconds = str(args.dataset), str(args.duration)
    print(f"{model}: bench --hint throughput", file=sys.stderr)
    fps = bench(model, "--hint", "throughput", "--time", seconds, "--inputs", "dataset", data)
    print(f"{model}: LoadGen Offline", file=sys.stderr)
    offline = bench(model, "--scenario", "offline", "--dataset", data, "--duration", seconds)["scenario"]
    print(f"{model}: LoadGen Server search, p99 <= {args.max_latency} ms", file=sys.stderr)
    server = bench(model, "--scenario", "server", "--max-latency", str(args.max_latency), "--dataset", data,
                   "--duration", seconds)["scenario"]  # fmt: skip
    return {"model": model, "fps": fps, "offline": offline, "server": server}


def _figure(block: dict) -> str:
    value = f"{block['headline']:.1f}" if block["headline"] is not None else "-"
    return value if block["valid"] else f"INVALID ({value}; {'; '.join(block['reasons'][:2])})"


def _try(attempt: dict) -> str:
    """One try: its rate and result, and the queries asked when above early stopping's minimum (a rerun)."""
    longer = attempt.get("min_queries", 0) > MIN_QUERIES
    return f"{attempt['target_qps']:.0f} {attempt['result']}" + (f" ({attempt['min_queries']} q)" if longer else "")


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    header = ["model", "precision", f"Server QPS at p99 <= {args.max_latency:g} ms", "its p99 ms", "search tries"]
    header += ["Offline samples/s", "bench throughput-hint FPS (rounds)"]
    body = []
    for r in rows:
        server, offline, fps = r["server"], r["offline"], r["fps"]
        tries = ", ".join(_try(t) for t in server["search"])
        rounds = ", ".join(f"{v:.0f}" for v in fps["round_fps"])
        body.append([r["model"], fps["precision"], _figure(server), server["percentiles_ms"].get("99.00"), tries,
                     _figure(offline), f"{fps['throughput_fps']:.0f} ({rounds})"])  # fmt: skip
    note = (
        f"\n\nLoadGen {rows[0]['server']['settings'].get('loadgen')}, CPU, FP32 IR (the as-is import of a "
        f"quantized source), `{Path(args.dataset).name}` preprocessed into memory, {args.duration:g} s per run: "
        "**exploratory, not MLPerf-compliant** (MLPerf's minimum is 600 s per run, `--official`). The Server "
        "figure is the highest scheduled QPS of the bisection whose run LoadGen called VALID (Poisson arrivals, "
        f"p99 under the bound, early stopping satisfied); the tries are listed in order. Every try asks LoadGen "
        f"for at least {MIN_QUERIES} queries (early stopping's minimum at p99), so it lasts the longer of "
        f"{args.duration:g} s and {MIN_QUERIES} / QPS; a try refused only for too few queries runs again at the "
        "same rate with the count LoadGen asks for (shown as `(N q)`). bench's FPS is its "
        "throughput-hint figure on the same images (median of its rounds)."
    )
    return markdown_table(header, body, right=(2, 3, 5, 6)) + note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ASSETS / "imagenet" / "val_100_cropped_reencoded")
    parser.add_argument("--model", action="append", help="model (repeatable; default every offline model)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per LoadGen run and bench (default 10)")
    parser.add_argument("--max-latency", type=float, default=10.0, help="Server's p99 bound in ms (default 10)")
    add_markdown_option(parser, "loadgen")
    args = parser.parse_args()
    rows = [measure(model, args) for model in args.model or OFFLINE_MODELS]
    for r in rows:
        print(f"{r['model']}: Server {_figure(r['server'])} QPS, Offline {_figure(r['offline'])} samples/s, "
              f"bench {r['fps']['throughput_fps']:.0f} FPS")  # fmt: skip
    if args.markdown:
        write_markdown(args.markdown, "loadgen", markdown(rows, args), title="MLPerf LoadGen: Server QPS under a bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
