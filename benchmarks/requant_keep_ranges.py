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

from common import OFFLINE_QUANTIZED, RESULTS, add_markdown_option, environment, markdown_table, write_markdown
from vs_original import markdown as vs_markdown
from vs_original import measure_model

WORK = RESULTS / "requant_keep_ranges"
STORE = WORK / "store"
MARGIN_IR = RESULTS / "requant_margin" / "ir"  # requant_margin.py's all-int8 NNCF IRs


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
    if link.is_symlink():  # re-pointed every run: the source store may have been rebuilt
        link.unlink()
    if not link.exists():
        link.symlink_to(as_is.parent.resolve(), target_is_directory=True)
    return vars(record)


def weights_rounded(name: str, source_store: Path) -> Path:
    """The float graph of the as-is import (requantize.strip_quantization: clamps, no activation rounding)
    with only its weights rounded to NNCF's grid (symmetric int8 per output channel, half-range = the
    channel's largest |weight|), run at f32: what re-rounding the weights alone costs."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    from omz_mobilenet.convert.ir_store import ir_xml
    from omz_mobilenet.convert.keep_ranges import INT8_MAX, WEIGHTED
    from omz_mobilenet.convert.requantize import strip_quantization

    model = strip_quantization(ov.Core().read_model(ir_xml(source_store, name, "FP32")))
    for op in model.get_ops():
        source = op.input_value(1).get_node() if op.get_type_name() in WEIGHTED else None
        if source is None or source.get_type_name() != "Constant":
            continue
        weights = source.get_data().astype(np.float64)
        axes = tuple(range(2 if op.get_type_name() == "GroupConvolution" else 1, weights.ndim))
        step = np.abs(weights).max(axis=axes, keepdims=True) / INT8_MAX
        step = np.where(step == 0, 1.0, step)
        op.input(1).replace_source_output(ops.constant((np.round(weights / step) * step).astype(np.float32)).output(0))
    target = WORK / "weights_rounded" / name / f"{name}.xml"
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(target), compress_to_fp16=False)
    return target


def against_nncf(name: str, row: dict, source_store: Path, image_set, args) -> dict:
    """Top-1 with only the weights re-rounded (f32), and keep-ranges against NNCF's all-int8 requantization
    (requant_margin.py's IR, when it is there) in alternating rounds of latency."""
    from requant_margin import alternating_latency

    from omz_mobilenet.accuracy.requant_check import ir_top1
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.ir_store import ir_xml

    entry = {m.name: m for m in load_catalogue().models}[name]
    hits, images = ir_top1(entry, weights_rounded(name, source_store), image_set)
    result = {"weights_rounded_top1": round(100 * hits / images, 2), "original_top1": row.get("original_top1")}
    nncf = MARGIN_IR / name / "all-int8.xml"
    if nncf.is_file():
        keep, other = alternating_latency([ir_xml(STORE, name, "INT8-RQ"), nncf], args)
        result.update(keep_ranges_ms=keep, nncf_all_int8_ms=other)
    print(f"  {name}: {result}", file=sys.stderr)
    return result


def nncf_table(rows: list[dict], args) -> str:
    body = []
    for r in rows:
        c = r["against_nncf"]
        timed = (f"{c['keep_ranges_ms']:.3f} / {c['nncf_all_int8_ms']:.3f} ({c['keep_ranges_ms'] / c['nncf_all_int8_ms']:.2f})"
                 if "keep_ranges_ms" in c else "no NNCF IR: run requant_margin.py")  # fmt: skip
        body.append([r["model"], c["original_top1"], c["weights_rounded_top1"], timed])
    header = [
        "model",
        "original Top-1",
        "weights rounded to NNCF's grid, f32: Top-1",
        "keep-ranges / NNCF all-int8 ms (ratio)",
    ]
    return (
        "Where NNCF's requantization loses, and what keep-ranges costs in speed: Top-1 of the float graph with only "
        "its weights rounded to NNCF's symmetric per-channel grid (run at f32, activations unrounded), on the same "
        f"images; latency of the keep-ranges IR against requant_margin.py's all-int8 NNCF IR "
        f"({MARGIN_IR.relative_to(RESULTS.parent)}), one "
        f"request, {args.threads} threads, {args.rounds} alternating rounds of {args.time} s (medians).\n\n"
        + markdown_table(header, body)
    )


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
        row = {**measure_model(core, name, image_set, settings, args), "keep_ranges": records[name]}
        rows.append({**row, "against_nncf": against_nncf(name, row, source_store, image_set, args)})
    (WORK / "vs_original.json").write_text(json.dumps({"rows": rows}, indent=1))
    table = vs_markdown(rows, args, image_set.name)
    exact = ", ".join(
        f"{name}: {r['exact_channels']} exact / {r['rounded_channels']} rounded" for name, r in records.items()
    )
    body = f"{table}\n\nINT8-RQ here is the keep-ranges IR; weight channels per model: {exact}.\n\n{nncf_table(rows, args)}"
    print(body)
    if args.markdown:
        write_markdown(args.markdown, "requant_keep_ranges", body, title="Requantization that keeps the ranges")
    return 0


if __name__ == "__main__":
    sys.exit(main())
