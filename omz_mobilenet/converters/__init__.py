"""Per-format readers: dispatch on the format table (omz_mobilenet/formats.py) to the format's module.

Each format module (tflite.py, onnx.py, tf_frozen.py, tf_savedmodel.py) holds both its conversion
driver `read(entry, path) -> openvino.Model` and its reference runner
`open_reference(entry, path, threads) -> OriginalRuntime` (LiteRT, ONNX Runtime or TensorFlow).
To add a format: add one row to FORMATS in omz_mobilenet/formats.py and write its module here.
Only light imports here: frameworks load inside the format modules.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.formats import FORMATS, SourceFormat, source_format

__all__ = ["FORMATS", "SourceFormat", "open_reference", "read_original", "source_format"]

if TYPE_CHECKING:
    from openvino import Model

    from omz_mobilenet.catalogue import ModelEntry
    from omz_mobilenet.converters.common import OriginalRuntime


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"omz_mobilenet.converters.{source_format(name).module}")


def read_original(entry: ModelEntry, model_path: Path) -> Model:
    """The original file as an `openvino.Model` (no preprocessing yet)."""
    model: Model = _module(entry.format).read(entry, model_path)
    return model


def open_reference(entry: ModelEntry, path: Path, threads: Optional[int] = None) -> OriginalRuntime:
    """The original file in its own runtime, taking batches in the original's input form."""
    if not Path(path).exists():
        raise ToolError(f"{path}: original model file is missing; run `omz-mobilenet download {entry.name}`", 2)
    runtime: OriginalRuntime = _module(entry.format).open_reference(entry, Path(path), threads)
    return runtime
