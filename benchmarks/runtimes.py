"""The `bench --compare` table for every offline model: OpenVINO IR vs the original runtime.

Runs `omz-mobilenet bench MODEL --precision FP32,FP16 --compare` for each offline model (the IR
and the original file measured in alternation in one run, synchronous calls, same inputs, same
thread count), then saves results/runtimes.json and results/runtimes.png (median latency per
runtime and precision).

    python benchmarks/runtimes.py [--time 4] [--rounds 6] [--models m1 m2 ...] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from common import OFFLINE_TFLITE, RESULTS, add_markdown_option, environment, markdown_table, write_markdown


def compare(model: str, seconds: float, rounds: int, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [
            sys.executable,
            "-m",
            "omz_mobilenet",
            "bench",
            model,
            "--precision",
            "FP32,FP16",
            "--compare",
            "--time",
            str(seconds),
            "--rounds",
            str(rounds),
            "--json",
            str(out),
        ]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"{model}: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return {"records": [], "compare": []}
        return json.loads(out.read_text())


def rows_of(model: str, data: dict) -> list[dict]:
    records = {r["precision"]: r for r in data["records"]}
    rows = []
    for row in data.get("compare", []):
        record = records.get(row["precision"], {})
        rows.append(
            {
                "model": model,
                "precision": row["precision"],
                "hint": row["infer_precision_hint"],
                "kernels": record.get("runtime_precisions"),
                "runtime": row["runtime"],
                "threads": row["threads"],
                "openvino_median_ms": row["openvino_median_ms"],
                "original_median_ms": row["original_median_ms"],
                "ratio_original_to_openvino": row["ratio_original_to_openvino"],
                "note": row["note"],
            }
        )
    return rows


def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(r["model"] for r in rows))
    series: dict[str, list[float]] = {}
    for label, pick in [
        ("OpenVINO FP32 (f32)", ("FP32", "openvino_median_ms")),
        ("OpenVINO FP16 IR (f32)", ("FP16", "openvino_median_ms")),
        ("original runtime", ("FP32", "original_median_ms")),
    ]:
        precision, key = pick
        by_model = {r["model"]: r[key] for r in rows if r["precision"] == precision}
        series[label] = [by_model.get(m) or 0.0 for m in models]
    x = np.arange(len(models))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(models)), 5))
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, [m.replace("mobilenet-", "") for m in models], rotation=20, ha="right")
    ax.set_ylabel("median latency, ms (batch 1, lower is better)")
    ax.set_title("OpenVINO IR vs original runtime (alternating, same threads)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def markdown(rows: list[dict], args) -> str:
    def ms(value) -> str:
        return "" if value is None else f"{value:.2f}"

    table = markdown_table(
        ["model", "IR", "kernels run", "OpenVINO ms", "original ms (runtime)", "original / OpenVINO", "note"],
        [
            [
                r["model"],
                r["precision"],
                r["kernels"],
                ms(r["openvino_median_ms"]),
                f"{ms(r['original_median_ms'])} ({r['runtime']})",
                ms(r["ratio_original_to_openvino"]),
                r.get("note") or "",
            ]
            for r in rows
        ],
    )
    return (
        f"`bench --compare`: {rows[0]['hint'] if rows else 'f32'} hint, batch 1, the same thread count on both sides, "
        f"{args.rounds} alternating rounds of synchronous calls on the same inputs, {args.time:g} s per model and "
        "precision; median latency; a ratio above 1 means OpenVINO is faster. `kernels` is read back from the "
        "compiled model.\n\n" + table
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=OFFLINE_TFLITE)
    parser.add_argument(
        "--time", type=float, default=4.0, help="seconds per model and precision (bench and compare each)"
    )
    parser.add_argument("--rounds", type=int, default=6)
    add_markdown_option(parser, "runtimes")
    args = parser.parse_args()
    env = environment()
    rows = []
    for model in args.models:
        print(f"{model} ...", flush=True)
        rows += rows_of(model, compare(model, args.time, args.rounds, env))
    import openvino as ov

    RESULTS.mkdir(exist_ok=True)
    payload = {
        "date": date.today().isoformat(),
        "openvino": ov.get_version(),
        "cpu": ov.Core().get_property("CPU", "FULL_DEVICE_NAME"),
        "cores": os.cpu_count(),
        "rows": rows,
    }
    (RESULTS / "runtimes.json").write_text(json.dumps(payload, indent=2))
    if rows:
        chart(rows, RESULTS / "runtimes.png")
    from omz_mobilenet.output.tables import print_table

    print_table(
        "OpenVINO vs original runtime (median ms; ratio > 1: OpenVINO faster)",
        rows,
        [
            "model",
            "precision",
            "kernels",
            "runtime",
            "threads",
            "openvino_median_ms",
            "original_median_ms",
            "ratio_original_to_openvino",
        ],
    )
    print(f"saved {RESULTS / 'runtimes.json'} and {RESULTS / 'runtimes.png'}")
    if args.markdown:
        write_markdown(args.markdown, "runtimes", markdown(rows, args), title="OpenVINO against the original runtimes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
