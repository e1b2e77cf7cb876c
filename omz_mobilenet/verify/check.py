"""IR vs original framework on real images: top-1 agreement and the largest output difference.

Both sides see the same decoded, cropped and resized pixels; the IR gets them as BGR u8 (its
preprocessing is baked in), the original gets them normalised by images.original_input. A wrong
channel order or mean in the IR shows up here as disagreement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from omz_mobilenet.catalogue.schema import ModelEntry
from omz_mobilenet.convert.pipeline import ensure_ir
from omz_mobilenet.fetch.download import fetch_model
from omz_mobilenet.inputs.images import ir_input, list_images, load_for_model, original_input
from omz_mobilenet.settings import Settings

# Float sources must match the FP32 IR exactly up to float rounding; quantized sources may round differently.
FLOAT_MIN_AGREEMENT = 1.0
FLOAT_MAX_DIFF = 1e-4
QUANTIZED_MIN_AGREEMENT = 0.97


@dataclass(frozen=True)
class VerifyResult:
    model: str
    precision: str
    device: str
    infer_precision: str
    images: int
    top1_agreement: float
    max_abs_diff: float
    mean_abs_diff: float
    original_runtime: str
    openvino: str
    min_agreement: float
    max_diff_allowed: float | None
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)


def thresholds(entry: ModelEntry, precision: str) -> tuple[float, float | None]:
    if entry.verify_tolerance is not None:
        return entry.verify_tolerance.min_agreement, None
    if entry.source_precision == "FP32" and precision == "FP32":
        return FLOAT_MIN_AGREEMENT, FLOAT_MAX_DIFF
    return QUANTIZED_MIN_AGREEMENT, None


def _outputs(images: list[np.ndarray], run_ir: Callable, run_original: Callable, entry: ModelEntry):
    ir_out, ref_out = [], []
    for image in images:
        ir_out.append(run_ir(ir_input([image]))[0])
        ref_out.append(run_original(original_input([image], entry))[0])
    return np.stack(ir_out).astype(np.float32), np.stack(ref_out).astype(np.float32)


def verify_model(
    entry: ModelEntry, settings: Settings, dataset: Path, limit: int | None, precision: str = "FP32",
    log: Callable[[str], None] = lambda _m: None,
) -> VerifyResult:
    import openvino as ov

    from omz_mobilenet.runtime import compile_ir, new_core
    from omz_mobilenet.converters import open_reference

    files = list_images(dataset, limit)
    fetched = fetch_model(entry, settings, log)
    xml = ensure_ir(entry, precision, settings, log)
    compiled = compile_ir(new_core(), xml, "CPU", "f32")
    original = open_reference(entry, fetched.model_path)
    images = [load_for_model(path, entry) for path in files]
    ir_out, ref_out = _outputs(images, lambda batch: compiled(batch)[0], original.run, entry)
    diff = np.abs(ir_out - ref_out)
    agreement = float(np.mean(ir_out.argmax(1) == ref_out.argmax(1)))
    min_agreement, max_diff = thresholds(entry, precision)
    passed = agreement >= min_agreement and (max_diff is None or float(diff.max()) <= max_diff)
    return VerifyResult(
        model=entry.name, precision=precision, device="CPU", infer_precision="f32", images=len(files),
        top1_agreement=agreement, max_abs_diff=float(diff.max()), mean_abs_diff=float(diff.mean()),
        original_runtime=f"{original.name} {original.version}", openvino=ov.get_version(),
        min_agreement=min_agreement, max_diff_allowed=max_diff, passed=passed,
    )
