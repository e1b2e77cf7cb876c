"""How one accuracy run is done: device, batch, bad images, the crop rule, and how much evidence it needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.accuracy.evidence import MinImages
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.inputs.images import load_for_model
from omz_mobilenet.inputs.labels import LabelSpace
from omz_mobilenet.precision import DEFAULT_INFER_PRECISION

DECODE_WORKERS = 2
# Some CPUs default to bf16 (FACTS 3); a result called FP32/FP16 computes in f32 and says so.
INFER_PRECISION = DEFAULT_INFER_PRECISION


@dataclass(frozen=True)
class Options:
    device: str = "CPU"
    batch: int = 1
    skip_bad: bool = False
    progress: bool = True
    decode_workers: int = DECODE_WORKERS
    allow_overlap: bool = False
    original: bool = False  # also run the original file in its own runtime on the same images
    crop_rule: str = "tf"  # "tf" or "accuracy-checker": the crop and the top-k tie rule (accuracy/evaluate.py)
    # How an image becomes the model's pixels; a sweep passes a cache so each image is decoded and
    # cropped once per geometry for all the precisions and devices that share it.
    loader: Callable[[Path, ModelEntry, str], np.ndarray] = load_for_model
    # Evaluated images a result needs to count (accuracy/evidence.py); fewer is INCOMPLETE, never a pass.
    min_images: MinImages = field(default_factory=lambda: MinImages(count=1))
    # The model's label space (inputs/labels.py); None: the runners derive it (by count for index
    # labels, else from the model's labels file). evaluate_model sets it once per model.
    labels: Optional[LabelSpace] = None
