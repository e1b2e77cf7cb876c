"""`accuracy` (Top-1/Top-5 with 95 % intervals) and `gate` (accuracy regression gate for CI)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from omz_mobilenet.commands.common import (
    add_alias,
    add_device_arg,
    add_location_args,
    add_model_args,
    log,
    selected_entries,
    settings_from,
)
from omz_mobilenet.errors import ToolError, UsageError

if TYPE_CHECKING:
    from omz_mobilenet.catalogue import ModelEntry

ACCURACY_COLUMNS = [
    "model",
    "precision",
    "device",
    "image_set",
    "images",
    "top1",
    "top1_ci95",
    "top5",
    "top5_ci95",
    "original_top1",
    "original_top5",
    "top1_agreement",
    "calibration_overlap",
    "images_per_s",
    "skipped",
    "partial",
]
DEFAULT_PRECISIONS = {"accuracy": "FP32", "gate": "FP32,FP16"}
GATE_COLUMNS = [
    "model",
    "precision",
    "image_set",
    "images",
    "top1",
    "top1_ref",
    "top1_min",
    "top5",
    "top5_ref",
    "top5_min",
    "status",
    "note",
]


def _add_dataset_args(p: argparse.ArgumentParser) -> None:
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
        help="comma list of FP32, FP16, INT8 (already-quantized models: their own IR; float models: the "
        f"NNCF FP32-INT8 IR from `convert --precision INT8`), FP16-INT8 (default {default} for named "
        "models; without MODEL every IR found in the output folder)",
    )
    p.add_argument(
        "--allow-overlap",
        action="store_true",
        help="evaluate INT8 IRs even on images that calibrated them (reported next to every number)",
    )
    add_device_arg(p)
    p.add_argument("--batch", type=int, default=1, help="images per inference request (default 1)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N images of each image set (sorted by name)")
    add_alias(p, "--subset", "limit", type=int)
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write the results as CSV")


def _common(args: argparse.Namespace):
    from omz_mobilenet.accuracy.evaluate import Options
    from omz_mobilenet.inputs.dataset import load_image_sets
    from omz_mobilenet.output.envelope import check_writable

    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    check_writable(args.json, args.csv, getattr(args, "predictions", None))  # before any work
    settings = settings_from(args)
    work = _work(args, settings)
    image_sets = load_image_sets(args.dataset, args.annotations, args.skip_bad_images, args.limit)
    options = Options(
        device=args.device,
        batch=args.batch,
        skip_bad=args.skip_bad_images,
        progress=not args.no_progress,
        allow_overlap=args.allow_overlap,
        crop_rule=args.crop_rule,
    )
    return work, image_sets, options, settings


def _work(args: argparse.Namespace, settings) -> list[tuple[ModelEntry, list[str]]]:
    """(model, precisions) to evaluate: the named models (or --all/--available) at --precision, or,
    without MODEL, every IR already in the output folder (bench's rule)."""
    from omz_mobilenet.precision import parse

    entries = selected_entries(args)
    if entries is not None:
        precisions = parse(args.precision or DEFAULT_PRECISIONS[args.command])
        return [(entry, precisions) for entry in entries]
    return _found_irs(args, settings)


def _found_irs(args: argparse.Namespace, settings) -> list[tuple[ModelEntry, list[str]]]:
    from omz_mobilenet.bench.session import found_targets
    from omz_mobilenet.precision import parse

    try:
        targets = found_targets(settings, parse(args.precision) if args.precision else None)
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


def _report_problems(image_sets, evaluations=()) -> None:
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


def _write_outputs(args: argparse.Namespace, rows: list[dict], **extra) -> None:
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


def run_accuracy(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy.evaluate import Interrupted, evaluate_model
    from omz_mobilenet.output.tables import print_table

    work, image_sets, options, settings = _common(args)
    evaluations, interrupted = [], False
    for entry, precisions in work:
        try:
            evaluations += evaluate_model(entry, precisions, image_sets, settings, options, args.original, log)
        except Interrupted as stop:
            evaluations += stop.evaluations
            interrupted = True
            break
    rows = [e.row() for e in evaluations]
    columns = [c for c in ACCURACY_COLUMNS if any(c in row for row in rows)]
    title = "accuracy (%, 95 % Wilson interval; IR computed at f32)" + (
        " - INTERRUPTED, partial results" if interrupted else ""
    )
    print_table(title, rows, columns)
    for note in sorted({row["note"] for row in rows if row.get("note")}):
        print(f"note: {note}")
    _report_problems(image_sets, evaluations)
    _write_outputs(args, rows, **({"interrupted": True} if interrupted else {}))
    if args.predictions:
        _write_predictions(args.predictions, evaluations)
    return 130 if interrupted else 0


def run_gate(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy import gate
    from omz_mobilenet.output.tables import print_table

    work, image_sets, options, settings = _common(args)
    rows = [
        row
        for entry, precisions in work
        for row in gate.run_gate([entry], precisions, image_sets, settings, options, log)
    ]
    dicts = [row.as_dict() for row in rows]
    print_table("accuracy gate (%; min = reference - tolerance)", dicts, GATE_COLUMNS)
    code = gate.exit_code(rows, args.allow_missing)
    print(gate.summary_line(rows, args.allow_missing))
    _report_problems(image_sets)
    _write_outputs(args, dicts, exit_code=code, allow_missing=args.allow_missing)
    return code


def register(subparsers) -> None:
    p = subparsers.add_parser("accuracy", help="Top-1/Top-5 of IRs (and originals) on labelled ImageNet images")
    add_model_args(p)
    add_location_args(p)
    _add_dataset_args(p)
    p.add_argument("--original", action="store_true", help="also run the original file in its own runtime and compare")
    p.add_argument("--predictions", type=Path, metavar="FILE", help="write per-image top-5 (CSV, or JSON for .json)")
    p.set_defaults(func=run_accuracy)
    p = subparsers.add_parser(
        "gate", help="accuracy regression gate: exit 1 on regression, 2 on errors, 3 when incomplete"
    )
    add_model_args(p)
    add_location_args(p)
    _add_dataset_args(p)
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="a requested model whose files cannot be had is SKIPPED without failing the gate "
        "(default: exit 3, incomplete)",
    )
    p.set_defaults(func=run_gate)
