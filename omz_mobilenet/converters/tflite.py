"""TensorFlow Lite flatbuffer (.tflite), float or uint8/int8 quantized: driver and LiteRT reference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.converters.common import OriginalRuntime, convert, dequantize_output, missing_extra
from omz_mobilenet.errors import ToolError

if TYPE_CHECKING:
    from openvino import Model


def read(entry: ModelEntry, path: Path) -> Model:
    if path.exists() and path.stat().st_size >= 8 and path.read_bytes()[4:8] != b"TFL3":
        raise ToolError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier); delete it and download again")
    return convert(path, "TFLite model")


def open_reference(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    try:
        import ai_edge_litert
        from ai_edge_litert import interpreter as litert
    except ImportError:
        raise missing_extra("tflite", "ai-edge-litert") from None
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
        return dequantize_output(np.stack(outputs), entry)

    return OriginalRuntime("LiteRT", getattr(ai_edge_litert, "__version__", "?"), run)
