"""`download` and `convert`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from omz_mobilenet.commands.common import add_location_args, add_model_args, log, selected_models, settings_from
from omz_mobilenet.errors import ToolError


def run_download(args: argparse.Namespace) -> int:
    from omz_mobilenet.fetch.download import fetch_model
    from omz_mobilenet.settings import Settings

    settings = Settings.resolve(cache_dir=args.cache_dir, mirror=args.mirror, timeout=args.timeout, retries=args.retries)
    failures = 0
    for entry in selected_models(args):
        try:
            fetched = fetch_model(entry, settings, log)
            print(f"{entry.name}: {fetched.model_path}")
        except ToolError as exc:
            if not args.all:
                raise
            failures += 1
            log(f"[red]{exc.message}[/]")
    return 1 if failures else 0


def run_convert(args: argparse.Namespace) -> int:
    from omz_mobilenet.convert.pipeline import convert_model, result_rows
    from omz_mobilenet.precision import parse_folders
    from omz_mobilenet.output.tables import print_table

    from omz_mobilenet.convert.quantize import QuantizeOptions

    precisions = parse_folders(args.precisions, "--precision")
    settings = settings_from(args)
    options = QuantizeOptions(
        calibration=Path(args.calibration) if args.calibration else None,
        subset_size=args.subset_size, max_drop=args.max_drop,
    )
    results, failures = [], 0
    for entry in selected_models(args):
        try:
            results += convert_model(entry, precisions, settings, log, options)
        except ToolError as exc:
            if not args.all:
                raise
            failures += 1
            log(f"[red]{exc.message}[/]")
    rows = result_rows(results)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print_table("converted", rows, ["model", "precision", "gflops", "mparams", "xml"])
    return 1 if failures else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("download", help="fetch model files into the cache (checksums verified)")
    add_model_args(p)
    add_location_args(p, out=False)
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="give up an attempt after this long without a byte; env OMZ_MOBILENET_TIMEOUT (default 60)")
    p.add_argument("--retries", type=int, metavar="N",
                   help="extra attempts per source after a 5xx, a dropped connection or a stall, with backoff "
                        "0.5 s, 1 s, 2 s...; env OMZ_MOBILENET_RETRIES (default 3)")
    p.set_defaults(func=run_download)
    p = subparsers.add_parser("convert", help="convert to OpenVINO IR with preprocessing baked in")
    add_model_args(p)
    add_location_args(p)
    p.add_argument("--precisions", default="FP32", help="comma list of FP32, FP16, INT8 (= FP32-INT8), FP16-INT8 (default FP32)")
    p.add_argument("--calibration", help="INT8: folder of calibration images (keep them out of your evaluation set)")
    p.add_argument("--subset-size", type=int, default=300, help="INT8: calibration images to use (default 300)")
    p.add_argument("--max-drop", type=float, help="INT8: accuracy-aware quantization, max Top-1 drop in points on held-out images")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run_convert)
