"""IR vs original framework on real images: is the conversion faithful?

Both sides see the same decoded, cropped and resized pixels; the IR gets them as BGR u8 (its
preprocessing is baked in), the original gets them normalised by images.original_input. A wrong
channel order or mean in the IR shows up here as disagreement and lost accuracy.

Two criteria, chosen by what the source is:

exact (float source, FP32 IR, f32 inference): the IR computes the same function up to float
  rounding, so every image must get the same top-1 class (agreement 100 %) and the largest output
  difference must stay <= 1e-4. No statistics: any miss is a bug.

paired (quantized source, or any FP16 IR): int8 kernels and fp16 weights round differently in each
  runtime, so some borderline images legitimately change class, in both directions. A bare
  agreement percentage on 100 images cannot tell that noise from a real loss (one image is one
  point), so the IR is judged on LABELLED images against the original, image by image:
    a = both right, b = original right / IR wrong, c = original wrong / IR right, d = both wrong.
  It fails when either holds:
  1. a significant AND material loss: the exact one-sided McNemar test (under equal accuracy each
     discordant image favours either side with probability 1/2, so b ~ Binomial(b + c, 1/2)) gives
     p = P(B >= b) < ALPHA = 0.01, AND the IR's Top-1 is lower by more than MAX_LOSS_POINTS = 1
     point plus one borderline image: b - c > ceil(1 % of the labelled images) + 1 (accuracy.gate's
     INT8 rule). Both are needed. The margin alone is a bare threshold on a noisy count: on 100
     images b - c has a spread of about sqrt(b + c), up to 4 images for these models, so a faithful
     IR would cross "2 images" by chance (the Arm INT8 model measures b = 4, c = 1, p = 0.19 on
     val_100: a loss that 100 images cannot tell from rounding). The test alone would, on large
     sets, fail a real but immaterial offset (0.5 points on 50,000 images is significant).
  2. below the agreement floor: agreement < DEFAULT_MIN_AGREEMENT = 0.80 (models.yml
     verify_tolerance.min_agreement overrides it). A gross error (channel swap, wrong mean)
     disagrees on far more images than rounding does, and the floor needs no labels. It is a
     point threshold on purpose: on a few unlabelled images it must still fail a channel swap.
  Without labels (no val.txt / FILES.tsv for the folder) only the floor can run; the record then
  says `complete: false` and names the checks that did not run: a check that did not run is never
  reported as passed.

Every record carries the 95 % Wilson interval of the agreement and the 95 % Newcombe interval of
the Top-1 difference (IR - original), so a reader sees how much 100 images can prove, and
`margin_images`: how many more images would have to turn wrong in the IR before some check fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.pipeline import ensure_ir
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.download import fetch_model
from omz_mobilenet.inputs.dataset import find_annotations, load_annotations, to_model_label
from omz_mobilenet.inputs.images import ir_input, list_images, load_for_model, original_input
from omz_mobilenet.precision import DEFAULT_INFER_PRECISION
from omz_mobilenet.settings import Settings
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
class VerifyRecord:
    """One IR judged against its original, with the facts behind every number."""

    model: str
    precision: str
    device: str
    infer_precision: str
    dataset: str
    images: int
    labelled: int
    annotations: Optional[str]
    criterion: str  # exact | paired
    # top-1 agreement over all images, with its 95 % Wilson interval and the floor it must reach
    top1_agreement: float
    agreement_images: int
    agreement_ci95: list[float]
    min_agreement: float
    max_abs_diff: float
    mean_abs_diff: float
    max_diff_allowed: Optional[float]
    # accuracy on the labelled images (percent); difference IR - original in points, Newcombe 95 %
    top1_ir: Optional[float]
    top1_original: Optional[float]
    top1_diff: Optional[float]
    top1_diff_ci95: Optional[list[float]]
    # McNemar: b = original right / IR wrong, c = the reverse; one-sided p that the IR is worse
    mcnemar_b: Optional[int]
    mcnemar_c: Optional[int]
    mcnemar_p: Optional[float]
    alpha: float
    max_top1_loss_images: Optional[int]
    margin_images: Optional[int]  # images that must still turn wrong before a check fails (paired only)
    checks: dict[str, str]
    complete: bool
    original_runtime: str
    openvino: str
    passed: bool
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


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


def find_labels(dataset: Path, files: list[Path]) -> tuple[Optional[Path], list[Optional[int]]]:
    """0-based ImageNet labels for the images, None where unknown; (None, all None) without a label file.

    A missing label file is allowed (verify then runs the agreement floor only); a broken one is an error.
    """
    try:
        path = find_annotations(dataset)
    except ToolError:
        return None, [None] * len(files)
    labels = load_annotations(path, image_folder=dataset).labels
    return path, [labels.get(file.name) for file in files]


def _outputs(images: list[np.ndarray], run_ir: Callable, run_original: Callable, entry: ModelEntry):
    ir_out, ref_out = [], []
    for image in images:
        ir_out.append(run_ir(ir_input([image]))[0])
        ref_out.append(run_original(original_input([image], entry))[0])
    return np.stack(ir_out).astype(np.float32), np.stack(ref_out).astype(np.float32)


def verify_model(
    entry: ModelEntry,
    settings: Settings,
    dataset: Path,
    limit: int | None,
    precision: str = "FP32",
    log: Callable[[str], None] = lambda _m: None,
    device: str = "CPU",
) -> VerifyRecord:
    import openvino as ov

    from omz_mobilenet.converters import open_reference
    from omz_mobilenet.runtime import compile_ir, new_core

    files = list_images(dataset, limit)
    annotations, raw_labels = find_labels(Path(dataset), files)
    fetched = fetch_model(entry, settings, log)
    xml = ensure_ir(entry, precision, settings, log)
    compiled = compile_ir(new_core(), xml, device, DEFAULT_INFER_PRECISION, label=entry.name)
    original = open_reference(entry, fetched.model_path)
    images = [load_for_model(path, entry) for path in files]
    ir_out, ref_out = _outputs(images, lambda batch: compiled(batch)[0], original.run, entry)
    classes = ir_out.shape[1]
    labels = [None if label is None else to_model_label(label, classes) for label in raw_labels]
    record = judge(entry, precision, Outputs(ir_out, ref_out, labels))
    note = _note(record, dataset, annotations, len(files))
    if note:
        log(f"[yellow]{entry.name}: {note}[/yellow]")
    return VerifyRecord(
        **{
            **record,
            "device": device,
            "dataset": str(dataset),
            "annotations": str(annotations) if annotations else None,
            "original_runtime": f"{original.name} {original.version}",
            "openvino": ov.get_version(),
            "note": note,
        }
    )


def _note(record: dict, dataset: Path, annotations: Optional[Path], images: int) -> str:
    if record["labelled"] == 0 and record["criterion"] == PAIRED:
        return (
            f"no labels for {dataset} (val.txt / FILES.tsv): only the agreement floor was checked, "
            "the paired accuracy test did not run"
        )
    if annotations is not None and record["labelled"] < images:
        return f"{images - record['labelled']} of {images} images have no label in {annotations}; the paired test used the rest"
    return ""


def judge(entry: ModelEntry, precision: str, outputs: Outputs) -> dict:
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
