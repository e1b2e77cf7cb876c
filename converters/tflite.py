"""TensorFlow Lite flatbuffer (.tflite), float or uint8/int8 quantized."""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.catalogue.schema import ModelEntry
from omz_mobilenet.converters.common import convert
from omz_mobilenet.errors import ToolError


def read(entry: ModelEntry, path: Path):
    if path.exists() and path.stat().st_size >= 8 and path.read_bytes()[4:8] != b"TFL3":
        raise ToolError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier); delete it and download again")
    return convert(path, "TFLite model")
