"""`accuracy` (Top-1/Top-5 with 95 % intervals), and the flags and set-up it shares with `gate` (gate_cmds.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omz_mobilenet import validators
from omz_mobilenet.accuracy.evidence import DEFAULT_MIN_IMAGES
from omz_mobilenet.commands.common import (
    add_alias,
    add_device_arg,
    add_location_args,
    add_model_args,
    log,
    selected_entries,
    settings_from,
)
from omz_mobilenet.errors import EXIT_INCOMPLETE, EXIT_INTERRUPTED, ToolError, UsageError

if TYPE_CHECKING:
    from omz_mobilenet.catalogue import ModelEntry

# Left to right by importance: what the command is for first (Top-1 with its interval, Top-5, the
# evidence behind them: images evaluated and skipped, the status); --wide shows the rest.
ACCURACY_COLUMNS = ["model", "precision", "Top-1 [CI]", "Top-5", "images", "skipped", "status"]
ACCURACY_WIDE_COLUMNS = [
    "image_set",
    "device",
    "top5_ci95",
    "original_top1",
    "original_top5",
    "top1_agreement",
    "calibration_overlap",
    "images_per_s",
    "reason",
]
DEFAULT_PRECISIONS = {"accuracy": "FP32", "gate": "FP32,FP16"}


def add_dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        required=True,
        type=Path,
        help="folder of ImageNet val images, or a parent whose image subfolders are separate image sets",
    )
    p.add_argument(
        "--annotations",
        type=Path,
        help="val.txt (`<file> <0-based label>`) or FILES.tsv; default: found in the folder or its parents",
    )
    default = DEFAULT_PRECISIONS["gate" if p.prog.endswith("gate") else "accuracy"]
    p.add_argument(
        "--precision",
        help="comma list of FP32, FP16, INT8 (the IR `convert --precision INT8` writes: NNCF FP32-INT8 of a float "
        "model, the requantized INT8-RQ of an already-quantized one), FP16-INT8, INT8-ASIS (an already-quantized "
        f"model as imported) (default {default} for named models; without MODEL every IR found in the output folder)",
    )
    p.add_argument(
        "--allow-overlap",
        action="store_true",
        help="evaluate INT8 IRs even on images that calibrated them (reported next to every number)",
    )
    add_device_arg(p)
    p.add_argument("--batch", type=validators.batch, default=1, help="images per inference request (default 1)")
    p.add_argument(
        "--limit",
        type=validators.positive_int,
        metavar="N",
        help="only the first N images of each image set (sorted by name)",
    )
    add_alias(p, "--subset", "limit", type=validators.positive_int)
    p.add_argument(
        "--skip-bad-images",
        action="store_true",
        help="skip unreadable or unlabelled images and report them, instead of stopping",
    )
    p.add_argument(
        "--crop-rule",
        choices=["tf", "accuracy-checker"],
        default="tf",
        help="central crop and top-k tie rule: tf = TF's central_crop, ties to the lower class index (how "
        "TF-slim's numbers were produced); accuracy-checker = its int(f*h) crop and np.argpartition "
        "top-k, for the same per-image predictions as accuracy_checker (default tf)",
    )
    _add_evidence_and_output_args(p)


def _add_evidence_and_output_args(p: argparse.ArgumentParser) -> None:
    command = "gate" if p.prog.endswith("gate") else "accuracy"
    p.add_argument(
        "--min-images",
        default=DEFAULT_MIN_IMAGES[command],
        metavar="N|P%",
        help="evaluated images a result needs, as a count or a share of the image set; fewer (unreadable "
        "images skipped) is INCOMPLETE, exit 3, never a pass",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write the results as CSV")


def prepare(args: argparse.Namespace, work_from: Callable[[argparse.Namespace, Any], list] | None = None):
    """Every check of the shared flags before any work, then (work, image sets, options, settings);
    `work_from(args, settings)` lists the (model, precisions) to run (default `work_list`)."""
    from omz_mobilenet.accuracy.evaluate import Options
    from omz_mobilenet.accuracy.evidence import MinImages
    from omz_mobilenet.inputs.checks import check_image_set
    from omz_mobilenet.output.envelope import check_writable

    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    min_images = MinImages.parse(str(args.min_images))  # the shared flag validator may have parsed it
    check_writable(args.json, args.csv, getattr(args, "predictions", None))  # before any work
    settings = settings_from(args)
    work = (work_from or work_list)(args, settings)
    image_sets = check_image_set(args.dataset, args.annotations, args.limit, args.skip_bad_images)
    options = Options(
        device=args.device,
        batch=args.batch,
        skip_bad=args.skip_bad_images,
        progress=not args.no_progress,
        allow_overlap=args.allow_overlap,
        crop_rule=args.crop_rule,
        min_images=min_images,
        original=getattr(args, "original", False),
    )
    return work, image_sets, options, settings


def work_list(args: argparse.Namespace, settings) -> list[tuple[ModelEntry, list[str]]]:
    """(model, precisions) to evaluate: the named models (or --all/--available) at --precision, or,
    without MODEL, every IR already in the output folder (bench's rule)."""
    from omz_mobilenet.precision import name_for, parse

    entries = selected_entries(args)
    if entries is not None:
        precisions = parse(args.precision or DEFAULT_PRECISIONS[args.command])
        for entry in entries if args.models else []:  # a named model it cannot be: exit 2 before any work
            for precision in precisions:
                name_for(entry, precision)
        return [(entry, precisions) for entry in entries]
    return _found_irs(args, settings)


def _found_irs(args: argparse.Namespace, settings) -> list[tuple[ModelEntry, list[str]]]:
    from omz_mobilenet.bench.session import found_targets
    from omz_mobilenet.precision import parse

    try:
        targets = found_targets(settings, parse(args.precision) if args.precision else None)
    except UsageError:
        raise  # e.g. a stale IR (converted from an older entry): its own message says what to do
    except ToolError:
        which = f" at {args.precision}" if args.precision else ""
        raise UsageError(
            f"no IRs{which} in {settings.out_dir}: name models (`omz-mobilenet {args.command} MODEL`, "
            f"--all or --available) or convert first (`omz-mobilenet convert MODEL -o {settings.out_dir}`)"
        ) from None
    by_model: dict[str, tuple[ModelEntry, list[str]]] = {}
    for target in targets:
        if target.entry is None:
            log(f"[yellow]{target.xml}: {target.model} is not in the catalogue; skipped[/]")
            continue
        by_model.setdefault(target.model, (target.entry, []))[1].append(target.precision)
    if not by_model:
        raise UsageError(f"the IRs in {settings.out_dir} are of no catalogue model; name models or convert one")
    log(
        f"no MODEL named: using the IRs in {settings.out_dir}: "
        + ", ".join(f"{entry.name} {'/'.join(precisions)}" for entry, precisions in by_model.values())
    )
    return list(by_model.values())


def report_problems(image_sets, evaluations=()) -> None:
    for image_set in image_sets:
        if image_set.problems:
            log(f"[yellow]{image_set.name}: skipped {len(image_set.problems)} image(s):[/]")
            for problem in image_set.problems:
                log(f"  {problem}")
    seen = set()
    for evaluation in evaluations:
        for problem in evaluation.ir.skipped:
            if problem not in seen:
                seen.add(problem)
                log(f"[yellow]skipped bad image: {problem}[/]")


def write_outputs(args: argparse.Namespace, rows: list[dict], **extra) -> None:
    from omz_mobilenet.output.envelope import envelope
    from omz_mobilenet.output.tables import write_csv, write_json

    if args.json:
        write_json(args.json, envelope(args.command, rows, **extra))
    if args.csv:
        write_csv(args.csv, rows)


def _write_predictions(path: Path, evaluations) -> None:
    from omz_mobilenet.accuracy.evaluate import prediction_rows
    from omz_mobilenet.output.tables import write_csv, write_json

    rows = [row for evaluation in evaluations for row in prediction_rows(evaluation)]
    (write_json if path.suffix.lower() == ".json" else write_csv)(path, rows)


def accuracy_table_row(row: dict) -> dict:
    """Top-1 with its 95 % Wilson interval in one short cell (`52.3 [41-63]`), Top-5 beside it."""
    low, high = row["top1_ci95"]
    top1 = "-" if row["top1"] is None else f"{row['top1']:.1f} [{low:.0f}-{high:.0f}]"
    top5 = "-" if row["top5"] is None else f"{row['top5']:.1f}"
    return {**row, "Top-1 [CI]": top1, "Top-5": top5}


def _accuracy_exit(rows: list[dict], interrupted: bool) -> int:
    """130 when interrupted, else 3 when a result has too few evaluated images (never a pass), else 0."""
    from omz_mobilenet.accuracy.evidence import INCOMPLETE

    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_INCOMPLETE if not rows or any(row["status"] == INCOMPLETE for row in rows) else 0


def run_accuracy(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy.evaluate import Interrupted, evaluate_model
    from omz_mobilenet.output.tables import print_table

    work, image_sets, options, settings = prepare(args)
    evaluations, interrupted = [], False
    for entry, precisions in work:
        try:
            evaluations += evaluate_model(entry, precisions, image_sets, settings, options, log)
        except Interrupted as stop:
            evaluations += stop.evaluations
            interrupted = True
            break
    rows = [e.row() for e in evaluations]
    columns = ACCURACY_COLUMNS + [c for c in ACCURACY_WIDE_COLUMNS if any(c in row for row in rows)]
    title = "accuracy (%, Top-1 with its 95 % Wilson interval; IR computed at f32)" + (
        " - INTERRUPTED, partial results" if interrupted else ""
    )
    print_table(title, [accuracy_table_row(row) for row in rows], columns)
    for note in sorted({row["note"] for row in rows if row.get("note")}):
        print(f"note: {note}")
    code = _accuracy_exit(rows, interrupted)
    for row in rows:
        if row.get("reason"):
            print(f"{row['status'].upper()} {row['model']} {row['precision']} {row['image_set']}: {row['reason']}")
    report_problems(image_sets, evaluations)
    extra = {"interrupted": True} if interrupted else {}
    write_outputs(args, rows, exit_code=code, **extra)
    if args.predictions:
        _write_predictions(args.predictions, evaluations)
    return code


def register(subparsers) -> None:
    p = subparsers.add_parser("accuracy", help="Top-1/Top-5 of IRs (and originals) on labelled ImageNet images")
    add_model_args(p)
    add_location_args(p)
    add_dataset_args(p)
    p.add_argument("--original", action="store_true", help="also run the original file in its own runtime and compare")
    p.add_argument("--predictions", type=Path, metavar="FILE", help="write per-image top-5 (CSV, or JSON for .json)")
    p.set_defaults(func=run_accuracy)
