"""The judgement of accuracy against references: one home for every gate verdict.

A measured Evaluation is judged against the best reference there is:
- `judge_against_reference`: the per-image-set reference in `<model>.subsets.yml` (the original file
  in its own framework on exactly these images; a paired comparison: the IR may lose at most
  `tolerance_images` images), otherwise the published full-validation figure in `<model>.yml` minus
  its abs_threshold, tested against the upper end of the 95 % Wilson interval of the measured rate
  (a small unknown image set cannot prove a regression of a few points).
- `judge_against_fp32`: an INT8 IR of a float model (NNCF) against the FP32 IR of the same model on
  the same images: Top-1 and Top-5 may lose at most INT8_MAX_DROP points plus one image.
- `judge_against_original`: a requantized INT8 source (INT8-RQ) against the ORIGINAL file in its own
  runtime on the same images, by the same paired rule (`accepts_paired`).
- `judge_against_baseline`: any row against the user's own baseline (accuracy/baseline.py), image by
  image: Top-1 may not drop by more than the tolerance (`BaselineRule`), and the flipped images are named.
Before any of these, the evidence rule (accuracy/evidence.py): a row with fewer evaluated images than
--min-images asks is INCOMPLETE, whatever its numbers. The statistics live in accuracy/metrics.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Optional

from omz_mobilenet.accuracy.ac_reader import config_for
from omz_mobilenet.accuracy.ac_references import SubsetRef, load_subsets
from omz_mobilenet.accuracy.baseline import BaselineRow, labels_per_image, top1_per_image
from omz_mobilenet.accuracy.evidence import INCOMPLETE as _INCOMPLETE
from omz_mobilenet.accuracy.metrics import wilson_interval
from omz_mobilenet.accuracy.records import Evaluation, biased_note
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.precision import is_int8, requantizes

PASSED, FAILED, SKIPPED, ERROR, NO_REF = "PASSED", "FAILED", "SKIPPED", "ERROR", "NO REF"
RECORDED = "RECORDED"  # `gate --update-baseline`: measured with evidence and written to the baseline
INCOMPLETE = _INCOMPLETE.upper()  # the gate's verdict words are upper case
INT8_MAX_DROP = 1.0  # points, the INT8 target
METRICS = ("top1", "top5")


@dataclass
class Check:
    """One metric against its reference: hits needed, or a published rate to reach."""

    measured: float  # percent
    minimum: Optional[float]  # percent; None when there is no reference
    reference: Optional[float]  # percent
    passed: Optional[bool]


@dataclass
class Flips:
    """Images whose Top-1 verdict changed against the baseline (names inside the image set's folder)."""

    right_to_wrong: list[str] = field(default_factory=list)
    wrong_to_right: list[str] = field(default_factory=list)
    changed: int = 0  # images whose Top-1 class changed at all (a wrong answer for another wrong one too)
    unpaired: int = 0  # images evaluated on one side only (--skip-bad-images skipped them on the other)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class GateRow:
    """One gate verdict with what it rests on: the checks (measured, minimum, reference), which
    reference, evaluated and skipped images, why it is not a pass, ties among top scores and the crop rule."""

    model: str
    precision: str
    device: str
    image_set: str
    status: str
    images: int = 0  # evaluated
    checks: dict[str, Check] = field(default_factory=dict)
    reference: str = ""
    note: str = ""
    tied_top1: Optional[int] = None
    crop_rule: Optional[str] = None
    skipped: int = 0  # unreadable or unlabelled images of the set, never evaluated
    reason: str = ""  # why the status is not PASSED (failed checks, too few images, the error)
    flips: Optional[Flips] = None  # against a baseline: the images whose Top-1 verdict changed

    def as_dict(self) -> dict:
        row: dict[str, object] = {
            "model": self.model,
            "precision": self.precision,
            "device": self.device,
            "image_set": self.image_set,
            "status": self.status,
            "images": self.images,
            "skipped": self.skipped,
        }
        for metric in METRICS:
            check = self.checks.get(metric)
            row[metric] = check.measured if check else None
            row[f"{metric}_ref"] = check.reference if check else None
            row[f"{metric}_min"] = check.minimum if check else None
        row.update(
            reason=self.reason or None,
            reference=self.reference or None,
            note=self.note or None,
            tied_top1=self.tied_top1,
            crop_rule=self.crop_rule,
        )
        if self.flips is not None:
            row["flips"] = self.flips.as_dict()
        return row


def _pct(hits: float, total: int) -> float:
    return round(100.0 * hits / total, 2) if total else 0.0


def int8_tolerance(total: int) -> int:
    """Images an INT8 result may lose against its paired base: INT8_MAX_DROP points plus one image."""
    return math.ceil(total * INT8_MAX_DROP / 100) + 1


def accepts_paired(hits: int, base_hits: int, total: int) -> bool:
    """The paired INT8 rule on one metric: at most int8_tolerance(total) images lost against the base."""
    return hits >= base_hits - int8_tolerance(total)


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


def paired_check(hits: int, base_hits: int, total: int) -> Check:
    needed = base_hits - int8_tolerance(total)
    return Check(_pct(hits, total), _pct(needed, total), _pct(base_hits, total), accepts_paired(hits, base_hits, total))


def _new_row(entry: ModelEntry, evaluation: Evaluation, summary: dict) -> GateRow:
    return GateRow(
        entry.name,
        evaluation.precision,
        evaluation.device,
        evaluation.image_set.name,
        NO_REF,
        images=summary["images"],
        tied_top1=summary.get("tied_top1"),
        crop_rule=evaluation.crop_rule,
        skipped=evaluation.skipped,
    )


def _conclude(row: GateRow, evaluation: Evaluation, notes: list[str]) -> GateRow:
    """The status from the checks, unless the evidence is too thin: then INCOMPLETE, never a pass."""
    verdicts = [c.passed for c in row.checks.values() if c.passed is not None]
    row.status = (PASSED if all(verdicts) else FAILED) if verdicts else NO_REF
    if row.status == FAILED:
        row.reason = "; ".join(
            f"{m} {c.measured:g} < min {c.minimum:g}" for m, c in row.checks.items() if c.passed is False
        )
    if row.status == NO_REF:
        row.reason = "no reference: no published figure for this file and no per-set reference for these images"
    shortfall = evaluation.shortfall()
    if shortfall is not None:
        row.status, row.reason = INCOMPLETE, shortfall
    if evaluation.skipped:
        notes.append(f"{evaluation.skipped} bad images skipped")
    if evaluation.calibration_overlap:
        notes.append(f"--allow-overlap: {evaluation.calibration_overlap} images calibrated this IR")
    row.note = "; ".join(n for n in notes if n)
    return row


def judge_against_reference(entry: ModelEntry, evaluation: Evaluation) -> GateRow:
    """One evaluation against the best reference there is for its image set (module docstring)."""
    image_set, summary = evaluation.image_set, evaluation.ir.summary()
    hits, total = {m: summary[f"{m}_hits"] for m in METRICS}, summary["images"]
    row, notes = _new_row(entry, evaluation, summary), []
    ref = load_subsets(entry.name).get(image_set.name)
    # The per-set references were measured on the tf crop's pixels; another crop rule sees other pixels.
    same_pixels = evaluation.crop_rule == "tf"
    if ref is not None and same_pixels and ref.image_list_sha256 == image_set.list_sha256 and ref.images == total:
        row.checks = {m: subset_check(hits[m], total, ref, m) for m in METRICS}
        row.reference = f"subset: {ref.measured.get('framework', '?')} {ref.measured.get('version', '')}".strip()
    else:
        if ref is not None:
            why = "another image list (sha256/count differ)" if same_pixels else "the tf crop rule's pixels"
            notes.append(f"subset reference is for {why}")
        metrics = config_for(entry).metrics
        row.checks = {
            f"top{k}": published_check(hits[f"top{k}"], total, m.reference, m.abs_threshold) for k, m in metrics.items()
        }
        row.reference = "published full val (Wilson upper bound vs reference - abs_threshold)"
    if biased_note(image_set.name):
        notes.append("biased set: regression check only")
    return _conclude(row, evaluation, notes)


def _judge_paired(entry: ModelEntry, evaluation: Evaluation, base: dict, reference: str) -> GateRow:
    summary = evaluation.ir.summary()
    row = _new_row(entry, evaluation, summary)
    row.checks = {m: paired_check(summary[f"{m}_hits"], base[f"{m}_hits"], summary["images"]) for m in METRICS}
    row.reference = reference
    return _conclude(row, evaluation, [])


def judge_against_fp32(entry: ModelEntry, int8: Evaluation, fp32: Evaluation) -> GateRow:
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


def judge_evaluations(entry: ModelEntry, evaluations: list[Evaluation], reference_only: set[str]) -> list[GateRow]:
    """Every evaluation of one model judged by its own rule; `reference_only` precisions are bases only."""
    fp32 = {e.image_set.name: e for e in evaluations if e.precision == "FP32"}
    rows = []
    for evaluation in evaluations:
        if evaluation.precision in reference_only:
            continue
        if requantizes(entry, evaluation.precision):
            rows.append(judge_against_original(entry, evaluation))
        elif is_int8(evaluation.precision) and entry.source_precision == "FP32":
            rows.append(judge_against_fp32(entry, evaluation, fp32[evaluation.image_set.name]))
        else:
            rows.append(judge_against_reference(entry, evaluation))
    return rows


@dataclass(frozen=True)
class BaselineRule:
    """How much Top-1 a row may lose against its baseline row.

    `points` (--tolerance) given: a drop of more than that many points fails. Otherwise the drop
    fails when it is larger than `max_points` OR the paired test calls it significant: `worse_p(b, c)`
    (b images went right -> wrong, c wrong -> right) below `alpha`. The command passes verify's exact
    one-sided McNemar test and its alpha (verify/criteria.py), which accuracy may not import itself.
    """

    source: str = "baseline"  # what the reference column says
    points: Optional[float] = None
    max_points: float = 1.0
    alpha: float = 0.01
    worse_p: Optional[Callable[[int, int], float]] = None


def baseline_loss_fails(flips: Flips, total: int, rule: BaselineRule) -> Optional[str]:
    """None when the Top-1 loss is within the rule, else why not (for the row's reason)."""
    b, c = len(flips.right_to_wrong), len(flips.wrong_to_right)
    loss = b - c
    if loss <= 0 or total <= 0:
        return None
    points = 100.0 * loss / total
    if rule.points is not None:
        return f"more than --tolerance {rule.points:g} points" if points > rule.points + 1e-9 else None
    if points > rule.max_points + 1e-9:
        return f"more than {rule.max_points:g} point"
    p_value = rule.worse_p(b, c) if rule.worse_p is not None else 1.0
    return f"significant: paired test p={p_value:.2g} < {rule.alpha:g}" if p_value < rule.alpha else None


def compare_images(base: BaselineRow, now: dict[str, int], labels: dict[str, int]) -> Flips:
    """Image by image: which went right -> wrong and wrong -> right (sorted names), how many changed class."""
    flips = Flips()
    for image in sorted(now):
        before = base.top1_per_image.get(image)
        if before is None:
            flips.unpaired += 1
            continue
        flips.changed += before != now[image]
        was_right, is_right = before == labels[image], now[image] == labels[image]
        if was_right and not is_right:
            flips.right_to_wrong.append(image)
        elif is_right and not was_right:
            flips.wrong_to_right.append(image)
    flips.unpaired += len(set(base.top1_per_image) - set(now))
    return flips


def judge_against_baseline(
    entry: ModelEntry, evaluation: Evaluation, base: Optional[BaselineRow], rule: BaselineRule
) -> GateRow:
    """One evaluation against its baseline row (NO REF when the baseline has none: record it)."""
    summary = evaluation.ir.summary()
    row, total = _new_row(entry, evaluation, summary), summary["images"]
    if base is None:
        row = _conclude(row, evaluation, [])
        if row.status == NO_REF:
            row.reason = f"not in the {rule.source}; --update-baseline records it"
        return row
    row.flips = flips = compare_images(base, top1_per_image(evaluation), labels_per_image(evaluation))
    why = baseline_loss_fails(flips, total, rule)
    allowed = rule.points if rule.points is not None else rule.max_points
    row.checks = {
        "top1": Check(_pct(summary["top1_hits"], total), round(base.top1 - allowed, 2), base.top1, why is None),
        "top5": Check(_pct(summary["top5_hits"], total), None, base.top5, None),
    }
    row.reference = rule.source
    notes = [_flip_note(flips)]
    row = _conclude(row, evaluation, notes)
    if row.status == FAILED:
        row.reason = (
            f"Top-1 {base.top1:g} -> {row.checks['top1'].measured:g} "
            f"({len(flips.right_to_wrong)} right->wrong, {len(flips.wrong_to_right)} wrong->right; {why})"
        )
    return row


def _flip_note(flips: Flips) -> str:
    if not flips.changed and not flips.unpaired:
        return "same Top-1 as the baseline on every image"
    unpaired = f"; {flips.unpaired} images on one side only" if flips.unpaired else ""
    return (
        f"{flips.changed} images changed Top-1 ({len(flips.right_to_wrong)} right->wrong, "
        f"{len(flips.wrong_to_right)} wrong->right){unpaired}"
    )


def record_row(entry: ModelEntry, evaluation: Evaluation, source: str) -> GateRow:
    """`--update-baseline`: RECORDED when the evaluation has evidence enough, else INCOMPLETE (not written)."""
    summary = evaluation.ir.summary()
    row = _new_row(entry, evaluation, summary)
    row.checks = {m: Check(_pct(summary[f"{m}_hits"], summary["images"]), None, None, None) for m in METRICS}
    row = _conclude(row, evaluation, [])
    row.reference = source
    if row.status == NO_REF:
        row.status, row.reason = RECORDED, ""
    return row
