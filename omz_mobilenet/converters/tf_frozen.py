"""TF frozen GraphDef (.pb), as shipped in the TF-slim .tgz archives."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.converters.common import OriginalRuntime, convert, keep_output, set_input_shape

if TYPE_CHECKING:
    from openvino import Model


def read(entry: ModelEntry, path: Path) -> Model:
    # OpenVINO 2026's `output=` only picks among the graph's existing outputs and wants `node:0`
    # names, so convert whole and select the catalogue's output afterwards.
    model = convert(path, "TensorFlow frozen graph")
    set_input_shape(model, entry)
    return keep_output(model, entry.output.name, path)


def open_reference(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    from omz_mobilenet.converters import tf_runtime

    return tf_runtime.reference(tf_runtime.FrozenGraphRunner(path, entry.original_input.name, entry.output.name))
