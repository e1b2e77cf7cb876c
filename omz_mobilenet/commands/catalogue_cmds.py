"""`list` and `info`: read-only views of the catalogue (no OpenVINO or TensorFlow import)."""

from __future__ import annotations

import argparse
import json

from omz_mobilenet.catalogue.schema import ModelEntry, load_catalogue
from omz_mobilenet.output.tables import print_table


def _summary(entry: ModelEntry) -> dict:
    acc = entry.accuracy
    return {
        "name": entry.name,
        "format": entry.format,
        "input": f"{entry.resolution}x{entry.resolution}",
        "source precision": entry.source_precision,
        "classes": entry.output.classes,
        "GFlops": entry.gflops,
        "MParams": entry.mparams,
        "Top-1": acc.top1 if acc else None,
        "Top-5": acc.top5 if acc else None,
        "license": entry.license.name,
    }


def run_list(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if args.json:
        print(json.dumps([_summary(m) for m in catalogue.models], indent=2))
    else:
        print_table(f"omz-mobilenet catalogue ({len(catalogue.models)} models)", [_summary(m) for m in catalogue.models])
    return 0


def run_info(args: argparse.Namespace) -> int:
    entry = load_catalogue().get(args.model)
    if args.json:
        print(json.dumps(entry.model_dump(exclude_none=True), indent=2))
        return 0
    data = entry.model_dump(exclude_none=True)
    rows = [{"field": key, "value": json.dumps(value) if isinstance(value, (dict, list)) else value} for key, value in data.items()]
    print_table(entry.name, rows)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("list", help="table of the catalogue")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_list)
    p = subparsers.add_parser("info", help="everything the catalogue says about one model")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_info)
