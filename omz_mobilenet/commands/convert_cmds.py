"""`download` and `convert`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from omz_mobilenet import validators
from omz_mobilenet.commands.common import (
    add_alias,
    add_location_args,
    add_model_args,
    add_no_progress,
    log,
    many_models,
    selected_models,
    settings_from,
)
from omz_mobilenet.errors import ToolError, UsageError

if TYPE_CHECKING:
    from omz_mobilenet.catalogue import ModelEntry
    from omz_mobilenet.convert.job import QuantizeOptions
    from omz_mobilenet.settings import Settings


def _quiet_sources(message: str) -> None:
    """Many models: one line per model; the per-source retries of each failing one are not repeated."""
    if "trying the next source" not in message:
        log(message)


def run_download(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from omz_mobilenet.fetch.download import CACHED, availability, fetch_model
    from omz_mobilenet.settings import Settings

    settings = Settings.resolve(
        cache_dir=args.cache_dir,
        mirror=args.mirror,
        timeout=args.timeout,
        retries=args.retries,
        progress=not args.no_progress,
    )
    many = bool(args.all or args.available)
    records, counts = [], {"downloaded": 0, "cached": 0, "not available": 0}
    for entry in selected_models(args):
        was_cached = availability(entry, settings) == CACHED
        try:
            fetched = fetch_model(entry, settings, _quiet_sources if many else log)
        except ToolError as exc:
            if not many:
                raise
            counts["not available"] += 1
            records.append({"model": entry.name, "status": "not_available", "reason": exc.message, "path": None})
            log(f"[red]{escape(' '.join(exc.message.split()))}[/]")
            continue
        status = "cached" if was_cached else "downloaded"
        counts[status] += 1
        records.append({"model": entry.name, "status": status, "reason": None, "path": str(fetched.model_path)})
        if not args.json:
            print(f"{entry.name}: {fetched.model_path}")
    summary = (
        f"download: {counts['downloaded']} downloaded, {counts['cached']} already cached, "
        f"{counts['not available']} not available"
    )
    if args.json:
        from omz_mobilenet.output.envelope import dumps

        print(dumps("download", records, summary=summary))
    elif many:
        print(summary)
    return 1 if counts["not available"] else 0


AUTO = "auto"


def _ignored_scope(value: Optional[str], precisions: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`--ignored-scope FILE` read now (names, positions; a bad file is exit 2 before any work); `auto` is
    searched per model later."""
    from omz_mobilenet.convert.ignored_scope import read_scope_file
    from omz_mobilenet.precision import is_int8

    if value is None or value == AUTO:
        if value == AUTO and not any(is_int8(p) for p in precisions):
            raise UsageError("--ignored-scope keeps layers of an INT8 IR in float: add --precision INT8")
        return (), ()
    if not any(is_int8(p) for p in precisions):
        raise UsageError("--ignored-scope keeps layers of an INT8 IR in float: add --precision INT8")
    return read_scope_file(Path(value))


def _auto_scope(entry: ModelEntry, settings: Settings, options: QuantizeOptions) -> QuantizeOptions:
    """The diagnose search on the calibration folder, then the options that apply what it found."""
    from omz_mobilenet.diagnose.auto import auto_scope

    search = auto_scope(entry, settings, options, log)
    if not search.names:
        why = "none needed" if search.reached else "no layer raised the output SQNR"
        log(f"{entry.name}: ignored scope auto: {why}; quantizing without a scope")
    return replace(
        options, ignored_scope=tuple(search.names), ignored_scope_file=AUTO, ignored_scope_positions=search.positions
    )


def run_convert(args: argparse.Namespace) -> int:
    from omz_mobilenet.convert.pipeline import convert_model, plan_folders, result_rows
    from omz_mobilenet.convert.quantize import QuantizeOptions
    from omz_mobilenet.output.envelope import check_writable, dumps
    from omz_mobilenet.output.tables import print_table
    from omz_mobilenet.precision import parse_folders

    precisions = parse_folders(args.precisions, "--precision")
    settings = replace(settings_from(args), progress=not args.no_progress)
    scope, positions = _ignored_scope(args.ignored_scope, precisions)
    options = QuantizeOptions(
        calibration=Path(args.calibration) if args.calibration else None,
        subset_size=args.calibration_limit,
        max_drop=args.max_drop,
        ignored_scope=scope,
        ignored_scope_file=args.ignored_scope,
        ignored_scope_positions=positions,
        requant_method=args.requant_method,
    )
    many = many_models(args)
    entries = selected_models(args)
    if not many:  # named models: every model x precision pair is checked before the first download
        for entry in entries:
            plan_folders(entry, precisions, options)
    # An unwritable IR folder fails before any download or conversion, and only once the models and
    # flags are known to be good: the check creates the folder.
    try:
        check_writable(str(settings.out_dir / ".omz-mobilenet-check"))
    except ToolError as exc:
        raise ToolError(f"IR folder {settings.out_dir} is not writable ({exc.message}); choose another -o", 2) from None
    results, failures = [], 0
    for entry in entries:
        try:
            entry_options = _auto_scope(entry, settings, options) if args.ignored_scope == AUTO else options
            results += convert_model(entry, precisions, settings, log, entry_options)
        except ToolError as exc:
            if not many:
                raise
            failures += 1
            log(f"[red]{exc.message}[/]")
    rows = result_rows(results)
    if args.json:
        print(dumps("convert", rows))
    elif rows:
        print_table("converted", rows, ["model", "name", "precision", "gflops", "mparams", "xml"])
    return 1 if failures else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("download", help="fetch model files into the cache (checksums verified)")
    add_model_args(p)
    add_location_args(p, out=False)
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up an attempt after this long without a byte; env OMZ_MOBILENET_TIMEOUT (default 60)",
    )
    p.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="extra attempts per source after a 5xx, a dropped connection or a stall, with backoff "
        "0.5 s, 1 s, 2 s...; env OMZ_MOBILENET_RETRIES (default 3)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON envelope (a record per model) instead of lines")
    add_no_progress(p)
    p.set_defaults(func=run_download)
    p = subparsers.add_parser("convert", help="convert to OpenVINO IR with preprocessing baked in")
    add_model_args(p)
    add_location_args(p)
    p.add_argument(
        "--precision",
        dest="precisions",
        default="FP32",
        help="comma list of FP32, FP16, INT8 (NNCF, = FP32-INT8; of an already-quantized source its requantization, folder INT8-RQ), FP16-INT8, INT8-ASIS (an already-quantized source as imported, folder FP32)",
    )
    add_alias(p, "--precisions", "precisions")
    p.add_argument("--calibration", help="INT8: folder of calibration images (keep them out of your evaluation set)")
    p.add_argument(
        "--calibration-limit",
        type=validators.positive_int,
        default=300,
        metavar="N",
        help="INT8: calibration images to use",
    )
    add_alias(p, "--subset-size", "calibration_limit", type=validators.positive_int)
    p.add_argument(
        "--max-drop",
        type=validators.percent,
        help="INT8: accuracy-aware quantization, max Top-1 drop in points on held-out images",
    )
    p.add_argument(
        "--ignored-scope",
        metavar="FILE|auto",
        help="INT8: layers NNCF keeps in float (NNCF IgnoredScope): a file as `diagnose --scope-out` writes "
        "(names: [...]), or auto (run the diagnose search on the calibration folder first)",
    )
    p.add_argument(
        "--requant-method",
        choices=["auto", "nncf"],
        default="auto",
        help="INT8 of an already-quantized source: auto keeps the original's activation ranges and exact weights "
        "when that holds the margin, else NNCF; nncf: NNCF's requantization only (default auto)",
    )
    p.add_argument("--json", action="store_true", help="print the results as one JSON envelope")
    add_no_progress(p)
    p.set_defaults(func=run_convert)
