"""ONNX (.onnx). QOperator int8 models (QLinearConv, ...) are rewritten to QDQ form first.

OpenVINO 2026 cannot read QLinearConv with per-channel scales, QLinearMatMul or the com.microsoft
QLinear* ops; onnx_qdq.py rewrites them (with the `onnx` package) into DequantizeLinear -> float
op -> QuantizeLinear, which OpenVINO reads as FakeQuantize-based int8.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.converters.common import (
    OriginalRuntime,
    convert,
    dequantize_output,
    first_line,
    missing_extra,
    set_input_shape,
)
from omz_mobilenet.errors import ToolError

if TYPE_CHECKING:
    from openvino import Model

# Any of these bytes in the file may be a QOperator op; only then is the `onnx` package needed.
QOPERATOR_MARKERS = (b"QLinear", b"QGemm", b"QAttention", b"QEmbedLayerNormalization", b"QOrderedMatMul")
CORRUPT_HINT = "the file may be corrupt or truncated: delete it and download again"


def _may_be_qoperator(path: Path) -> bool:
    # A byte scan finds op_type strings without parsing the protobuf (or needing `onnx`).
    data = path.read_bytes()
    return any(marker in data for marker in QOPERATOR_MARKERS)


def _import_rewrite(path: Path) -> ModuleType:
    try:
        from omz_mobilenet.converters import onnx_qdq
    except ImportError:
        raise ToolError(
            f"{path}: ONNX QOperator int8 model; rewriting it for OpenVINO needs the `onnx` package: "
            "pip install omz-mobilenet[onnx]",
            2,
        ) from None
    return onnx_qdq


def read(entry: ModelEntry, path: Path) -> Model:
    model = _read(path)
    # ONNX Model Zoo files have a symbolic batch ("batch_size"); IR statistics need a static shape.
    set_input_shape(model, entry)
    return model


def _read(path: Path) -> Model:
    if not path.exists() or not _may_be_qoperator(path):
        return convert(path, "ONNX model")
    onnx_qdq = _import_rewrite(path)
    try:
        model = onnx_qdq.onnx.load(str(path))
    except Exception:  # a protobuf decode error: the shared helper reports a corrupt file
        return convert(path, "ONNX model")
    if not onnx_qdq.qoperator_ops(model):
        return convert(path, "ONNX model")
    return _convert_qdq(path, model, onnx_qdq)


def _convert_qdq(path: Path, model: Any, onnx_qdq: ModuleType) -> Model:
    import openvino as ov

    try:
        rewritten = onnx_qdq.to_qdq(model)
    except onnx_qdq.UnsupportedOp as exc:
        raise ToolError(
            f"{path}: ONNX QOperator op {exc.op} has no QDQ rewrite and OpenVINO 2026 cannot read it; "
            "use a QDQ-format export or the float model and quantize it with --precisions INT8",
            2,
        ) from None
    except Exception as exc:  # a truncated file can still parse into a graph with dangling names
        raise ToolError(
            f"{path}: cannot rewrite this QOperator ONNX model to QDQ ({first_line(exc)}); {CORRUPT_HINT}"
        ) from None
    try:
        # convert_model takes an in-memory ONNX model as a BytesIO (not a ModelProto).
        return ov.convert_model(io.BytesIO(rewritten.SerializeToString()))
    except Exception as exc:
        raise ToolError(
            f"{path}: OpenVINO cannot read the QDQ rewrite of this QOperator ONNX model ({first_line(exc)})"
        ) from None


def open_reference(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    try:
        import onnxruntime as ort
    except ImportError:
        raise missing_extra("onnx", "onnxruntime") from None
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception hierarchy
        raise ToolError(f"{path}: ONNX Runtime cannot load this model ({str(exc).splitlines()[0][:200]})") from None
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        outputs = [session.run(None, {input_name: item[None]})[0][0] for item in batch]
        return dequantize_output(np.stack(outputs), entry)

    return OriginalRuntime("ONNX Runtime", ort.__version__, run)
