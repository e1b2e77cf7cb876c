"""The accuracy regression gate: measure every requested model, judge it (accuracy/judge.py), exit 0/1/2/3.

Two kinds of reference: the built-in ones (`run_gate`: per-image-set references, published accuracy,
INT8 against FP32) or the user's own baseline file (`gate_baseline`; `record_baseline` measures what
`gate --update-baseline` writes, accuracy/baseline.py).

Exit codes: 0 every requested row passed (or had no reference); 1 a regression; 2 an error (a model
that could not be converted or evaluated, bad input); 3 incomplete: a requested row was skipped because
the model's files could not be had, or a baseline row has no result now (`allow_missing` accepts that
beside a row that passed), or a row evaluated fewer images than --min-images asks (INCOMPLETE: nothing
accepts that, a result without evidence is never a pass).
Unlike accuracy_checker, a miss is an exit code (1), not just a word in the log (FACTS 6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from omz_mobilenet.accuracy.baseline import Baseline
from omz_mobilenet.accuracy.evaluate import Evaluation, Options, evaluate_model
from omz_mobilenet.accuracy.judge import (
    ERROR,
    FAILED,
    INCOMPLETE,
    INT8_MAX_DROP,
    NO_REF,
    PASSED,
    RECORDED,
    SKIPPED,
    BaselineRule,
    Check,
    GateRow,
    int8_tolerance,
    judge_against_baseline,
    judge_evaluations,
    published_check,
    record_row,
    subset_check,
)
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_USAGE, ToolError
from omz_mobilenet.inputs.dataset import ImageSet
from omz_mobilenet.precision import is_int8, requantizes

# The judgement's names, importable from the gate as before.
__all__ = [
    "ERROR",
    "FAILED",
    "INCOMPLETE",
    "INT8_MAX_DROP",
    "NO_REF",
    "PASSED",
    "RECORDED",
    "SKIPPED",
    "Check",
    "GateRow",
    "exit_code",
    "gate_model",
    "int8_tolerance",
    "published_check",
    "run_gate",
    "subset_check",
    "summary_line",
]

EXIT_ERROR = EXIT_USAGE
Log = Callable[[str], None]


def _problem_rows(entry: ModelEntry, precisions: list[str], image_sets: list[ImageSet], row: GateRow) -> list[GateRow]:
    """`row` (status, note, reason) repeated for every precision x image set of a model that did not run."""
    return [dataclasses.replace(row, precision=p, image_set=s.name) for p in precisions for s in image_sets]


def _irs_on_disk(entry: ModelEntry, precisions: list[str], settings) -> bool:
    """Every IR the gate needs is already converted: the source files are then not needed at all."""
    from omz_mobilenet.convert.ir_store import ir_folder, ir_xml, is_current

    try:  # a stale IR (converted from an older entry) does not count: it is converted again from the source
        return all(
            is_current(entry, ir_xml(settings.out_dir, entry.name, ir_folder(entry, p, settings.out_dir)))
            for p in precisions
        )
    except ToolError:
        return False


def _available(entry: ModelEntry, settings) -> Optional[str]:
    """None when the model's files can be had (cache, mirror or network), else why not, in one line.
    The downloader's per-source retries are not logged here: the reason is said once, by the caller."""
    from omz_mobilenet.fetch.download import fetch_model

    try:
        fetch_model(entry, settings)
    except ToolError as exc:
        return " ".join(exc.message.split())
    return None


def _with_references(entry: ModelEntry, precisions: list[str]) -> tuple[list[str], set[str]]:
    """The precisions to evaluate: INT8 of a float model is judged against its FP32 IR, added if not asked for."""
    usable = list(precisions)
    reference_only: set[str] = set()
    if entry.source_precision == "FP32" and any(is_int8(p) for p in usable) and "FP32" not in usable:
        usable.insert(0, "FP32")
        reference_only.add("FP32")
    return usable, reference_only


@dataclass
class GateRun:
    """What every model of one gate run shares. `bases`: also evaluate what the built-in judgement
    compares against (the FP32 IR for NNCF INT8, the original for INT8-RQ); a baseline needs neither."""

    image_sets: list[ImageSet]
    settings: Any
    options: Options
    log: Log = lambda _m: None
    bases: bool = True


@dataclass
class Measured:
    """One model's evaluations, the precisions among them that are only a base for others, and the rows
    of what could not run (SKIPPED: files not available; ERROR: conversion or evaluation failed)."""

    evaluations: list[Evaluation] = field(default_factory=list)
    reference_only: set[str] = field(default_factory=set)
    problems: list[GateRow] = field(default_factory=list)


def measure_model(entry: ModelEntry, precisions: list[str], run: GateRun) -> Measured:
    from rich.markup import escape

    options, image_sets = run.options, run.image_sets
    usable, reference_only = _with_references(entry, precisions) if run.bases else (list(precisions), set())
    missing = None if _irs_on_disk(entry, usable, run.settings) else _available(entry, run.settings)
    if missing is not None:
        # Asked for and could not run: SKIPPED, which makes the gate incomplete (exit 3), never a pass.
        run.log(f"[yellow]SKIPPED {entry.name}: {escape(missing)}[/]")
        reason = missing.removeprefix(f"{entry.name}: ")
        skipped = GateRow(entry.name, "", options.device, "", SKIPPED, note="not available", reason=reason)
        return Measured(problems=_problem_rows(entry, precisions, image_sets, skipped))
    # INT8 of an INT8 source (its requantized IR, INT8-RQ) is judged against the original in its own runtime
    original = options.original or (run.bases and any(requantizes(entry, p) for p in usable))
    try:
        options = dataclasses.replace(options, original=original)
        evaluations = evaluate_model(entry, usable, image_sets, run.settings, options, log=run.log)
    except ToolError as exc:
        error = GateRow(entry.name, "", options.device, "", ERROR, note=exc.message, reason=exc.message)
        return Measured(problems=_problem_rows(entry, precisions, image_sets, error))
    return Measured(evaluations, reference_only)


def gate_model(
    entry: ModelEntry, precisions: list[str], image_sets: list[ImageSet], settings, options: Options, log: Log
) -> list[GateRow]:
    """One model judged by the built-in references (accuracy/judge.py)."""
    measured = measure_model(entry, precisions, GateRun(image_sets, settings, options, log))
    return measured.problems + judge_evaluations(entry, measured.evaluations, measured.reference_only)


def run_gate(
    entries: list[ModelEntry],
    precisions: list[str],
    image_sets: list[ImageSet],
    settings,
    options: Options,
    log: Log = lambda _m: None,
) -> list[GateRow]:
    rows: list[GateRow] = []
    for entry in entries:
        rows += gate_model(entry, precisions, image_sets, settings, options, log)
    return rows


def gate_baseline(work: list[tuple[ModelEntry, list[str]]], run: GateRun, baseline: Baseline, rule: BaselineRule):
    """Every (model, precisions) of `work` against its baseline rows; a baseline row with no result now
    (model not in the catalogue, image set or precision not run) is SKIPPED: the gate is incomplete."""
    by_key, rows = baseline.by_key(), []
    for entry, precisions in work:
        measured = measure_model(entry, precisions, dataclasses.replace(run, bases=False))
        rows += measured.problems
        for e in measured.evaluations:
            rows.append(judge_against_baseline(entry, e, by_key.get((e.model, e.precision, e.image_set.name)), rule))
    return rows + _missing_rows(work, run, baseline, rows)


def _missing_rows(work, run: GateRun, baseline: Baseline, rows: list[GateRow]) -> list[GateRow]:
    done = {(r.model, r.precision, r.image_set) for r in rows}
    asked = {(entry.name, p) for entry, precisions in work for p in precisions}
    models, sets = {entry.name for entry, _p in work}, {s.name for s in run.image_sets}
    missing = []
    for base in baseline.rows:
        if base.key in done:
            continue
        if base.model not in models:
            why = "its model is not in the catalogue or was not asked for"
        elif base.image_set not in sets:
            why = f"no image set {base.image_set!r} under --dataset"
        else:
            why = "its precision was not asked for" if (base.model, base.precision) not in asked else "not evaluated"
        reason = f"in the baseline, no result now: {why}"
        missing.append(GateRow(base.model, base.precision, run.options.device, base.image_set, SKIPPED, reason=reason))
    return missing


def record_baseline(work: list[tuple[ModelEntry, list[str]]], run: GateRun, source: str):
    """`--update-baseline`: (rows, evaluations); the caller writes the evaluations only when every row
    is RECORDED (exit_code 0), so a baseline never holds a row without evidence."""
    rows: list[GateRow] = []
    evaluations: list[Evaluation] = []
    for entry, precisions in work:
        measured = measure_model(entry, precisions, dataclasses.replace(run, bases=False))
        rows += measured.problems + [record_row(entry, e, source) for e in measured.evaluations]
        evaluations += measured.evaluations
    return rows, evaluations


def exit_code(rows: list[GateRow], allow_missing: bool = False, refs_required: bool = False) -> int:
    """2 when the gate could not check something (errors), else 1 on any regression, else 3 when a
    row is incomplete (too few images; always) or a requested row was skipped. `allow_missing` accepts
    skipped rows only beside a row that passed: a gate that checked nothing is never a pass.
    `refs_required` (gate --baseline): a requested row the baseline does not hold (NO REF) is missing
    too, so adding a precision to a CI job without re-recording never turns it green unchecked."""
    statuses = {SKIPPED if refs_required and row.status == NO_REF else row.status for row in rows}
    if ERROR in statuses:
        return EXIT_ERROR
    if FAILED in statuses:
        return EXIT_FAILED
    if INCOMPLETE in statuses or not rows:
        return EXIT_INCOMPLETE
    if SKIPPED in statuses:
        return 0 if allow_missing and statuses & {PASSED, RECORDED} else EXIT_INCOMPLETE
    return 0


def _incomplete_verdict(rows: list[GateRow], refs_required: bool = False) -> str:
    if any(row.status == INCOMPLETE for row in rows):
        return "INCOMPLETE (too few images evaluated; --min-images sets how many are needed)"
    if not any(row.status in (PASSED, RECORDED) for row in rows):
        return "INCOMPLETE (nothing was checked: every row was skipped or has no reference)"
    if refs_required and any(row.status == NO_REF for row in rows):
        return "INCOMPLETE (rows the baseline does not hold: record them with --update-baseline, or --allow-missing)"
    return "INCOMPLETE (requested rows were skipped; --allow-missing accepts that)"


def summary_line(rows: list[GateRow], allow_missing: bool = False, refs_required: bool = False) -> str:
    statuses = (PASSED, RECORDED, FAILED, INCOMPLETE, SKIPPED, NO_REF, ERROR)
    counts = {s: sum(r.status == s for r in rows) for s in statuses}
    code = exit_code(rows, allow_missing, refs_required)
    verdict = {0: "PASSED", EXIT_FAILED: "FAILED (accuracy regression)", EXIT_ERROR: "ERROR"}.get(code)
    return f"gate {verdict or _incomplete_verdict(rows, refs_required)}: " + ", ".join(
        f"{n} {s.lower()}" for s, n in counts.items() if n
    )
