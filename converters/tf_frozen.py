"""TF frozen GraphDef (.pb), as shipped in the TF-slim .tgz archives."""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.converters.common import convert


def read(entry: ModelEntry, path: Path):
    shape = entry.original_input.shape
    # A frozen pb names tensors `node:0`; passing the bare node name for the output fails (FACTS 3).
    return convert(
        path,
        "TensorFlow frozen graph",
        input=[(entry.original_input.name, shape)],
        output=[f"{entry.output.name}:0"],
    )
