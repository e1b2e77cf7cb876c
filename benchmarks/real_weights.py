"""Seed models on real (dequantized) weights: float Top-1 vs the quantized original's, GFlops/MParams vs OMZ.

    python benchmarks/real_weights.py [--images N] [--work DIR] [--json FILE] [--markdown [PATH]]

Rebuilds the float seed models with tests/helpers/real_weights.py (TF-slim V1 0.50 160 and V2 1.0
224 frozen graphs, ONNX MobileNetV2 as mobilenetv2-7), splits val_1300_resized_227 into 300
calibration and 1000 evaluation images, and drives the CLI (subprocesses only) to get, per seed
model on the same N evaluation images: the float IR's Top-1 (with the float original's Top-1 in
TensorFlow / ONNX Runtime), the quantized original's Top-1 in its own runtime (LiteRT for the
TFLite files; for the ONNX int8 file its int8 arithmetic simulated in float in ONNX Runtime, and the
raw ONNX Runtime int8 figure beside it), the gap, and the IR's GFlops/MParams vs Open Model Zoo's.
The CPU model and its ISA flags come first: int8 kernels differ with VNNI/AMX.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import add_markdown_option, markdown_table, run_cli, write_markdown  # noqa: E402

from tests.helpers import real_weights as rw  # noqa: E402  (numpy only at import; TF runs in a subprocess)

SPLIT_SOURCE = rw.ASSETS / "imagenet" / "val_1300_resized_227"
CALIBRATION_COUNT = 300
ISA_FLAGS = ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"]
PUBLISHED = {  # Open Model Zoo (TF-slim) / catalogue estimate (mobilenetv2-7): GFlops, MParams
    "mobilenet-v1-0.50-160": (0.156, 1.327, "OMZ"),
    "mobilenet-v2-1.0-224": (0.615, 3.489, "OMZ"),
    "mobilenetv2-7": (0.602, 3.505, "catalogue"),
}


def cpu_info() -> tuple[str, dict[str, bool]]:
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("unknown", "", platform.processor()):
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return model, {flag: flag in flags for flag in ISA_FLAGS}


class Runner:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.env = {
            **__import__("os").environ,
            "OMZ_MOBILENET_MODELS_YML": str(work / "models.yml"),
            "OMZ_MOBILENET_MIRROR": str(work / "mirror"),
            "OMZ_MOBILENET_CACHE": str(work / "cache"),
            "OMZ_MOBILENET_OUT": str(work / "ir"),
            "OMZ_MOBILENET_AC_CONFIGS": str(work / "accuracy_checker_configs"),
        }

    def run(self, *args) -> str:
        return run_cli(args, self.work, self.env)

    def accuracy(self, model: str, images: int, original: bool) -> dict:
        report = self.work / f"acc-{model}-{images}.json"
        self.run(
            "accuracy",
            model,
            "--dataset",
            self.work / "split" / "evaluation",
            "--subset",
            images,
            "--precision",
            "FP32",
            "--no-progress",
            "--json",
            report,
            *(["--original"] if original else []),
        )
        rows = json.loads(report.read_text())
        rows = rows["records"] if isinstance(rows, dict) and "records" in rows else rows
        return rows[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images", type=int, default=1000, help="evaluation images (of the 1000 left after calibration)"
    )
    parser.add_argument("--work", type=Path, default=REPO / "results" / "real_weights", help="working folder (rebuilt)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    add_markdown_option(parser, "real_weights")
    args = parser.parse_args(argv)

    model_name, flags = cpu_info()
    print(f"CPU: {model_name}")
    print("ISA: " + ", ".join(f"{flag} {'yes' if on else 'no'}" for flag, on in flags.items()))
    print(f"Python {platform.python_version()} on {platform.system()} {platform.release()}")

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    for stale in ("mirror", "models.yml", "accuracy_checker_configs"):
        path = work / stale
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.helpers.real_weights",
            "--out",
            work / "mirror",
            "--catalogue-out",
            work / "models.yml",
            "--ac-configs-out",
            work / "accuracy_checker_configs",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(f"fixture build failed:\n{proc.stderr[-3000:]}")
    print(f"fixture build: {time.monotonic() - start:.1f} s")
    runner = Runner(work)
    if not (work / "split" / "evaluation").is_dir():
        runner.run("split", SPLIT_SOURCE, "--calibration-count", CALIBRATION_COUNT, "--out", work / "split")

    rows = []
    for model in rw.SEED_MODELS:
        converted = json.loads(runner.run("convert", model, "--precisions", "FP32", "--json"))
        converted = converted["records"] if isinstance(converted, dict) else converted
        gflops, mparams = converted[0]["gflops"], converted[0]["mparams"]
        floats = runner.accuracy(model, args.images, original=True)
        reference = runner.accuracy(rw.REFERENCE_OF[model], args.images, original=True)
        row = {
            "model": model,
            "images": floats["images"],
            "float IR top1": floats["top1"],
            "float original top1": floats.get("original_top1"),
            "quantized original": rw.QUANTIZED_OF[model],
            "quantized top1": reference["original_top1"],
            "quantized runtime": reference.get("original_runtime"),
            "gap": round(floats["top1"] - reference["original_top1"], 2),
            "GFlops": gflops,
            "GFlops ref": PUBLISHED[model][0],
            "MParams": mparams,
            "MParams ref": PUBLISHED[model][1],
            "ref": PUBLISHED[model][2],
        }
        if rw.REFERENCE_OF[model] != rw.QUANTIZED_OF[model]:
            raw = runner.accuracy(rw.QUANTIZED_OF[model], args.images, original=True)
            row["quantized runtime"] = f"{row['quantized runtime']} (int8 simulated in float)"
            row["raw int8 top1"] = raw["original_top1"]
            row["raw int8 runtime"] = raw.get("original_runtime")
        rows.append(row)

    print(
        f"\nSeed models on real (dequantized) weights: Top-1 (%) on the first {args.images} images of "
        f"{SPLIT_SOURCE.name} after {CALIBRATION_COUNT} calibration images (biased, easier than ImageNet val)"
    )
    header = ["model", "float IR", "float orig.", "quantized orig. (runtime)", "gap", "GFlops (ref)", "MParams (ref)"]
    lines = []
    for r in rows:
        quant = f"{r['quantized top1']:.2f} ({r['quantized runtime']})"
        if "raw int8 top1" in r:
            quant += f"; raw {r['raw int8 runtime']} int8: {r['raw int8 top1']:.2f}"
        lines.append(
            [
                r["model"],
                f"{r['float IR top1']:.2f}",
                f"{r['float original top1']:.2f}",
                quant,
                f"{r['gap']:+.2f}",
                f"{r['GFlops']:.4f} ({r['GFlops ref']} {r['ref']})",
                f"{r['MParams']:.4f} ({r['MParams ref']} {r['ref']})",
            ]
        )
    title = (
        f"Top-1 (%) on the first {args.images} images of {SPLIT_SOURCE.name} after {CALIBRATION_COUNT} calibration "
        "images (biased, easier than ImageNet val)"
    )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))
    print(f"\ntotal {time.monotonic() - start:.0f} s")
    if args.markdown:
        body = f"{title}; the whole run took {time.monotonic() - start:.0f} s.\n\n" + markdown_table(header, lines)
        write_markdown(args.markdown, "real_weights", body, title="Seed models on real (dequantized) weights")
    if args.json:
        args.json.write_text(json.dumps({"cpu": model_name, "isa": flags, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
