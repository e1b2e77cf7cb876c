"""What every driver shares: calling convert_model and turning its failures into one-line errors."""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.errors import ToolError


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # OpenVINO puts the useful sentence after its "Check ... failed at ..." preamble.
    useful = [line for line in lines if not line.startswith(("Check ", "Exception from", "Traceback"))]
    return (useful or lines or [type(exc).__name__])[0][:300]


def convert(path: Path, what: str, **kwargs):
    import openvino as ov

    if not path.exists():
        raise ToolError(f"{path}: model file is missing; run `omz-mobilenet download` again", 2)
    try:
        return ov.convert_model(str(path), **kwargs)
    except Exception as exc:  # OpenVINO raises several unrelated types for a bad file
        raise ToolError(f"{path}: OpenVINO cannot read this {what} ({first_line(exc)}); the file may be corrupt or truncated: delete it and download again") from None


def input_port(model, name: str):
    """The model input carrying `name` (frozen graphs may name it `input:0`)."""
    for port in model.inputs:
        if name in port.get_names() or f"{name}:0" in port.get_names():
            return port
    if len(model.inputs) == 1:
        return model.inputs[0]
    raise ToolError(f"input {name!r} not found; the model has {[sorted(p.get_names()) for p in model.inputs]}")
