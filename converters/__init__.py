"""One conversion driver per source format; each turns the original file into an `openvino.Model`.

`read_original` picks the driver; `bake_preprocessing` (in preprocessing.py) then makes the IR take
NCHW BGR u8 pixels. OpenVINO is imported inside the drivers so importing this package stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.catalogue.schema import ModelEntry


def read_original(entry: ModelEntry, model_path: Path):
    if entry.format == "tf_frozen":
        from omz_mobilenet.converters import tf_frozen as driver
    elif entry.format == "tf_savedmodel":
        from omz_mobilenet.converters import tf_savedmodel as driver
    elif entry.format == "tflite":
        from omz_mobilenet.converters import tflite as driver
    else:
        from omz_mobilenet.converters import onnx as driver
    return driver.read(entry, model_path)
