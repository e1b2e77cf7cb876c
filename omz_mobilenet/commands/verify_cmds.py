"""`verify`: the converted IR against the original model in its own framework."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from omz_mobilenet.commands.common import add_location_args, add_model_args, log, selected_models, settings_from
from omz_mobilenet.errors import UsageError

DATASET_ENV = "OMZ_MOBILENET_DATASET"


def run_verify(args: argparse.Namespace) -> int:
    from omz_mobilenet.output.tables import print_table
    from omz_mobilenet.verify.check import verify_model

    dataset = args.dataset or os.environ.get(DATASET_ENV)
    if not dataset:
        raise UsageError(f"verify needs images: pass --dataset DIR (a folder of JPEGs) or set {DATASET_ENV}")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    settings = settings_from(args)
    results = [verify_model(e, settings, Path(dataset), args.limit, args.precision, log) for e in selected_models(args)]
    rows = [r.as_dict() for r in results]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(
            f"IR vs original on {dataset}",
            rows,
            ["model", "precision", "infer_precision", "images", "top1_agreement", "max_abs_diff", "min_agreement", "max_diff_allowed", "original_runtime", "openvino", "passed"],
        )
    return 0 if all(r.passed for r in results) else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="compare the IR with the original framework on real images")
    add_model_args(p)
    add_location_args(p)
    p.add_argument("--dataset", help=f"folder of images (env {DATASET_ENV})")
    p.add_argument("--limit", type=int, help="use the first N images")
    p.add_argument("--precision", default="FP32", choices=["FP32", "FP16"], help="IR to check (default FP32, f32 hint)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_verify)
