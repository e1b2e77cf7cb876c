"""Bake the original model's input conventions into the IR with PrePostProcessor.

The IR then takes what OpenCV gives (BGR u8 pixels, NCHW) and does, inside the graph: layout
change, BGR->RGB if the original wants RGB, mean/scale (or the integer mapping of a quantized
input) and the element type the original expects. A quantized output is dequantized, so every IR
returns float probabilities or logits in the catalogue's label space.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from omz_mobilenet.catalogue import ModelEntry, Quantization
from omz_mobilenet.converters.common import input_port

if TYPE_CHECKING:
    from collections.abc import Callable

    from openvino import Model, Output, Type


def _ov_type(name: str, ov: ModuleType) -> Type:
    # ov.Type("u8") would be read as a numpy dtype string (uint64), so map names explicitly.
    return {"f32": ov.Type.f32, "u8": ov.Type.u8, "i8": ov.Type.i8}[name]


def _input_steps(entry: ModelEntry, steps: Any, ov: ModuleType) -> None:
    original = entry.original_input
    needs_math = original.mean is not None or original.scale is not None
    if needs_math or original.element_type == "f32":
        # mean() on a u8 tensor is rejected; the arithmetic must happen in f32 (FACTS 3).
        steps.convert_element_type(ov.Type.f32)
    if original.color == "RGB":
        steps.reverse_channels()
    if original.mean is not None:
        steps.mean(list(original.mean))
    if original.scale is not None:
        steps.scale(list(original.scale))
    if original.element_type != "f32" and (needs_math or entry.converted_input.element_type == "f32"):
        steps.convert_element_type(_ov_type(original.element_type, ov))


def _dequantize(quant: Quantization) -> Callable[[Output], Output]:
    import numpy as np
    import openvino.opset13 as ops

    def step(node: Output) -> Output:
        shifted = ops.subtract(node, ops.constant(np.float32(quant.zero_point)))
        return ops.multiply(shifted, ops.constant(np.float32(quant.scale))).output(0)

    return step


def bake_preprocessing(model: Model, entry: ModelEntry) -> Model:
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    port = input_port(model, entry.original_input.name)
    ppp = PrePostProcessor(model)
    info = ppp.input(port.get_any_name())
    info.tensor().set_element_type(_ov_type(entry.converted_input.element_type, ov))
    info.tensor().set_layout(ov.Layout("NCHW"))
    # Without the model layout PPP "succeeds" and reverses the wrong axis (FACTS 3).
    info.model().set_layout(ov.Layout(entry.original_input.layout))
    _input_steps(entry, info.preprocess(), ov)
    if entry.output.quantization is not None:
        post = ppp.output(0).postprocess()
        post.convert_element_type(ov.Type.f32)
        post.custom(_dequantize(entry.output.quantization))
    baked = ppp.build()
    baked.inputs[0].get_tensor().set_names({entry.converted_input.name})
    baked.outputs[0].get_tensor().add_names({entry.output.name})
    return baked
