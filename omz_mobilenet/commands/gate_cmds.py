"""`gate`: the accuracy regression gate for CI, against the built-in references or the user's own baseline.

Without --baseline every row is judged by accuracy/judge.py's built-in references (per-image-set
references, published accuracy, INT8 against FP32). With --baseline FILE the rows are judged against
that file (accuracy/baseline.py); --update-baseline records it instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from omz_mobilenet import validators
from omz_mobilenet.commands.accuracy_cmds import add_dataset_args, prepare, report_problems, work_list, write_outputs
from omz_mobilenet.commands.common import add_location_args, add_model_args, log, selected_entries
from omz_mobilenet.errors import EXIT_INCOMPLETE, UsageError

if TYPE_CHECKING:
    from omz_mobilenet.accuracy.baseline import Baseline
    from omz_mobilenet.accuracy.judge import GateRow

# The gate's short table: the verdict, the Top-1 evidence and why a row is not a pass; the rest under --wide.
GATE_COLUMNS = ["model", "precision", "status", "top1", "min", "images", "reason"]
GATE_WIDE_COLUMNS = ["image_set", "skipped", "top1_ref", "top5", "top5_min", "top5_ref", "reference", "note"]
MIN_REASON = 12  # the reason column is cut to what is left of the terminal, but never below this
FLIPS_SHOWN = 5  # flipped images named per direction; the rest are counted


def gate_table_row(row: dict) -> dict:
    """The short gate row: Top-1 and its minimum, evaluated/asked images, why it is not a pass."""
    asked = row["images"] + row["skipped"]
    images = f"{row['images']}/{asked}" if row["skipped"] else str(row["images"])
    reason = row.get("reason") or row.get("note") or ""
    return {**row, "min": row.get("top1_min"), "images": images, "reason": reason}


def _cut_reasons(rows: list[dict]) -> list[dict]:
    """The reason cell gets what is left of the terminal after the other short columns (cut with …),
    so the failure reason shows without --wide; --wide gets it whole."""
    from omz_mobilenet.output.tables import fit_columns, table_width

    others = GATE_COLUMNS[:-1]
    _kept, sizes = fit_columns(rows, others, table_width())
    room = max(MIN_REASON, table_width() - sum(sizes[c] + 3 for c in others) - 4)
    cut = lambda text: text if len(text) <= room else text[: room - 1] + "…"  # noqa: E731
    return [{**row, "reason": cut(row["reason"])} for row in rows]


def _print_gate_table(dicts: list[dict], wide: bool, title: str = "") -> None:
    from omz_mobilenet.output.tables import print_table

    rows = [gate_table_row(d) for d in dicts]
    print_table(
        title or "accuracy gate (%; min = reference - tolerance; images = evaluated/asked)",
        rows if wide else _cut_reasons(rows),
        GATE_COLUMNS + GATE_WIDE_COLUMNS,
    )


def _finish(args: argparse.Namespace, rows: list[GateRow], image_sets, title: str = "") -> int:
    """The table, the summary line, the image-set problems and the JSON/CSV; returns the exit code."""
    from omz_mobilenet.accuracy import gate

    dicts = [row.as_dict() for row in rows]
    _print_gate_table(dicts, getattr(args, "wide", False), title)
    refs_required = args.baseline is not None  # with a baseline, a row it does not hold is missing
    code = gate.exit_code(rows, args.allow_missing, refs_required)
    print(gate.summary_line(rows, args.allow_missing, refs_required))
    report_problems(image_sets)
    write_outputs(args, dicts, exit_code=code, allow_missing=args.allow_missing)
    return code


def _check_flags(args: argparse.Namespace) -> None:
    if args.baseline is None and (args.update_baseline or args.tolerance is not None):
        flag = "--update-baseline" if args.update_baseline else "--tolerance"
        raise UsageError(f"{flag} needs --baseline FILE (the baseline to record or compare against)")
    if args.update_baseline and args.tolerance is not None:
        raise UsageError("--tolerance applies when comparing against a baseline, not with --update-baseline")


def _baseline_work(args: argparse.Namespace, baseline: Baseline | None):
    """Without MODEL, a baseline's own rows say what to run (models of no catalogue are left out: their
    rows are reported missing); with MODEL, --all or --available, those, as without a baseline."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.precision import parse

    def work_from(args: argparse.Namespace, settings):
        if baseline is None or selected_entries(args) is not None:
            return work_list(args, settings)
        catalogue = load_catalogue()
        known = set(catalogue.names())
        asked = parse(args.precision) if args.precision else None
        return [(catalogue.get(name), asked or precisions) for name, precisions in baseline.work() if name in known]

    return work_from


def run_gate(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy import gate

    _check_flags(args)
    if args.baseline is not None:
        return _run_with_baseline(args)
    work, image_sets, options, settings = prepare(args)
    rows = [
        row
        for entry, precisions in work
        for row in gate.run_gate([entry], precisions, image_sets, settings, options, log)
    ]
    return _finish(args, rows, image_sets)


def _run_with_baseline(args: argparse.Namespace) -> int:
    from omz_mobilenet.accuracy import baseline as store
    from omz_mobilenet.accuracy import gate
    from omz_mobilenet.output.envelope import check_writable

    path: Path = args.baseline
    if args.update_baseline:
        check_writable(path)  # before any work
        existing = _rows_to_record(path) if path.is_file() and not selected_entries(args) else None
    else:
        existing = store.load(path)
    work, image_sets, options, settings = prepare(args, _baseline_work(args, existing))
    run = gate.GateRun(image_sets, settings, options, log)
    if args.update_baseline:
        return _record(args, work, run)
    assert existing is not None
    store.check_comparable(existing, path, image_sets, options.crop_rule)  # refused before any work
    warning = store.machine_warning(existing, path)
    if warning:
        print(warning)
    rows = gate.gate_baseline(work, run, existing, _rule(args, existing))
    code = _finish(args, rows, image_sets, f"accuracy gate against {path} (%; min = baseline - tolerance)")
    _print_flips(rows)
    return code


def _rows_to_record(path: Path) -> Baseline:
    """`--update-baseline` without MODEL re-records the baseline's own rows, so it must be readable."""
    from omz_mobilenet.accuracy import baseline as store

    try:
        return store.load(path)
    except UsageError as exc:
        problem = exc.message.split("; ")[0]
        raise UsageError(
            f"{problem}; name the models to record it anew: `omz-mobilenet gate MODEL ... --baseline {path} "
            "--update-baseline`"
        ) from None


def _rule(args: argparse.Namespace, baseline: Baseline):
    """--tolerance, or verify's paired test (exact one-sided McNemar at its alpha) capped at its 1 point."""
    from omz_mobilenet.accuracy.judge import BaselineRule
    from omz_mobilenet.verify import criteria, stats

    source = f"baseline {args.baseline} (recorded {baseline.recorded or '?'})"
    return BaselineRule(
        source=source,
        points=args.tolerance,
        max_points=criteria.MAX_LOSS_POINTS,
        alpha=criteria.ALPHA,
        worse_p=stats.mcnemar_worse_p,
    )


def _record(args: argparse.Namespace, work, run) -> int:
    """Measure every row; write the baseline (atomically) only when every row has evidence."""
    from omz_mobilenet.accuracy import baseline as store
    from omz_mobilenet.accuracy import gate

    rows, evaluations = gate.record_baseline(work, run, f"recorded to {args.baseline}")
    title = f"accuracy gate: recording {args.baseline} (%)"
    dicts = [row.as_dict() for row in rows]
    _print_gate_table(dicts, getattr(args, "wide", False), title)
    code = gate.exit_code(rows, allow_missing=False)  # a baseline row without evidence is never recorded
    if code == 0 and all(row.status == gate.RECORDED for row in rows):
        store.write(args.baseline, store.new_baseline(evaluations))
        print(f"gate RECORDED: {len(rows)} rows written to {args.baseline}")
    else:
        print(gate.summary_line(rows, allow_missing=False))
        print(f"baseline {args.baseline} not written: every row needs a result with evidence (see the table)")
        code = code or EXIT_INCOMPLETE
    report_problems(run.image_sets)
    write_outputs(args, dicts, exit_code=code, baseline=str(args.baseline))
    return code


def _print_flips(rows: list[GateRow]) -> None:
    """What changed, for every failed row: before -> after and the first few flipped images each way."""
    for row in rows:
        if row.flips is None or row.status != "FAILED":
            continue
        print(f"FAILED {row.model} {row.precision} {row.image_set}: {row.reason}")
        for label, images in (
            ("right -> wrong", row.flips.right_to_wrong),
            ("wrong -> right", row.flips.wrong_to_right),
        ):
            if images:
                more = f" ... and {len(images) - FLIPS_SHOWN} more" if len(images) > FLIPS_SHOWN else ""
                print(f"  {label} ({len(images)}): {', '.join(images[:FLIPS_SHOWN])}{more}")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gate", help="accuracy regression gate: exit 1 on regression, 2 on errors, 3 when incomplete"
    )
    add_model_args(p)
    add_location_args(p)
    add_dataset_args(p)
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="a requested model whose files cannot be had (or a baseline row with no result now) is SKIPPED "
        "without failing the gate (default: exit 3, incomplete); a row with too few images (--min-images) "
        "stays incomplete, and a gate that checked nothing is never a pass",
    )
    p.add_argument(
        "--baseline",
        type=validators.output_file,
        metavar="FILE",
        help="judge every row against this baseline (YAML, recorded by --update-baseline) instead of the "
        "built-in references; without MODEL, run the baseline's own models and precisions",
    )
    p.add_argument(
        "--update-baseline",
        action="store_true",
        help="record --baseline FILE from this run (written only when every row has a result with evidence)",
    )
    p.add_argument(
        "--tolerance",
        type=validators.percent,
        metavar="POINTS",
        help="Top-1 points a row may lose against --baseline (default: verify's paired test, McNemar "
        "p < 0.01, and at most 1 point)",
    )
    p.set_defaults(func=run_gate)
