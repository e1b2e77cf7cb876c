"""A user's own model (issue 19): original vs FP32 IR image by image, INT8 Top-1 and drop, latency and FPS.

    python benchmarks/own_model.py [--formats tflite,keras,h5,onnx] [--limit N] [--time S]
        [--calibration-limit N] [--work DIR] [--json FILE] [--markdown [PATH]]

Builds the own model of tests/helpers/own_model.py (a MobileNetV2 cut to the 40 ImageNet classes the
shared images show most, from real weights: TFLite, Keras .keras/.h5 and ONNX, with its labels file,
ImageFolder and calibration folder), then drives the CLI as a user would (subprocesses only), per format:
`add` into a user catalogue, `convert --precision FP32,INT8` (NNCF, calibrated on the calibration
folder), `accuracy --original --predictions` on the ImageFolder (the original in its own runtime beside
the IR, compared image by image), and `bench` of the FP32 and INT8 IRs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import add_markdown_option, markdown_table, run_cli, write_markdown  # noqa: E402

from tests.helpers import own_model  # noqa: E402  (numpy only at import; TF when building)

FORMATS = ["tflite", "keras", "h5", "onnx"]


def _records(document):
    return document["records"] if isinstance(document, dict) and "records" in document else document


class User:
    """The CLI in a user's folder: their catalogue, cache and IR folders under `work`."""

    def __init__(self, work: Path, built: own_model.OwnModel) -> None:
        self.work, self.built = work, built
        self.catalogue = work / "my-models.yml"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OMZ_MOBILENET_")}
        self.env.update(OMZ_MOBILENET_CACHE=str(work / "cache"), OMZ_MOBILENET_OUT=str(work / "ir"))

    def cli(self, *args) -> str:
        return run_cli(args, self.work, self.env)

    def measure(self, fmt: str, args: argparse.Namespace) -> dict:
        name = f"own-{fmt}"
        self.cli(*self.built.add_args(fmt, name, self.catalogue))
        mine = ["--catalogue", self.catalogue]
        start = time.monotonic()
        self.cli("convert", name, *mine, "--precision", "FP32,INT8", "--calibration", self.built.calibration,
                 "--calibration-limit", args.calibration_limit, "--no-progress")  # fmt: skip
        convert_s = time.monotonic() - start
        report, predictions = self.work / f"accuracy-{fmt}.json", self.work / f"predictions-{fmt}.json"
        limit = ["--limit", args.limit] if args.limit else []
        self.cli("accuracy", name, *mine, "--dataset", self.built.imagefolder, *limit, "--precision", "FP32,INT8",
                 "--original", "--no-progress", "--json", report, "--predictions", predictions)  # fmt: skip
        rows = {r["precision"]: r for r in _records(json.loads(report.read_text()))}
        top1 = {}
        for row in _records(json.loads(predictions.read_text())):
            top1[(row["precision"], row["runtime"], row["image"])] = row["top1"]
        ir = {image: t for (precision, runtime, image), t in top1.items() if (precision, runtime) == ("FP32", "ir")}
        same = sum(top1.get(("FP32", "original", image)) == t for image, t in ir.items())
        bench_json = self.work / f"bench-{fmt}.json"
        self.cli("bench", name, *mine, "--precision", "FP32,INT8", "--time", args.time, "--no-progress",
                 "--json", bench_json)  # fmt: skip
        bench = {r["precision"]: r for r in _records(json.loads(bench_json.read_text()))}
        fp32, int8 = rows["FP32"], rows["INT8"]
        return {
            "format": fmt,
            "file": self.built.files[fmt].name,
            "original_runtime": fp32.get("original_runtime"),
            "images": fp32["images"],
            "original_top1": fp32["original_top1"],
            "fp32_top1": fp32["top1"],
            "same_top1_images": same,
            "int8_top1": int8["top1"],
            "int8_drop": round(fp32["original_top1"] - int8["top1"], 2),
            "convert_s": round(convert_s, 1),
            **{f"{p.lower()}_latency_ms": bench[p]["latency_median_ms"] for p in bench},
            **{f"{p.lower()}_fps": bench[p]["throughput_fps"] for p in bench},
        }


def table(rows: list[dict]) -> str:
    header = ["format (file)", "original runtime", "images", "original Top-1", "FP32 IR Top-1", "same Top-1",
              "INT8 Top-1", "INT8 drop", "FP32 ms / FPS", "INT8 ms / FPS"]  # fmt: skip
    lines = [
        [
            f"{r['format']} (`{r['file']}`)",
            r["original_runtime"],
            r["images"],
            f"{r['original_top1']:.2f}",
            f"{r['fp32_top1']:.2f}",
            f"{r['same_top1_images']}/{r['images']}",
            f"{r['int8_top1']:.2f}",
            f"{r['int8_drop']:+.2f}",
            f"{r['fp32_latency_ms']:.2f} / {r['fp32_fps']:.0f}",
            f"{r['int8_latency_ms']:.2f} / {r['int8_fps']:.0f}",
        ]
        for r in rows
    ]
    return markdown_table(header, lines, right=tuple(range(2, len(header))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma list of tflite, keras, h5, onnx")
    parser.add_argument("--limit", type=int, help="first N images of the ImageFolder (default: all 193)")
    parser.add_argument("--time", type=float, default=10.0, help="bench seconds per IR (default 10)")
    parser.add_argument("--calibration-limit", type=int, default=300, help="NNCF calibration images (default 300)")
    parser.add_argument("--work", type=Path, default=REPO / "results" / "own_model", help="working folder (rebuilt)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    add_markdown_option(parser, "own_model")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        parser.error(f"--formats: unknown {', '.join(unknown) or '(none given)'}; use {', '.join(FORMATS)}")

    start = time.monotonic()
    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    built = own_model.build(work / "model", log=lambda line: print(line, file=sys.stderr))
    user = User(work, built)
    rows = []
    for fmt in formats:
        rows.append(user.measure(fmt, args))
        print(json.dumps(rows[-1]), file=sys.stderr)
    images = f"the first {args.limit}" if args.limit else f"all {built.image_count}"
    title = (
        f"The own model (MobileNetV2 cut to {len(built.classes)} ImageNet classes, real weights) on {images} images "
        f"of its ImageFolder: Top-1 (%) of the original in its own runtime and of the IRs; INT8 by NNCF on "
        f"{args.calibration_limit} calibration images; bench {args.time:g} s per IR, batch 1, latency hint"
    )
    body = f"{title}. The whole run took {time.monotonic() - start:.0f} s.\n\n{table(rows)}"
    print(body)
    if args.markdown:
        write_markdown(args.markdown, "own_model", body, title="Your own model: original, FP32 and INT8 IRs")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
