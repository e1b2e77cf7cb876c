"""Top-1 of the two crop/tie rules side by side: `--crop-rule tf` (default) vs `accuracy-checker`.

tf is TF's central_crop (how TF-slim's published numbers were produced) with ties going to the lower
class index; accuracy-checker keeps int(f*h) pixels from (h - int(f*h)) // 2 and takes top-k with
np.argpartition, exactly as accuracy_checker does (FACTS section 7). Both run the same IR at f32 on
the same images; the gap is tf minus accuracy-checker, in images and in points. `tied_top1` counts
the images whose top score is shared by several classes (where the tie rule can matter).

    python benchmarks/crop_rules.py [--dataset ../shared/assets/imagenet/val_1300_resized_227] [--model M ...]

Prints a Markdown table stamped with the machine (results can differ between ISAs); `--markdown` also
writes it into docs/results/crop_rules.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import ASSETS, OFFLINE_MODELS, add_markdown_option, environment, write_markdown

from omz_mobilenet.accuracy.evaluate import Options, evaluate_model
from omz_mobilenet.catalogue import load_catalogue
from omz_mobilenet.environment import isa_label
from omz_mobilenet.inputs.dataset import load_image_set
from omz_mobilenet.settings import Settings

# The 8 models whose files are in the offline assets: the 7 TFLite ones and the ONNX INT8 one.
MODELS = OFFLINE_MODELS
RULES = ("tf", "accuracy-checker")


def measure(model: str, image_set, settings: Settings) -> dict:
    entry = load_catalogue().get(model)
    rows = {}
    for rule in RULES:
        evaluation = evaluate_model(entry, ["FP32"], [image_set], settings, Options(progress=False, crop_rule=rule))[0]
        rows[rule] = evaluation.row()
    tf, ac = rows["tf"], rows["accuracy-checker"]
    return {
        "model": model,
        "geometry": entry.preprocessing.kind,
        "images": tf["images"],
        "tf_hits": tf["top1_hits"],
        "tf_top1": tf["top1"],
        "ac_hits": ac["top1_hits"],
        "ac_top1": ac["top1"],
        "gap_images": tf["top1_hits"] - ac["top1_hits"],
        "gap_points": round(tf["top1"] - ac["top1"], 2),
        "tied_top1": tf["tied_top1"],
    }


def markdown(records: list[dict], set_name: str) -> str:
    lines = [
        f"Top-1 (%) and hits on {set_name}, both rules on the same IR at f32; gap = tf - accuracy-checker",
        "",
        "| model | geometry | images | tf Top-1 | accuracy-checker Top-1 | gap tf - ac (images / points) | tied top-1 images |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        lines.append(
            f"| {r['model']} | {r['geometry']} | {r['images']} | {r['tf_top1']:.2f} ({r['tf_hits']}) | "
            f"{r['ac_top1']:.2f} ({r['ac_hits']}) | {r['gap_images']:+d} / {r['gap_points']:+.2f} | {r['tied_top1']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", type=Path, default=ASSETS / "imagenet" / "val_1300_resized_227", help="one image folder"
    )
    parser.add_argument(
        "--model", action="append", help=f"model (repeatable; default the 8 offline ones: {', '.join(MODELS)})"
    )
    add_markdown_option(parser, "crop_rules")
    args = parser.parse_args()
    env = environment()
    settings = Settings.resolve(
        cache_dir=env["OMZ_MOBILENET_CACHE"], out_dir=env["OMZ_MOBILENET_OUT"], mirror=env["OMZ_MOBILENET_MIRROR"]
    )
    image_set = load_image_set(args.dataset)
    records = []
    for model in args.model or MODELS:
        record = measure(model, image_set, settings)
        print(
            f"{model}: tf {record['tf_top1']} vs accuracy-checker {record['ac_top1']} "
            f"(gap {record['gap_images']:+d} images), tied top-1 {record['tied_top1']}",
            file=sys.stderr,
            flush=True,
        )
        records.append(record)
    table = markdown(records, image_set.name)
    print(f"machine: {isa_label()}\n{table}")
    if args.markdown:
        write_markdown(args.markdown, "crop_rules", table, title="Crop rules side by side")
    return 0


if __name__ == "__main__":
    sys.exit(main())
