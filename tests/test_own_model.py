"""Issue 19, "Tested on real models" and item 7: the user's own model, end to end.

The model is tests/helpers/own_model.py's MobileNetV2 cut to 40 ImageNet classes, built from real weights at
test time (the `own_model` session fixture) as TFLite, Keras (.keras, .h5) and ONNX, with its labels file, its
images as an ImageFolder and as a CSV, and a calibration folder of other images. First the files themselves
(their predictions mean something, the formats agree); then each format through the CLI as a user would:
`add` -> `convert` -> `verify` -> `accuracy` (FP32 IR equal to the original image by image; INT8 within 1.5
points) -> `bench`, `sweep`, `report`, `pick`.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from omz_mobilenet.catalogue import Geometry
from omz_mobilenet.inputs.images import apply_geometry, decode_bgr
from tests.helpers import own_model as builder
from tests.helpers import real_weights

pytestmark = pytest.mark.assets

TF_MEAN, TF_SCALE = 127.5, 127.5
ONNX_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
ONNX_STD = np.array([58.395, 57.12, 57.375], np.float32)
# The kept classes' Top-1 of the cut models (measured: TF-slim 96.4 %, torchvision 95.9 % on the 193 images).
MIN_TOP1 = 0.90


class Originals:
    """The own model's files in their own runtimes, on the evaluation images (RGB, 256 short side, 224 crop)."""

    def __init__(self, built: builder.OwnModel) -> None:
        self.built = built
        geometry = Geometry(kind="resize_short_crop", resize_short=builder.GEOMETRY["resize_short"])
        rows = [(index, row) for index, own in enumerate(built.classes) for row in own.images]
        self.labels = np.array([index for index, _ in rows])
        self.rgb = np.stack(
            [apply_geometry(decode_bgr(row.path), geometry, builder.RESOLUTION)[..., ::-1] for _, row in rows]
        ).astype(np.float32)
        self._scores: dict[str, np.ndarray] = {}

    @property
    def tf_input(self) -> np.ndarray:
        return (self.rgb - TF_MEAN) / TF_SCALE

    @property
    def onnx_input(self) -> np.ndarray:
        return np.ascontiguousarray(((self.rgb - ONNX_MEAN) / ONNX_STD).transpose(0, 3, 1, 2))

    def scores(self, fmt: str) -> np.ndarray:
        if fmt not in self._scores:
            self._scores[fmt] = getattr(self, f"_run_{fmt if fmt != 'h5' else 'keras'}")(self.built.files[fmt])
        return self._scores[fmt]

    def _run_keras(self, path: Path) -> np.ndarray:
        import keras

        return keras.models.load_model(path).predict(self.tf_input, batch_size=32, verbose=0)

    def _run_tflite(self, path: Path) -> np.ndarray:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
        source, target = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
        out = []
        for image in self.tf_input:
            interpreter.set_tensor(source, image[None])
            interpreter.invoke()
            out.append(interpreter.get_tensor(target)[0].copy())
        return np.stack(out)

    def _run_onnx(self, path: Path) -> np.ndarray:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: self.onnx_input})[0]


@pytest.fixture(scope="module")
def originals(own_model) -> Originals:
    return Originals(own_model)


# --------------------------------------------------------------------------------------------
# The files themselves
# --------------------------------------------------------------------------------------------


def test_the_classes_are_those_the_shared_images_show_most(own_model):
    counts = Counter(row.imagenet for row in builder.shared_images())
    kept = {own.imagenet for own in own_model.classes}
    assert len(kept) == builder.CLASS_COUNT == 40
    fewest_kept = min(counts[k] for k in kept)
    assert fewest_kept >= 4 and all(counts[k] <= fewest_kept for k in counts if k not in kept)
    assert own_model.image_count == sum(counts[k] for k in kept) == 193
    assert [own.imagenet for own in own_model.classes] == sorted(kept)  # output order: ImageNet's


def test_labels_imagefolder_csv_and_calibration_describe_the_same_images(own_model):
    names = own_model.labels.read_text().splitlines()
    assert names == own_model.names and len(set(names)) == 40
    assert sorted(p.name for p in own_model.imagefolder.iterdir()) == sorted(names)
    assert names != sorted(names)  # folder order is not output order: the labels file decides
    folder = {(p.parent.name, p.resolve()) for p in own_model.imagefolder.glob("*/*")}
    with own_model.csv.open(newline="") as handle:
        by_name = list(csv.DictReader(handle))
    with own_model.csv_index.open(newline="") as handle:
        by_index = list(csv.DictReader(handle))
    table = {(row["label"], (own_model.csv_images / row["filename"]).resolve()) for row in by_name}
    assert len(folder) == len(table) == len(by_name) == 193 and folder == table
    assert [(r["filename"], names[int(r["label"])]) for r in by_index] == [(r["filename"], r["label"]) for r in by_name]
    expected = {(own.name, row.path.resolve()) for own in own_model.classes for row in own.images}
    assert folder == expected
    calibration = {p.resolve() for p in own_model.calibration.iterdir()}
    assert len(calibration) > 1000 and not calibration & {path for _, path in folder}


def test_the_tf_files_agree_image_by_image(originals):
    keras_top1 = originals.scores("keras").argmax(1)
    for fmt in ("h5", "tflite"):
        assert np.array_equal(originals.scores(fmt).argmax(1), keras_top1), fmt
    assert np.abs(originals.scores("tflite") - originals.scores("keras")).max() < 1e-4


def test_the_kept_classes_top1_is_high_and_the_two_networks_agree(originals):
    tf_top1 = originals.scores("keras").argmax(1)
    onnx_top1 = originals.scores("onnx").argmax(1)
    print(
        f"\n[own-model] Top-1 TF-slim {np.mean(tf_top1 == originals.labels):.3f}, "
        f"torchvision {np.mean(onnx_top1 == originals.labels):.3f}, agreement {np.mean(tf_top1 == onnx_top1):.3f}"
    )
    assert np.mean(tf_top1 == originals.labels) >= MIN_TOP1
    assert np.mean(onnx_top1 == originals.labels) >= MIN_TOP1
    assert np.mean(tf_top1 == onnx_top1) >= MIN_TOP1


def test_the_cut_keeps_the_full_networks_scores_of_its_classes(own_model, originals):
    """The cut models are the full ones restricted to the kept rows: same logits (ONNX), same
    log-probability differences (TF-slim: softmax over the kept classes only)."""
    import onnxruntime
    import tensorflow as tf

    keep = [own.imagenet for own in own_model.classes]
    full = real_weights.onnx_float_model().SerializeToString()
    session = onnxruntime.InferenceSession(full, providers=["CPUExecutionProvider"])
    logits = session.run(None, {real_weights.ONNX_INPUT: originals.onnx_input[:8]})[0]
    np.testing.assert_allclose(logits[:, keep], originals.scores("onnx")[:8], atol=1e-4)

    layers, input_index = real_weights.read_tflite(builder.SEED.tflite)
    probabilities = real_weights.tf_forward(tf, tf.constant(originals.tf_input[:8]), layers, input_index, builder.SEED)
    full_log = np.log(probabilities.numpy()[:, [k + 1 for k in keep]])  # row 0: background
    cut_log = np.log(originals.scores("keras")[:8])
    np.testing.assert_allclose(full_log - full_log[:, :1], cut_log - cut_log[:, :1], atol=1e-3)
