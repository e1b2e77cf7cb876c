"""Images/s of the accuracy pipeline (decode thread pool + AsyncInferQueue) vs a plain sequential loop.

The sequential loop is what one writes first: decode one image, infer it synchronously, repeat
(the IR compiled with the latency hint, which is best for one request at a time). Both use the
same IR, images and f32 precision hint and give the same predictions. The machine is shared and
noisy (FACTS 5), so the two take turns within one run and the medians of the rounds are compared.

    python benchmarks/accuracy_throughput.py --dataset ../shared/assets/imagenet/val_100_cropped_reencoded \
        --mirror ../shared/assets [--model mobilenet-v2-1.0-224-quant ...] [--rounds 5] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import add_markdown_option, markdown_table, write_markdown

from omz_mobilenet.accuracy.evaluate import INFER_PRECISION, Options, compile_for_accuracy, run_ir
from omz_mobilenet.accuracy.metrics import top_k
from omz_mobilenet.catalogue import load_catalogue
from omz_mobilenet.convert.pipeline import ensure_ir
from omz_mobilenet.inputs.dataset import load_image_set, to_model_label
from omz_mobilenet.inputs.images import ir_input, load_for_model
from omz_mobilenet.settings import Settings


def sequential(compiled, entry, image_set) -> tuple[float, int]:
    """Decode, infer, next: nothing overlaps. Returns (images/s, top-1 hits)."""
    request = compiled.create_infer_request()
    hits = 0
    start = time.perf_counter()
    for path, label in image_set.items:
        scores = request.infer({0: ir_input([load_for_model(path, entry)])})[0][0]
        hits += int(top_k(scores, 1)[0] == to_model_label(label, entry.output.classes))
    return len(image_set.items) / (time.perf_counter() - start), hits


def pipelined(compiled, entry, image_set) -> tuple[float, int]:
    result = run_ir(compiled, entry, image_set, Options(progress=False), lambda _n: None)
    return result.images_per_second, result.summary()["top1_hits"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True, help="one image folder")
    parser.add_argument("--model", action="append", help="model (repeatable; default mobilenet-v2-1.0-224-quant)")
    parser.add_argument("--mirror")
    parser.add_argument("--cache-dir")
    parser.add_argument("--rounds", type=int, default=5)
    add_markdown_option(parser, "accuracy_throughput")
    args = parser.parse_args()
    image_set = load_image_set(args.dataset)
    rows = [
        measure(load_catalogue().get(model), image_set, args) for model in args.model or ["mobilenet-v2-1.0-224-quant"]
    ]
    if args.markdown:
        write_markdown(
            args.markdown,
            "accuracy_throughput",
            markdown(rows, image_set, args.rounds),
            title="Accuracy pipeline speed",
        )
    return 0 if all(row["same"] for row in rows) else 1


def measure(entry, image_set, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="omz-acc-bench-") as out:
        settings = Settings.resolve(cache_dir=args.cache_dir, out_dir=out, mirror=args.mirror, progress=False)
        xml = ensure_ir(entry, "FP32", settings)
        plain = compile_for_accuracy(xml, "CPU", 1, entry.name, hint="LATENCY")
        fast = compile_for_accuracy(xml, "CPU", 1, entry.name, hint="THROUGHPUT")
        sequential(plain, entry, image_set)  # warm-up: page cache, first-inference allocations
        rounds = []
        for _ in range(args.rounds):
            rounds.append((sequential(plain, entry, image_set), pipelined(fast, entry, image_set)))
    return report(args, entry, image_set, rounds)


def report(args, entry, image_set, rounds) -> dict:
    seq = statistics.median(r[0][0] for r in rounds)
    pipe = statistics.median(r[1][0] for r in rounds)
    same = all(r[0][1] == r[1][1] for r in rounds)
    print(
        f"model {entry.name}, {len(image_set.items)} images of {image_set.name}, FP32 IR, {INFER_PRECISION} hint, "
        f"{args.rounds} alternating rounds, {platform.machine()} x{os.cpu_count()}"
    )
    print(
        f"sequential decode-then-infer: median {seq:.1f} images/s  (rounds: {', '.join(f'{r[0][0]:.0f}' for r in rounds)})"
    )
    print(
        f"thread-pool decode + AsyncInferQueue: median {pipe:.1f} images/s  (rounds: {', '.join(f'{r[1][0]:.0f}' for r in rounds)})"
    )
    print(f"speed-up {pipe / seq:.2f}x; same top-1 hits in both: {same}")
    return {"model": entry.name, "sequential": seq, "pipeline": pipe, "same": same}


def markdown(rows: list[dict], image_set, rounds: int) -> str:
    header = [
        f"model ({len(image_set.items)} images of {image_set.name}, FP32 IR, {INFER_PRECISION}; {rounds} rounds)",
        "sequential img/s (median)",
        "pipeline img/s (median)",
        "speed-up",
        "same top-1 hits",
    ]
    table = markdown_table(
        header,
        [
            [
                r["model"],
                f"{r['sequential']:.1f}",
                f"{r['pipeline']:.1f}",
                f"**{r['pipeline'] / r['sequential']:.2f}x**",
                "yes" if r["same"] else "**NO**",
            ]
            for r in rows
        ],
    )
    return (
        "Sequential decode-then-infer against the thread-pool decode + `AsyncInferQueue` pipeline, in alternating rounds.\n\n"
        + table
    )


if __name__ == "__main__":
    sys.exit(main())
