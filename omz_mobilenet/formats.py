"""The source-format vocabulary: which formats exist, the framework each belongs to, the runtime
that runs its original, and the converter module (`converters/<module>.py`) that reads it.

Pure data at the bottom of the layers, like precision.py: the catalogue derives an entry's
`framework` from it, the converters dispatch on it, and neither imports the other to do so. To add a
format: add one row here, write `converters/<module>.py` (`read()` and `open_reference()`) and add
the literal to `ModelEntry.format` (catalogue/schema.py). A format missing here is an error naming it,
never a fallback to another driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from omz_mobilenet.errors import ToolError


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
        SourceFormat("keras", "tf", "TensorFlow", "keras"),
        SourceFormat("tflite", "tflite", "LiteRT", "tflite"),
        SourceFormat("onnx", "onnx", "ONNX Runtime", "onnx"),
    )
}


def source_format(name: str) -> SourceFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ToolError(
            f"unknown source format {name!r}; known formats: {', '.join(FORMATS)} (omz_mobilenet/formats.py)", 2
        ) from None
