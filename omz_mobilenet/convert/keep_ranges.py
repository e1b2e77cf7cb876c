"""Requantization that keeps the original's own quantization ("keep ranges"): INT8-RQ's first candidate.

The as-is import of a TF uint8 model runs f32 kernels only because its weights are asymmetric uint8 per
tensor (a zero point), which OpenVINO's CPU plugin does not run as int8. Its activations are already
quantized the way the plugin runs them (FakeQuantize, u8 with a zero point). So instead of folding the
graph back to float and calibrating anew (requantize.py + NNCF), this keeps every activation FakeQuantize
of the original and re-expresses only the weights as symmetric int8 per output channel
(FakeQuantize, 255 levels, range [-m, m]):
- a channel whose integer weights (q - zero point) all lie in [-127, 127] keeps its exact values:
  m = 127 x its scale, so the int8 grid is the original grid;
- a channel with a value outside gets m = its largest |weight|: the only rounding this adds.
No calibration images are needed. Measured on the TF uint8 sources it kept Top-1 within 0.5 points of
LiteRT where NNCF's all-int8 requantization lost up to 1.6 (benchmarks/requant_keep_ranges.py).
`convert --precision INT8` of an INT8 source tries it first (`keep_ranges_candidate`): judged on the
calibration folder's labelled held-out images like the all-int8 requantization, with NNCF's margin flow
(requant_margin.py) as the fallback; `--requant-method nncf` or an ignored scope skips it.
Layers whose weights are not an integer constant with a Convert/Subtract/Multiply dequantization
(already FakeQuantize, float, other forms) are left as imported, and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    from omz_mobilenet.convert.calibration import CalibrationRecord
    from omz_mobilenet.convert.job import ConversionJob
    from omz_mobilenet.convert.requant_margin import MarginRecord

WEIGHTED = ("Convolution", "GroupConvolution")
INT8_MAX = 127
_SHAPING = ("Reshape", "Unsqueeze", "Squeeze")


@dataclass
class KeepRangesRecord:
    layers: int = 0  # weights re-expressed as symmetric int8
    exact_channels: int = 0  # channels whose int8 values are the original's
    rounded_channels: int = 0  # channels rescaled to their largest |weight| (rounded once)
    left: int = 0  # weighted layers left as imported (weights not in the integer dequantization form)


def _fold(node: Any, leaf: Callable[[Any], np.ndarray], subtract: Callable[[Any, Any], Any]) -> np.ndarray:
    """The value of a weight subgraph: Constant -> Convert -> Subtract -> Multiply, then shaping ops."""
    kind = node.get_type_name()
    if kind == "Constant":
        return leaf(node)
    if kind in (*_SHAPING, "Transpose"):  # the second input is a shape or an order, not weights
        data = _fold(node.input_value(0).get_node(), leaf, subtract)
        if kind == "Transpose":
            return np.transpose(data, node.input_value(1).get_node().get_data().astype(int))
        return data.reshape(tuple(node.get_output_shape(0)))
    args = [_fold(node.input_value(i).get_node(), leaf, subtract) for i in range(node.get_input_size())]
    if kind == "Convert":
        return args[0].astype(np.float64)
    if kind == "Subtract":
        return np.asarray(subtract(args[0], args[1]))
    if kind == "Multiply":
        return np.asarray(args[0] * args[1])
    raise ValueError(kind)


def _integer_dequantization(node: Any) -> bool:
    """Weights = Multiply(Subtract(Convert(int Constant), zero point), scale), possibly reshaped after."""
    while node.get_type_name() in (*_SHAPING, "Transpose"):
        node = node.input_value(0).get_node()
    kinds = []
    while node.get_input_size():
        kinds.append(node.get_type_name())
        node = node.input_value(0).get_node()
    integer = node.get_type_name() == "Constant" and node.get_output_element_type(0).is_integral()
    return integer and kinds[:1] == ["Multiply"] and "Convert" in kinds


def _weights_and_scales(node: Any) -> tuple[np.ndarray, np.ndarray]:
    """(float weights, the scale of each weight) in the layer's weight layout."""
    weights = _fold(node, lambda c: c.get_data().astype(np.float64), lambda a, b: a - b)

    def scale_leaf(constant: Any) -> np.ndarray:  # integer values -> 1: what remains is the scale
        data = constant.get_data()
        return np.ones_like(data, dtype=np.float64) if np.issubdtype(data.dtype, np.integer) else data

    scales = _fold(node, scale_leaf, lambda a, _zero_point: a)
    return weights, np.broadcast_to(scales, weights.shape)


def _symmetric(weights: np.ndarray, scales: np.ndarray, channel_axes: int, record: KeepRangesRecord) -> np.ndarray:
    """Per output channel, the half-range m of a 255-level symmetric grid (shape for broadcasting)."""
    axes = tuple(range(channel_axes, weights.ndim))
    largest = np.abs(weights).max(axis=axes, keepdims=True)
    scale = np.abs(scales).max(axis=axes, keepdims=True)
    exact = largest <= INT8_MAX * scale * (1 + 1e-6)
    record.exact_channels += int(exact.sum())
    record.rounded_channels += int((~exact).sum())
    half_range = np.where(exact, INT8_MAX * scale, largest)
    return np.where(half_range == 0, np.finfo(np.float32).tiny, half_range).astype(np.float32)


def keep_ranges(model: Any) -> KeepRangesRecord:
    """Re-express the weights of `model` (an as-is import, changed in place) as symmetric int8 per channel."""
    import openvino.opset13 as ops

    record = KeepRangesRecord()
    for op in model.get_ops():
        if op.get_type_name() not in WEIGHTED:
            continue
        source = op.input_value(1).get_node()
        if not _integer_dequantization(source):
            record.left += 1
            continue
        weights, scales = _weights_and_scales(source)
        half = _symmetric(weights, scales, 2 if op.get_type_name() == "GroupConvolution" else 1, record)
        low, high = ops.constant(-half), ops.constant(half)
        grid = ops.fake_quantize(ops.constant(weights.astype(np.float32)), low, high, low, high, 2 * INT8_MAX + 1)
        op.input(1).replace_source_output(grid.output(0))
        record.layers += 1
    model.validate_nodes_and_infer_types()
    return record


def wanted(job: ConversionJob) -> bool:
    """keep-ranges is tried unless NNCF was asked for, by name or by an ignored scope (an NNCF notion)."""
    options = job.options
    return options.requant_method == "auto" and not options.ignored_scope and options.ignored_scope_file is None


def keep_ranges_candidate(
    job: ConversionJob, record: CalibrationRecord, items: Optional[list[tuple[Path, int]]], max_drop: float
) -> Optional[tuple[Any, CalibrationRecord, MarginRecord]]:
    """(the IR model, its calibration record, the margin record) when keep-ranges applies and holds the
    margin on the held-out images (or there are none: then unchecked, as all-int8 would be); else None."""
    from omz_mobilenet.convert.requant_margin import MarginRecord, ir_top1, load_validation, original_top1

    model = job.model.clone()
    found = keep_ranges(model)
    if found.left or not found.layers:
        job.log(f"{job.entry.name}: keep-ranges does not apply ({found.left} weighted layers of another form): NNCF")
        return None
    job.log(
        f"{job.entry.name}: keep-ranges: {found.layers} layers int8, {found.exact_channels} channels exact, "
        f"{found.rounded_channels} rounded"
    )
    if items is None:
        note = "keep-ranges, no labelled held-out images in the calibration folder"
        return model, record, MarginRecord(False, max_drop, "keep-ranges", note=note)
    validation = load_validation(job, items)
    original, runtime = original_top1(job, validation)
    top1 = ir_top1(model, validation)
    drop = round(original - top1, 2)
    job.log(
        f"{job.entry.name}: keep-ranges Top-1 on {len(validation.paths)} held-out images {top1:.2f}, "
        f"original ({runtime}) {original:.2f}"
    )
    if drop > max_drop:
        job.log(f"{job.entry.name}: keep-ranges loses {drop} points > {max_drop}: NNCF's requantization instead")
        return None
    margin = MarginRecord(
        True, max_drop, "keep-ranges", len(validation.paths), original, runtime, None, top1, drop, True
    )
    return model, validation.recorded(record, job.options.calibration or Path()), margin
