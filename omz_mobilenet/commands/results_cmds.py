"""`results`, `report`, `pick`: read the results database a sweep wrote.

They only read: the database is opened read-only and checked before any output path is made.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from typing import Any, Optional

from omz_mobilenet.commands.common import positive
from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.record import STATUSES
from omz_mobilenet.validators import percent

DEFAULT_REPORT = "results/report.html"


def _read(db: str, status: Optional[str] = None) -> list[dict[str, Any]]:
    """The stored cells, read with a read-only connection that leaves nothing beside the file."""
    from omz_mobilenet.results.db import ResultsDB

    with ResultsDB.open(db, create=False, write=False) as store:
        return store.cells(status=status)


def run_results(args: argparse.Namespace) -> int:
    from omz_mobilenet.output.files import check_output_file, write_text
    from omz_mobilenet.results import export

    records = _read(args.db, args.status)  # the input first: a missing database creates no output folder
    out = check_output_file(args.output) if args.output else None
    if args.json:
        text = export.to_json(records)
    else:
        text = export.to_csv(records) if args.csv else export.to_table(records, wide=args.wide)
    if out is None:
        sys.stdout.write(text)
    else:
        write_text(out, text)
        print(f"wrote {len(records)} cells to {out}", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from omz_mobilenet.output.files import check_output_dir, check_output_file, write_text
    from omz_mobilenet.results.report_md import markdown, write_pngs
    from omz_mobilenet.results.report_page import render

    if args.png is not None and importlib.util.find_spec("matplotlib") is None:
        raise ToolError("--png needs matplotlib: pip install matplotlib", 2)
    records = _read(args.db)  # the input first: a missing database creates no -o, --markdown or --png folder
    out = check_output_file(args.output, "report")
    md = check_output_file(args.markdown, "markdown summary") if args.markdown else None
    png = check_output_dir(args.png, "PNG folder") if args.png else None
    write_text(out, render(records, args.max_latency, args.title))
    print(f"report: {out} ({len(records)} cells)", file=sys.stderr)
    if md is not None:
        write_text(md, markdown(records, args.max_latency))
        print(f"markdown: {md}", file=sys.stderr)
    if png is not None:
        written = write_pngs(records, png, args.max_latency)
        print(f"png: {len(written)} charts in {png}", file=sys.stderr)
    return 0


def run_pick(args: argparse.Namespace) -> int:
    from omz_mobilenet.results import pick

    budget = pick.Budget(
        args.device, args.max_latency, args.percentile, args.min_top1, args.max_size, args.machine, args.metric
    )
    budget.scenario = args.scenario
    if args.scenario and args.metric != "inference":  # LoadGen's bound is on its own query latency
        raise ToolError("--scenario server budgets LoadGen's p99 query latency; drop --metric e2e", 2)
    records = _read(args.db)
    result = pick.pick(records, budget)
    if args.json:
        sys.stdout.write(json.dumps(pick.to_json(result), indent=2) + "\n")
    else:
        sys.stdout.write(pick.to_text(result))
    if result.best is None:
        on_device = sum(1 for r in records if str(r["device"]).upper() == args.device.upper())
        raise ToolError(pick.nothing_fits_message(result, on_device), 1)
    return 0


def _add_results(subparsers) -> None:  # type: ignore[no-untyped-def]
    p = subparsers.add_parser("results", help="export the cells of a results database (table, --json or --csv)")
    p.add_argument("db", help="results database written by `sweep` (e.g. results/results.db)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json", action="store_true", help="one JSON envelope {schema_version, command, environment, records}"
    )
    fmt.add_argument(
        "--csv", action="store_true", help="one CSV row per cell, nested fields flattened (accuracy_top1, ...)"
    )
    p.add_argument("-o", "--output", help="write to this file instead of stdout (default: stdout)")
    p.add_argument("--status", choices=STATUSES, help="only cells of this status (default: all)")
    p.add_argument(
        "--wide",
        action="store_true",
        help="every column: config, p90, p99, round spread, IR size, machine, reason (default: the main figures)",
    )
    p.set_defaults(func=run_results)


def _add_report(subparsers) -> None:  # type: ignore[no-untyped-def]
    p = subparsers.add_parser("report", help="one self-contained HTML report (Pareto, throughput, latency charts)")
    p.add_argument("db", help="results database written by `sweep`")
    p.add_argument("-o", "--output", default=DEFAULT_REPORT, help=f"HTML file to write (default {DEFAULT_REPORT})")
    p.add_argument(
        "--markdown", metavar="FILE", help="also write a short Markdown summary for CI pages (default: none)"
    )
    p.add_argument("--png", metavar="DIR", help="also write the charts as PNG files into DIR (default: none)")
    p.add_argument(
        "--max-latency",
        type=positive(float, "--max-latency"),
        metavar="MS",
        help="median latency limit for the sweet spot and the summary (default: no limit)",
    )
    p.add_argument("--title", default="MobileNet results", help="page title (default %(default)r)")
    p.set_defaults(func=run_report)


def _add_pick(subparsers) -> None:  # type: ignore[no-untyped-def]
    p = subparsers.add_parser("pick", help="the most accurate cell within a latency (and size) budget")
    p.add_argument("db", help="results database written by `sweep`")
    p.add_argument("--device", default="CPU", help="device the model will run on (default %(default)s)")
    p.add_argument(
        "--max-latency",
        type=positive(float, "--max-latency"),
        required=True,
        metavar="MS",
        help="latency budget in ms (required)",
    )
    p.add_argument(
        "--percentile",
        type=int,
        choices=[50, 90, 95, 99],
        default=90,
        help="latency percentile the budget applies to (default %(default)s)",
    )
    p.add_argument(
        "--metric",
        choices=["inference", "e2e"],
        default="inference",
        help="the latency the budget applies to: inference alone (default) or end to end from the image file "
        "(cells swept with the spec key e2e: DIR)",
    )
    p.add_argument(
        "--scenario",
        choices=["server"],
        help="choose by load instead: the highest VALID MLPerf LoadGen Server QPS whose latency bound (p99) is "
        "within --max-latency (cells swept with the spec key scenarios: [server]; default: by Top-1)",
    )
    p.add_argument(
        "--min-top1", type=percent, metavar="PCT", help="lowest acceptable Top-1 in percent, 0 to 100 (default: none)"
    )
    p.add_argument(
        "--max-size",
        type=positive(float, "--max-size"),
        metavar="MB",
        help="largest acceptable IR size in MB (default: none)",
    )
    p.add_argument("--machine", help="only cells measured on this hostname or machine id (default: any)")
    p.add_argument("--json", action="store_true", help="print the pick, runners-up and exclusions as JSON")
    p.set_defaults(func=run_pick)


def register(subparsers) -> None:  # type: ignore[no-untyped-def]
    _add_results(subparsers)
    _add_report(subparsers)
    _add_pick(subparsers)
