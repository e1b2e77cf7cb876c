"""What the benchmark scripts share: where results and the offline assets are, and the environment
that points the CLI at them (scripts run as `python benchmarks/X.py`, so this folder is importable)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
ASSETS = Path(os.environ.get("OMZ_MOBILENET_ASSETS", REPO.parent / "shared" / "assets"))
OFFLINE_MODELS = [
    "mobilenet-v2-1.0-224-quant", "mobilenet-v2-1.0-224-int8", "mobilenet-v1-0.25-224-quant",
    "mobilenet-v1-0.50-160-quant", "mobilenet-v1-0.25-128-quant", "mobilenet-v1-0.75-192-quant",
    "mobilenet-v1-0.25-224-tflite",
]


def environment() -> dict:
    """The caller's environment, with the assets as mirror and a cache/IR folder under results/."""
    env = dict(os.environ)
    env.setdefault("OMZ_MOBILENET_MIRROR", str(ASSETS))
    env.setdefault("OMZ_MOBILENET_CACHE", str(RESULTS / "cache"))
    env.setdefault("OMZ_MOBILENET_OUT", str(RESULTS / "ir"))
    return env
