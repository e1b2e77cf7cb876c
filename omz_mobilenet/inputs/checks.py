"""Checks of an image set that every command runs before any work (download, conversion, inference).

- `check_image_folder(folder, limit)`: the folder exists and holds images -> the images used (sorted,
  the first `limit`). "no images in DIR" when it has none.
- `image_problem(path)`: None, or the one line saying why the image cannot be decoded.
- `unreadable_images(paths)`: one line per image that cannot be decoded (empty, not an image, too
  large), found by a cheap reduced-size decode of each file.
- `check_image_set(dataset, ...)`: the labelled image sets of `--dataset` (one folder, a parent of
  image folders, an ImageFolder or the images of a CSV: inputs/dataset.py): images present, ground
  truth found and readable, the images used (the first `limit`) labelled, and each decodable. A problem stops with one line and exit 2, unless `skip_bad`:
  then the problem images are left out and listed in `ImageSet.problems`, so every output counts them
  as skipped and the evidence rule (accuracy/evidence.py) decides whether enough were left.
- `check_label_spaces(image_sets, entries, settings)`: every set's labels are classes of every model
  (inputs/labels.py): a class folder or CSV label its labels file does not name, an index outside
  it, or a labels file whose count disagrees with the catalogue is exit 2, before any conversion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import ImageSet, load_image_sets
from omz_mobilenet.inputs.images import MAX_PIXELS, list_images
from omz_mobilenet.inputs.labels import LabelSpace, output_labels, space_for
from omz_mobilenet.settings import Settings

SKIP_HINT = "fix the data or pass --skip-bad-images"


def check_image_folder(folder: Path, limit: Optional[int] = None) -> list[Path]:
    """The images of `folder` a command uses, sorted by name (the first `limit`); exit 2 when there are none."""
    return list_images(Path(folder), limit)


def image_problem(path: Path) -> Optional[str]:
    """None when the image decodes, else one line saying why not."""
    import cv2

    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        return f"image {path} cannot be read ({exc.strerror})"
    if data.size == 0:
        return f"image {path} is empty (0 bytes)"
    # 1/8 of the size in grey: enough to know the codec accepts the file, at a small cost per image
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if header is None:
        return f"image {path} cannot be decoded (corrupt, truncated or not an image)"
    if header.size * 64 > MAX_PIXELS:
        return f"image {path} is too large (over {MAX_PIXELS} pixels)"
    return None


def unreadable_images(paths: list[Path]) -> list[str]:
    """One line per image that cannot be decoded, in the order given."""
    problems = [image_problem(Path(path)) for path in paths]
    return [p for p in problems if p is not None]


def _refuse(problems: list[str]) -> ToolError:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ToolError(f"{problems[0]}{more}; {SKIP_HINT}", 2)


def _without_unreadable(image_set: ImageSet, skip_bad: bool) -> ImageSet:
    found = [(item, image_problem(item[0])) for item in image_set.items]
    problems = [problem for _item, problem in found if problem is not None]
    if problems and not skip_bad:
        raise _refuse(problems)
    image_set.items = [item for item, problem in found if problem is None]
    image_set.problems += problems
    return image_set


def check_image_set(
    dataset: Path,
    annotations: Optional[Path] = None,
    limit: Optional[int] = None,
    skip_bad: bool = False,
    decode: bool = True,
) -> list[ImageSet]:
    """The image sets of `--dataset`, checked before any work (module docstring). `decode=False` leaves
    the image decode to the run (problems then surface there, still counted as skipped)."""
    if annotations is not None and not Path(annotations).is_file():
        raise ToolError(
            f"annotation file {annotations} does not exist; pass a val.txt, FILES.tsv or CSV to --annotations", 2
        )
    image_sets = load_image_sets(dataset, annotations, skip_bad, limit)
    if decode:
        image_sets = [_without_unreadable(image_set, skip_bad) for image_set in image_sets]
    return image_sets


def check_label_spaces(
    image_sets: list[ImageSet], entries: list[ModelEntry], settings: Settings
) -> dict[str, LabelSpace]:
    """Every set against every model's label space (module docstring); returns model name -> space."""
    spaces = {}
    for entry in entries:
        spaces[entry.name] = space_for(entry, image_sets, settings)
        for image_set in image_sets:
            try:
                output_labels(image_set, spaces[entry.name])
            except ToolError as exc:
                raise ToolError(f"{entry.name}: {exc.message}", exc.exit_code) from None
    return spaces
