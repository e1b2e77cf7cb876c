"""`diagnose`: a lower-precision IR against its float IR, layer by layer (the stage: omz_mobilenet/diagnose/)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from omz_mobilenet import validators
from omz_mobilenet.commands.common import add_location_args, add_no_progress, log, settings_from

if TYPE_CHECKING:
    from omz_mobilenet.diagnose.plan import DiagnoseResult

COLUMNS = ["rank", "layer", "sqnr_db", "local_sqnr_db", "cosine", "ops", "low_kernel", "low_precision", "low_us"]
HEADERS = {
    "sqnr_db": "SQNR dB",
    "local_sqnr_db": "added dB",
    "low_kernel": "kernel",
    "low_precision": "runs",
    "low_us": "µs",
}


def _print(result: DiagnoseResult, top: int) -> None:
    from omz_mobilenet.diagnose.counters import mix_text
    from omz_mobilenet.output.tables import print_table

    rows = [{HEADERS.get(k, k): row.to_dict()[k] for k in COLUMNS} for row in result.layers[:top]]
    shown = f"{min(top, len(result.layers))} of {len(result.layers)}"
    print_table(f"{result.model}: {result.precision} vs FP32, worst layers ({shown})", rows)
    out = result.output
    print(
        f"output: SQNR {out['output_sqnr_db']} dB, cosine {out['output_cosine']}, same Top-1 on "
        f"{out['same_top1']}/{out['images']} images; kernels {result.precision} {mix_text(result.kernels['low'])}, "
        f"FP32 {mix_text(result.kernels['float'])}; reorders {len(result.reorders)}"
    )
    print(result.matching)
    if result.scope is not None:
        print(result.scope.summary())


def run_diagnose(args: argparse.Namespace) -> int:
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.diagnose.measure import measure
    from omz_mobilenet.diagnose.plan import DIAGNOSED, DiagnoseRequest, plan
    from omz_mobilenet.output.envelope import check_writable, envelope
    from omz_mobilenet.precision import REQUANTIZED, name_for, parse_one

    check_writable(args.json, args.csv, args.html, args.scope_out)
    entry = load_catalogue().get(args.model)
    request = DiagnoseRequest(
        entry=entry,
        precision=name_for(entry, parse_one(args.precision, (*DIAGNOSED, REQUANTIZED))),
        dataset=Path(args.dataset),
        limit=args.limit,
        search=not args.no_scope,
        min_sqnr_db=args.min_sqnr,
        max_tries=args.max_tries,
        calibration=Path(args.calibration) if args.calibration else None,
    )
    planned = plan(request, settings_from(args))  # every check before any work
    result = measure(request, planned, log)
    _write(args, result, envelope("diagnose", [result.to_record()], min_sqnr_db=args.min_sqnr))
    _print(result, args.top)
    return 0


def _write(args: argparse.Namespace, result: DiagnoseResult, document: dict) -> None:
    from omz_mobilenet.diagnose.page import html_page
    from omz_mobilenet.diagnose.scope import scope_document, write_scope_file
    from omz_mobilenet.output.files import write_text
    from omz_mobilenet.output.tables import write_csv, write_json

    if args.json:
        write_json(Path(args.json), document)
    if args.csv:
        write_csv(Path(args.csv), [{"model": result.model, **row.to_dict()} for row in result.layers])
    if args.html:
        write_text(Path(args.html), html_page(result, document["environment"], args.min_sqnr))
    if args.scope_out:
        if result.scope is None or not result.scope.names:
            why = (
                "no scope searched (FP16 or --no-scope)" if result.scope is None else "no layer raised the output SQNR"
            )
            log(f"{why}: --scope-out {args.scope_out} not written")
        else:
            write_scope_file(Path(args.scope_out), scope_document(result.model, result.precision, result.scope))
            log(f"wrote {args.scope_out}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from omz_mobilenet.diagnose.plan import DEFAULT_LIMIT
    from omz_mobilenet.diagnose.scope import DEFAULT_MAX_TRIES, DEFAULT_MIN_SQNR

    p = subparsers.add_parser(
        "diagnose", help="where INT8/FP16 loses: per-layer SQNR and kernels against FP32, and an ignored scope"
    )
    p.add_argument("model", metavar="MODEL", help="catalogue name; its FP32 and INT8 (or FP16) IRs must exist")
    p.add_argument(
        "--precision",
        default="INT8",
        help="INT8 (the IR `convert --precision INT8` writes), FP16, or INT8-ASIS (an INT8 source as imported)",
    )
    p.add_argument("--dataset", required=True, help="folder of images both IRs run on")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help="images used")
    p.add_argument(
        "--min-sqnr",
        type=float,
        default=DEFAULT_MIN_SQNR,
        metavar="DB",
        help=f"output SQNR the suggested ignored scope must reach (default {DEFAULT_MIN_SQNR:g} dB)",
    )
    p.add_argument(
        "--max-tries",
        type=validators.non_negative_int,
        default=DEFAULT_MAX_TRIES,
        metavar="N",
        help="candidate layers the scope search re-quantizes with",
    )
    p.add_argument("--no-scope", action="store_true", help="compare only; no ignored-scope search")
    p.add_argument("--calibration", help="images the search re-quantizes with (default: the IR's own calibration)")
    p.add_argument("--scope-out", metavar="FILE", help="write the suggested scope (YAML; JSON if FILE ends .json)")
    p.add_argument("--top", type=validators.positive_int, default=15, metavar="N", help="layers in the table")
    p.add_argument("--json", metavar="FILE", help="write the JSON envelope")
    p.add_argument("--csv", metavar="FILE", help="write one row per layer")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML page")
    add_location_args(p)
    add_no_progress(p)
    p.set_defaults(func=run_diagnose)
