"""ONNX (.onnx). QOperator int8 models (QLinearConv, ...) are refused with a clear message."""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.converters.common import convert
from omz_mobilenet.errors import ToolError

QOPERATOR_OPS = ("QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearGlobalAveragePool", "QLinearMul")


def _qoperator_ops(path: Path) -> list[str]:
    # A byte scan finds op_type strings without needing the `onnx` package.
    data = path.read_bytes()
    return [op for op in QOPERATOR_OPS if op.encode() in data]


def read(entry: ModelEntry, path: Path):
    found = _qoperator_ops(path) if path.exists() else []
    if found:
        raise ToolError(
            f"{path}: ONNX QOperator int8 model ({', '.join(found)}), which OpenVINO 2026 cannot read; "
            "use a QDQ-format export or the float model (mobilenetv2-7) and quantize it with --precisions INT8",
            2,
        )
    return convert(path, "ONNX model")
