"""`list` and `info`: read-only views of the catalogue (no OpenVINO or TensorFlow import), with each
model's status on this machine: offline (its files are in the cache or a mirror folder, found without
any network) and the IRs already converted in the IR folder, by the names every command takes
(precision.names_of: `INT8-ASIS (FP32/)`, `INT8 (INT8-RQ/)` for an already-quantized source)."""

from __future__ import annotations

import argparse
import json
from typing import Any, Optional

from omz_mobilenet.catalogue import ModelEntry, catalogue_label, load_catalogue
from omz_mobilenet.commands.common import add_location_args, offline_models, settings_from
from omz_mobilenet.output.tables import print_table
from omz_mobilenet.settings import Settings

# Terminal column order, most useful first: a narrow terminal drops columns from the right.
LIST_COLUMNS = [
    "name",
    "offline",
    "IRs",
    "format",
    "input",
    "top1",
    "top5",
    "source_precision",
    "gflops",
    "mparams",
    "classes",
    "catalogue",
    "license",
]


def _summary(entry: ModelEntry) -> dict[str, Any]:
    acc = entry.accuracy
    return {
        "name": entry.name,
        "format": entry.format,
        "input": f"{entry.resolution}x{entry.resolution}",
        "source_precision": entry.source_precision,
        "classes": entry.output.classes,
        "gflops": entry.gflops,
        "mparams": entry.mparams,
        "top1": acc.top1 if acc else None,
        "top5": acc.top5 if acc else None,
        "license": entry.license.name if entry.license else "",
        "catalogue": catalogue_label(entry),
    }


def status(entry: ModelEntry, settings: Settings, converted: dict[str, list[str]]) -> dict[str, Any]:
    """{"offline": "cached" | "mirror" | None, "converted": [IR folders], "irs": [names with their folder]};
    reads files only. `irs` was added after `converted`, which keeps its meaning (additive JSON)."""
    from omz_mobilenet.fetch.download import availability
    from omz_mobilenet.precision import names_of

    folders = converted.get(entry.name, [])
    return {"offline": availability(entry, settings), "converted": folders, "irs": names_of(entry, folders)}


def requant_margin(entry: ModelEntry, settings: Settings, folders: list[str]) -> Optional[dict[str, Any]]:
    """The INT8-RQ IR's margin record (how convert checked it against the original), when that IR exists."""
    from omz_mobilenet.convert.calibration import read_record
    from omz_mobilenet.convert.ir_store import ir_xml
    from omz_mobilenet.precision import REQUANTIZED

    if REQUANTIZED not in folders:
        return None
    record = read_record(ir_xml(settings.out_dir, entry.name, REQUANTIZED))
    return record.requant_margin if record else None


def converted_irs(settings: Settings) -> dict[str, list[str]]:
    from omz_mobilenet.convert.ir_store import find_irs

    found: dict[str, list[str]] = {}
    for model, precision, _xml in find_irs(settings.out_dir, refuse_stale=False):
        found.setdefault(model, []).append(precision)
    return found


def _cell_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "IRs": ", ".join(r["irs"]) or None} for r in records]


def run_list(args: argparse.Namespace) -> int:
    from omz_mobilenet.output.envelope import dumps

    catalogue = load_catalogue()
    settings = settings_from(args)
    models = offline_models(catalogue, settings, quiet=not args.available) if args.available else catalogue.models
    converted = converted_irs(settings)
    records = [{**_summary(m), **status(m, settings, converted)} for m in models]
    if args.json:
        print(
            dumps(
                "list",
                records,
                mirror=settings.mirror,
                cache_dir=str(settings.cache_dir),
                out_dir=str(settings.out_dir),
            )
        )
        return 0
    what = "models available offline" if args.available else "models"
    offline = sum(r["offline"] is not None for r in records)
    print_table(
        f"omz-mobilenet catalogue ({len(records)} {what}; {offline} offline)", _cell_rows(records), LIST_COLUMNS
    )
    print("offline: cached = in the download cache, mirror = in the mirror folder, local = on disk at its path:")
    print("IRs: in -o DIR, by the name --precision takes (its folder); catalogue: built-in, or --catalogue FILE")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from omz_mobilenet.convert.calibration import margin_summary
    from omz_mobilenet.output.envelope import dumps

    entry = load_catalogue().get(args.model)
    settings = settings_from(args)
    data = {**entry.model_dump(exclude_none=True, exclude={"catalogue_file"}), "catalogue": catalogue_label(entry)}
    state = status(entry, settings, converted_irs(settings))
    margin = requant_margin(entry, settings, state["converted"])
    if margin:  # additive: only a quantized model's INT8-RQ IR has one
        state["requant_margin"] = margin
    if args.json:
        print(dumps("info", [data], status=state))
        return 0
    rows = [
        {"field": key, "value": json.dumps(value) if isinstance(value, (dict, list)) else value}
        for key, value in data.items()
    ]
    rows += [
        {"field": "offline", "value": state["offline"] or "no (needs a download)"},
        {"field": "IRs", "value": ", ".join(state["irs"]) or "none"},
    ]
    if margin:
        rows.append({"field": "INT8 margin", "value": margin_summary(margin)})
    print_table(entry.name, rows)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("list", help="table of the catalogue with each model's status (offline, converted)")
    p.add_argument(
        "--available",
        action="store_true",
        help="only the models whose files are in the cache or a mirror folder (no network)",
    )
    add_location_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON envelope instead of a table")
    p.set_defaults(func=run_list)
    p = subparsers.add_parser("info", help="everything the catalogue says about one model, and its status")
    p.add_argument("model", metavar="MODEL")
    add_location_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON envelope instead of a table")
    p.set_defaults(func=run_info)
