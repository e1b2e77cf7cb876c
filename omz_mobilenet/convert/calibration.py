"""Calibration images: a deterministic subset of a folder, fingerprinted so evaluation can refuse them.

Any folder of images will do, at any depth (an ImageFolder, a split's part, a plain folder): calibration
needs no labels. The subset is chosen by sorting on content sha256, so it does not depend on file
names or directory order. Every calibration image is recorded by sha256 and file name: a re-encoded copy of
the same ILSVRC image (same name, different bytes) still counts as overlap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import images_under

SIDECAR_SUFFIX = ".calibration.json"


@dataclass(frozen=True)
class CalibrationRecord:
    folder: str
    requested: int
    used: int
    available: int
    sha256: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    # INT8-RQ with a margin (convert/requant_margin.py): the held-out images that chose what stays float
    # (refused for evaluation like calibration images) and what the margin work found
    validation_sha256: list[str] = field(default_factory=list)
    validation_names: list[str] = field(default_factory=list)
    requant_margin: Optional[dict[str, Any]] = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def calibration_images(folder: Path) -> list[Path]:
    """The images of a calibration folder and its sub-folders (an ImageFolder, a split's part, any tree
    of images), or a one-line error naming --calibration (the flag that gave it; the image-set
    messages name --dataset). Calibration needs no labels, so any folder of images will do."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ToolError(f"calibration folder {folder} does not exist; pass a folder of images with --calibration", 2)
    files = images_under(folder)
    if not files:
        raise ToolError(
            f"calibration folder {folder} has no images (.jpg/.jpeg/.png/...), nor has any sub-folder; "
            "pass a folder of images with --calibration",
            2,
        )
    return files


def record_name(path: Path, folder: Path) -> str:
    """How the record names a calibration image: its file name when it is directly in the folder (as
    ever), `<its folder>/<file name>` when it is below it (a class folder: IMG_0001.jpg recurs across
    classes, so the name alone does not identify the image there)."""
    return path.name if Path(path).parent == Path(folder) else f"{Path(path).parent.name}/{Path(path).name}"


def select_calibration(
    folder: Path, subset_size: int, log: Callable[[str], None] = lambda _m: None
) -> tuple[list[Path], CalibrationRecord]:
    if subset_size < 1:
        raise ToolError("--calibration-limit must be at least 1", 2)
    files = calibration_images(folder)
    hashed = sorted(((sha256_of(p), p) for p in files), key=lambda item: item[0])
    chosen = hashed[:subset_size]
    if subset_size > len(files):
        log(
            f"[yellow]calibration folder {folder} has {len(files)} images, fewer than --calibration-limit {subset_size}: using all {len(files)}[/]"
        )
    record = CalibrationRecord(
        folder=str(folder),
        requested=subset_size,
        used=len(chosen),
        available=len(files),
        sha256=[h for h, _ in chosen],
        names=[record_name(p, folder) for _, p in chosen],
    )
    return [p for _, p in chosen], record


def remaining_images(folder: Path, record: CalibrationRecord) -> list[Path]:
    """Images of the calibration folder that calibration did not use (a held-out validation split)."""
    used = set(record.sha256)
    return [p for p in calibration_images(folder) if sha256_of(p) not in used]


def sidecar_path(xml: Path) -> Path:
    return Path(xml).with_name(Path(xml).stem + SIDECAR_SUFFIX)


def read_record(xml: Path) -> CalibrationRecord | None:
    """The calibration record of an INT8 IR (sidecar JSON), or None for IRs that were not calibrated."""
    path = sidecar_path(xml)
    if not path.is_file():
        return None
    try:
        return CalibrationRecord(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ToolError(f"{path}: unreadable calibration record ({exc}); convert the INT8 IR again", 2) from None


def margin_summary(margin: Optional[dict[str, Any]]) -> Optional[str]:
    """One line on how an INT8-RQ IR was checked against the original (its record's `requant_margin`), for
    `info`: the method, the two Top-1 values and the verdict; None for IRs with no margin record."""
    if not margin:
        return None
    if not margin.get("checked") or margin.get("top1") is None:
        return f"{margin.get('method')}: UNCHECKED (no labelled held-out images in the calibration folder)"
    verdict = "within" if margin.get("within") else "NOT within"
    text = (
        f"{margin['method']}: Top-1 {margin['top1']:.2f} against the original's {margin['original_top1']:.2f} "
        f"({margin.get('original_runtime')}) on {margin.get('validation_images')} held-out images: {verdict} "
        f"{margin.get('max_drop')} points"
    )
    kept = margin.get("kept_float") or []
    return text + (f"; kept in float: {len(kept)} layer(s)" if kept else "")


def overlapping(record: CalibrationRecord, images: list[Path]) -> list[Path]:
    """The images that calibrated (or validated an INT8-RQ margin): the same bytes, or the same file name (a re-encoded copy of the same
    ILSVRC image). A name recorded below a class folder counts for an image of the same class folder, or
    of a folder that is none of the calibration's classes (a flat image set); in another of its class
    folders it is another photo that happens to share a camera's file name."""
    hashes = set(record.sha256) | set(record.validation_sha256)
    seen = [*record.names, *record.validation_names]  # the margin's validation images chose the IR too
    flat = {name for name in seen if "/" not in name}
    nested = {tuple(name.rsplit("/", 1)) for name in seen if "/" in name}
    classes = {folder for folder, _name in nested}
    nested_names = {name for _folder, name in nested}

    def same_name(path: Path) -> bool:
        if path.name in flat:
            return True
        if path.name not in nested_names:
            return False
        return path.parent.name not in classes or (path.parent.name, path.name) in nested

    return [p for p in images if same_name(p) or sha256_of(p) in hashes]
