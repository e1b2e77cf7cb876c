"""TF SavedModel directory (serving signature); convert_model reads it without TensorFlow."""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.converters.common import convert


def read(entry: ModelEntry, path: Path):
    return convert(path, "TensorFlow SavedModel", input=[entry.original_input.shape])
