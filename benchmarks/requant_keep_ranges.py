"""Requantization that keeps the original's ranges (omz_mobilenet/convert/keep_ranges.py) against the original.

For each already-quantized offline model: its as-is import (the FP32 folder of the IR store, made by
`convert`) gets its weights re-expressed as symmetric int8 per channel, exact where they fit, its
activation FakeQuantizes kept; no calibration image is used. The result is written as the INT8-RQ IR of a
separate store (results/requant_keep_ranges/store, the FP32 folder linked beside it), and judged and timed
exactly as benchmarks/vs_original.py does (the 0.5-point rule against the original in its own runtime on
held-out images; latency, one request, synchronous calls, same threads, alternating rounds).

    python benchmarks/requant_keep_ranges.py [--split DIR] [--images 700] [--rounds 4] [--time 4] [--markdown]
The as-is IRs must exist in OMZ_MOBILENET_OUT (default results/ir): `omz-mobilenet convert MODEL`.
Writes results/requant_keep_ranges/vs_original.json (with --markdown also docs/results/requant_keep_ranges.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from common import OFFLINE_QUANTIZED, RESULTS, add_markdown_option, environment, write_markdown
from vs_original import markdown as vs_markdown
from vs_original import measure_model

WORK = RESULTS / "requant_keep_ranges"
STORE = WORK / "store"


def build(name: str, source_store: Path) -> dict:
    """The keep-ranges IR of `name` in STORE (INT8-RQ), with the as-is FP32 folder linked beside it."""
    import openvino as ov

    from omz_mobilenet.convert.ir_store import ir_xml
    from omz_mobilenet.convert.keep_ranges import keep_ranges

    as_is = ir_xml(source_store, name, "FP32")
    if not as_is.is_file():
        raise SystemExit(f"{as_is} is missing: run `omz-mobilenet convert {name}` first")
    model = ov.Core().read_model(as_is)
    record = keep_ranges(model)
    target = ir_xml(STORE, name, "INT8-RQ")
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(target), compress_to_fp16=False)
    link = STORE / name / "FP32"
    if not link.exists():
        link.symlink_to(as_is.parent.resolve(), target_is_directory=True)
    return vars(record)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(OFFLINE_QUANTIZED), help="comma list (default: every INT8 source)")
    parser.add_argument("--split", type=Path, default=RESULTS / "requant_margin" / "split_300_300" / "evaluation",
                        help="held-out images (default: requant_margin.py's evaluation split)")  # fmt: skip
    parser.add_argument("--images", type=int, default=700)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--time", type=float, default=4.0, help="seconds per IR vs original comparison (default 4)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    add_markdown_option(parser, "requant_keep_ranges")
    args = parser.parse_args()
    args.pinning = False
    env = environment()
    source_store = Path(env["OMZ_MOBILENET_OUT"])
    os.environ.update({k: v for k, v in env.items() if k.startswith("OMZ_MOBILENET")})
    os.environ["OMZ_MOBILENET_OUT"] = str(STORE)

    from omz_mobilenet.inputs.dataset import load_image_set
    from omz_mobilenet.runtime import new_core
    from omz_mobilenet.settings import Settings

    names = args.models.split(",")
    records = {name: build(name, source_store) for name in names}
    settings = Settings.resolve(progress=False)
    image_set = load_image_set(args.split, subset=args.images)
    core = new_core()
    rows = []
    for name in names:
        rows.append({**measure_model(core, name, image_set, settings, args), "keep_ranges": records[name]})
    (WORK / "vs_original.json").write_text(json.dumps({"rows": rows}, indent=1))
    table = vs_markdown(rows, args, image_set.name)
    exact = ", ".join(
        f"{name}: {r['exact_channels']} exact / {r['rounded_channels']} rounded" for name, r in records.items()
    )
    body = f"{table}\n\nINT8-RQ here is the keep-ranges IR; weight channels per model: {exact}."
    print(body)
    if args.markdown:
        write_markdown(args.markdown, "requant_keep_ranges", body, title="Requantization that keeps the ranges")
    return 0


if __name__ == "__main__":
    sys.exit(main())
