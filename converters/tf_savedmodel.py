"""TF SavedModel directory (serving signature); convert_model reads it without TensorFlow."""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.catalogue.schema import ModelEntry
from omz_mobilenet.converters.common import convert, keep_output, set_input_shape


def read(entry: ModelEntry, path: Path):
    model = convert(path, "TensorFlow SavedModel")
    set_input_shape(model, entry)
    return keep_output(model, entry.output.name, path)
