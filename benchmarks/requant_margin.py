"""INT8-RQ with a margin: what was kept in float, what it bought in Top-1 and what it cost in speed.

For each offline already-quantized model: the calibration folder of one `split` (calibration images plus
labelled held-out validation images; none named like an image of val_100_cropped_reencoded or
val_original_20) goes through INT8-RQ's margin (omz_mobilenet/convert/requant_margin.py): the all-int8
requantization, and when it loses more than 0.5 Top-1 points against the original in its own runtime on
the validation images, NNCF's accuracy control. Reported per model:
- Top-1 of the original (LiteRT / ONNX Runtime), the all-int8 IR and the margin IR on the evaluation split
  (images never used for calibration or choice), and on the validation images;
- the layers kept in float, and the latency of the margin IR against the all-int8 IR (latency hint, one
  request, synchronous calls, the same threads, alternating rounds: each round times both, the order
  rotated each round); when nothing was kept the two are the same IR and are not timed.

    python benchmarks/requant_margin.py [--models M1,M2] [--calibration-limit 300] [--validation 300]
        [--images 700] [--rounds 4] [--time 2] [--threads N] [--markdown]

Smallest setting (proves the script works; ~1 minute):
    python benchmarks/requant_margin.py --models mobilenet-v1-0.25-128-quant --calibration-limit 60 \\
        --validation 100 --images 100 --rounds 2 --time 0.5 --markdown
Writes results/requant_margin/requant_margin.json (and with --markdown docs/results/requant_margin.md), and
the FP32 and margin INT8-RQ IRs in the IR store's layout in results/requant_margin/store, so that
vs_original.py times the margin IRs against the originals on the same evaluation images:
    OMZ_MOBILENET_OUT=results/requant_margin/store python benchmarks/vs_original.py \
        --split results/requant_margin/split_300_300/evaluation --images 700
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import ASSETS, OFFLINE_QUANTIZED, RESULTS, add_markdown_option, environment, markdown_table, write_markdown

WORK = RESULTS / "requant_margin"
STORE = WORK / "store"  # FP32 and margin INT8-RQ IRs in the IR store's layout: vs_original.py times them
SOURCE = ASSETS / "imagenet" / "val_1300_resized_227"
EXCLUDE = [ASSETS / "imagenet" / "val_100_cropped_reencoded", ASSETS / "imagenet" / "val_original_20"]


def make_split(args) -> Path:
    """`omz-mobilenet split` with calibration + validation images in the calibration part (made once per size)."""
    out = WORK / f"split_{args.calibration_limit}_{args.validation}"
    if not (out / "calibration").is_dir():
        count = args.calibration_limit + args.validation
        command = [sys.executable, "-m", "omz_mobilenet", "split", str(SOURCE), "--calibration-count", str(count)]
        command += ["--out", str(out), *[x for folder in EXCLUDE for x in ("--exclude", str(folder))]]
        subprocess.run(command, check=True, env=environment())
    return out


def margin_models(name: str, calibration: Path, settings, args):
    """(entry, fetched, margin IR, all-int8 IR, MarginRecord): the library's own steps, both models kept."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.calibration import select_calibration
    from omz_mobilenet.convert.job import ConversionJob, QuantizeOptions
    from omz_mobilenet.convert.pipeline import build_ir_model
    from omz_mobilenet.convert.requant_margin import (
        MarginInputs,
        load_validation,
        quantize_with_margin,
        validation_items,
    )
    from omz_mobilenet.convert.requantize import strip_quantization
    from omz_mobilenet.fetch.download import fetch_model

    entry = {m.name: m for m in load_catalogue().models}[name]
    fetched = fetch_model(entry, settings)
    model, cost = build_ir_model(fetched)
    options = QuantizeOptions(
        calibration=calibration, subset_size=args.calibration_limit, validation_size=args.validation
    )
    job = ConversionJob(fetched, model, cost, settings, options, lambda m: print(f"  {m}", file=sys.stderr))
    files, record = select_calibration(calibration, args.calibration_limit)
    validation = load_validation(job, validation_items(job, record))
    float_model = strip_quantization(model.clone())
    started = time.perf_counter()
    chosen, plain, margin = quantize_with_margin(job, MarginInputs(float_model, files, validation, 0.5))
    _save(model, STORE / name / "FP32" / f"{name}.xml")  # the as-is import, for vs_original.py
    return entry, fetched, chosen, plain, margin, time.perf_counter() - started


def _save(model, path: Path) -> Path:
    import openvino as ov

    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(path), compress_to_fp16=False)
    return path


def alternating_latency(xmls: list[Path], args) -> list[float]:
    """Median latency (ms) of each IR: synchronous calls on one fixed input, rounds alternating the order."""
    import numpy as np

    from omz_mobilenet.bench.stats import median
    from omz_mobilenet.runtime import compile_ir, new_core
    from omz_mobilenet.sweep.rounds import rotated

    core = new_core()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1}
    requests = [compile_ir(core, xml, "CPU", "f32", config, 1).create_infer_request() for xml in xmls]
    shape = tuple(requests[0].model_inputs[0].shape)
    tensor = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    samples: list[list[float]] = [[] for _ in xmls]
    for round_index in range(args.rounds):
        for i in rotated(list(range(len(xmls))), round_index):
            for _ in range(20):  # warm-up of this round
                requests[i].infer(tensor)
            stop = time.perf_counter() + args.time
            while time.perf_counter() < stop:
                start = time.perf_counter()
                requests[i].infer(tensor)
                samples[i].append((time.perf_counter() - start) * 1e3)
    return [round(median(s), 3) for s in samples]


def measure(name: str, calibration: Path, evaluation, settings, args) -> dict:
    from omz_mobilenet.accuracy.requant_check import ir_top1, judgement, original_top1

    entry, fetched, chosen, plain, margin, seconds = margin_models(name, calibration, settings, args)
    xmls = [_save(plain, WORK / "ir" / name / "all-int8.xml"), _save(chosen, STORE / name / "INT8-RQ" / f"{name}.xml")]
    original = original_top1(entry, fetched.model_path, evaluation)
    judged = [judgement(entry, "INT8-RQ", evaluation.name, ir_top1(entry, xml, evaluation), original) for xml in xmls]
    same = chosen is plain
    latency = [None, None] if same else alternating_latency(xmls, args)
    return {
        "model": name,
        "method": margin.method,
        "kept_float": margin.kept_float,
        "margin_seconds": round(seconds, 1),
        "validation": margin.as_dict(),
        "evaluation_images": len(evaluation.items),
        "original_top1": judged[0].original_top1,
        "original_runtime": judged[0].original_runtime,
        "all_int8_top1": judged[0].top1,
        "margin_top1": judged[1].top1,
        "margin_passed": judged[1].passed,
        "all_int8_ms": latency[0],
        "margin_ms": latency[1],
        "latency_ratio": None if same else round(latency[1] / latency[0], 3),
    }


def _drop(row: dict) -> str:
    """The margin IR's Top-1 drop against the original on the evaluation images, and which bound it meets."""
    drop = round(row["original_top1"] - row["margin_top1"], 2)
    verdict = "within 0.5" if row["margin_passed"] else ("within 1, NOT 0.5" if drop <= 1 else "NOT within 1")
    return f"{drop:.2f} ({verdict})"


def markdown(rows: list[dict], args, evaluation_name: str) -> str:
    header = ["model", "original Top-1", "RQ Top-1 all-int8", "RQ Top-1 margin", "points lost (margin)", "validation"]
    header += ["method", "kept in float", "latency margin / all-int8"]
    table = []
    for r in rows:
        v = r["validation"]
        ratio = (
            "same IR"
            if r["latency_ratio"] is None
            else f"{r['latency_ratio']:.2f}x ({r['margin_ms']:.2f} vs {r['all_int8_ms']:.2f} ms)"
        )
        table.append(
            [
                r["model"],
                f"{r['original_top1']} ({r['original_runtime']})",
                r["all_int8_top1"],
                r["margin_top1"],
                _drop(r),
                f"{v['original_top1']} / {v['all_int8_top1']} / {v['top1']} on {v['validation_images']}",
                r["method"],
                ", ".join(r["kept_float"]) or "none",
                ratio,
            ]
        )
    return (
        f"Top-1 (%) on {args.images} images of {evaluation_name} (never used for calibration or choice); validation: "
        f"original / all-int8 / margin Top-1 on the held-out images that chose what stays float "
        f"({args.calibration_limit} calibration images). Latency: hint LATENCY, 1 request, synchronous, "
        f"{args.threads} threads, f32 hint, {args.rounds} alternating rounds of {args.time} s per IR.\n\n"
        + markdown_table(header, table)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(OFFLINE_QUANTIZED), help="comma list (default: every INT8 source)")
    parser.add_argument("--calibration-limit", type=int, default=300)
    parser.add_argument("--validation", type=int, default=300, help="held-out labelled validation images (default 300)")
    parser.add_argument("--images", type=int, default=700, help="evaluation images of the split (default 700)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--time", type=float, default=2.0, help="seconds per IR per round (default 2)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    add_markdown_option(parser, "requant_margin")
    args = parser.parse_args()
    os.environ.update({k: v for k, v in environment().items() if k.startswith("OMZ_MOBILENET")})

    from omz_mobilenet.inputs.dataset import load_image_set
    from omz_mobilenet.settings import Settings

    split = make_split(args)
    evaluation = load_image_set(split / "evaluation", subset=args.images)
    settings = Settings.resolve(progress=False)
    rows = []
    for name in args.models.split(","):
        rows.append(measure(name, split / "calibration", evaluation, settings, args))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "validation"}), file=sys.stderr)
    out = WORK / "requant_margin.json"
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2, default=str))
    print(f"wrote {out}")
    if args.markdown:
        write_markdown(
            args.markdown, "requant_margin", markdown(rows, args, evaluation.name), title="INT8-RQ with a margin"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
