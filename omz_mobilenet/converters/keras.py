"""Keras model files (`.keras`, `.h5`): loaded with TensorFlow, converted from the in-memory model.

Placeholder: the `add` work (issue 19) writes the reader and the reference runner here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError

if TYPE_CHECKING:
    from openvino import Model

    from omz_mobilenet.converters.common import OriginalRuntime


def read(entry: ModelEntry, path: Path) -> Model:
    raise ToolError(f"{entry.name}: Keras files are not supported yet", 2)


def open_reference(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    raise ToolError(f"{entry.name}: Keras files are not supported yet", 2)
