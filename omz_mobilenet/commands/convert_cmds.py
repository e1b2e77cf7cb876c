"""`download` and `convert`."""

from __future__ import annotations

import argparse
import json

from omz_mobilenet.commands.common import add_location_args, add_model_args, selected_models, settings_from
from omz_mobilenet.errors import ToolError


def _log(message: str) -> None:
    from omz_mobilenet.progress import stderr_console

    stderr_console().print(message, highlight=False)


def run_download(args: argparse.Namespace) -> int:
    from omz_mobilenet.download import fetch_model

    settings = settings_from(args)
    failures = 0
    for entry in selected_models(args):
        try:
            fetched = fetch_model(entry, settings, _log)
            print(f"{entry.name}: {fetched.model_path}")
        except ToolError as exc:
            if not args.all:
                raise
            failures += 1
            _log(f"[red]{exc.message}[/]")
    return 1 if failures else 0


def run_convert(args: argparse.Namespace) -> int:
    from omz_mobilenet.convert import convert_model, parse_precisions, result_rows
    from omz_mobilenet.report import print_table

    precisions = parse_precisions(args.precisions)
    settings = settings_from(args)
    results, failures = [], 0
    for entry in selected_models(args):
        try:
            results += convert_model(entry, precisions, settings, _log)
        except ToolError as exc:
            if not args.all:
                raise
            failures += 1
            _log(f"[red]{exc.message}[/]")
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
    p.set_defaults(func=run_download)
    p = subparsers.add_parser("convert", help="convert to OpenVINO IR with preprocessing baked in")
    add_model_args(p)
    add_location_args(p)
    p.add_argument("--precisions", default="FP32", help="comma list of FP32, FP16 (default FP32)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run_convert)
