"""`accuracy` (Top-1/Top-5 with 95 % intervals) and `gate` (accuracy regression gate for CI)."""

from __future__ import annotations

import argparse
from pathlib import Path

from omz_mobilenet.commands.common import add_location_args, add_model_args, log, selected_models, settings_from
from omz_mobilenet.errors import UsageError

ACCURACY_COLUMNS = ["model", "precision", "device", "image_set", "images", "top1", "top1_ci95", "top5", "top5_ci95",
                    "original_top1", "original_top5", "top1_agreement", "calibration_overlap", "images_per_s", "skipped", "partial"]
GATE_COLUMNS = ["model", "precision", "image_set", "images", "top1", "top1_ref", "top1_min", "top5", "top5_ref", "top5_min",
                "status", "note"]


def _add_dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, type=Path,
                   help="folder of ImageNet val images, or a parent whose image subfolders are separate image sets")
    p.add_argument("--annotations", type=Path,
                   help="val.txt (`<file> <0-based label>`) or FILES.tsv; default: found in the folder or its parents")
    p.add_argument("--precision", default="FP32,FP16" if p.prog.endswith("gate") else "FP32",
                   help="comma list of FP32, FP16, INT8 (already-quantized models: their own IR; float models: the "
                        "NNCF FP32-INT8 IR from `convert --precisions INT8`), FP16-INT8")
    p.add_argument("--allow-overlap", action="store_true",
                   help="evaluate INT8 IRs even on images that calibrated them (reported next to every number)")
    p.add_argument("--device", default="CPU", help="OpenVINO device (default CPU)")
    p.add_argument("--batch", type=int, default=1, help="images per inference request (default 1)")
    p.add_argument("--subset", type=int, help="only the first N images of each image set (sorted by name)")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="skip unreadable or unlabelled images and report them, instead of stopping")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write the results as CSV")


def _common(args: argparse.Namespace):
    from omz_mobilenet.accuracy.evaluate import Options
    from omz_mobilenet.precision import parse
    from omz_mobilenet.inputs.dataset import load_image_sets

    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    if args.subset is not None and args.subset < 1:
        raise UsageError("--subset must be at least 1")
    precisions = parse(args.precision)
    entries = selected_models(args)
    image_sets = load_image_sets(args.dataset, args.annotations, args.skip_bad_images, args.subset)
    options = Options(device=args.device, batch=args.batch, skip_bad=args.skip_bad_images, progress=not args.no_progress,
                      allow_overlap=args.allow_overlap)
    return precisions, entries, image_sets, options


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


def _write_outputs(args: argparse.Namespace, rows: list[dict]) -> None:
    from omz_mobilenet.output.tables import write_csv, write_json

    if args.json:
        write_json(args.json, rows)
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

    precisions, entries, image_sets, options = _common(args)
    settings = settings_from(args)
    evaluations, interrupted = [], False
    for entry in entries:
        try:
            evaluations += evaluate_model(entry, precisions, image_sets, settings, options, args.original, log)
        except Interrupted as stop:
            evaluations += stop.evaluations
            interrupted = True
            break
    rows = [e.row() for e in evaluations]
    columns = [c for c in ACCURACY_COLUMNS if any(c in row for row in rows)]
    title = "accuracy (%, 95 % Wilson interval; IR computed at f32)" + (" - INTERRUPTED, partial results" if interrupted else "")
    print_table(title, rows, columns)
    for note in sorted({row["note"] for row in rows if row.get("note")}):
        print(f"note: {note}")
    _report_problems(image_sets, evaluations)
    _write_outputs(args, rows)
    if args.predictions:
        _write_predictions(args.predictions, evaluations)
    return 130 if interrupted else 0


def run_gate(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy import gate
    from omz_mobilenet.output.tables import print_table

    precisions, entries, image_sets, options = _common(args)
    rows = gate.run_gate(entries, not args.all, precisions, image_sets, settings_from(args), options, log)
    dicts = [row.as_dict() for row in rows]
    print_table("accuracy gate (%; min = reference - tolerance)", dicts, GATE_COLUMNS)
    print(gate.summary_line(rows))
    _report_problems(image_sets)
    _write_outputs(args, dicts)
    return gate.exit_code(rows)


def register(subparsers) -> None:
    p = subparsers.add_parser("accuracy", help="Top-1/Top-5 of IRs (and originals) on labelled ImageNet images")
    add_model_args(p)
    add_location_args(p)
    _add_dataset_args(p)
    p.add_argument("--original", action="store_true", help="also run the original file in its own runtime and compare")
    p.add_argument("--predictions", type=Path, metavar="FILE", help="write per-image top-5 (CSV, or JSON for .json)")
    p.set_defaults(func=run_accuracy)
    p = subparsers.add_parser("gate", help="accuracy regression gate: PASSED/FAILED table, exit 1 on regression, 2 on errors")
    add_model_args(p)
    add_location_args(p)
    _add_dataset_args(p)
    p.set_defaults(func=run_gate)
