"""Split an image folder into calibration and evaluation parts that never share an image.

The parts are folders of symlinks laid out like the source, so `convert --calibration` and
`accuracy`/`gate --dataset` use them like any image folder:
- a flat folder of labelled images (ImageNet's val.txt / FILES.tsv): two flat folders, each with the
  `val.txt` of its images;
- an ImageFolder (one sub-folder per class): two ImageFolders with the same class folders (a class
  whose images all went to one part has no folder in the other). Each class gives calibration the same
  fraction of its images (largest deficit first, so the total is exactly the count asked for), and a
  class of two or more images keeps at least one for evaluation: a class that only calibrates would
  vanish from the accuracy.
The choice within a folder (or a class) is the calibration one: content sha256 order, so it depends
on no file name or directory order. Images whose file name appears in an `exclude` folder stay in
evaluation, so a re-encoded copy of the same ILSVRC image elsewhere never ends up calibrating.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from omz_mobilenet.convert.calibration import sha256_of
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import CLASS_FOLDERS, ONE_SET, dataset_layout, images_under, relative_name
from omz_mobilenet.inputs.images import list_images


@dataclass(frozen=True)
class SplitResult:
    calibration: Path
    evaluation: Path
    calibration_count: int
    evaluation_count: int
    classes: int = 0  # class folders of an ImageFolder source; 0 for a flat folder


def _names_in(folders: list[Path]) -> set[str]:
    names: set[str] = set()
    for folder in folders:
        if not Path(folder).is_dir():
            raise ToolError(f"--exclude {folder} is not a folder; name a folder of images", 2)
        names |= {p.name for p in images_under(Path(folder))}
    return names


def _link(folder: Path, source: Path, images: list[Path]) -> None:
    """Symlinks at each image's path relative to `source` (class folders made as needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for image in images:
        link = folder / relative_name(image, source)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(image.resolve(), link)


def _by_content(images: list[Path], excluded: set[str]) -> list[Path]:
    """The images that may calibrate, in content sha256 order."""
    return [p for _h, p in sorted((sha256_of(p), p) for p in images if p.name not in excluded)]


def _flat(source: Path, count: int, excluded: set[str]) -> tuple[list[Path], list[Path], dict[str, int]]:
    from omz_mobilenet.inputs.dataset import find_annotations, load_annotations

    images = list_images(source)  # a flat folder's own images, as ever
    labels = load_annotations(find_annotations(source)).labels
    chosen = set(_by_content(images, excluded)[:count])
    if len(chosen) < count:
        raise ToolError(f"{source} has only {len(chosen)} images that may calibrate; ask for fewer", 2)
    return sorted(chosen), [p for p in images if p not in chosen], labels


def class_quotas(sizes: dict[str, int], caps: dict[str, int], count: int) -> dict[str, int]:
    """Calibration images per class: `count` shared in proportion to the class sizes, each class at most
    its cap; one image at a time to the class furthest below its share (ties: the first class by name)."""
    total = sum(sizes.values())
    share = {name: count * size / total for name, size in sizes.items()}
    taken = {name: min(caps[name], int(share[name])) for name in sizes}
    for _ in range(count - sum(taken.values())):
        open_classes = [name for name in sorted(sizes) if taken[name] < caps[name]]
        if not open_classes:
            break
        neediest = max(open_classes, key=lambda name: share[name] - taken[name])
        taken[neediest] += 1
    return taken


def _class_folders(source: Path, count: int, excluded: set[str]) -> tuple[list[Path], list[Path], int]:
    classes = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))
    images = {c.name: images_under(c) for c in classes}
    empty = [c for c in classes if not images[c.name]]
    if empty:
        raise ToolError(
            f"class folder {empty[0]} holds no images (.jpg/.jpeg/.png/...); add its images or remove it", 2
        )
    eligible = {name: _by_content(found, excluded) for name, found in images.items()}
    # A class of 2+ images keeps one for evaluation; a class of one image may give it to calibration.
    caps = {name: min(len(eligible[name]), len(found) - 1 if len(found) > 1 else 1) for name, found in images.items()}
    if sum(caps.values()) < count:
        raise ToolError(
            f"{source} has only {sum(caps.values())} images that may calibrate (each class of 2+ images keeps one "
            "for evaluation); ask for fewer",
            2,
        )
    quotas = class_quotas({name: len(found) for name, found in images.items()}, caps, count)
    chosen = {p for name in images for p in eligible[name][: quotas[name]]}
    every = [p for name in sorted(images) for p in images[name]]
    return [p for p in every if p in chosen], [p for p in every if p not in chosen], len(classes)


def _val_txt(folder: Path, images: list[Path], labels: dict[str, int]) -> None:
    lines = [f"{p.name} {labels[p.name]}" for p in images if p.name in labels]
    (folder / "val.txt").write_text("\n".join(lines) + "\n")


PARTS = {"calibration", "evaluation"}


def _check_out(out: Path) -> None:
    """`out` may be new, empty or an earlier split's (replaced); never another folder, which would be deleted."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ToolError(f"--out {out} exists and is not a folder; choose another path", 2)
    if out.is_dir() and any(out.iterdir()) and {p.name for p in out.iterdir()} != PARTS:
        raise ToolError(
            f"--out {out} is not empty and not an earlier split (calibration/ and evaluation/ only); "
            "choose a new folder",
            2,
        )


def split_folder(source: Path, count: int, out: Path, exclude: list[Path]) -> SplitResult:
    if count < 1:
        raise ToolError("--calibration-count must be at least 1", 2)
    source = Path(source)
    if not source.is_dir():
        raise ToolError(f"image folder {source} does not exist; name a folder that holds images", 2)
    layout = dataset_layout(source)
    if layout not in (ONE_SET, CLASS_FOLDERS):
        raise ToolError(
            f"{source} holds several image sets (sub-folders with their own ground truth); split one of them", 2
        )
    _check_out(Path(out))
    excluded = _names_in(exclude)
    labels: dict[str, int] = {}
    classes = 0
    if layout == CLASS_FOLDERS:
        calibration, evaluation, classes = _class_folders(source, count, excluded)
    else:
        calibration, evaluation, labels = _flat(source, count, excluded)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for part, images in (("calibration", calibration), ("evaluation", evaluation)):
        _link(staging / part, source, images)
        if layout == ONE_SET:
            _val_txt(staging / part, images, labels)
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return SplitResult(out / "calibration", out / "evaluation", len(calibration), len(evaluation), classes)
