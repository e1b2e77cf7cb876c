"""The graph-preprocessing variant of an IR, built in memory: it takes the decoded image as it is (u8
NHWC BGR, any height and width) and crops and resizes inside the graph with OpenVINO's
PrePostProcessor, so the host only decodes.

The crop follows the catalogue's geometry and the crop rule exactly as `inputs/images.apply_geometry`
does on the host (the same integer offsets, computed from the image's shape inside the graph): a
central crop then a resize to the model's size (PrePostProcessor's resize), or a resize of the short
side then a central crop. The resized pixels are rounded and clamped to 0..255 before the IR's own
input (u8, with its mean/scale baked in), as OpenCV's u8 resize gives them. OpenVINO's bilinear
resize and OpenCV's can differ by one level on some pixels; tests/test_bench_e2e.py holds the two
placements to the same Top-1 with the paired test.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.catalogue import Geometry, ModelEntry
from omz_mobilenet.errors import ToolError

# The catalogue's interpolation -> OpenVINO Interpolate mode (OpenCV's INTER_AREA has no equivalent;
# antialiased linear is the nearest to it when shrinking).
MODES = {"bilinear": ("linear", False), "area": ("linear", True), "cubic": ("cubic", False)}


def _geometry(entry: Optional[ModelEntry]) -> Geometry:
    return entry.preprocessing if entry is not None else Geometry(kind="central_crop")


def _i64(ops: Any, values: list[int]) -> Any:
    import numpy as np

    return ops.constant(np.array(values, dtype=np.int64))


def _f32(ops: Any, value: float) -> Any:
    import numpy as np

    return ops.constant(np.array(value, dtype=np.float32))


def _hw(ops: Any, node: Any) -> tuple[Any, Any]:
    """Height and width of an NHWC node as i64 [1] tensors."""
    shape = ops.shape_of(node, output_type="i64")
    return ops.gather(shape, _i64(ops, [1]), 0), ops.gather(shape, _i64(ops, [2]), 0)


def _slice_hw(ops: Any, node: Any, top: Any, left: Any, height: Any, width: Any) -> Any:
    """node[:, top:top+height, left:left+width, :] with i64 [1] tensors."""
    start = ops.concat([top, left], 0)
    stop = ops.concat([ops.add(top, height), ops.add(left, width)], 0)
    return ops.slice(node, start, stop, _i64(ops, [1, 1]), _i64(ops, [1, 2]))


def _central_crop(ops: Any, node: Any, fraction: float, crop_rule: str) -> Any:
    """images.central_crop_box in integer graph ops (the fraction as a ratio num/den; i64 division of
    non-negative values is int()): tf keeps h - 2*int((h - f*h) / 2) rows, accuracy-checker int(f*h)
    rows from (h - int(f*h)) // 2. Integer arithmetic on purpose: the same box computed in f32 came
    out right only when the crop was also a model output (OpenVINO 2026.4 CPU)."""
    ratio = Fraction(fraction).limit_denominator(100_000)
    num, den, two = _i64(ops, [ratio.numerator]), _i64(ops, [ratio.denominator]), _i64(ops, [2])
    h, w = _hw(ops, node)
    if crop_rule == "tf":
        away = _i64(ops, [ratio.denominator - ratio.numerator])
        twice_den = _i64(ops, [2 * ratio.denominator])
        top, left = ops.divide(ops.multiply(h, away), twice_den), ops.divide(ops.multiply(w, away), twice_den)
        height, width = ops.subtract(h, ops.multiply(two, top)), ops.subtract(w, ops.multiply(two, left))
    else:
        height, width = ops.divide(ops.multiply(h, num), den), ops.divide(ops.multiply(w, num), den)
        top, left = ops.divide(ops.subtract(h, height), two), ops.divide(ops.subtract(w, width), two)
    return _slice_hw(ops, node, top, left, height, width)


def _interpolate(ops: Any, node: Any, sizes: Any, interpolation: str) -> Any:
    mode, antialias = MODES[interpolation]
    return ops.interpolate(
        node,
        sizes,
        mode,
        "sizes",
        coordinate_transformation_mode="half_pixel",
        antialias=antialias,
        axes=_i64(ops, [1, 2]),
    )


def _resize_short_crop(ops: Any, node: Any, geometry: Geometry, size: int) -> Any:
    """images.resized_short_side in integers (short side to resize_short, the long one
    long * resize_short // short, neither below `size`), then the central size x size crop."""
    h, w = _hw(ops, node)
    target, side, two = _i64(ops, [geometry.resize_short]), _i64(ops, [size]), _i64(ops, [2])
    short = ops.minimum(h, w)
    new_h = ops.maximum(ops.divide(ops.multiply(h, target), short), side)
    new_w = ops.maximum(ops.divide(ops.multiply(w, target), short), side)
    resized = _interpolate(ops, node, ops.concat([new_h, new_w], 0), geometry.interpolation)
    top, left = ops.divide(ops.subtract(new_h, side), two), ops.divide(ops.subtract(new_w, side), two)
    return _slice_hw(ops, resized, top, left, side, side)


def _to_pixels(ops: Any, node: Any) -> Any:
    """Round half to even and clamp to u8's range, as OpenCV's u8 resize stores its result."""
    return ops.clamp(ops.round(node, "half_to_even"), 0.0, 255.0)


def graph_model(core: Any, xml: Path, entry: Optional[ModelEntry], crop_rule: str = "tf") -> Any:
    """The IR at `xml` (batch 1) with geometry in the graph: input u8 NHWC BGR [1, ?, ?, 3]."""
    import openvino as ov
    import openvino.opset13 as ops
    from openvino.preprocess import PrePostProcessor, ResizeAlgorithm

    from omz_mobilenet.runtime import load_model

    if crop_rule not in ("tf", "accuracy-checker"):
        raise ToolError(f"unknown crop rule {crop_rule!r}; use tf or accuracy-checker", 2)
    model = load_model(core, xml, 1, Path(xml).stem)
    shape = model.input(0).get_partial_shape()
    if shape.rank.get_length() != 4 or shape[1].get_length() != 3:
        raise ToolError(f"IR {xml}: --preprocess graph needs an NCHW input with 3 channels, not {shape}", 2)
    size = shape[2].get_length()
    geometry = _geometry(entry)
    ppp = PrePostProcessor(model)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_spatial_dynamic_shape()
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    if geometry.kind == "central_crop":
        steps.custom(lambda node: _central_crop(ops, node, geometry.central_fraction, crop_rule).output(0))
        if (
            geometry.interpolation == "bilinear"
        ):  # PrePostProcessor's own resize: half-pixel linear, to the model's size
            steps.resize(ResizeAlgorithm.RESIZE_LINEAR)
        else:
            steps.custom(
                lambda node: _interpolate(ops, node, _i64(ops, [size, size]), geometry.interpolation).output(0)
            )
    else:
        steps.custom(lambda node: _resize_short_crop(ops, node, geometry, size).output(0))
    steps.custom(lambda node: _to_pixels(ops, node).output(0))
    steps.convert_element_type(ov.Type.u8)
    return ppp.build()
