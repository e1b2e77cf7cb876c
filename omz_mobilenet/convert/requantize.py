"""INT8-RQ: requantize an already-quantized source (uint8/int8 TFLite, QDQ ONNX) into the int8 form
OpenVINO's CPU plugin runs fastest, and judge it against the original in its own runtime.

Why: the TF uint8 models carry asymmetric per-tensor u8 weights, which the CPU plugin dequantizes to
f32 (FACTS 9: `f32:50 u8:3` kernels, slower than LiteRT). So the converted graph (preprocessing
baked in) is turned back into a float graph, and NNCF quantizes that with symmetric per-channel int8
weights, calibrated on images like any float source (convert/quantize.py):
- weight dequantization (int Constant -> Convert -> Subtract -> Multiply) is constant-folded into
  float weights: exactly the values the original computes with;
- every FakeQuantize becomes what it does to a float tensor minus the rounding: a clamp to its input
  range (in TFLite the fused ReLU6 exists only as that range), then the linear map to its output
  range when that differs (the input FakeQuantize maps 0..255 pixels to -1..1).
Judging the result against the original in its own runtime is accuracy's work
(accuracy/requant_check.py, and `gate --precision INT8-RQ`): convert never imports accuracy.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from omz_mobilenet.convert.calibration import CalibrationRecord, select_calibration
from omz_mobilenet.convert.ir_store import RT_KEY
from omz_mobilenet.convert.job import ConversionJob
from omz_mobilenet.convert.keep_ranges import keep_ranges_candidate, wanted
from omz_mobilenet.convert.requant_margin import (
    DEFAULT_MAX_DROP,
    MarginInputs,
    MarginRecord,
    attach_margin,
    load_validation,
    margin_or_error,
    quantize_with_margin,
)
from omz_mobilenet.errors import ToolError
from omz_mobilenet.precision import REQUANTIZED

if TYPE_CHECKING:
    from openvino import Model, Node, Output

# rt_info markers the frontends put on dequantization subgraphs so that they are NOT folded
# (OpenVINO keeps them for its own low-precision transformations); we want them folded.
_KEEP_MARKERS = (
    "disable_const_folding",
    "dequantization",
    "keep_const_precision",
    "DisableConstantFolding",
    "KeepConstPrecision",
    "decompression",
    "Dequantization",
)


def _constant_data(output: Output) -> Optional[np.ndarray]:
    node = output.get_node()
    return node.get_data() if node.get_type_name() == "Constant" else None


def _float_fake_quantize(fq: Node) -> Node:
    """What a FakeQuantize does to float values, without the rounding: clamp, then rescale if needed."""
    import openvino.opset13 as ops

    limits = [_constant_data(fq.input_value(i)) for i in range(1, 5)]
    if any(v is None for v in limits):
        raise ToolError(
            f"FakeQuantize {fq.get_friendly_name()} has non-constant ranges; cannot requantize this graph", 2
        )
    in_low, in_high, out_low, out_high = (np.asarray(v, dtype=np.float32) for v in limits)
    if in_low.size == 1 and in_high.size == 1:
        value = ops.clamp(fq.input_value(0), float(in_low.ravel()[0]), float(in_high.ravel()[0]))
    else:  # per-channel ranges: Clamp takes scalars only
        value = ops.minimum(ops.maximum(fq.input_value(0), ops.constant(in_low)), ops.constant(in_high))
    if np.allclose(in_low, out_low) and np.allclose(in_high, out_high):
        return value
    scale = ((out_high - out_low) / np.where(in_high > in_low, in_high - in_low, 1.0)).astype(np.float32)
    shifted = ops.subtract(value, ops.constant(in_low))
    return ops.add(ops.multiply(shifted, ops.constant(scale)), ops.constant(out_low))


def strip_quantization(model: Model) -> Model:
    """The float graph of a quantized model (in place): FakeQuantize -> clamp/rescale, int weights
    folded into f32 constants. Raises when integer weights remain (a form this does not know)."""
    from openvino import passes

    for op in model.get_ops():
        if op.get_type_name() == "FakeQuantize":
            op.output(0).replace(_float_fake_quantize(op).output(0))
    for op in model.get_ops():
        info = op.get_rt_info()
        for key in [k for k in list(info) if any(marker in k for marker in _KEEP_MARKERS)]:
            del info[key]
    manager = passes.Manager()
    manager.register_pass(passes.ConstantFolding())
    manager.run_passes(model)
    model.validate_nodes_and_infer_types()
    _check_float(model)
    return model


def _check_float(model: Model) -> None:
    left = [op.get_friendly_name() for op in model.get_ops() if op.get_type_name() == "FakeQuantize"]
    for op in model.get_ops():
        if op.get_type_name() in ("Convolution", "GroupConvolution", "MatMul"):
            weights = op.input_value(1).get_node()
            if weights.get_type_name() != "Constant" or weights.get_output_element_type(0).get_type_name() != "f32":
                left.append(op.get_friendly_name())
    if left:
        raise ToolError(
            f"could not turn the quantized graph back into float (still quantized: {', '.join(left[:3])}); "
            f"{REQUANTIZED} does not support this model",
            2,
        )


def requantize_to_ir(job: ConversionJob) -> Path:
    """`<out>/<model>/INT8-RQ/`: the source's float graph quantized by NNCF within the margin of the original
    (convert/requant_margin.py), with its calibration record, validation images and what stayed float."""
    from omz_mobilenet.convert.quantize import check_quantizable

    entry = job.entry
    if entry.source_precision != "INT8":
        raise ToolError(
            f"{entry.name} is a float model: {REQUANTIZED} is for already-quantized sources; use --precision INT8", 2
        )
    check_quantizable(entry, job.options, REQUANTIZED)  # calibration folder given: before the graph work
    options = job.options
    assert options.calibration is not None
    files, record = select_calibration(options.calibration, options.subset_size, job.log)
    items = margin_or_error(job, record)  # labelled held-out images, or exit 2, before the graph work
    if wanted(job):
        max_drop = DEFAULT_MAX_DROP if options.max_drop is None else options.max_drop
        kept = keep_ranges_candidate(job, record, items, max_drop)
        if kept is not None:
            return _write_rq(job, *kept)
    job.log(f"{entry.name}: folding the source's quantization into a float graph before NNCF")
    float_model = strip_quantization(job.model.clone())
    float_model.set_rt_info(entry.source_precision, [RT_KEY, "requantized_from"])
    return _write_margin_ir(job, float_model, files, (record, items))


def _write_margin_ir(
    job: ConversionJob,
    float_model: Model,
    files: list[Path],
    chosen: tuple[CalibrationRecord, Optional[list[tuple[Path, int]]]],
) -> Path:
    from dataclasses import replace

    from omz_mobilenet.convert.ignored_scope import resolve_scope
    from omz_mobilenet.convert.quantize import quantize_model

    record, items = chosen
    entry = job.entry
    job = replace(job, options=resolve_scope(float_model, job.options, entry.name, job.log))
    max_drop = DEFAULT_MAX_DROP if job.options.max_drop is None else job.options.max_drop
    job.log(f"calibrating {entry.name} on {record.used} images of {record.folder}")
    if items is None:  # the documented fallback: no labelled held-out images, margin on by default
        quantized = quantize_model(entry, float_model, files, job.options)
        margin = MarginRecord(
            False, max_drop, "unchecked", note="no labelled held-out images in the calibration folder"
        )
    else:
        validation = load_validation(job, items)
        quantized, _all_int8, margin = quantize_with_margin(job, MarginInputs(float_model, files, validation, max_drop))
        record = validation.recorded(record, job.options.calibration or Path())
    return _write_rq(job, quantized, record, margin)


def _write_rq(job: ConversionJob, quantized: Model, record: CalibrationRecord, margin: MarginRecord) -> Path:
    """The INT8-RQ folder: the IR with its calibration record, the margin's findings and validation images."""
    from dataclasses import replace

    from omz_mobilenet.convert.ir_store import write_ir
    from omz_mobilenet.convert.quantize import _attach, _write_sidecar
    from omz_mobilenet.precision import compress_to_fp16

    entry = job.entry
    record = dc_replace(record, requant_margin=margin.as_dict())
    job.label_ir(quantized, REQUANTIZED)
    _attach(quantized, record, replace(job.options, max_drop=None), None)
    attach_margin(quantized, margin)
    if record.validation_sha256:
        quantized.set_rt_info("\n".join(record.validation_sha256), [RT_KEY, "validation_sha256"])
        quantized.set_rt_info("\n".join(record.validation_names), [RT_KEY, "validation_names"])
    xml = write_ir(quantized, job.settings.out_dir, entry.name, REQUANTIZED, compress_to_fp16(REQUANTIZED))
    _write_sidecar(xml, record)
    return xml
