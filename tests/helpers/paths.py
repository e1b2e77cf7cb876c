"""Where the tests find the offline assets and the repository."""

from __future__ import annotations

import os
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent

ASSETS = Path(os.environ.get("OMZ_MOBILENET_ASSETS", TESTS.parents[1] / "shared" / "assets")).resolve()
IMAGES = ASSETS / "imagenet"
OFFLINE_TFLITE = [
    "mobilenet-v2-1.0-224-int8",
    "mobilenet-v2-1.0-224-quant",
    "mobilenet-v1-0.25-224-quant",
    "mobilenet-v1-0.50-160-quant",
    "mobilenet-v1-0.25-128-quant",
    "mobilenet-v1-0.75-192-quant",
    "mobilenet-v1-0.25-224-tflite",
]
# Every model whose files are in ../shared/assets (its MANIFEST.md): the TFLite ones and the ONNX int8.
OFFLINE_MODELS = [*OFFLINE_TFLITE, "mobilenetv2-12-int8"]
# The already-quantized ones among them (INT8 sources: INT8-RQ, keep-ranges); the other is the float TFLite.
OFFLINE_QUANTIZED = [m for m in OFFLINE_MODELS if m != "mobilenet-v1-0.25-224-tflite"]


def error_lines(stderr: str) -> list[str]:
    """The error lines of a run: `omz-mobilenet: error: ...` (a refused job) and
    `omz-mobilenet COMMAND: error: ...` (a refused flag, from the command's own parser)."""
    return [line for line in stderr.splitlines() if re.match(r"omz-mobilenet( [a-z][a-z-]*)?: error:", line)]
