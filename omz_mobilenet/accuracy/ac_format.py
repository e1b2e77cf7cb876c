"""The accuracy_checker config files this tool writes and reads: their keys, types and locations.

`accuracy_checker_configs/<model>.yml` is in accuracy_checker's own format, so `accuracy_check -c`
can run it; `<model>.subsets.yml` beside it holds per-image-set references. The writer
(ac_writer.py), the reader (ac_reader.py with ac_checks.py) and the references (ac_references.py)
share what is defined here; ac_config.py is the front door and the `write`/`check` command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, Optional

from omz_mobilenet.catalogue import Geometry

CONFIGS_ENV = "OMZ_MOBILENET_AC_CONFIGS"
# Allowance on a published full-validation reference (fractions, as accuracy_checker uses them).
PUBLISHED_ABS_THRESHOLD = 0.005
LAUNCHER_KEYS = {"framework", "model", "weights", "adapter", "device", "device_config"}
# What `omz-mobilenet accuracy` computes in; accuracy_checker must be told, or it follows the CPU's default.
DEVICE_CONFIG = {"CPU": {"INFERENCE_PRECISION_HINT": "f32"}}
DATASET_KEYS = {"name", "data_source", "reader", "annotation_conversion", "preprocessing", "metrics"}
METRIC_KEYS = {"name", "type", "top_k", "reference", "abs_threshold"}
CONVERSION_KEYS = {"converter", "annotation_file", "labels_file", "has_background"}
Interpolation = Literal["bilinear", "area", "cubic"]
INTERPOLATIONS: dict[str, Interpolation] = {
    "LINEAR": "bilinear",
    "BILINEAR": "bilinear",
    "AREA": "area",
    "CUBIC": "cubic",
    "BICUBIC": "cubic",
}
HEADER = (
    "# Open Model Zoo accuracy_checker config for {name}, generated from models.yml by\n"
    "# `python -m omz_mobilenet.accuracy.ac_config write`; do not edit by hand. References are fractions of the\n"
    "# published full ImageNet-val accuracy; per-image-set references, where measured, are in {name}.subsets.yml.\n"
)


@dataclass(frozen=True)
class MetricRef:
    top_k: int
    reference: Optional[float]  # fraction; None when no published figure belongs to this file
    abs_threshold: float


@dataclass(frozen=True)
class AcModelConfig:
    name: str
    path: Path
    geometry: Geometry
    resolution: int
    has_background: bool
    metrics: dict[int, MetricRef] = field(default_factory=dict)
    device_config: dict = field(default_factory=dict)


def configs_dir() -> Path:
    override = os.environ.get(CONFIGS_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("omz_mobilenet.data").joinpath("accuracy_checker_configs")))


def config_path(name: str, folder: Optional[Path] = None) -> Path:
    return (folder or configs_dir()) / f"{name}.yml"


def subsets_path(name: str, folder: Optional[Path] = None) -> Path:
    return (folder or configs_dir()) / f"{name}.subsets.yml"
