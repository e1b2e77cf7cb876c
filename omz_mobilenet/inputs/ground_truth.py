"""Ground-truth files: ImageNet's val.txt and FILES.tsv, and a CSV of `filename,label`.

ImageNet files hold 0-based 1000-class indices (the line of synset_words.txt). A CSV holds, per
image (a path relative to the image folder, sub-folders allowed), either a class name or a 0-based
index into the model's labels file: when every label is an integer the file is read as indices,
else as names (a file mixing both is refused). Every problem names the file and line, because a
silently wrong label costs accuracy unnoticed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

from omz_mobilenet.errors import ToolError

NUM_CLASSES = 1000
ANNOTATION_NAMES = ("val.txt", "FILES.tsv")
TSV_NAME_COLUMN = "filename"
TSV_LABEL_COLUMN = "label_1000cls_0based"
CSV_COLUMNS = ("filename", "label")
# How far up from an image folder to look for ground truth (`imagenet/<set>/` -> `imagenet/labels/`).
SEARCH_LEVELS = 3
INTEGER = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class Annotations:
    """file name -> 0-based ImageNet label, and where each came from (for messages)."""

    path: Path
    labels: dict[str, int]
    # True when the file lists exactly one folder's images (FILES.tsv / val.txt inside the folder):
    # then a listed image that is missing is an error. A global val.txt lists all 50,000.
    is_image_list: bool = False


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


@dataclass(frozen=True)
class CsvAnnotations:
    """A CSV's rows: relative image path -> label. `class_names` None: the labels are 0-based indices
    into the model's labels file; else each label indexes these names (sorted)."""

    path: Path
    labels: dict[str, int]
    class_names: Optional[tuple[str, ...]]


def is_csv(path: Optional[Path]) -> bool:
    return path is not None and Path(path).suffix.lower() == ".csv"


def _csv_rows(path: Path) -> list[tuple[int, str, str]]:
    """(line, filename, label) per row; the header must be exactly the columns `filename,label`."""
    try:
        rows = list(csv.reader(_read_lines(path)))
    except csv.Error as exc:
        raise ToolError(
            f"{path}: not a CSV file ({exc}); write a `filename,label` header and one row per image", 2
        ) from None
    header = [cell.strip() for cell in rows[0]] if rows else []
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise ToolError(f"{path}:1: unknown column {unknown[0]!r}; the header must be `filename,label`", 2)
    if sorted(header) != sorted(CSV_COLUMNS):
        raise ToolError(f"{path}:1: the header must name the columns `filename,label` once each, got {header}", 2)
    name_at, label_at = header.index("filename"), header.index("label")
    found = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 2:
            raise ToolError(f"{path}:{number}: expected 2 comma-separated columns, got {len(cells)}", 2)
        found.append((number, _relative_name(cells[name_at].strip(), path, number), cells[label_at].strip()))
    return found


def _relative_name(name: str, path: Path, number: int) -> str:
    """A CSV file name as a clean relative POSIX path; one outside the image folder is refused."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if not name or pure.is_absolute() or ".." in pure.parts or "\x00" in name:
        raise ToolError(f"{path}:{number}: filename {name!r} must be a path inside the image folder", 2)
    return pure.as_posix()


def parse_csv(path: Path) -> CsvAnnotations:
    """`filename,label` rows: a file listed twice, an empty label or a negative index is an error."""
    path = Path(path)
    rows = _csv_rows(path)
    if not rows:
        raise ToolError(f"annotation file {path} has no entries", 2)
    seen: dict[str, int] = {}
    for number, name, label in rows:
        if name in seen:
            raise ToolError(f"{path}:{number}: {name} is listed again (first at line {seen[name]})", 2)
        if not label:
            raise ToolError(f"{path}:{number}: {name} has an empty label", 2)
        seen[name] = number
    integers = [INTEGER.match(label) is not None for _n, _name, label in rows]
    if all(integers):
        return CsvAnnotations(path, {name: _label_index(label, path, n) for n, name, label in rows}, None)
    if any(integers):
        number, _name, label = rows[integers.index(True)]
        raise ToolError(
            f"{path}:{number}: label {label!r} is an index but other rows name classes; use names or indices", 2
        )
    names = tuple(sorted({label for _n, _name, label in rows}))
    index = {name: i for i, name in enumerate(names)}
    return CsvAnnotations(path, {name: index[label] for _n, name, label in rows}, names)


def _label_index(text: str, path: Path, number: int) -> int:
    value = int(text)
    if value < 0:
        raise ToolError(f"{path}:{number}: label {value} is negative; give a 0-based index into the labels file", 2)
    return value
