"""The folder accuracy_checker's `-s/--source` expects for one image set, made from our ground truth.

The generated configs say `data_source: ILSVRC2012_img_val` and `annotation_file: val.txt`, both
relative to `-s ROOT`. accuracy_checker stops at the first listed image that is missing, so the
global 50,000-line val.txt does not work on an image subset (FACTS section 7): ROOT/val.txt must list
exactly the images present. The images are symlinked (absolute targets), never copied.

ROOT is built in a hidden sibling folder and renamed into place at the end, so a failure never
leaves a half-written ROOT behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet, load_image_set

IMAGES_DIR = "ILSVRC2012_img_val"  # the configs' data_source
ANNOTATION_FILE = "val.txt"  # the configs' annotation_conversion.annotation_file
LAYOUT = {IMAGES_DIR, ANNOTATION_FILE}


@dataclass(frozen=True)
class AcDataset:
    root: Path
    image_set: ImageSet

    @property
    def images(self) -> int:
        return len(self.image_set.items)


def accuracy_check_command(model: str, root: Path, ir_dir: Path = Path("ir")) -> str:
    """The accuracy_checker command line for a generated config on this root (IRs as `convert` lays them out)."""
    return f"accuracy_check -c accuracy_checker_configs/{model}.yml -m {ir_dir}/ -s {root}"


def val_txt(image_set: ImageSet) -> str:
    """`<file name> <0-based label>` per image, sorted by name: the imagenet converter's input."""
    return "".join(f"{path.name} {label}\n" for path, label in sorted(image_set.items, key=lambda item: item[0].name))


def _check_target(root: Path, force: bool) -> None:
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise ToolError(f"--out {root} exists and is not a folder; choose another path", 2)
    if not root.exists() or not any(root.iterdir()):
        return
    if not force:
        raise ToolError(f"--out {root} exists and is not empty; choose a new folder or pass --force to replace it", 2)
    if {p.name for p in root.iterdir()} != LAYOUT:
        # --force only ever replaces what this command wrote: never delete an unrelated folder.
        raise ToolError(
            f"--out {root} does not look like an ac-dataset folder ({IMAGES_DIR}/ and {ANNOTATION_FILE} only); "
            "refusing to replace it even with --force",
            2,
        )


def _populate(staging: Path, image_set: ImageSet) -> None:
    images = staging / IMAGES_DIR
    images.mkdir()
    for path, _label in image_set.items:
        (images / path.name).symlink_to(path.resolve())
    (staging / ANNOTATION_FILE).write_text(val_txt(image_set), encoding="utf-8")


def _swap_in(staging: Path, root: Path) -> None:
    """Rename staging to root; an old root (checked by _check_target) is moved aside first, then removed."""
    old = None
    if root.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
        os.replace(root, old / root.name)
    try:
        os.replace(staging, root)
    except OSError:
        if old is not None:
            os.replace(old / root.name, root)  # put the previous folder back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_ac_dataset(
    images_dir: Path, root: Path, annotations: Optional[Path] = None, skip_unlabelled: bool = False, force: bool = False
) -> AcDataset:
    """ROOT/ILSVRC2012_img_val/ (symlinks) + ROOT/val.txt for the labelled images of images_dir."""
    images_dir, root = Path(images_dir), Path(root)
    if not images_dir.is_dir():
        raise ToolError(f"image folder {images_dir} does not exist; pass a folder of labelled ImageNet images", 2)
    image_set = load_image_set(images_dir, annotations, skip_bad=skip_unlabelled)
    _check_target(root, force)
    parent = root.absolute().parent
    if not parent.is_dir():
        raise ToolError(f"--out {root}: parent folder {parent} does not exist", 2)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=parent))
    except OSError as exc:
        raise ToolError(f"--out {root}: cannot write in {parent}: {exc.strerror}", 2) from None
    try:
        _populate(staging, image_set)
        _swap_in(staging, root)
    except OSError as exc:
        raise ToolError(f"--out {root}: cannot write the accuracy_checker layout: {exc.strerror or exc}", 2) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return AcDataset(root, image_set)
