"""Labelled image sets: what `--dataset DIR` (and `--annotations FILE`) mean, and the images and labels of each set.

`--dataset DIR` is read by one rule, in this order (`dataset_layout`):
1. `--annotations FILE.csv`: DIR is one image set, the images the CSV lists (paths relative to DIR,
   sub-folders allowed), labelled by class name or by 0-based index into the model's labels file.
2. DIR holds images itself: one image set (ImageNet ground truth: `--annotations` val.txt/FILES.tsv,
   else val.txt / FILES.tsv found in DIR, its parents or their `labels/` folders).
3. `--annotations` val.txt/FILES.tsv is given, or ground truth is found for DIR (val.txt / FILES.tsv
   / labels/val.txt in DIR) or for one of its image sub-folders as in 2: DIR is a parent of image
   sets (like `imagenet/`), each sub-folder holding images is one set.
4. otherwise DIR is an ImageFolder: each sub-folder (hidden ones aside) is a class named by the
   folder's name, its images anywhere below it. A class folder without images is an error.
A set's labels index the model's labels file (ImageNet sets, a CSV of indices: `class_names` None)
or the set's own `class_names` (an ImageFolder, a CSV of names); inputs/labels.py maps either to a
model's outputs. Ground-truth parsing lives in inputs/ground_truth.py (its names are re-exported here).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from itertools import chain, zip_longest
from pathlib import Path
from typing import Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.ground_truth import (
    ANNOTATION_NAMES,
    NUM_CLASSES,
    SEARCH_LEVELS,
    TSV_LABEL_COLUMN,
    TSV_NAME_COLUMN,
    Annotations,
    CsvAnnotations,
    find_annotations,
    is_csv,
    load_annotations,
    parse_csv,
    parse_files_tsv,
    parse_val_txt,
)
from omz_mobilenet.inputs.images import IMAGE_SUFFIXES

__all__ = [
    "ANNOTATION_NAMES",
    "BIASED_SETS",
    "CLASS_FOLDERS",
    "IMAGE_SETS",
    "NUM_CLASSES",
    "ONE_SET",
    "SEARCH_LEVELS",
    "TSV_LABEL_COLUMN",
    "TSV_NAME_COLUMN",
    "Annotations",
    "CsvAnnotations",
    "ImageSet",
    "dataset_layout",
    "discover_image_folders",
    "find_annotations",
    "image_list_sha256",
    "images_under",
    "load_annotations",
    "load_image_set",
    "load_image_sets",
    "parse_csv",
    "parse_files_tsv",
    "parse_val_txt",
    "relative_name",
    "to_model_label",
]

# What `--dataset DIR` is (module docstring): one image set, a parent of image sets, an ImageFolder.
ONE_SET, IMAGE_SETS, CLASS_FOLDERS = "one image set", "image sets", "class folders"


@dataclass
class ImageSet:
    name: str
    folder: Path
    items: list[tuple[Path, int]]  # (image, label), sorted by the image's path relative to `folder`
    annotations: Path  # the ground-truth file; an ImageFolder's own folder
    problems: list[str] = field(default_factory=list)  # skipped with --skip-bad-images
    # None: labels index the model's labels file (ImageNet sets, a CSV of indices). Else labels index
    # these names (an ImageFolder's sub-folders, a CSV of names), mapped to a model by inputs/labels.py.
    class_names: Optional[tuple[str, ...]] = None

    @property
    def list_sha256(self) -> str:
        return image_list_sha256(self.items, self.folder, self.class_names)


def relative_name(path: Path, folder: Path) -> str:
    """An image's name within its set: the path below the set's folder (the file name in a flat set)."""
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return Path(path).name


def to_model_label(label: int, classes: int) -> int:
    """A 0-based ImageNet label in a 1000/1001-class model's outputs (benchmarks and tests use it; a run
    maps any set to any model with inputs/labels.output_labels, which gives the same for these)."""
    if not 0 <= label < NUM_CLASSES:
        raise ToolError(f"label {label} is outside 0..{NUM_CLASSES - 1}", 2)
    if classes in (NUM_CLASSES, NUM_CLASSES + 1):
        return label + (1 if classes == NUM_CLASSES + 1 else 0)
    raise ToolError(f"a model with {classes} classes has no ImageNet label mapping (1000 or 1001 expected)", 2)


def image_list_sha256(
    items: list[tuple[Path, int]], folder: Optional[Path] = None, class_names: Optional[tuple[str, ...]] = None
) -> str:
    """Identifies an image set by its image names, byte sizes and labels (cheap: no image reads).

    A stored per-subset reference is only valid for the very same list; sizes catch re-encoded files.
    Names are relative to the set's folder (the file name in a flat set, so ImageNet sets hash as they
    always did); a class-named set hashes the class name, not its index.
    """
    digest = hashlib.sha256()
    named = [(relative_name(path, folder) if folder else path.name, path, label) for path, label in items]
    for name, path, label in sorted(named, key=lambda item: item[0]):
        size = path.stat().st_size if path.is_file() else -1
        text = class_names[label] if class_names is not None else label
        digest.update(f"{name}\t{size}\t{text}\n".encode())
    return digest.hexdigest()


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _has_images(folder: Path) -> bool:
    return any(_is_image(p) for p in folder.iterdir())


def images_under(folder: Path) -> list[Path]:
    """Every image below `folder`, any depth, hidden folders left out, sorted by relative path."""
    found = []
    for dirpath, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(dirpath) / name for name in files if _is_image(Path(dirpath) / name)]
    return sorted(found, key=lambda p: relative_name(p, folder))


def _sub_folders(dataset: Path) -> list[Path]:
    return sorted(p for p in dataset.iterdir() if p.is_dir() and not p.name.startswith("."))


def _has_ground_truth(dataset: Path) -> bool:
    """Rule 3 of the module docstring: ground truth for DIR itself or for one of its image sub-folders."""
    if any((dataset / name).is_file() for name in ANNOTATION_NAMES) or (dataset / "labels" / "val.txt").is_file():
        return True
    for sub in _sub_folders(dataset):
        if _has_images(sub):
            try:
                find_annotations(sub)
                return True
            except ToolError:
                continue
    return False


def dataset_layout(dataset: Path, annotations: Optional[Path] = None) -> str:
    """ONE_SET, IMAGE_SETS or CLASS_FOLDERS, by the rule of the module docstring."""
    dataset = Path(dataset)
    if not dataset.is_dir():
        raise ToolError(
            f"dataset folder {dataset} does not exist; pass a folder of images (or of image folders) with --dataset", 2
        )
    if is_csv(annotations) or _has_images(dataset):
        return ONE_SET
    if annotations is not None or _has_ground_truth(dataset):
        return IMAGE_SETS
    if _sub_folders(dataset):
        return CLASS_FOLDERS
    raise ToolError(
        f"no images in {dataset} (.jpg/.jpeg/.png/...), nor in a subfolder; name a folder that holds images", 2
    )


def discover_image_folders(dataset: Path, annotations: Optional[Path] = None) -> list[Path]:
    """The folders that are image sets: DIR itself, or (a parent like `imagenet/`) its image sub-folders."""
    dataset = Path(dataset)
    if dataset_layout(dataset, annotations) != IMAGE_SETS:
        return [dataset]
    folders = [p for p in _sub_folders(dataset) if _has_images(p)]
    if not folders:
        raise ToolError(
            f"no images in {dataset} (.jpg/.jpeg/.png/...), nor in a subfolder; name a folder that holds images",
            2,
        )
    return folders


def _used_names(folder: Path, annotations: Annotations, limit: Optional[int]) -> tuple[list[str], set[str]]:
    """The file names an image set uses, sorted (the first `limit` only), and those present on disk.

    With a per-folder image list (FILES.tsv / val.txt inside the folder), listed files count too, so a
    listed file that is missing among the first N names is reported rather than silently replaced.
    """
    present = {p.name for p in folder.iterdir() if _is_image(p)}
    names = present | set(annotations.labels) if annotations.is_image_list else present
    used = sorted(names)
    return (used[:limit] if limit else used), present


def _refuse_or_keep(problems: list[str], skip_bad: bool) -> list[str]:
    if problems and not skip_bad:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ToolError(f"{problems[0]}{more}; fix the data or pass --skip-bad-images", 2)
    return problems


def _match(
    folder: Path, annotations: Annotations, skip_bad: bool, limit: Optional[int] = None
) -> tuple[list[tuple[Path, int]], list[str]]:
    """Pair every used image with its label; unlabelled images and listed-but-missing files are problems.
    Only the images used (the first `limit` by name) are checked: the rest of the folder does not matter."""
    names, present = _used_names(folder, annotations, limit)
    items, unlabelled, missing = [], [], []
    for name in names:
        if name not in present:
            missing.append(f"{folder / name}: listed in {annotations.path} but missing")
        elif name in annotations.labels:
            items.append((folder / name, annotations.labels[name]))
        else:
            unlabelled.append(f"{folder / name}: no annotation in {annotations.path}")
    return items, _refuse_or_keep(unlabelled + missing, skip_bad)


def _imagenet_set(folder: Path, annotations_file: Optional[Path], skip_bad: bool, subset: Optional[int]) -> ImageSet:
    if not _has_images(folder):
        raise ToolError(f"no images in {folder} (.jpg/.jpeg/.png/...); name a folder that holds images", 2)
    path = Path(annotations_file) if annotations_file else find_annotations(folder)
    annotations = load_annotations(path, image_folder=folder)
    items, problems = _match(folder, annotations, skip_bad, subset)
    if not items:
        raise ToolError(f"{folder}: no image has a label in {path}", 2)
    return ImageSet(name=folder.name, folder=folder, items=items, annotations=path, problems=problems)


def _csv_set(folder: Path, path: Path, skip_bad: bool, subset: Optional[int]) -> ImageSet:
    """The images a CSV lists (the first `subset` by path); a listed file that is missing is a problem."""
    annotations = parse_csv(path)
    names = sorted(annotations.labels)[:subset] if subset else sorted(annotations.labels)
    missing = [f"{folder / name}: listed in {path} but missing" for name in names if not (folder / name).is_file()]
    problems = _refuse_or_keep(missing, skip_bad)
    items = [(folder / name, annotations.labels[name]) for name in names if (folder / name).is_file()]
    if not items:
        raise ToolError(f"{folder}: none of the images {path} lists is there", 2)
    return ImageSet(folder.name, folder, items, path, problems, annotations.class_names)


def _class_folder_set(folder: Path, subset: Optional[int]) -> ImageSet:
    """An ImageFolder: class = sub-folder. `subset` takes images from the classes in turn (the first of
    each class, then the second, ...) so a limited set keeps every class."""
    classes = _sub_folders(folder)
    per_class = []
    for index, class_folder in enumerate(classes):
        images = images_under(class_folder)
        if not images:
            raise ToolError(
                f"class folder {class_folder} holds no images (.jpg/.jpeg/.png/...); add its images or remove it", 2
            )
        per_class.append([(image, index) for image in images])
    items = [item for item in chain.from_iterable(zip_longest(*per_class)) if item is not None]
    chosen = items[:subset] if subset else items
    chosen.sort(key=lambda item: relative_name(item[0], folder))
    return ImageSet(folder.name, folder, chosen, folder, [], tuple(c.name for c in classes))


def load_image_set(
    folder: Path, annotations_file: Optional[Path] = None, skip_bad: bool = False, subset: Optional[int] = None
) -> ImageSet:
    """The labelled images of one set (the first `subset`), sorted by path: an ImageNet folder, the
    images a CSV lists, or an ImageFolder (module docstring)."""
    folder = Path(folder)
    layout = dataset_layout(folder, annotations_file)
    if is_csv(annotations_file):
        return _csv_set(folder, Path(str(annotations_file)), skip_bad, subset)
    if layout == CLASS_FOLDERS:
        return _class_folder_set(folder, subset)
    return _imagenet_set(folder, annotations_file, skip_bad, subset)


def load_image_sets(
    dataset: Path, annotations_file: Optional[Path] = None, skip_bad: bool = False, subset: Optional[int] = None
) -> list[ImageSet]:
    """Every image set of `--dataset` (module docstring)."""
    folders = discover_image_folders(dataset, annotations_file)
    return [load_image_set(folder, annotations_file, skip_bad, subset) for folder in folders]


# Image sets whose accuracy must not be read as ImageNet accuracy (MANIFEST section 3).
BIASED_SETS = {
    "val_1300_resized_227": "biased subset (easy images, pre-resized to 227x227): good for regression gating, not for absolute accuracy",
}
