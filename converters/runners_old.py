"""Run the original model file in its own framework: LiteRT, ONNX Runtime or TensorFlow.

`open_original` returns a callable taking a batch already in the original's input form
(see images.original_input) and returning float outputs in the catalogue's label space
(quantized outputs dequantized), so they compare directly with the IR's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from omz_mobilenet.catalogue.schema import ModelEntry
from omz_mobilenet.errors import ToolError

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OriginalRuntime:
    name: str
    version: str
    run: Runner


def _missing(extra: str, package: str) -> ToolError:
    return ToolError(f"the original runtime needs {package}; install it with `pip install omz-mobilenet[{extra}]`")


def _dequantize(values: np.ndarray, entry: ModelEntry) -> np.ndarray:
    quant = entry.output.quantization
    if quant is None:
        return values.astype(np.float32)
    return (values.astype(np.float32) - quant.zero_point) * np.float32(quant.scale)


def _tflite(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    try:
        from ai_edge_litert import interpreter as litert
        import ai_edge_litert
    except ImportError:
        raise _missing("tflite", "ai-edge-litert") from None
    try:
        interp = litert.Interpreter(model_path=str(path), num_threads=threads)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ToolError(f"{path}: LiteRT cannot load this model ({str(exc).splitlines()[0]})") from None
    in_index = interp.get_input_details()[0]["index"]
    out_index = interp.get_output_details()[0]["index"]

    def run(batch: np.ndarray) -> np.ndarray:
        outputs = []
        for item in batch:  # the official files have a fixed batch of 1
            interp.set_tensor(in_index, item[None])
            interp.invoke()
            outputs.append(interp.get_tensor(out_index)[0].copy())
        return _dequantize(np.stack(outputs), entry)

    return OriginalRuntime("LiteRT", getattr(ai_edge_litert, "__version__", "?"), run)


def _onnx(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    try:
        import onnxruntime as ort
    except ImportError:
        raise _missing("onnx", "onnxruntime") from None
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
        return _dequantize(np.stack(outputs), entry)

    return OriginalRuntime("ONNX Runtime", ort.__version__, run)


def _tensorflow(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    from omz_mobilenet.converters import tf_runtime

    if entry.format == "tf_frozen":
        runner = tf_runtime.FrozenGraphRunner(path, entry.original_input.name, entry.output.name)
    else:
        runner = tf_runtime.SavedModelRunner(path, entry.original_input.name, entry.output.name)
    import tensorflow as tf

    return OriginalRuntime("TensorFlow", tf.__version__, lambda batch: runner(batch).astype(np.float32))


def open_original(entry: ModelEntry, path: Path, threads: Optional[int] = None) -> OriginalRuntime:
    if not Path(path).exists():
        raise ToolError(f"{path}: original model file is missing; run `omz-mobilenet download {entry.name}`", 2)
    if entry.format == "tflite":
        return _tflite(entry, path, threads)
    if entry.format == "onnx":
        return _onnx(entry, path, threads)
    return _tensorflow(entry, path, threads)
