"""Images in: decode with OpenCV, apply the model's geometry, and shape for the IR or the original.

The IR takes BGR u8 NCHW (its mean/scale/channel order are baked in). The original framework gets
the same pixels, converted here with the catalogue's normalisation, so the two are comparable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from omz_mobilenet.catalogue.schema import Geometry, ModelEntry
from omz_mobilenet.errors import ToolError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
# Bounds memory for hostile inputs (a JPEG can claim 65535x65535); ImageNet images are far smaller.
MAX_PIXELS = 80_000_000


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ToolError(f"dataset folder {folder} does not exist; pass a folder of images with --dataset", 2)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ToolError(f"dataset folder {folder} has no images (.jpg/.jpeg/.png/...)", 2)
    return files[:limit] if limit else files


def decode_bgr(path: Path) -> np.ndarray:
    """HxWx3 BGR u8. Grayscale, CMYK and alpha images come out as 3-channel BGR."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    if data is None:
        raise ToolError(f"image {path} is missing", 2)
    if data.size == 0:
        raise ToolError(f"image {path} is empty (0 bytes)", 2)
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if header is not None and header.size * 64 > MAX_PIXELS:
        raise ToolError(f"image {path} is too large (over {MAX_PIXELS} pixels)", 2)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ToolError(f"image {path} cannot be decoded (corrupt, truncated or not an image)", 2)
    return image


def apply_geometry(image: np.ndarray, geometry: Geometry, size: int) -> np.ndarray:
    """Crop and resize to size x size exactly as the model's accuracy config says."""
    import cv2

    interpolation = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC}[geometry.interpolation]
    h, w = image.shape[:2]
    if geometry.kind == "central_crop":
        # tf.image.central_crop: integer start offsets, then the remaining centre.
        top = int((h - h * geometry.central_fraction) / 2)
        left = int((w - w * geometry.central_fraction) / 2)
        image = image[top : h - top, left : w - left]
        return cv2.resize(image, (size, size), interpolation=interpolation)
    scale = geometry.resize_short / min(h, w)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return image[top : top + size, left : left + size]


def load_for_model(path: Path, entry: ModelEntry) -> np.ndarray:
    """size x size x 3 BGR u8: the pixels both the IR and the original see."""
    return apply_geometry(decode_bgr(path), entry.preprocessing, entry.resolution)


def ir_input(images_bgr: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """N x 3 x H x W u8 for the baked IR."""
    batch = np.ascontiguousarray(np.stack(list(images_bgr)).transpose(0, 3, 1, 2))
    return batch


def original_input(images_bgr: list[np.ndarray] | np.ndarray, entry: ModelEntry) -> np.ndarray:
    """What the original framework expects: its layout, colour order, normalisation and dtype."""
    spec = entry.original_input
    batch = np.stack(list(images_bgr))
    if spec.color == "RGB":
        batch = batch[..., ::-1]
    if spec.mean is not None or spec.scale is not None:
        values = batch.astype(np.float32)
        if spec.mean is not None:
            values = values - np.asarray(spec.mean, dtype=np.float32)
        if spec.scale is not None:
            values = values / np.asarray(spec.scale, dtype=np.float32)
    else:
        values = batch
    dtype = {"f32": np.float32, "u8": np.uint8, "i8": np.int8}[spec.element_type]
    if spec.element_type != "f32":
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    values = values.astype(dtype)
    if spec.layout == "NCHW":
        values = values.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(values)
