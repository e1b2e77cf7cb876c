"""`split`: calibration and evaluation folders that never share an image."""

from __future__ import annotations

import argparse
from pathlib import Path

from omz_mobilenet import validators


def run_split(args: argparse.Namespace) -> int:
    from omz_mobilenet.convert.split import split_folder

    result = split_folder(Path(args.folder), args.calibration_count, Path(args.out), [Path(p) for p in args.exclude])
    classes = f" in {result.classes} class folders" if result.classes else ""
    print(f"calibration: {result.calibration} ({result.calibration_count} images)")
    print(f"evaluation:  {result.evaluation} ({result.evaluation_count} images{classes})")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("split", help="split an image folder into disjoint calibration/evaluation folders")
    p.add_argument(
        "folder",
        help="folder of labelled images (val.txt or FILES.tsv beside or above it), or an ImageFolder (one "
        "sub-folder per class: both parts keep the class folders, each class calibrating the same fraction)",
    )
    p.add_argument("--calibration-count", type=validators.positive_int, default=300, help="images for calibration")
    p.add_argument("-o", "--out", required=True, help="where to create calibration/ and evaluation/")
    p.add_argument(
        "--exclude", action="append", default=[], help="folder whose image names must not calibrate (repeatable)"
    )
    p.set_defaults(func=run_split)
