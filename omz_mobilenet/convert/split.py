"""Split an image folder into calibration and evaluation parts that never share an image.

The parts are folders of symlinks plus a `val.txt` each, so `convert --calibration` and
`accuracy`/`gate` use them like any image folder. The choice is the calibration one (content
sha256 order), and images whose file name appears in an `exclude` folder stay in evaluation, so a
re-encoded copy of the same ILSVRC image elsewhere never ends up calibrating.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from omz_mobilenet.convert.calibration import sha256_of
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.images import list_images


@dataclass(frozen=True)
class SplitResult:
    calibration: Path
    evaluation: Path
    calibration_count: int
    evaluation_count: int


def _names_in(folders: list[Path]) -> set[str]:
    names: set[str] = set()
    for folder in folders:
        names |= {p.name for p in list_images(folder)}
    return names


def _write_part(folder: Path, images: list[Path], labels: dict[str, int]) -> None:
    folder.mkdir(parents=True)
    for image in images:
        os.symlink(image.resolve(), folder / image.name)
    lines = [f"{p.name} {labels[p.name]}" for p in images if p.name in labels]
    (folder / "val.txt").write_text("\n".join(lines) + "\n")


def split_folder(source: Path, count: int, out: Path, exclude: list[Path]) -> SplitResult:
    from omz_mobilenet.inputs.dataset import find_annotations, load_annotations

    if count < 1:
        raise ToolError("--calibration-count must be at least 1", 2)
    images = list_images(source)
    labels = load_annotations(find_annotations(source)).labels
    excluded = _names_in(exclude)
    candidates = sorted((sha256_of(p), p) for p in images if p.name not in excluded)
    chosen = {p for _, p in candidates[:count]}
    if len(chosen) < count:
        raise ToolError(f"{source} has only {len(chosen)} images that may calibrate; ask for fewer", 2)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    _write_part(staging / "calibration", sorted(chosen), labels)
    _write_part(staging / "evaluation", sorted(p for p in images if p not in chosen), labels)
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return SplitResult(out / "calibration", out / "evaluation", len(chosen), len(images) - len(chosen))
