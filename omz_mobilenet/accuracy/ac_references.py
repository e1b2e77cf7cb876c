"""Per-image-set references (`<model>.subsets.yml`, beside the accuracy_checker config): the original
model file run in its own framework on exactly these images, with the images the IR may lose.

accuracy_checker rejects unknown keys inside metrics, so they cannot go into the config itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from omz_mobilenet.accuracy.ac_checks import only
from omz_mobilenet.accuracy.ac_format import subsets_path
from omz_mobilenet.errors import ToolError


@dataclass(frozen=True)
class SubsetRef:
    image_set: str
    images: int
    image_list_sha256: str
    top1_hits: int
    top5_hits: int
    tolerance: dict  # allowed drop in images: {"top1": n, "top5": n}
    measured: dict  # framework, version, date, how


SUBSET_KEYS = {"images", "image_list_sha256", "top1_hits", "top5_hits", "top1", "top5", "tolerance_images", "measured"}


def _subset(name: str, raw: object, path: Path) -> SubsetRef:
    data = only(raw, SUBSET_KEYS, path, f"subsets.{name}")
    try:
        tolerance = {k: int(data["tolerance_images"][k]) for k in ("top1", "top5")}
        return SubsetRef(
            name,
            int(data["images"]),
            str(data["image_list_sha256"]),
            int(data["top1_hits"]),
            int(data["top5_hits"]),
            tolerance,
            dict(data.get("measured") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"{path}: subsets.{name}: missing or bad field ({exc})", 2) from None


def load_subsets(name: str, folder: Optional[Path] = None) -> dict[str, SubsetRef]:
    path = subsets_path(name, folder)
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ToolError(f"{path}: cannot read subset references: {str(exc).splitlines()[0]}", 2) from None
    subsets = only(raw, {"model", "subsets"}, path, "top level").get("subsets") or {}
    return {key: _subset(key, value, path) for key, value in subsets.items()}


SUBSETS_HEADER = (
    "# Per-image-set references for {name}: the ORIGINAL model file run in its own framework on each\n"
    "# image set (same OpenCV decode and crop/resize as the IR), written by\n"
    "# benchmarks/measure_subset_references.py. The gate fails when the IR scores more than\n"
    "# `tolerance_images` images below top1_hits/top5_hits. A reference only applies to the exact image\n"
    "# list (image_list_sha256 of file names, byte sizes and labels).\n"
)


def write_subsets(name: str, subsets: dict[str, dict], folder: Optional[Path] = None) -> Path:
    path = subsets_path(name, folder)
    body = yaml.safe_dump({"model": name, "subsets": subsets}, sort_keys=False, default_flow_style=False)
    path.write_text(SUBSETS_HEADER.format(name=name) + body, encoding="utf-8")
    return path
