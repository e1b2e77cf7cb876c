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
        names=[p.name for _, p in chosen],
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


def overlapping(record: CalibrationRecord, images: list[Path]) -> list[Path]:
    names, hashes = set(record.names), set(record.sha256)
    return [p for p in images if p.name in names or sha256_of(p) in hashes]
