"""INT8 (NNCF) vs FP32 (f32 hint): throughput in alternation, and Top-1 on images calibration never saw.

Models: the float offline model `mobilenet-v1-0.25-224-tflite` and a MobileNetV2 1.0 224 float graph
built with TensorFlow (FACTS section 4; random weights, so only its speed means anything). For the float
model a third IR runs in the same rounds: NNCF INT8 with its depthwise convolutions (every GroupConvolution)
kept in f32 through `convert --ignored-scope`.
Split: `omz-mobilenet split` puts 300 images of val_1300_resized_227 (content-sha256 order, never an
image whose name is in the other two sets) into calibration; accuracy is measured on the other
1000 images of that set plus val_100_cropped_reencoded and val_original_20.

    python benchmarks/int8.py [--rounds 5] [--time 5] [--batches 1,8] [--assets ../shared/assets] [--markdown [PATH]]
Writes results/int8.json and prints the tables (with --markdown also into docs/results/int8.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from common import REPO, RESULTS, add_markdown_option, markdown_table, write_markdown

FLOAT_MODEL = "mobilenet-v1-0.25-224-tflite"
V2_MODEL = "mobilenet-v2-1.0-224"
DW_F32 = "INT8, depthwise in f32"  # NNCF INT8 with every GroupConvolution in the ignored scope


def cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "omz_mobilenet", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"omz-mobilenet {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1]}")
    return done.stdout


def v2_catalogue(work: Path) -> Path:
    """A catalogue whose mobilenet-v2-1.0-224 points at a TF-built, official-layout archive."""
    sys.path.insert(0, str(REPO))
    from tests.helpers import tf_fixtures

    archive = tf_fixtures.build_official_like_tgz("v2", 1.0, 224, work / "mirror")
    data = yaml.safe_load((REPO / "models.yml").read_text())
    for entry in data["models"]:
        if entry["name"] == V2_MODEL:
            blob = archive.read_bytes()
            entry["files"][0].update(
                size=len(blob), checksum={"algorithm": "sha384", "value": hashlib.sha384(blob).hexdigest()}
            )
    path = work / "models.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def json_of(env: dict, *args: str):
    """Run a command with `--json FILE` and return what it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out.json"
        cli(env, *args, "--json", str(target))
        return json.loads(target.read_text())


def throughput(env: dict, model: str, precision: str, seconds: float, batch: int) -> dict:
    payload = json_of(env, "bench", model, "--precision", precision, "--hint", "throughput", "--time", str(seconds),
                      "--batch", str(batch))  # fmt: skip
    records = payload["records"] if isinstance(payload, dict) else payload
    return records[0]


def alternate(configs: list[tuple[str, dict, str]], model: str, rounds: int, seconds: float, batch: int) -> dict:
    """Throughput of each (label, env, precision) at `batch` in `rounds` rounds, the order rotated every round."""
    fps: dict[str, list[float]] = {label: [] for label, _env, _precision in configs}
    meta = {}
    for i in range(rounds):
        for label, env, precision in configs[i % len(configs) :] + configs[: i % len(configs)]:
            record = throughput(env, model, precision, seconds, batch)
            fps[label].append(record["throughput_fps"])
            meta[label] = {
                k: record.get(k)
                for k in (
                    "infer_precision_hint",
                    "compiled_precision",
                    "runtime_precisions",
                    "streams",
                    "device_full_name",
                    "openvino",
                )
            }
    medians = {label: statistics.median(v) for label, v in fps.items()}
    return {
        "model": model,
        "batch": batch,
        "rounds": rounds,
        "fps": fps,
        "median_fps": medians,
        "int8_over_fp32": medians["INT8"] / medians["FP32"],
        "dw_f32_over_fp32": medians[DW_F32] / medians["FP32"] if DW_F32 in medians else None,
        "meta": meta,
    }


def depthwise_scope(env: dict, model: str, work: Path) -> Path:
    """An ignored-scope file naming every GroupConvolution (the depthwise layers) of the model's FP32 IR."""
    import openvino as ov

    xml = Path(env["OMZ_MOBILENET_OUT"]) / model / "FP32" / f"{model}.xml"
    ops = ov.Core().read_model(xml).get_ordered_ops()
    names = [op.get_friendly_name() for op in ops if op.get_type_name() == "GroupConvolution"]
    scope = work / "depthwise_scope.yml"
    scope.write_text(yaml.safe_dump({"names": names}))
    return scope


def accuracy(env: dict, model: str, datasets: list[Path]) -> list[dict]:
    rows = []
    for dataset in datasets:
        payload = json_of(
            env, "accuracy", model, "--precision", "FP32,INT8", "--dataset", str(dataset), "--no-progress"
        )
        for row in payload["records"] if isinstance(payload, dict) else payload:
            rows.append(
                {k: row.get(k) for k in ("model", "precision", "image_set", "images", "top1", "top5")}
                | {"dataset": str(dataset)}
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--time", type=float, default=5.0)
    parser.add_argument("--batches", type=lambda t: [int(b) for b in t.split(",")], default=[1, 8],
                        help="images per request, each measured in its own alternating rounds (default 1,8)")  # fmt: skip
    parser.add_argument(
        "--assets", default=os.environ.get("OMZ_MOBILENET_ASSETS", str(REPO.parent / "shared" / "assets"))
    )
    add_markdown_option(parser, "int8")
    args = parser.parse_args()
    assets = Path(args.assets).resolve()
    images = assets / "imagenet"
    work = Path(tempfile.mkdtemp(prefix="omz-int8-"))
    env = dict(
        os.environ,
        OMZ_MOBILENET_CACHE=str(work / "cache"),
        OMZ_MOBILENET_OUT=str(work / "ir"),
        OMZ_MOBILENET_MIRROR=str(assets),
    )
    cli(
        env,
        "split",
        str(images / "val_1300_resized_227"),
        "--calibration-count",
        "300",
        "--out",
        str(work / "split"),
        "--exclude",
        str(images / "val_100_cropped_reencoded"),
        "--exclude",
        str(images / "val_original_20"),
    )
    calibration = str(work / "split" / "calibration")
    cli(env, "convert", FLOAT_MODEL, "--precisions", "FP32,INT8", "--calibration", calibration)
    v2_env = dict(env, OMZ_MOBILENET_MODELS_YML=str(v2_catalogue(work)), OMZ_MOBILENET_MIRROR=str(work / "mirror"))
    (work / "mirror" / "synset_words.txt").write_bytes((images / "labels" / "synset_words.txt").read_bytes())
    cli(v2_env, "convert", V2_MODEL, "--precisions", "FP32,INT8", "--calibration", calibration)

    dw_env = dict(env, OMZ_MOBILENET_OUT=str(work / "ir_depthwise_f32"))
    cli(dw_env, "convert", FLOAT_MODEL, "--precisions", "FP32,INT8", "--calibration", calibration,
        "--ignored-scope", str(depthwise_scope(env, FLOAT_MODEL, work)))  # fmt: skip
    float_configs = [("FP32", env, "FP32"), ("INT8", env, "INT8")]
    v2_configs = [("FP32", v2_env, "FP32"), ("INT8", v2_env, "INT8")]
    speed = []
    for batch in args.batches:  # batch 1 first: the published tables' setting; larger batches amortize each call
        dw = [(DW_F32, dw_env, "INT8")] if batch == 1 else []  # the depthwise question is asked once
        speed.append(alternate(float_configs + dw, FLOAT_MODEL, args.rounds, args.time, batch))
        speed.append(alternate(v2_configs, V2_MODEL, args.rounds, args.time, batch))
    acc = accuracy(
        env,
        FLOAT_MODEL,
        [work / "split" / "evaluation", images / "val_100_cropped_reencoded", images / "val_original_20"],
    )
    print("\nINT8 vs FP32 throughput (throughput hint, f32 inference hint, medians of alternating rounds)")
    for s in speed:
        print(
            f"  {s['model']} batch {s['batch']}: FP32 {s['median_fps']['FP32']:.1f} FPS, INT8 {s['median_fps']['INT8']:.1f} FPS, ratio {s['int8_over_fp32']:.2f}"
        )
    print("\nTop-1 / Top-5 on images disjoint from calibration")
    for row in acc:
        print(
            f"  {row['image_set']:<28} {row['precision']:<5} {row['images']:>5} images  top1 {row['top1']:.2f}  top5 {row['top5']:.2f}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "int8.json").write_text(json.dumps({"throughput": speed, "accuracy": acc}, indent=2))
    print(f"\nwrote {RESULTS / 'int8.json'}")
    if args.markdown:
        write_markdown(args.markdown, "int8", markdown(speed, acc, args.rounds), title="INT8 (NNCF) against FP32")


def markdown(speed: list[dict], acc: list[dict], rounds: int) -> str:
    labels = {V2_MODEL: "MobileNetV2 1.0 224 (TF-built graph, random weights: only its speed means anything)"}
    fps = markdown_table(
        ["model", "batch", "FP32 FPS", "INT8 FPS", "INT8 / FP32", f"{DW_F32}: FPS, / FP32"],
        [
            [
                labels.get(s["model"], s["model"]),
                s["batch"],
                f"{s['median_fps']['FP32']:.1f}",
                f"{s['median_fps']['INT8']:.1f}",
                f"{s['int8_over_fp32']:.2f}",
                f"{s['median_fps'][DW_F32]:.1f}, {s['dw_f32_over_fp32']:.2f} ({s['meta'][DW_F32]['runtime_precisions']})"
                if s.get("dw_f32_over_fp32")
                else "-",
            ]
            for s in speed
        ],
    )
    by_set: dict[str, dict[str, dict]] = {}
    for row in acc:
        by_set.setdefault(row["image_set"], {})[row["precision"]] = row
    top = []
    for name, rows in by_set.items():
        fp32, int8 = rows.get("FP32", {}), rows.get("INT8", {})
        drop = fp32["top1"] - int8["top1"] if fp32.get("top1") is not None and int8.get("top1") is not None else None
        top.append(
            [
                f"{name} ({fp32.get('images')})",
                f"{fp32.get('top1'):.2f} / {fp32.get('top5'):.2f}",
                f"{int8.get('top1'):.2f} / {int8.get('top5'):.2f}",
                "" if drop is None else f"{drop:.2f} points",
            ]
        )
    accuracy_table = markdown_table(
        ["images (disjoint from calibration)", "FP32 Top-1 / Top-5", "INT8 Top-1 / Top-5", "Top-1 drop"], top
    )
    return (
        f"Throughput hint, f32 inference hint, the IRs in {rounds} rounds, the order rotated every round (medians). "
        f"{DW_F32}: NNCF INT8 of the float model with every GroupConvolution in `--ignored-scope`.\n\n{fps}\n\n"
        f"Top-1 / Top-5 of {FLOAT_MODEL} on images disjoint from calibration:\n\n{accuracy_table}"
    )


if __name__ == "__main__":
    main()
