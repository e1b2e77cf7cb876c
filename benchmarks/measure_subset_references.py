"""Measure per-image-set references and write `accuracy_checker_configs/<model>.subsets.yml`.

For each model whose original file is available (mirror/cache) and each image set under --dataset:
run the ORIGINAL file in its own framework (LiteRT / ONNX Runtime) on the same OpenCV-decoded,
cropped and resized pixels the IR gets, and store its top-1/top-5 hit counts as the reference.

The gate's tolerance (images the IR may lose against that reference) is
    tolerance = observed IR drop + max(1, ceil(1 % of the images))
where the observed drop is how far the FP32/FP16 IRs scored below the original when the reference
was measured (0 for float models; a few images for quantized ones, whose integer arithmetic differs
between OpenVINO and LiteRT). The gate thus catches changes of the conversion, while a channel swap
or wrong mean (10-20 points on these sets) stays far outside. The drop is recorded in `how`.

    python benchmarks/measure_subset_references.py --dataset ../shared/assets/imagenet \
        --mirror ../shared/assets MODEL... (default: every model whose files are available) [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import tempfile
from pathlib import Path

from common import add_markdown_option, markdown_table, write_markdown

from omz_mobilenet.accuracy.ac_config import write_subsets
from omz_mobilenet.accuracy.evaluate import Options, evaluate_model, run_original
from omz_mobilenet.catalogue import load_catalogue
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.download import fetch_model
from omz_mobilenet.inputs.dataset import load_image_sets
from omz_mobilenet.settings import Settings

BASE_FRACTION = 0.01
HOW = (
    "original file in {runtime}, batch 1, on OpenCV-decoded BGR images cropped/resized per the accuracy "
    "config and normalised per the catalogue; IR (f32 hint) top1/top5 hits then: {ir}"
)


def base_tolerance(images: int) -> int:
    return max(1, math.ceil(BASE_FRACTION * images))


def ir_hits(entry, image_sets, settings) -> dict[str, dict[str, list[int]]]:
    """{set: {"top1": [FP32, FP16], "top5": [...]}}; empty when the IR cannot be built."""
    try:
        evaluations = evaluate_model(entry, ["FP32", "FP16"], image_sets, settings, Options(progress=False))
    except ToolError as exc:
        print(f"  {entry.name}: no IR ({exc.message[:120]})", file=sys.stderr)
        return {}
    found: dict[str, dict[str, list[int]]] = {}
    for e in evaluations:
        summary = e.ir.summary()
        slot = found.setdefault(e.image_set.name, {"top1": [], "top5": []})
        slot["top1"].append(summary["top1_hits"])
        slot["top5"].append(summary["top5_hits"])
    return found


def subset_entry(image_set, original, ir: dict, today: str) -> dict:
    summary = original.summary()
    tolerance, ir_text = {}, []
    for metric in ("top1", "top5"):
        hits = summary[f"{metric}_hits"]
        drop = max([0] + [hits - h for h in ir.get(metric, [])])
        tolerance[metric] = drop + base_tolerance(summary["images"])
        ir_text.append(f"{metric} FP32/FP16 {'/'.join(map(str, ir.get(metric, []))) or 'n/a'}")
    framework, _, version = (
        original.runtime.partition(" ") if original.runtime.startswith("LiteRT") else original.runtime.rpartition(" ")
    )
    return {
        "images": summary["images"],
        "image_list_sha256": image_set.list_sha256,
        "top1_hits": summary["top1_hits"],
        "top5_hits": summary["top5_hits"],
        "top1": summary["top1"],
        "top5": summary["top5"],
        "tolerance_images": tolerance,
        "ir_hits": ir,
        "measured": {
            "framework": framework,
            "version": version,
            "date": today,
            "how": HOW.format(runtime=original.runtime, ir="; ".join(ir_text)),
        },
    }


def measure(entry, image_sets, settings, today: str) -> dict:
    model_path = fetch_model(entry, settings).model_path
    ir = ir_hits(entry, image_sets, settings)
    subsets = {}
    for image_set in image_sets:
        original = run_original(entry, model_path, image_set, Options(progress=False), lambda _n: None)
        subsets[image_set.name] = subset_entry(image_set, original, ir.get(image_set.name, {}), today)
        print(
            f"  {entry.name} {image_set.name}: {subsets[image_set.name]['top1']} / {subsets[image_set.name]['top5']} "
            f"tolerance {subsets[image_set.name]['tolerance_images']}",
            flush=True,
        )
    return subsets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--mirror")
    parser.add_argument("--cache-dir")
    parser.add_argument("--date", default=datetime.date.today().isoformat())
    add_markdown_option(parser, "measure_subset_references")
    args = parser.parse_args()
    image_sets = load_image_sets(args.dataset)
    catalogue = load_catalogue()
    entries = [catalogue.get(n) for n in args.models] if args.models else catalogue.models
    measured: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="omz-refs-") as out:
        settings = Settings.resolve(cache_dir=args.cache_dir, out_dir=out, mirror=args.mirror, progress=False)
        for entry in entries:
            try:
                subsets = measure(entry, image_sets, settings, args.date)
            except ToolError as exc:
                print(f"skip {entry.name}: {exc.message[:160]}", file=sys.stderr)
                continue
            measured[entry.name] = subsets
            print(write_subsets(entry.name, {name: _stored(s) for name, s in subsets.items()}))
    if args.markdown:
        write_markdown(
            args.markdown,
            "measure_subset_references",
            markdown(measured),
            title="Measured accuracy and the gate's references",
        )
    return 0


def _stored(subset: dict) -> dict:
    """What the sidecar keeps (the IR's hits are in `how`, as text)."""
    return {k: v for k, v in subset.items() if k != "ir_hits"}


def _ir(subset: dict, index: int) -> str:
    hits = {metric: subset["ir_hits"].get(metric, []) for metric in ("top1", "top5")}
    if len(hits["top1"]) <= index or len(hits["top5"]) <= index:
        return "n/a"
    return " / ".join(f"{100 * hits[m][index] / subset['images']:.2f}" for m in ("top1", "top5"))


def markdown(measured: dict[str, dict]) -> str:
    rows = []
    for model, subsets in measured.items():
        for name, s in subsets.items():
            runtime = f"{s['measured']['framework']} {s['measured']['version']}".strip()
            tolerance = s["tolerance_images"]
            rows.append(
                [
                    model,
                    f"{name} ({s['images']})",
                    f"{s['top1']:.2f} / {s['top5']:.2f} ({runtime})",
                    _ir(s, 0),
                    _ir(s, 1),
                    f"{tolerance['top1']} / {tolerance['top5']}",
                ]
            )
    header = ["model", "image set (images)", "original top1 / top5", "IR FP32", "IR FP16", "tolerance top1/top5"]
    return (
        "% Top-1 / Top-5. The original in its own framework, the IRs with the f32 hint; the tolerance is the "
        "number of images each metric may lose in the gate.\n\n" + markdown_table(header, rows)
    )


if __name__ == "__main__":
    sys.exit(main())
