"""`verify`: the converted IR against the original model in its own framework (criterion: verify/check.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from omz_mobilenet import validators
from omz_mobilenet.commands.common import add_location_args, add_model_args, log, selected_models, settings_from
from omz_mobilenet.errors import UsageError

DATASET_ENV = "OMZ_MOBILENET_DATASET"
# Left to right by importance: the table keeps what fits 100 columns, --wide shows the rest.
COLUMNS = ["model", "result", "agreement %", "b/c p", "Top-1", "margin", "images", "IR-orig [95% CI]", "max |diff|"]


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _p(value: float) -> str:
    return "p<0.001" if value < 0.001 else f"p={value:.2g}"


def table_row(record: dict) -> dict:
    """One short line per record: the statistic, its interval and its threshold side by side."""
    low, high = record["agreement_ci95"]
    paired = record["mcnemar_p"] is not None
    diff_ci = record["top1_diff_ci95"]
    return {
        "model": record["model"],
        "result": ("pass" if record["complete"] else "pass*") if record["passed"] else "FAIL",
        "agreement %": f"{_num(100 * record['top1_agreement'])} [{100 * low:.0f}-{100 * high:.0f}] ≥{_num(100 * record['min_agreement'])}",
        "b/c p": f"{record['mcnemar_b']}/{record['mcnemar_c']} {_p(record['mcnemar_p'])}" if paired else "no labels",
        "Top-1": f"{_num(record['top1_ir'])}/{_num(record['top1_original'])}" if paired else "-",
        "margin": "exact" if record["margin_images"] is None else str(record["margin_images"]),
        "images": f"{record['images']}" + (f" +{record['skipped']} bad" if record.get("skipped") else ""),
        "IR-orig [95% CI]": f"{record['top1_diff']:+.1f} [{diff_ci[0]:+.1f},{diff_ci[1]:+.1f}]" if diff_ci else "-",
        "max |diff|": f"{record['max_abs_diff']:.2g}",
    }


def legend(records: list[dict]) -> list[str]:
    """What the columns mean and where each threshold is, in lines that fit 100 columns."""
    max_loss = next((r["max_top1_loss_images"] for r in records if r["max_top1_loss_images"] is not None), None)
    loss = f"loss > {max_loss} images" if max_loss is not None else "loss > 1 point + 1 image"
    lines = [
        "agreement %: top-1 agreement of IR and original [95 % Wilson CI] ≥ floor (the threshold)",
        "b/c: labelled images only the original / only the IR gets right; p: exact one-sided McNemar",
        "Top-1: IR/original in % of labelled images; margin: images that must still turn wrong to fail",
        f"paired (quantized source, FP16 IR): FAIL if agreement < floor, or p < {records[0]['alpha']} and {loss}",
        "exact (float source at FP32): FAIL unless agreement is 100 % and max |diff| <= 1e-4",
    ]
    for record in records:
        failed = [name for name, verdict in record["checks"].items() if verdict == "fail"]
        if failed:
            lines.append(f"FAIL {record['model']}: {', '.join(failed)}")
        elif not record["complete"]:
            lines.append(
                f"pass* {record['model']}: no labels: only the agreement floor was checked (paired test not run)"
            )
    return lines


VERIFIED = ("FP32", "FP16", "INT8", "INT8-ASIS")


def _verify_precision(text: str) -> str:
    from omz_mobilenet.precision import REQUANTIZED, parse_one

    return parse_one(text, (*VERIFIED, REQUANTIZED))


def _check_device(device: str) -> None:
    """A device this machine lacks is bad input: say so before any download or conversion."""
    from omz_mobilenet.runtime import check_device, new_core

    check_device(new_core(), device)


def _title(rows: list[dict], dataset: str, args: argparse.Namespace) -> str:
    first = rows[0]
    return (
        f"IR {args.precision} (f32 on {args.device}) vs original on {Path(dataset).name}: "
        f"{first['images']} images, {first['labelled']} labelled"
    )


def run_verify(args: argparse.Namespace) -> int:
    from omz_mobilenet.output import envelope
    from omz_mobilenet.output.tables import print_table
    from omz_mobilenet.verify.check import VerifyRequest, verify_model

    dataset = args.dataset or os.environ.get(DATASET_ENV)
    if not dataset:
        raise UsageError(f"verify needs images: pass --dataset DIR (a folder of JPEGs) or set {DATASET_ENV}")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    request = VerifyRequest(
        Path(dataset),
        args.limit,
        args.precision,
        args.device,
        args.skip_bad_images,
        not args.no_progress,
        Path(args.annotations) if args.annotations else None,
    )
    from omz_mobilenet.precision import name_for

    args.precision = _verify_precision(args.precision)
    entries = selected_models(args)
    for entry in entries:
        name_for(entry, args.precision)  # INT8-ASIS of a float model: exit 2 naming it, before any work
    settings = settings_from(args)
    _check_device(args.device)
    request.images()  # before any download or conversion: images there, and readable
    records = [verify_model(entry, settings, request, log) for entry in entries]
    rows = [r.as_dict() for r in records]
    if args.json:
        print(envelope.dumps("verify", rows))
    else:
        print_table(_title(rows, dataset, args), [table_row(r) for r in rows], COLUMNS)
        print("\n".join(legend(rows)))
    return 0 if all(r.passed for r in records) else 1


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify",
        help="compare the IR with the original framework on real images",
        description="Top-1 agreement and max output difference for float sources at FP32; for quantized sources and "
        "FP16 IRs, an exact McNemar test of per-image correctness on labelled images, a Top-1 loss margin "
        "and an agreement floor (see omz_mobilenet/verify/check.py).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_model_args(p)
    add_location_args(p)
    p.add_argument(
        "--dataset",
        help="folder of images: labelled by a val.txt / FILES.tsv nearby, an ImageFolder (one sub-folder per class), "
        f"or unlabelled (agreement only); env {DATASET_ENV}",
    )
    p.add_argument(
        "--annotations",
        metavar="FILE",
        help="ground truth for --dataset: a CSV (`filename,label`, label by name or 0-based index), val.txt or FILES.tsv",
    )
    p.add_argument("--limit", type=validators.positive_int, help="use the first N images (sorted by name)")
    p.add_argument("-d", "--device", default="CPU", help="OpenVINO device for the IR")
    p.add_argument(
        "--precision",
        default="FP32",
        help=f"IR to check, one of {', '.join(VERIFIED)} (always inferred at f32); INT8-RQ = INT8",
    )
    p.add_argument(
        "--skip-bad-images",
        action="store_true",
        help="leave out unreadable images and count them (default: stop with exit 2 before any work)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the JSON envelope instead of a table")
    p.set_defaults(func=run_verify)
