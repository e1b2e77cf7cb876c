"""Source formats: the one table saying which module converts a format and runs its original.

Each format module (tflite.py, onnx.py, tf_frozen.py, tf_savedmodel.py) holds both its conversion
driver `read(entry, path) -> openvino.Model` and its reference runner
`open_reference(entry, path, threads) -> OriginalRuntime` (LiteRT, ONNX Runtime or TensorFlow).
To add a format: write its module and add one row to FORMATS. A format missing here is an error
naming it, never a fallback to another driver. Only light imports here: the catalogue reads this
table to derive an entry's `framework`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Optional

from omz_mobilenet.errors import ToolError

if TYPE_CHECKING:
    from omz_mobilenet.catalogue import ModelEntry
    from omz_mobilenet.converters.common import OriginalRuntime


@dataclass(frozen=True)
class SourceFormat:
    name: str  # the catalogue's `format`
    framework: str  # the catalogue's derived `framework`
    runtime: str  # the original's own runtime, as reports name it
    module: str  # converters/<module>.py: read() and open_reference()


FORMATS: dict[str, SourceFormat] = {
    f.name: f
    for f in (
        SourceFormat("tf_frozen", "tf", "TensorFlow", "tf_frozen"),
        SourceFormat("tf_savedmodel", "tf", "TensorFlow", "tf_savedmodel"),
        SourceFormat("tflite", "tflite", "LiteRT", "tflite"),
        SourceFormat("onnx", "onnx", "ONNX Runtime", "onnx"),
    )
}


def source_format(name: str) -> SourceFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ToolError(
            f"unknown source format {name!r}; known formats: {', '.join(FORMATS)} (converters/__init__.py)", 2
        ) from None


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"omz_mobilenet.converters.{source_format(name).module}")


def read_original(entry: ModelEntry, model_path: Path):
    """The original file as an `openvino.Model` (no preprocessing yet)."""
    return _module(entry.format).read(entry, model_path)


def open_reference(entry: ModelEntry, path: Path, threads: Optional[int] = None) -> OriginalRuntime:
    """The original file in its own runtime, taking batches in the original's input form."""
    if not Path(path).exists():
        raise ToolError(f"{path}: original model file is missing; run `omz-mobilenet download {entry.name}`", 2)
    return _module(entry.format).open_reference(entry, Path(path), threads)
