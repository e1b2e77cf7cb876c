"""The folder accuracy_checker's `-s/--source` expects for one image set, made from our ground truth.

ImageNet label sets (the built-in models' configs): `data_source: ILSVRC2012_img_val` and
`annotation_file: val.txt`, both relative to `-s ROOT`. accuracy_checker stops at the first listed
image that is missing, so the global 50,000-line val.txt does not work on an image subset (FACTS
section 7): ROOT/val.txt must list exactly the images present. The images are symlinked (absolute
targets), never copied.

A model with its own labels file (`--model NAME`; its config is ac_writer's user form): ROOT/images/,
ROOT/val.txt with each image's index in the model's labels file (an ImageFolder's class folders and a
CSV's class names mapped by inputs/labels.py, refused when the labels file does not name them) and
ROOT/dataset_meta.json with the labels file's names (accuracy_checker's label map). The `imagenet`
converter keeps only an annotation's file name (`Path(name).name`) and splits lines on whitespace,
so an image below a class folder gets a flat name: its relative path with `/` as `__`, whitespace
and `@` as `_`.

ROOT is built in a hidden sibling folder and renamed into place at the end, so a failure never
leaves a half-written ROOT behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from omz_mobilenet.accuracy.ac_format import (
    ANNOTATION_FILE,
    DATASET_META_FILE,
    IMAGENET_IMAGES_DIR,
    USER_IMAGES_DIR,
    config_path,
    entry_configs_dir,
    imagenet_labels,
)
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet, load_image_set, relative_name
from omz_mobilenet.inputs.labels import LabelSpace, label_space, output_labels
from omz_mobilenet.settings import Settings

IMAGES_DIR = IMAGENET_IMAGES_DIR  # the built-in configs' data_source
LAYOUTS = (
    {IMAGENET_IMAGES_DIR, ANNOTATION_FILE},
    {USER_IMAGES_DIR, ANNOTATION_FILE, DATASET_META_FILE},
)
UNSAFE = re.compile(r"[\s@]+")


@dataclass(frozen=True)
class AcLabels:
    """The model an ac-dataset folder is made for: its label space, and which config form it has."""

    model: str
    space: LabelSpace
    imagenet: bool  # the ILSVRC layout (ImageNet label sets), else images/ + dataset_meta.json
    config: Path  # where its accuracy_checker config is (for the command line we print)


@dataclass(frozen=True)
class AcDataset:
    root: Path
    image_set: ImageSet
    images_dir: str = IMAGENET_IMAGES_DIR
    labels: Optional[AcLabels] = None

    @property
    def images(self) -> int:
        return len(self.image_set.items)


def labels_for(entry: ModelEntry, settings: Settings) -> AcLabels:
    """The entry's labels file (fetched into the cache when missing, its count checked) for ac-dataset."""
    return AcLabels(
        entry.name,
        label_space(entry, settings),
        imagenet_labels(entry),
        config_path(entry.name, entry_configs_dir(entry)),
    )


def accuracy_check_command(model: str, root: Path, ir_dir: Path = Path("ir"), config: Optional[Path] = None) -> str:
    """The accuracy_checker command line for a generated config on this root (IRs as `convert` lays them out)."""
    config_text = str(config) if config is not None else f"accuracy_checker_configs/{model}.yml"
    return f"accuracy_check -c {config_text} -m {ir_dir}/ -s {root}"


def flat_name(name: str) -> str:
    """An image's name in ROOT's flat image folder (module docstring)."""
    return UNSAFE.sub("_", name.replace("/", "__"))


def _entries(image_set: ImageSet, labels: Optional[AcLabels]) -> list[tuple[str, Path, int]]:
    """(flat name, image, 0-based index in the model's labels file) per image, sorted by flat name.
    Without a model the set's labels must already be such indices (ImageNet's val.txt / FILES.tsv)."""
    if labels is None:
        if image_set.class_names is not None:
            raise ToolError(
                f"{image_set.folder} names its classes ({image_set.annotations}); pass --model NAME, the model "
                "whose labels file gives their indices",
                2,
            )
        indices = [label for _path, label in image_set.items]
    else:
        shift = 1 if labels.space.background else 0
        indices = [output - shift for output in output_labels(image_set, labels.space)]
    named: dict[str, tuple[Path, int]] = {}
    for (path, _label), index in zip(image_set.items, indices, strict=True):
        name = flat_name(relative_name(path, image_set.folder))
        if name in named:
            raise ToolError(
                f"{named[name][0]} and {path} get the same name {name!r} in the accuracy_checker folder; rename one", 2
            )
        named[name] = (path, index)
    return [(name, path, index) for name, (path, index) in sorted(named.items())]


def val_txt(image_set: ImageSet, labels: Optional[AcLabels] = None) -> str:
    """`<file name> <0-based label>` per image, sorted by name: the imagenet converter's input."""
    return "".join(f"{name} {index}\n" for name, _path, index in _entries(image_set, labels))


def _check_target(root: Path, force: bool) -> None:
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise ToolError(f"--out {root} exists and is not a folder; choose another path", 2)
    if not root.exists() or not any(root.iterdir()):
        return
    if not force:
        raise ToolError(f"--out {root} exists and is not empty; choose a new folder or pass --force to replace it", 2)
    if {p.name for p in root.iterdir()} not in LAYOUTS:
        # --force only ever replaces what this command wrote: never delete an unrelated folder.
        raise ToolError(
            f"--out {root} does not look like an ac-dataset folder ({IMAGES_DIR}/ and {ANNOTATION_FILE}, or "
            f"{USER_IMAGES_DIR}/, {ANNOTATION_FILE} and {DATASET_META_FILE}, only); "
            "refusing to replace it even with --force",
            2,
        )


def _populate(staging: Path, image_set: ImageSet, labels: Optional[AcLabels]) -> str:
    """Write the layout into staging; returns the images folder's name."""
    entries = _entries(image_set, labels)
    user = labels is not None and not labels.imagenet
    images = staging / (USER_IMAGES_DIR if user else IMAGENET_IMAGES_DIR)
    images.mkdir()
    for name, path, _index in entries:
        (images / name).symlink_to(path.resolve())
    (staging / ANNOTATION_FILE).write_text("".join(f"{n} {i}\n" for n, _p, i in entries), encoding="utf-8")
    if user:
        assert labels is not None
        meta = {"labels": list(labels.space.names)}  # the converter puts "background" first itself
        (staging / DATASET_META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return images.name


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
    images_dir: Path,
    root: Path,
    annotations: Optional[Path] = None,
    skip_unlabelled: bool = False,
    force: bool = False,
    labels: Optional[AcLabels] = None,
) -> AcDataset:
    """ROOT for the labelled images of images_dir (an ImageNet folder, an ImageFolder, a CSV's images):
    the ILSVRC layout, or with `labels` of a model with its own labels file the user layout (module docstring)."""
    images_dir, root = Path(images_dir), Path(root)
    if not images_dir.is_dir():
        raise ToolError(f"image folder {images_dir} does not exist; pass a folder of labelled images", 2)
    image_set = load_image_set(images_dir, annotations, skip_bad=skip_unlabelled)
    _entries(image_set, labels)  # every label maps and every name is unique: said before anything is written
    _check_target(root, force)
    parent = root.absolute().parent
    if not parent.is_dir():
        raise ToolError(f"--out {root}: parent folder {parent} does not exist", 2)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=parent))
    except OSError as exc:
        raise ToolError(f"--out {root}: cannot write in {parent}: {exc.strerror}", 2) from None
    try:
        images = _populate(staging, image_set, labels)
        _swap_in(staging, root)
    except OSError as exc:
        raise ToolError(f"--out {root}: cannot write the accuracy_checker layout: {exc.strerror or exc}", 2) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return AcDataset(root, image_set, images, labels)
