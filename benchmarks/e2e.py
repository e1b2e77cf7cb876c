"""Where the time goes from an image file to its top-5: `bench --e2e` per offline model, host vs graph
preprocessing, one image after the other vs pipelined, next to the inference-only figure `bench` gives.

Each model runs `omz-mobilenet bench MODEL --e2e DIR --pipeline --preprocess host|graph --json` through
the CLI, the two placements taking turns for --rounds rounds (the machine may be busy: the medians of
the rounds are reported). Stage times are medians per image in ms (docs/explanations/e2e.md says what
each stage includes).

    python benchmarks/e2e.py [--dataset ../shared/assets/imagenet/val_original_20] [--model M ...]
        [--rounds 3] [--niter 200] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ASSETS, OFFLINE_MODELS, REPO, add_markdown_option, environment, markdown_table, write_markdown

STAGES = ("read", "decode", "preprocess", "inference", "postprocess")
PLACEMENTS = ("host", "graph")


def run_one(model: str, placement: str, args: argparse.Namespace) -> dict:
    """One `bench --e2e` run; its record (with `stages`)."""
    with tempfile.TemporaryDirectory(prefix="omz-e2e-") as folder:
        out = Path(folder) / "bench.json"
        command = [sys.executable, "-m", "omz_mobilenet", "bench", model, "--e2e", str(args.dataset), "--pipeline"]
        command += ["--preprocess", placement, "--niter", str(args.niter), "--rounds", "1", "--no-progress"]
        command += ["--json", str(out)]
        done = subprocess.run(command, env=environment(), cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        return json.loads(out.read_text())["records"][0]


def measure(model: str, args: argparse.Namespace) -> list[dict]:
    """Alternating rounds of the two placements; one row per placement with the round medians."""
    runs: dict[str, list[dict]] = {p: [] for p in PLACEMENTS}
    for index in range(args.rounds):
        order = PLACEMENTS if index % 2 == 0 else PLACEMENTS[::-1]
        for placement in order:
            print(f"{model} {placement} round {index + 1}/{args.rounds}", file=sys.stderr)
            runs[placement].append(run_one(model, placement, args))
    return [row(model, placement, runs[placement]) for placement in PLACEMENTS]


def row(model: str, placement: str, records: list[dict]) -> dict:
    def median(pick) -> float:
        return statistics.median(pick(r) for r in records)

    result = {"model": model, "placement": placement, "images": records[0]["stages"]["images"]}
    for stage in (*STAGES, "total"):
        result[stage] = median(lambda r, s=stage: r["stages"][s]["median_ms"])
    result["total_p99"] = median(lambda r: r["stages"]["total"]["p99_ms"])
    result["sequential"] = median(lambda r: r["stages"]["images_per_s"])
    result["pipelined"] = median(lambda r: r["stages"]["pipeline"]["images_per_s"])
    result["inference_fps"] = median(lambda r: r["throughput_fps"])
    result["inference_ms"] = median(lambda r: r["latency_median_ms"])
    return result


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    header = ["model", "preprocessing", *(f"{s} ms" for s in STAGES), "total ms", "total p99 ms"]
    header += ["images/s one by one", "images/s pipelined", "bench inference only: median ms, FPS"]
    body = [
        [r["model"], r["placement"], *(f"{r[s]:.3f}" for s in (*STAGES, "total")), f"{r['total_p99']:.2f}"]
        + [f"{r['sequential']:.1f}", f"{r['pipelined']:.1f}", f"{r['inference_ms']:.3f}, {r['inference_fps']:.0f}"]
        for r in rows
    ]
    note = (
        f"\n\n{rows[0]['images']} images per run from `{Path(args.dataset).name}` (each image read and decoded "
        f"from its file), FP32 IR (the as-is import of a quantized source), latency hint, one request; medians "
        f"over {args.rounds} alternating round(s) of the two placements. *graph*: the IR takes the decoded image "
        "and crops and resizes inside (its time is in *inference*). *bench inference only*: the same session's "
        "figure on a pre-filled tensor, what `bench` without `--e2e` reports."
    )
    return markdown_table(header, body, right=tuple(range(2, len(header)))) + note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ASSETS / "imagenet" / "val_original_20")
    parser.add_argument("--model", action="append", help="model (repeatable; default every offline model)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of host and graph (default 3)")
    parser.add_argument("--niter", type=int, default=200, help="images per run (default 200)")
    add_markdown_option(parser, "e2e")
    args = parser.parse_args()
    rows = [r for model in args.model or OFFLINE_MODELS for r in measure(model, args)]
    for r in rows:
        stages = ", ".join(f"{s} {r[s]:.3f}" for s in STAGES)
        print(
            f"{r['model']} {r['placement']}: {stages}; total {r['total']:.3f} ms; {r['sequential']:.1f} img/s, "
            f"pipelined {r['pipelined']:.1f} img/s; inference only {r['inference_ms']:.3f} ms"
        )
    if args.markdown:
        write_markdown(args.markdown, "e2e", markdown(rows, args), title="End to end from image files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
