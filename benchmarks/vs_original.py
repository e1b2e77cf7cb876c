"""The tool's fastest faithful IR against the original model in its own runtime, per offline model.

For each offline model the candidate IRs are the FP32 IR (f32 hint; for an INT8 source its as-is
import) and the INT8 one (INT8-RQ for an INT8 source, the NNCF FP32-INT8 for the float one), when
converted. A candidate is faithful when its Top-1 on the evaluation split is within the INT8 gate
rule of the original's (LiteRT with XNNPACK / ONNX Runtime) on the same images: at most REQUANT_MAX_DROP
(0.5) Top-1 points lost. Of the faithful ones the fastest (latency, one request, synchronous calls) is
reported, timed against the original with the same thread count in alternating rounds
(bench.compare). The machine's CPU and ISA head the table: numbers mean nothing without them.

    python benchmarks/vs_original.py [--images 700] [--rounds 4] [--time 4] [--out DIR]
The IRs must exist in OMZ_MOBILENET_OUT (default results/ir), e.g. made with
`omz-mobilenet convert MODEL --precision FP32,INT8 --calibration results/split/calibration`;
the evaluation split is results/split/evaluation (`make results/split/calibration`: 700 images; its
calibration folder holds the 300 held-out images that convert checked the INT8-RQ margin on, column "convert chose").
Writes results/vs_original.json and prints the table (with --markdown also into docs/results/vs_original.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from common import ASSETS, OFFLINE_MODELS, RESULTS, add_markdown_option, environment, markdown_table, write_markdown


def _candidates(entry, out_dir: Path) -> list[tuple[str, Path]]:
    from omz_mobilenet.convert.ir_store import ir_xml
    from omz_mobilenet.precision import REQUANTIZED

    int8 = REQUANTIZED if entry.source_precision == "INT8" else "FP32-INT8"
    folders = ["FP32", int8]
    return [
        (folder, ir_xml(out_dir, entry.name, folder))
        for folder in folders
        if ir_xml(out_dir, entry.name, folder).is_file()
    ]


def _compile(core, target, opts, pinning: bool):
    """bench.run.compile_target plus ENABLE_CPU_PINNING: on a shared, oversubscribed host pinned
    threads cannot move off a busy core (measured here: 14 ms pinned vs 1.1 ms unpinned)."""
    import time

    from omz_mobilenet.bench.compiled import Compiled, compile_config, compiled_facts, model_cost
    from omz_mobilenet.runtime import compile_model, load_model

    model = load_model(core, target.xml, opts.batch, target.model)
    started = time.perf_counter()
    compiled = compile_model(
        core, model, opts.device, {**compile_config(opts), "ENABLE_CPU_PINNING": pinning}, str(target.xml)
    )
    compile_ms = (time.perf_counter() - started) * 1e3
    return Compiled(model, compiled, compile_ms, *model_cost(model), compiled_facts(core, compiled, opts))


def _time_against_original(core, entry, folder: str, xml: Path, settings, args) -> dict:
    from omz_mobilenet.bench.compare import compare_target
    from omz_mobilenet.bench.compiled import BenchTarget
    from omz_mobilenet.bench.options import BenchOptions

    opts = BenchOptions(
        hint="latency", infer_precision="f32", nthreads=args.threads, nstreams=1, time_s=args.time
    ).validate()
    target = BenchTarget(entry.name, folder, folder, xml, entry)
    compiled = _compile(core, target, opts, args.pinning)
    record = compare_target(target, compiled, opts, settings, args.rounds)
    return {**record.as_dict(), "kernels": compiled.facts["runtime_precisions"]}


def measure_model(core, name: str, image_set, settings, args) -> dict:
    from omz_mobilenet.accuracy.requant_check import ir_top1, judgement, original_top1
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.fetch.download import fetch_model

    entry = {m.name: m for m in load_catalogue().models}[name]
    candidates = _candidates(entry, settings.out_dir)
    if not candidates:
        return {"model": name, "note": f"no IR in {settings.out_dir}: convert it first"}
    original = original_top1(entry, fetch_model(entry, settings).model_path, image_set)
    tried = []
    for folder, xml in candidates:
        judged = judgement(entry, folder, image_set.name, ir_top1(entry, xml, image_set), original)
        timed = _time_against_original(core, entry, folder, xml, settings, args)
        tried.append(
            {
                "ir": folder,
                "name": _name(entry, folder),
                "faithful": judged.passed,
                "top1": judged.top1,
                "original_top1": judged.original_top1,
                "top1_min": judged.minimum_top1,
                **{
                    k: timed[k]
                    for k in (
                        "openvino_median_ms",
                        "original_median_ms",
                        "ratio_original_to_openvino",
                        "threads",
                        "runtime",
                        "runtime_version",
                        "kernels",
                        "rounds",
                    )
                },
            }
        )
        print(f"  {name} {folder}: {tried[-1]}", file=sys.stderr)
    faithful = [t for t in tried if t["faithful"]] or tried
    best = min(faithful, key=lambda t: t["openvino_median_ms"])
    return {
        "model": name,
        "source": entry.source_precision,
        **best,
        "images": judged.images,
        "note": "" if best["faithful"] else "no faithful IR: fastest shown",
        "convert_chose": _margin(candidates[-1][1]),  # the INT8 IR when there is one (listed last)
        "candidates": tried,
    }


def _name(entry, folder: str) -> str:
    """The IR's one name in results (precision.label), with its folder where they differ: INT8 (INT8-RQ/)."""
    from omz_mobilenet.precision import label

    name = label(folder, entry)
    return name if name == folder else f"{name} ({folder}/)"


def _margin(xml: Path) -> str:
    """How convert made the INT8 IR: its calibration record's margin line (the one `info` shows), "NNCF" for
    a float model's NNCF IR, "" for an IR with no record (an FP32 IR, or one another script wrote)."""
    from omz_mobilenet.convert.calibration import margin_summary, read_record

    record = read_record(xml)
    if record is None:
        return ""
    return margin_summary(record.requant_margin) or "NNCF"


def rows_images(rows: list[dict]) -> str:
    return ", ".join(sorted({str(r["images"]) for r in rows if "images" in r}))


SHORT = {
    "model": "model",
    "ir": "IR",
    "kernels": "kernels",
    "openvino_median_ms": "OV ms",
    "original_median_ms": "orig ms",
    "ratio_original_to_openvino": "orig/OV",
    "top1": "IR top1",
    "original_top1": "orig top1",
    "faithful": "faithful",
    "runtime": "original",
    "note": "note",
}


def _short(row: dict) -> dict:
    """Terminal columns (the JSON keeps the full names); orig/OV > 1 means the IR is faster."""
    return {header: row.get(key) for key, header in SHORT.items()}


def _other(row: dict) -> str:
    """The candidates not chosen, as `IR: OpenVINO vs original ms, Top-1 (faithful or not)`."""
    texts = []
    for c in row.get("candidates", []):
        if c["ir"] == row.get("ir"):
            continue
        faithful = "" if c["faithful"] else f" (NOT faithful: needs {c['top1_min']})"
        texts.append(
            f"{c.get('name', c['ir'])}: {c['openvino_median_ms']:.2f} vs {c['original_median_ms']:.2f} ms, Top-1 {c['top1']}{faithful}"
        )
    return "; ".join(texts)


def markdown(rows: list[dict], args, image_set: str) -> str:
    from omz_mobilenet.accuracy.requant_check import REQUANT_MAX_DROP

    table = []
    for r in rows:
        if "ir" not in r:
            table.append([r["model"], "", "", "", "", "", "", "", "", "", r.get("note", "")])
            continue
        ratio = r["ratio_original_to_openvino"]
        table.append(
            [
                r["model"],
                r["source"],
                r.get("name", r["ir"]) + ("" if r["faithful"] else " (not faithful)"),
                r.get("convert_chose", ""),
                r["kernels"],
                f"{r['openvino_median_ms']:.2f}",
                f"{r['original_median_ms']:.2f}",
                f"{ratio:.2f}x" if ratio else "",
                r["top1"],
                f"{r['original_top1']} ({r['runtime']})",
                _other(r),
            ]
        )
    header = [
        "model",
        "source",
        "fastest faithful IR",
        "convert chose (held-out Top-1 vs original)",
        "kernels",
        "OpenVINO ms",
        "original ms",
        "original / OpenVINO",
        "IR Top-1",
        "original Top-1",
        "other candidate",
    ]
    if not any(r.get("convert_chose") for r in rows):  # IRs not made by convert (another script's store)
        chose = header.index("convert chose (held-out Top-1 vs original)")
        header, table = header[:chose] + header[chose + 1 :], [row[:chose] + row[chose + 1 :] for row in table]
    return (
        f"{args.threads} threads each, CPU pinning {'on' if args.pinning else 'off'}, latency, 1 request, synchronous "
        f"calls, {args.rounds} alternating rounds; Top-1 on {rows_images(rows)} images of {image_set} (disjoint from "
        f"calibration). Faithful: Top-1 at most {REQUANT_MAX_DROP} points below the original's.\n\n"
        + markdown_table(header, table)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=700, help="evaluation images (default 700)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per IR vs original (default 4)")
    parser.add_argument("--time", type=float, default=4.0, help="seconds per IR vs original comparison (default 4)")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="threads for both runtimes (default: all cores)"
    )
    parser.add_argument(
        "--pinning",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="OpenVINO ENABLE_CPU_PINNING (default off: the shared machines here are oversubscribed)",
    )
    parser.add_argument("--split", type=Path, default=RESULTS / "split" / "evaluation", help="evaluation image folder")
    parser.add_argument("--models", default=",".join(OFFLINE_MODELS), help="comma list (default: the 8 offline models)")
    parser.add_argument("--out", type=Path, default=RESULTS / "vs_original.json")
    add_markdown_option(parser, "vs_original")
    args = parser.parse_args()
    os.environ.update({k: v for k, v in environment().items() if k.startswith("OMZ_MOBILENET")})
    os.environ.setdefault("OMZ_MOBILENET_ASSETS", str(ASSETS))

    import openvino as ov

    from omz_mobilenet.environment import environment as machine
    from omz_mobilenet.environment import isa_label
    from omz_mobilenet.inputs.dataset import load_image_set
    from omz_mobilenet.output.tables import print_table
    from omz_mobilenet.runtime import new_core
    from omz_mobilenet.settings import Settings

    settings = Settings.resolve(progress=False)
    image_set = load_image_set(args.split, subset=args.images)
    core = new_core()
    rows = [measure_model(core, name, image_set, settings, args) for name in args.models.split(",")]
    stamp = f"{isa_label()}; OpenVINO {ov.get_version().split('-')[0]}"
    print_table(
        f"fastest faithful IR vs the original ({stamp}; latency, 1 request, synchronous, {args.threads} threads each, "
        f"CPU pinning {'on' if args.pinning else 'off'}, "
        f"alternating rounds; Top-1 on {image_set.name}, {args.images} images)",
        [_short(r) for r in rows],
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "isa": isa_label(),
                "images": args.images,
                "threads": args.threads,
                "pinning": args.pinning,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")
    if args.markdown:
        write_markdown(
            args.markdown,
            "vs_original",
            markdown(rows, args, image_set.name),
            title="The fastest faithful IR against the original runtime",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
