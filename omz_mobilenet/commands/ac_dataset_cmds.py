"""`ac-dataset`: the `-s ROOT` folder Open Model Zoo's accuracy_checker needs for one labelled image set."""

from __future__ import annotations

import argparse
from pathlib import Path

from omz_mobilenet.commands.common import add_location_args, settings_from


def run_ac_dataset(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy.ac_dataset import accuracy_check_command, labels_for, write_ac_dataset
    from omz_mobilenet.accuracy.ac_format import ANNOTATION_FILE, DATASET_META_FILE
    from omz_mobilenet.catalogue import load_catalogue

    labels = None
    if args.model:
        labels = labels_for(load_catalogue().get(args.model), settings_from(args))
    result = write_ac_dataset(
        Path(args.images), Path(args.out), args.annotations, args.skip_bad_images, args.force, labels
    )
    meta = ""
    if labels is not None and not labels.imagenet:
        meta = f" and {DATASET_META_FILE} (the {len(labels.space.names)} classes of {labels.space.source})"
    print(
        f"wrote {result.root}: {result.images_dir}/ ({result.images} symlinked images), {ANNOTATION_FILE} "
        f"(labels from {result.image_set.annotations}){meta}"
    )
    for problem in result.image_set.problems:
        print(f"skipped: {problem}")
    print("run accuracy_checker on it (IRs as `omz-mobilenet convert` writes them, f32 pinned by the config):")
    if labels is None:
        print(f"  {accuracy_check_command('MODEL', result.root)}")
    else:
        print(f"  {accuracy_check_command(labels.model, result.root, config=labels.config)}")
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
        help="folder of labelled images: ImageNet's (val.txt or FILES.tsv beside or above it), an ImageFolder "
        "(one sub-folder per class, named as in the model's labels file; needs --model) or the images of "
        "--annotations FILE.csv",
    )
    p.add_argument(
        "-o",
        "--out",
        required=True,
        metavar="ROOT",
        help="folder to create: ROOT/ILSVRC2012_img_val/ (symlinks) and ROOT/val.txt (only these images); with "
        "--model of a model with its own labels: ROOT/images/, ROOT/val.txt and ROOT/dataset_meta.json",
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="NAME",
        help="the model the folder is for: its labels file maps class names (ImageFolder, CSV) to indices, and "
        "a model with its own labels gets the layout of its generated config",
    )
    p.add_argument(
        "--annotations",
        type=Path,
        default=None,
        help="val.txt (`<file> <0-based label>`), FILES.tsv or a CSV of `filename,label`; default: val.txt / "
        "FILES.tsv found in the folder or its parents",
    )
    p.add_argument("--skip-bad-images", action="store_true", help="leave out unlabelled images instead of stopping")
    p.add_argument("--force", action="store_true", help="replace ROOT if it is a folder an earlier ac-dataset wrote")
    add_location_args(p, out=False)
    p.set_defaults(func=run_ac_dataset)
