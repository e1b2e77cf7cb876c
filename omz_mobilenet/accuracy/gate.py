"""The accuracy regression gate: measure every requested model, compare with its reference, exit 1/2/3.

Exit codes: 0 every requested row passed (or had no reference); 1 a regression; 2 an error (a model
that could not be converted or evaluated, bad input); 3 incomplete: a requested row was skipped because
the model's files could not be had, never a silent pass (unless `allow_missing`).

References, best first:
1. the per-image-set reference in `<model>.subsets.yml` (the original file in its own framework on
   exactly these images). IR and original see the same pixels, so this is a paired comparison: the
   IR may lose at most `tolerance_images` images (numerical flips of borderline images), far below
   what a channel swap or a wrong mean costs.
2. otherwise the published full-validation figure in `<model>.yml`, minus its abs_threshold, tested
   against the upper end of the 95 % Wilson interval of the measured rate (a small unknown image set
   cannot prove a regression of a few points).
INT8 IRs of float models (NNCF) are judged against the FP32 IR of the same model on the same images:
Top-1 may lose at most INT8_MAX_DROP points plus one image (a borderline flip); Top-5 likewise.
Unlike accuracy_checker, a miss is an exit code (1), not just a word in the log (FACTS 6).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from omz_mobilenet.accuracy.ac_config import SubsetRef, config_for, load_subsets
from omz_mobilenet.accuracy.evaluate import Evaluation, Options, biased_note, evaluate_model
from omz_mobilenet.accuracy.metrics import wilson_interval
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet
from omz_mobilenet.precision import is_int8, is_requantized

PASSED, FAILED, SKIPPED, ERROR, NO_REF = "PASSED", "FAILED", "SKIPPED", "ERROR", "NO REF"
EXIT_FAILED, EXIT_ERROR, EXIT_INCOMPLETE = 1, 2, 3
INT8_MAX_DROP = 1.0  # points, the INT8 target


@dataclass
class Check:
    """One metric against its reference: hits needed, or a published rate to reach."""

    measured: float  # percent
    minimum: Optional[float]  # percent; None when there is no reference
    reference: Optional[float]  # percent
    passed: Optional[bool]


@dataclass
class GateRow:
    """One gate verdict with what it rests on: the checks (measured, minimum, reference), which
    reference, images, ties among top scores and the crop rule."""

    model: str
    precision: str
    device: str
    image_set: str
    status: str
    images: int = 0
    checks: dict[str, Check] = field(default_factory=dict)
    reference: str = ""
    note: str = ""
    tied_top1: Optional[int] = None
    crop_rule: Optional[str] = None

    def as_dict(self) -> dict:
        row: dict[str, object] = {
            "model": self.model,
            "precision": self.precision,
            "device": self.device,
            "image_set": self.image_set,
            "status": self.status,
            "images": self.images or None,
        }
        for metric in ("top1", "top5"):
            check = self.checks.get(metric)
            row[metric] = check.measured if check else None
            row[f"{metric}_ref"] = check.reference if check else None
            row[f"{metric}_min"] = check.minimum if check else None
        row.update(
            reference=self.reference or None, note=self.note or None, tied_top1=self.tied_top1, crop_rule=self.crop_rule
        )
        return row


def _pct(hits: float, total: int) -> float:
    return round(100.0 * hits / total, 2) if total else 0.0


def subset_check(hits: int, total: int, ref: SubsetRef, metric: str) -> Check:
    ref_hits = ref.top1_hits if metric == "top1" else ref.top5_hits
    needed = ref_hits - ref.tolerance[metric]
    return Check(_pct(hits, total), _pct(needed, total), _pct(ref_hits, total), hits >= needed)


def published_check(hits: int, total: int, reference: Optional[float], threshold: float) -> Check:
    if reference is None:
        return Check(_pct(hits, total), None, None, None)
    _low, high = wilson_interval(hits, total)
    minimum = reference - threshold
    return Check(_pct(hits, total), round(100.0 * minimum, 2), round(100.0 * reference, 2), high >= minimum)


def _status(checks: dict[str, Check]) -> str:
    verdicts = [c.passed for c in checks.values() if c.passed is not None]
    if not verdicts:
        return NO_REF
    return PASSED if all(verdicts) else FAILED


def judge(entry: ModelEntry, evaluation: Evaluation) -> GateRow:
    """Compare one evaluation with the best reference there is for its image set."""
    image_set, summary = evaluation.image_set, evaluation.ir.summary()
    hits, total = {"top1": summary["top1_hits"], "top5": summary["top5_hits"]}, summary["images"]
    row = GateRow(
        entry.name,
        evaluation.precision,
        evaluation.device,
        image_set.name,
        NO_REF,
        images=total,
        tied_top1=summary.get("tied_top1"),
        crop_rule=evaluation.crop_rule,
    )
    ref = load_subsets(entry.name).get(image_set.name)
    # The per-set references were measured on the tf crop's pixels; another crop rule sees other pixels.
    same_pixels = evaluation.crop_rule == "tf"
    if ref is not None and same_pixels and ref.image_list_sha256 == image_set.list_sha256 and ref.images == total:
        row.checks = {m: subset_check(hits[m], total, ref, m) for m in ("top1", "top5")}
        measured = ref.measured
        row.reference = f"subset: {measured.get('framework', '?')} {measured.get('version', '')}".strip()
    else:
        if ref is not None:
            why = "another image list (sha256/count differ)" if same_pixels else "the tf crop rule's pixels"
            row.note = f"subset reference is for {why}; "
        metrics = config_for(entry).metrics
        row.checks = {
            f"top{k}": published_check(hits[f"top{k}"], total, m.reference, m.abs_threshold) for k, m in metrics.items()
        }
        row.reference = "published full val (Wilson upper bound vs reference - abs_threshold)"
    row.status = _status(row.checks)
    if evaluation.ir.skipped:
        row.note += f"{len(evaluation.ir.skipped)} bad images skipped; "
    if biased_note(image_set.name):
        row.note += "biased set: regression check only; "
    row.note = row.note.strip("; ")
    return row


def int8_tolerance(total: int) -> int:
    return math.ceil(total * INT8_MAX_DROP / 100) + 1


def judge_int8(entry: ModelEntry, int8: Evaluation, fp32: Evaluation) -> GateRow:
    """A quantized float model against its own FP32 IR on the same images (paired comparison)."""
    reference = f"FP32 IR on the same images (max drop {INT8_MAX_DROP} points + 1 image)"
    return _judge_paired(entry, int8, fp32.ir.summary(), reference)


def judge_against_original(entry: ModelEntry, requantized: Evaluation) -> GateRow:
    """A requantized INT8 source against the ORIGINAL file in its own runtime on the same images:
    the same rule as INT8 of a float model (requantizing must not cost more than quantizing)."""
    if requantized.original is None:
        raise ToolError(f"{entry.name} {requantized.precision}: the original runtime did not run", 2)
    runtime = requantized.original.runtime
    reference = f"original in {runtime} on the same images (max drop {INT8_MAX_DROP} points + 1 image)"
    return _judge_paired(entry, requantized, requantized.original.summary(), reference)


def _judge_paired(entry: ModelEntry, int8: Evaluation, base: dict, reference: str) -> GateRow:
    ours = int8.ir.summary()
    total = ours["images"]
    row = GateRow(entry.name, int8.precision, int8.device, int8.image_set.name, NO_REF, images=total)
    for metric in ("top1", "top5"):
        needed = base[f"{metric}_hits"] - int8_tolerance(total)
        hits = ours[f"{metric}_hits"]
        row.checks[metric] = Check(
            _pct(hits, total), _pct(needed, total), _pct(base[f"{metric}_hits"], total), hits >= needed
        )
    row.reference = reference
    row.status = _status(row.checks)
    if int8.calibration_overlap:
        row.note = f"--allow-overlap: {int8.calibration_overlap} images calibrated this IR"
    return row


def _judge_all(entry: ModelEntry, evaluations: list[Evaluation], reference_only: set[str]) -> list[GateRow]:
    fp32 = {e.image_set.name: e for e in evaluations if e.precision == "FP32"}
    rows = []
    for evaluation in evaluations:
        if evaluation.precision in reference_only:
            continue
        if is_requantized(evaluation.precision):
            rows.append(judge_against_original(entry, evaluation))
            continue
        quantized_float = is_int8(evaluation.precision) and entry.source_precision == "FP32"
        rows.append(
            judge_int8(entry, evaluation, fp32[evaluation.image_set.name])
            if quantized_float
            else judge(entry, evaluation)
        )
    return rows


def _problem_rows(
    entry: ModelEntry, precisions: list[str], device: str, image_sets: list[ImageSet], status: str, note: str
) -> list[GateRow]:
    return [GateRow(entry.name, p, device, s.name, status, note=note) for p in precisions for s in image_sets]


def _irs_on_disk(entry: ModelEntry, precisions: list[str], settings) -> bool:
    """Every IR the gate needs is already converted: the source files are then not needed at all."""
    from omz_mobilenet.convert.ir_store import ir_folder, ir_xml

    try:
        return all(
            ir_xml(settings.out_dir, entry.name, ir_folder(entry, p, settings.out_dir)).is_file() for p in precisions
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


def gate_model(
    entry: ModelEntry,
    precisions: list[str],
    image_sets: list[ImageSet],
    settings,
    options: Options,
    log: Callable[[str], None],
) -> list[GateRow]:
    from rich.markup import escape

    usable, reference_only = _with_references(entry, precisions)
    missing = None if _irs_on_disk(entry, usable, settings) else _available(entry, settings)
    if missing is not None:
        # Asked for and could not run: SKIPPED, which makes the gate incomplete (exit 3), never a pass.
        log(f"[yellow]SKIPPED {entry.name}: {escape(missing)}[/]")
        return _problem_rows(
            entry, precisions, options.device, image_sets, SKIPPED, "not available (reason in the log)"
        )
    try:
        with_original = any(is_requantized(p) for p in usable)  # INT8-RQ is judged against the original
        evaluations = evaluate_model(entry, usable, image_sets, settings, options, with_original=with_original, log=log)
    except ToolError as exc:
        return _problem_rows(entry, precisions, options.device, image_sets, ERROR, exc.message)
    return _judge_all(entry, evaluations, reference_only)


def run_gate(
    entries: list[ModelEntry],
    precisions: list[str],
    image_sets: list[ImageSet],
    settings,
    options: Options,
    log: Callable[[str], None] = lambda _m: None,
) -> list[GateRow]:
    rows: list[GateRow] = []
    for entry in entries:
        rows += gate_model(entry, precisions, image_sets, settings, options, log)
    return rows


def exit_code(rows: list[GateRow], allow_missing: bool = False) -> int:
    """2 when the gate could not check something (errors), else 1 on any regression, else 3 when a
    requested row was skipped (incomplete; 0 with `allow_missing`), else 0."""
    statuses = {row.status for row in rows}
    if ERROR in statuses:
        return EXIT_ERROR
    if FAILED in statuses:
        return EXIT_FAILED
    return EXIT_INCOMPLETE if SKIPPED in statuses and not allow_missing else 0


VERDICTS = {
    0: "PASSED",
    EXIT_FAILED: "FAILED (accuracy regression)",
    EXIT_ERROR: "ERROR",
    EXIT_INCOMPLETE: "INCOMPLETE (requested rows were skipped; --allow-missing accepts that)",
}


def summary_line(rows: list[GateRow], allow_missing: bool = False) -> str:
    counts = {s: sum(r.status == s for r in rows) for s in (PASSED, FAILED, SKIPPED, NO_REF, ERROR)}
    verdict = VERDICTS[exit_code(rows, allow_missing)]
    return f"gate {verdict}: " + ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
