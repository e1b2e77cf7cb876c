"""`ac-dataset`: the `-s ROOT` folder Open Model Zoo's accuracy_checker needs for one labelled image set."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_ac_dataset(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy.ac_dataset import ANNOTATION_FILE, IMAGES_DIR, accuracy_check_command, write_ac_dataset

    result = write_ac_dataset(Path(args.images), Path(args.out), args.annotations, args.skip_bad_images, args.force)
    print(
        f"wrote {result.root}: {IMAGES_DIR}/ ({result.images} symlinked images) and {ANNOTATION_FILE} "
        f"(labels from {result.image_set.annotations})"
    )
    for problem in result.image_set.problems:
        print(f"skipped: {problem}")
    print("run accuracy_checker on it (IRs as `omz-mobilenet convert` writes them, f32 pinned by the config):")
    print(f"  {accuracy_check_command('MODEL', result.root)}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ac-dataset",
        help="write the -s ROOT layout accuracy_checker expects for an image set (symlinks + val.txt)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "images",
        metavar="IMAGES_DIR",
        help="folder of labelled ImageNet images (val.txt or FILES.tsv beside or above it)",
    )
    p.add_argument(
        "-o",
        "--out",
        required=True,
        metavar="ROOT",
        help="folder to create: ROOT/ILSVRC2012_img_val/ (symlinks) and ROOT/val.txt (only these images)",
    )
    p.add_argument(
        "--annotations",
        type=Path,
        default=None,
        help="val.txt (`<file> <0-based label>`) or FILES.tsv; default: found in the folder or its parents",
    )
    p.add_argument("--skip-bad-images", action="store_true", help="leave out unlabelled images instead of stopping")
    p.add_argument("--force", action="store_true", help="replace ROOT if it is a folder an earlier ac-dataset wrote")
    p.set_defaults(func=run_ac_dataset)
