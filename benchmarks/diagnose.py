"""`diagnose` on every quantized IR of the offline models: the worst layers, the output SQNR, and what the
suggested ignored scope costs in speed and gains in Top-1.

Per model: `split` (calibration images never evaluate), `convert --precision FP32,INT8` (FP32-INT8 of the
float model, INT8-RQ of the quantized ones), `diagnose` on val_original_20 (disjoint from both halves of the
split) with `--scope-out`; when a scope was found, `convert --ignored-scope` into a second IR folder, then
Top-1 of both INT8 IRs on the evaluation half and latency (latency hint, alternating rounds) of both.

    python benchmarks/diagnose.py [--models M,...] [--calibration-count 300] [--limit 16] [--rounds 3]
        [--time 3] [--evaluation-limit 1000] [--smallest] [--markdown [PATH]]
`--smallest`: one model, 32 calibration images, 4 diagnosis images, 100 evaluation images, 1 round of 1 s
(proves the script works; the lead re-runs it in full on an idle machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ASSETS, RESULTS, add_markdown_option, markdown_table, write_markdown

FLOAT_MODEL = "mobilenet-v1-0.25-224-tflite"
QUANTIZED = [
    "mobilenet-v1-0.25-128-quant",
    "mobilenet-v1-0.25-224-quant",
    "mobilenet-v1-0.50-160-quant",
    "mobilenet-v1-0.75-192-quant",
    "mobilenet-v2-1.0-224-quant",
    "mobilenet-v2-1.0-224-int8",
]


def cli(env: dict, *args: object) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "omz_mobilenet", *map(str, args)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"omz-mobilenet {' '.join(map(str, args))} failed: {done.stderr.strip().splitlines()[-1]}")
    return done.stdout


def json_of(env: dict, *args: object) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out.json"
        cli(env, *args, "--json", target)
        return json.loads(target.read_text())


def folder_of(model: str) -> str:
    return "FP32-INT8" if model == FLOAT_MODEL else "INT8-RQ"


def top1(env: dict, model: str, folder: str, dataset: Path, limit: int) -> float:
    payload = json_of(
        env, "accuracy", model, "--precision", folder, "--dataset", dataset, "--limit", limit, "--no-progress"
    )
    return payload["records"][0]["top1"]


def latencies(envs: dict[str, dict], model: str, folder: str, rounds: int, seconds: float) -> dict[str, float]:
    """Median of the per-round median latencies, the IRs taking turns (ABAB, then BABA)."""
    seen: dict[str, list[float]] = {name: [] for name in envs}
    for i in range(rounds):
        for name in list(envs) if i % 2 == 0 else list(envs)[::-1]:
            args = ("bench", model, "--precision", folder, "--hint", "latency", "--time", seconds, "--no-progress")
            seen[name].append(json_of(envs[name], *args)["records"][0]["latency_median_ms"])
    return {name: statistics.median(values) for name, values in seen.items()}


def one_model(env: dict, work: Path, model: str, args: argparse.Namespace) -> dict:
    split = work / "split"
    folder = folder_of(model)
    cli(env, "convert", model, "--precision", "FP32,INT8", "--calibration", split / "calibration", "--no-progress")
    scope_file = work / f"{model}.scope.yml"
    record = json_of(
        env, "diagnose", model, "--dataset", ASSETS / "imagenet" / "val_original_20", "--limit", args.limit,
        "--calibration", split / "calibration", "--max-tries", args.max_tries, "--min-sqnr", args.min_sqnr, "--scope-out", scope_file,
    )["records"][0]  # fmt: skip
    result = {"model": model, "ir": folder, "diagnose": record}
    evaluation = split / "evaluation"
    result["top1"] = {"plain": top1(env, model, folder, evaluation, args.evaluation_limit)}
    envs = {"plain": env}
    if scope_file.exists():
        scoped = dict(env, OMZ_MOBILENET_OUT=str(work / "ir-scope"))
        cli(scoped, "convert", model, "--precision", "FP32,INT8", "--calibration", split / "calibration",
            "--ignored-scope", scope_file, "--no-progress")  # fmt: skip
        result["top1"]["scope"] = top1(scoped, model, folder, evaluation, args.evaluation_limit)
        envs["scope"] = scoped
    result["latency_ms"] = latencies(envs, model, folder, args.rounds, args.time)
    return result


def markdown(results: list[dict], args: argparse.Namespace) -> str:
    rows = []
    for r in results:
        d = r["diagnose"]
        worst = ", ".join(f"{row['layer']} ({row['local_sqnr_db']:g} dB)" for row in d["layers"][:3])
        scope = d["scope"] or {}
        names = scope.get("names") or []
        found = f"{len(names)}: {', '.join(names)}" if names else "none"
        after = f"{scope.get('output_sqnr_db')} dB" if names else "-"
        top1_scope = r["top1"].get("scope")
        lat = r["latency_ms"]
        rows.append([
            r["model"], r["ir"], f"{d['output']['output_sqnr_db']} dB", worst, f"{found} ({scope.get('tries', 0)} tries{'' if scope.get('reached') else ', threshold not reached'})",
            after, r["top1"]["plain"], "-" if top1_scope is None else top1_scope,
            f"{lat['plain']:.3f}", "-" if "scope" not in lat else f"{lat['scope']:.3f}",
        ])  # fmt: skip
    header = ["model", "IR", "output SQNR", "worst layers (added noise)", "scope (layers)", "SQNR with scope",
              "Top-1", "Top-1 with scope", "latency ms", "with scope ms"]  # fmt: skip
    note = (
        f"Diagnosis on {args.limit} images of val_original_20; scope threshold {args.min_sqnr} dB at the output, "
        f"at most {args.max_tries} candidate layers; Top-1 on {args.evaluation_limit} images of the evaluation half "
        f"of the split ({args.calibration_count} calibration images of val_1300_resized_227); latency: median of "
        f"{args.rounds} alternating rounds of {args.time} s, latency hint, f32 inference precision."
    )
    return markdown_table(header, rows, right=(2, 5, 6, 7, 8, 9)) + "\n\n" + note + "\n"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join([FLOAT_MODEL, *QUANTIZED]))
    parser.add_argument("--calibration-count", type=int, default=300)
    parser.add_argument("--limit", type=int, default=16, help="diagnosis images")
    parser.add_argument("--max-tries", type=int, default=8)
    parser.add_argument("--min-sqnr", type=float, default=20.0)
    parser.add_argument("--evaluation-limit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--time", type=float, default=3.0)
    parser.add_argument("--smallest", action="store_true", help="one model, few images, one short round")
    add_markdown_option(parser, "diagnose")
    args = parser.parse_args()
    if args.smallest:
        args.models, args.calibration_count, args.limit, args.evaluation_limit = FLOAT_MODEL, 32, 4, 100
        args.max_tries, args.rounds, args.time = 3, 1, 1.0
    return args


def main() -> None:
    args = parse()
    work = Path(tempfile.mkdtemp(prefix="omz-diagnose-"))
    env = dict(
        os.environ, OMZ_MOBILENET_CACHE=str(work / "cache"), OMZ_MOBILENET_OUT=str(work / "ir"),
        OMZ_MOBILENET_MIRROR=str(ASSETS),
    )  # fmt: skip
    images = ASSETS / "imagenet"
    cli(env, "split", images / "val_1300_resized_227", "--calibration-count", args.calibration_count,
        "--out", work / "split", "--exclude", images / "val_100_cropped_reencoded",
        "--exclude", images / "val_original_20")  # fmt: skip
    results = []
    for model in args.models.split(","):
        print(f"{model} ...", file=sys.stderr)
        results.append(one_model(env, work, model, args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "diagnose.json").write_text(json.dumps(results, indent=2))
    body = markdown(results, args)
    print(body)
    if args.markdown:
        write_markdown(args.markdown, "diagnose", body, title="Per-layer INT8 diagnosis and ignored scopes")


if __name__ == "__main__":
    main()
