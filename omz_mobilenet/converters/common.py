"""What every format module shares: calling convert_model with one-line errors, and the reference-runner record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from omz_mobilenet.errors import ToolError

if TYPE_CHECKING:
    from openvino import Model, Output

    from omz_mobilenet.catalogue import ModelEntry


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # OpenVINO puts the useful sentence after its "Check ... failed at ..." preamble.
    useful = [line for line in lines if not line.startswith(("Check ", "Exception from", "Traceback"))]
    return (useful or lines or [type(exc).__name__])[0][:300]


def convert(path: Path, what: str, **kwargs: Any) -> Model:
    import openvino as ov

    if not path.exists():
        raise ToolError(f"{path}: model file is missing; run `omz-mobilenet download` again", 2)
    try:
        return ov.convert_model(str(path), **kwargs)
    except Exception as exc:  # OpenVINO raises several unrelated types for a bad file
        raise ToolError(
            f"{path}: OpenVINO cannot read this {what} ({first_line(exc)}); the file may be corrupt or truncated: delete it and download again"
        ) from None


def input_port(model: Model, name: str) -> Output:
    """The model input carrying `name` (frozen graphs may name it `input:0`)."""
    for port in model.inputs:
        if name in port.get_names() or f"{name}:0" in port.get_names():
            return port
    if len(model.inputs) == 1:
        return model.inputs[0]
    raise ToolError(f"input {name!r} not found; the model has {[sorted(p.get_names()) for p in model.inputs]}")


def _has_name(port: Output, name: str) -> bool:
    names = port.get_names()
    return name in names or f"{name}:0" in names


def keep_output(model: Model, name: str, path: Path) -> Model:
    """The model reduced to the output the catalogue names (graphs may expose several)."""
    import openvino as ov

    matches = [port for port in model.outputs if _has_name(port, name)]
    if not matches:
        found = sorted(n for port in model.outputs for n in port.get_names())
        raise ToolError(
            f"{path}: output {name!r} not found (outputs: {', '.join(found)[:200]}); check the catalogue entry", 2
        )
    if len(model.outputs) == 1:
        return model
    result = ov.opset13.result(matches[0])
    return ov.Model([result], model.get_parameters(), model.get_friendly_name())


def set_input_shape(model: Model, entry: ModelEntry) -> None:
    """Fix a dynamic batch (frozen graphs often have `?`) to the catalogue's static shape."""
    port = input_port(model, entry.original_input.name)
    if not port.get_partial_shape().is_static:
        model.reshape({port: entry.original_input.shape})


# ---- reference runners (the original file in its own runtime) --------------------------------

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OriginalRuntime:
    """A callable taking a batch already in the original's input form (see inputs.images.original_input)
    and returning float outputs in the catalogue's label space (quantized outputs dequantized)."""

    name: str
    version: str
    run: Runner


def missing_extra(extra: str, package: str) -> ToolError:
    return ToolError(f"the original runtime needs {package}; install it with `pip install omz-mobilenet[{extra}]`")


def dequantize_output(values: np.ndarray, entry: ModelEntry) -> np.ndarray:
    quant = entry.output.quantization
    if quant is None:
        return values.astype(np.float32)
    return (values.astype(np.float32) - quant.zero_point) * np.float32(quant.scale)
