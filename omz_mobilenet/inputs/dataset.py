"""Labelled image sets: ground-truth files (val.txt, FILES.tsv), image-set discovery, label mapping.

Ground truth is ImageNet's 0-based 1000-class index (the line of synset_words.txt). A model with
1001 outputs (TF-slim: index 0 = background) sees label + 1; a 1000-class model sees it as is.
Every problem names the file and line, because a silently wrong label costs accuracy unnoticed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.images import IMAGE_SUFFIXES

NUM_CLASSES = 1000
ANNOTATION_NAMES = ("val.txt", "FILES.tsv")
TSV_NAME_COLUMN = "filename"
TSV_LABEL_COLUMN = "label_1000cls_0based"
# How far up from an image folder to look for ground truth (`imagenet/<set>/` -> `imagenet/labels/`).
SEARCH_LEVELS = 3


@dataclass(frozen=True)
class Annotations:
    """file name -> 0-based ImageNet label, and where each came from (for messages)."""

    path: Path
    labels: dict[str, int]
    # True when the file lists exactly one folder's images (FILES.tsv / val.txt inside the folder):
    # then a listed image that is missing is an error. A global val.txt lists all 50,000.
    is_image_list: bool = False


@dataclass
class ImageSet:
    name: str
    folder: Path
    items: list[tuple[Path, int]]  # (image, 0-based ImageNet label), sorted by file name
    annotations: Path
    problems: list[str] = field(default_factory=list)  # skipped with --skip-bad-images
    # None: labels index the model's labels file (ImageNet sets). Else labels index these names (an
    # ImageFolder's sub-folders, a CSV of names), mapped to a model by inputs/labels.py.
    class_names: Optional[tuple[str, ...]] = None

    @property
    def list_sha256(self) -> str:
        return image_list_sha256(self.items)


def to_model_label(label: int, classes: int) -> int:
    """Map a 0-based ImageNet label into a model's output space (1001 classes: background first)."""
    if not 0 <= label < NUM_CLASSES:
        raise ToolError(f"label {label} is outside 0..{NUM_CLASSES - 1}", 2)
    if classes == NUM_CLASSES + 1:
        return label + 1
    if classes == NUM_CLASSES:
        return label
    raise ToolError(f"a model with {classes} classes has no ImageNet label mapping (1000 or 1001 expected)", 2)


def image_list_sha256(items: list[tuple[Path, int]]) -> str:
    """Identifies an image set by its file names, byte sizes and labels (cheap: no image reads).

    A stored per-subset reference is only valid for the very same list; sizes catch re-encoded files.
    """
    digest = hashlib.sha256()
    for path, label in sorted(items, key=lambda item: item[0].name):
        size = path.stat().st_size if path.is_file() else -1
        digest.update(f"{path.name}\t{size}\t{label}\n".encode())
    return digest.hexdigest()


def _label(text: str, path: Path, number: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ToolError(f"{path}:{number}: label {text!r} is not an integer", 2) from None
    if not 0 <= value < NUM_CLASSES:
        raise ToolError(f"{path}:{number}: label {value} is out of range 0..{NUM_CLASSES - 1} (0-based ImageNet)", 2)
    return value


def _add(labels: dict[str, int], name: str, value: int, path: Path, number: int) -> None:
    if name in labels and labels[name] != value:
        raise ToolError(
            f"{path}:{number}: {name} is listed again with a different label ({labels[name]} before, {value} now)", 2
        )
    labels[name] = value


def parse_val_txt(path: Path) -> dict[str, int]:
    """Caffe/ILSVRC form: `ILSVRC2012_val_00000001.JPEG 65` per line; blank lines and # comments ok."""
    labels: dict[str, int] = {}
    for number, line in enumerate(_read_lines(path), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        if len(parts) != 2:
            raise ToolError(f"{path}:{number}: expected `<image file> <0-based label>`, got {text[:80]!r}", 2)
        _add(labels, Path(parts[0]).name, _label(parts[1], path, number), path, number)
    return labels


def parse_files_tsv(path: Path) -> dict[str, int]:
    """The assets' FILES.tsv: a header with `filename` and `label_1000cls_0based`, tab-separated."""
    lines = _read_lines(path)
    header = lines[0].rstrip("\n").split("\t") if lines else []
    if TSV_NAME_COLUMN not in header or TSV_LABEL_COLUMN not in header:
        raise ToolError(f"{path}:1: header must name the columns {TSV_NAME_COLUMN!r} and {TSV_LABEL_COLUMN!r}", 2)
    name_at, label_at = header.index(TSV_NAME_COLUMN), header.index(TSV_LABEL_COLUMN)
    labels: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.rstrip("\n").split("\t")
        if len(cells) <= max(name_at, label_at):
            raise ToolError(f"{path}:{number}: expected {len(header)} tab-separated columns, got {len(cells)}", 2)
        _add(labels, cells[name_at], _label(cells[label_at].strip(), path, number), path, number)
    return labels


def _read_lines(path: Path) -> list[str]:
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the first file name
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise ToolError(f"annotation file {path} does not exist", 2) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(f"cannot read annotation file {path}: {exc}", 2) from None


def load_annotations(path: Path, image_folder: Optional[Path] = None) -> Annotations:
    path = Path(path)
    labels = parse_files_tsv(path) if path.suffix.lower() == ".tsv" else parse_val_txt(path)
    if not labels:
        raise ToolError(f"annotation file {path} has no entries", 2)
    local = image_folder is not None and path.parent.resolve() == Path(image_folder).resolve()
    return Annotations(path=path, labels=labels, is_image_list=local)


def find_annotations(folder: Path) -> Path:
    """val.txt or FILES.tsv in the image folder, else in a parent or a parent's `labels/`."""
    folder = Path(folder).resolve()
    candidates = []
    for level, base in enumerate([folder, *folder.parents]):
        if level >= SEARCH_LEVELS:
            break
        candidates += [base / name for name in ANNOTATION_NAMES] + [base / "labels" / "val.txt"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ToolError(
        f"no ground truth found for {folder}: looked for val.txt / FILES.tsv there and in its parents "
        "(and their labels/ folders); pass --annotations FILE",
        2,
    )


def _has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in folder.iterdir())


def discover_image_folders(dataset: Path) -> list[Path]:
    """One image folder, or a parent (like `imagenet/`) whose image subfolders are separate sets."""
    dataset = Path(dataset)
    if not dataset.is_dir():
        raise ToolError(
            f"dataset folder {dataset} does not exist; pass a folder of images (or of image folders) with --dataset", 2
        )
    if _has_images(dataset):
        return [dataset]
    folders = sorted(p for p in dataset.iterdir() if p.is_dir() and _has_images(p))
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
    present = {p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}
    names = present | set(annotations.labels) if annotations.is_image_list else present
    used = sorted(names)
    return (used[:limit] if limit else used), present


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
    problems = unlabelled + missing
    if problems and not skip_bad:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ToolError(f"{problems[0]}{more}; fix the data or pass --skip-bad-images", 2)
    return items, problems


def load_image_set(
    folder: Path, annotations_file: Optional[Path] = None, skip_bad: bool = False, subset: Optional[int] = None
) -> ImageSet:
    """The labelled images of one folder (the first `subset` by name), sorted by file name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ToolError(f"dataset folder {folder} does not exist; name a folder that holds images", 2)
    if not _has_images(folder):
        raise ToolError(f"no images in {folder} (.jpg/.jpeg/.png/...); name a folder that holds images", 2)
    path = Path(annotations_file) if annotations_file else find_annotations(folder)
    annotations = load_annotations(path, image_folder=folder)
    items, problems = _match(folder, annotations, skip_bad, subset)
    if not items:
        raise ToolError(f"{folder}: no image has a label in {path}", 2)
    return ImageSet(name=folder.name, folder=folder, items=items, annotations=path, problems=problems)


def load_image_sets(
    dataset: Path, annotations_file: Optional[Path] = None, skip_bad: bool = False, subset: Optional[int] = None
) -> list[ImageSet]:
    return [load_image_set(folder, annotations_file, skip_bad, subset) for folder in discover_image_folders(dataset)]


# Image sets whose accuracy must not be read as ImageNet accuracy (MANIFEST section 3).
BIASED_SETS = {
    "val_1300_resized_227": "biased subset (easy images, pre-resized to 227x227): good for regression gating, not for absolute accuracy",
}
