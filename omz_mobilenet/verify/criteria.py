"""The verify criteria on two sides' outputs: exact for float sources at FP32, paired otherwise.

Pure (no I/O): every number of a VerifyRecord that follows from the IR's and the original's outputs
and the labels, so it can be tested on arrays. The reasoning behind the thresholds is in verify/check.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.precision import DEFAULT_INFER_PRECISION
from omz_mobilenet.stats import wilson_interval
from omz_mobilenet.verify import stats

# exact: float sources must match the FP32 IR up to float rounding.
FLOAT_MIN_AGREEMENT = 1.0
FLOAT_MAX_DIFF = 1e-4
# paired: see the module docstring.
ALPHA = 0.01
MAX_LOSS_POINTS = 1.0
DEFAULT_MIN_AGREEMENT = 0.80

EXACT, PAIRED = "exact", "paired"
PASS, FAIL = "pass", "fail"


@dataclass(frozen=True)
class Outputs:
    """What both sides said about each image (top-1 class, scores) and its label if known."""

    ir: np.ndarray
    original: np.ndarray
    labels: list[Optional[int]]  # in the model's output space


def criterion_for(entry: ModelEntry, precision: str) -> str:
    return EXACT if entry.source_precision == "FP32" and precision == "FP32" else PAIRED


def min_agreement_for(entry: ModelEntry, criterion: str) -> float:
    if criterion == EXACT:
        return FLOAT_MIN_AGREEMENT
    return entry.verify_tolerance.min_agreement if entry.verify_tolerance is not None else DEFAULT_MIN_AGREEMENT


def max_loss_images(labelled: int) -> int:
    """1 point of the labelled images (rounded up) plus one borderline image, as accuracy.gate's INT8 rule."""
    return stats.min_count(MAX_LOSS_POINTS / 100, labelled) + 1


def judge_outputs(entry: ModelEntry, precision: str, outputs: Outputs) -> dict:
    """Every VerifyRecord field that follows from the two sides' outputs (no I/O: testable on arrays)."""
    criterion = criterion_for(entry, precision)
    ir_top1, ref_top1 = outputs.ir.argmax(1), outputs.original.argmax(1)  # ties: lowest index, as accuracy's top_k
    agree = int(np.sum(ir_top1 == ref_top1))
    total = len(ir_top1)
    diff = np.abs(outputs.ir - outputs.original)
    floor = min_agreement_for(entry, criterion)
    low, high = wilson_interval(agree, total)
    fields: dict = {
        "model": entry.name,
        "precision": precision,
        "infer_precision": DEFAULT_INFER_PRECISION,
        "images": total,
        "criterion": criterion,
        "top1_agreement": agree / total,
        "agreement_images": agree,
        "agreement_ci95": [round(low, 4), round(high, 4)],
        "min_agreement": floor,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "max_diff_allowed": FLOAT_MAX_DIFF if criterion == EXACT else None,
        "alpha": ALPHA,
    }
    counts = _paired(outputs.labels, ir_top1, ref_top1)
    fields.update(_accuracy_fields(counts))
    checks, margin = _checks(criterion, fields, counts)
    complete = not any(v.startswith("not run") for v in checks.values())
    passed = all(v != FAIL for v in checks.values())
    return {**fields, "checks": checks, "margin_images": margin, "complete": complete, "passed": passed}


def _paired(labels: list[Optional[int]], ir_top1: np.ndarray, ref_top1: np.ndarray) -> Optional[stats.PairedCounts]:
    known = [
        (int(i), int(r), label) for i, r, label in zip(ir_top1, ref_top1, labels, strict=True) if label is not None
    ]
    if not known:
        return None
    return stats.paired_counts([r == label for _i, r, label in known], [i == label for i, _r, label in known])


def _accuracy_fields(counts: Optional[stats.PairedCounts]) -> dict:
    if counts is None:
        return {
            "labelled": 0,
            "top1_ir": None,
            "top1_original": None,
            "top1_diff": None,
            "top1_diff_ci95": None,
            "mcnemar_b": None,
            "mcnemar_c": None,
            "mcnemar_p": None,
            "max_top1_loss_images": None,
        }
    n = counts.total
    low, high = stats.newcombe_paired_interval(counts)
    return {
        "labelled": n,
        "top1_ir": round(100.0 * counts.ir_hits / n, 2),
        "top1_original": round(100.0 * counts.original_hits / n, 2),
        "top1_diff": round(100.0 * (counts.ir_hits - counts.original_hits) / n, 2),
        "top1_diff_ci95": [round(100.0 * low, 2), round(100.0 * high, 2)],
        "mcnemar_b": counts.original_only,
        "mcnemar_c": counts.ir_only,
        "mcnemar_p": stats.mcnemar_worse_p(counts.original_only, counts.ir_only),
        "max_top1_loss_images": max_loss_images(n),
    }


def _verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def _checks(criterion: str, fields: dict, counts: Optional[stats.PairedCounts]) -> tuple[dict[str, str], Optional[int]]:
    """Check name -> pass / fail / "not run: why", and the smallest margin in images (paired only)."""
    agree, total, floor = fields["agreement_images"], fields["images"], fields["min_agreement"]
    if criterion == EXACT:
        return {
            "agreement_100pct": _verdict(agree == total),
            "max_abs_diff": _verdict(fields["max_abs_diff"] <= FLOAT_MAX_DIFF),
        }, None
    checks = {"agreement_floor": _verdict(agree >= stats.min_count(floor, total))}
    margins = [stats.floor_margin(agree, total, floor)]
    if counts is None:
        checks["paired_loss"] = "not run: no labels"
        return checks, min(margins)
    max_loss = fields["max_top1_loss_images"]
    checks["paired_loss"] = _verdict(not stats.fails_paired(counts.original_only, counts.ir_only, ALPHA, max_loss))
    margins.append(stats.paired_margin(counts, ALPHA, max_loss))
    return checks, min(margins)
