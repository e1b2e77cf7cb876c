"""Images in: decode with OpenCV, apply the model's geometry, and shape for the IR or the original.

The IR takes BGR u8 NCHW (its mean/scale/channel order are baked in). The original framework gets
the same pixels, converted here with the catalogue's normalisation, so the two are comparable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from omz_mobilenet.catalogue import Geometry, ModelEntry
from omz_mobilenet.errors import ToolError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
# Bounds memory for hostile inputs (a JPEG can claim 65535x65535); ImageNet images are far smaller.
MAX_PIXELS = 80_000_000


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """The images of `folder` a command uses, sorted by name (the first `limit`); exit 2 when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ToolError(f"dataset folder {folder} does not exist; name a folder that holds images", 2)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ToolError(f"no images in {folder} (.jpg/.jpeg/.png/...); name a folder that holds images", 2)
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


CROP_RULES = ("tf", "accuracy-checker")


def central_crop_box(h: int, w: int, fraction: float, crop_rule: str = "tf") -> tuple[int, int, int, int]:
    """(top, left, height, width) of the central crop under a crop rule.

    tf: tf.image.central_crop, how TF-slim's published numbers were produced: integer start offsets
    int((h - f*h) / 2), then everything up to h - start (one pixel more than accuracy_checker whenever
    h - f*h is not an even integer: 227 -> 199 rows).
    accuracy-checker: its `crop` with `central_fraction` keeps int(f*h) pixels from (h - int(f*h)) // 2
    (227 -> 198 rows), FACTS section 7.
    """
    if crop_rule == "tf":
        top, left = int((h - h * fraction) / 2), int((w - w * fraction) / 2)
        return top, left, h - 2 * top, w - 2 * left
    if crop_rule == "accuracy-checker":
        new_h, new_w = int(h * fraction), int(w * fraction)
        return (h - new_h) // 2, (w - new_w) // 2, new_h, new_w
    raise ToolError(f"unknown crop rule {crop_rule!r}; use one of {', '.join(CROP_RULES)}", 2)


def resized_short_side(h: int, w: int, short_target: int) -> tuple[int, int]:
    """(new_h, new_w) with the short side at short_target and the long side truncated with int(),
    as torchvision's Resize(int) and accuracy_checker's `aspect_ratio_scale: greater` do (round()
    gave different pixels on a quarter of the images)."""
    if h <= w:
        return short_target, int(w * short_target / h)
    return int(h * short_target / w), short_target


def apply_geometry(image: np.ndarray, geometry: Geometry, size: int, crop_rule: str = "tf") -> np.ndarray:
    """Crop and resize to size x size exactly as the model's accuracy config says.

    crop_rule only changes the central_crop pipeline (TF-slim models); resize-short-then-crop (ONNX
    models) is the same in torchvision and accuracy_checker.
    """
    import cv2

    interpolation = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC}[
        geometry.interpolation
    ]
    h, w = image.shape[:2]
    if geometry.kind == "central_crop":
        top, left, crop_h, crop_w = central_crop_box(h, w, geometry.central_fraction, crop_rule)
        image = image[top : top + crop_h, left : left + crop_w]
        return cv2.resize(image, (size, size), interpolation=interpolation)
    if crop_rule not in CROP_RULES:
        raise ToolError(f"unknown crop rule {crop_rule!r}; use one of {', '.join(CROP_RULES)}", 2)
    new_h, new_w = resized_short_side(h, w, geometry.resize_short)
    new_h, new_w = max(size, new_h), max(size, new_w)
    image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return image[top : top + size, left : left + size]


def load_for_model(path: Path, entry: ModelEntry, crop_rule: str = "tf") -> np.ndarray:
    """size x size x 3 BGR u8: the pixels both the IR and the original see."""
    return apply_geometry(decode_bgr(path), entry.preprocessing, entry.resolution, crop_rule)


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
    values: np.ndarray
    if spec.mean is not None or spec.scale is not None:
        values = batch.astype(np.float32)
        if spec.mean is not None:
            values = values - np.asarray(spec.mean, dtype=np.float32)
        if spec.scale is not None:
            values = values / np.asarray(spec.scale, dtype=np.float32)
    else:
        values = batch
    dtype: type = {"f32": np.float32, "u8": np.uint8, "i8": np.int8}[spec.element_type]
    if spec.element_type != "f32":
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    values = values.astype(dtype)
    if spec.layout == "NCHW":
        values = values.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(values)


class DecodedCache:
    """`load_for_model` with memory: each image is decoded and cropped once per geometry (crop kind,
    fraction, size, crop rule), however many IRs share it. Only the `keep` most recent geometries
    are held (a 1,000-image set at 224 x 224 is 150 MB), so a sweep ordered by model stays small."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self._sets: dict[tuple, dict[Path, np.ndarray]] = {}
        self.decoded = 0  # images actually decoded (for tests and benchmarks)

    def __call__(self, path: Path, entry: ModelEntry, crop_rule: str = "tf") -> np.ndarray:
        geometry = (entry.preprocessing.model_dump_json(), entry.resolution, crop_rule)
        images = self._sets.get(geometry)
        if images is None:
            while len(self._sets) >= self.keep:
                self._sets.pop(next(iter(self._sets)))
            images = self._sets[geometry] = {}
        if path not in images:
            images[path] = load_for_model(path, entry, crop_rule)
            self.decoded += 1
        return images[path]
