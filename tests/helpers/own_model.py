"""The user's own model of issue 19: a MobileNetV2 cut to the few dozen ImageNet classes the shared images show most.

A user fine-tunes MobileNetV2 on their own classes and brings the model file, a labels file and a folder
of images. This module builds that situation from real weights, so that the predictions mean something:

- the classes: the `CLASS_COUNT` ImageNet classes with the most images across the shared image sets'
  FILES.tsv (ties broken by ImageNet index), computed here, never listed by hand;
- TFLite, Keras `.keras` and `.h5`: the TF-slim MobileNetV2 1.0 224 rebuilt in float from the dequantized
  weights of ``mobilenet_v2_1.0_224_quant.tflite`` (``real_weights.read_tflite``) as plain Keras layers,
  whose 1x1 logits convolution keeps only the kept classes' rows (TF-slim counts 1001 classes, background
  first, so ImageNet class k is row k + 1); softmax over the kept classes. Input NHWC f32 in [-1, 1]
  (mean 127.5, scale 127.5), RGB;
- ONNX: the float torchvision MobileNetV2 ``real_weights.onnx_float_model`` rebuilds, whose final Gemm keeps
  only the kept classes' columns (1000 classes, no background). Input NCHW, ImageNet mean/std, logits;
- ``labels.txt``: one class name a line (the first of ImageNet's synonyms), in output order (ascending
  ImageNet index, so the folders' alphabetical order is *not* the output order);
- the images as an ImageFolder (``imagefolder/<class name>/<file>``) and as a CSV (``csv/images/<file>``
  with ``csv/annotations.csv``: ``filename,label`` by name; ``csv/annotations_index.csv`` by output index),
  all symlinks into the shared assets;
- ``calibration/``: symlinks to every other shared image (none of the evaluation images).

    python -m tests.helpers.own_model --out DIR

Everything but the `.keras` file (Keras stamps the save time into it) is the same bytes on every run.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.helpers import real_weights
from tests.helpers.paths import IMAGES

CLASS_COUNT = 40
SEED = real_weights.TF_SEEDS[1]  # TF-slim MobileNetV2 1.0 224
RESOLUTION = 224
STEM = "own_mobilenet_v2"
# What `add` cannot read from the files: the preprocessing each original was trained with.
TF_PREPROCESSING = {"mean": "127.5,127.5,127.5", "scale": "127.5,127.5,127.5", "color": "rgb"}
ONNX_PREPROCESSING = {"mean": "123.675,116.28,103.53", "scale": "58.395,57.12,57.375", "color": "rgb"}
GEOMETRY = {"resize_short": 256, "crop": 224}


@dataclass(frozen=True)
class ImageRow:
    image_set: str  # the shared folder it comes from
    path: Path  # the shared file
    imagenet: int  # 0-based ImageNet class (1000 classes)
    words: str  # FILES.tsv class_words


@dataclass(frozen=True)
class OwnClass:
    imagenet: int  # 0-based ImageNet class
    name: str  # the user's class name: ImageNet's first synonym
    images: tuple[ImageRow, ...]


@dataclass(frozen=True)
class OwnModel:
    """Everything `build` wrote into `root`."""

    root: Path
    classes: tuple[OwnClass, ...]
    tflite: Path
    keras: Path
    h5: Path
    onnx: Path
    labels: Path
    imagefolder: Path
    csv_images: Path
    csv: Path
    csv_index: Path
    calibration: Path

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def image_count(self) -> int:
        return sum(len(c.images) for c in self.classes)

    @property
    def files(self) -> dict[str, Path]:
        """Model file per format, as `add` is given it."""
        return {"tflite": self.tflite, "keras": self.keras, "h5": self.h5, "onnx": self.onnx}

    def add_args(self, fmt: str, name: str, catalogue: Path) -> list[str]:
        """The `omz-mobilenet add` command line (without the program) that describes the `fmt` file as `name`:
        what the file cannot tell (labels, normalisation, colour order, geometry) comes from flags."""
        normalisation = ONNX_PREPROCESSING if fmt == "onnx" else TF_PREPROCESSING
        return [
            "add",
            str(self.files[fmt]),
            "--name",
            name,
            "--catalogue",
            str(catalogue),
            "--labels",
            str(self.labels),
            *(arg for key, value in normalisation.items() for arg in (f"--{key}", value)),
            "--resize-short",
            str(GEOMETRY["resize_short"]),
            "--crop",
            str(GEOMETRY["crop"]),
        ]


def shared_images(root: Path = IMAGES) -> list[ImageRow]:
    """Every labelled image of the shared sets, in (set, file name) order."""
    rows = []
    for table in sorted(root.glob("*/FILES.tsv")):
        with table.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                rows.append(
                    ImageRow(
                        table.parent.name,
                        table.parent / row["filename"],
                        int(row["label_1000cls_0based"]),
                        row["class_words"],
                    )
                )
    if not rows:
        raise SystemExit(f"own_model: no FILES.tsv under {root}; set OMZ_MOBILENET_ASSETS to the offline assets")
    return rows


def choose_classes(rows: list[ImageRow], count: int = CLASS_COUNT) -> tuple[OwnClass, ...]:
    """The `count` classes with the most images (ties: lower ImageNet index first), in ImageNet order."""
    counts = Counter(r.imagenet for r in rows)
    kept = sorted(sorted(counts, key=lambda k: (-counts[k], k))[:count])
    words = {r.imagenet: r.words for r in rows}
    names = [words[k].split(",")[0].strip() for k in kept]
    if len(set(names)) != len(names):  # never seen with the shared sets; a guard for other assets
        names = [words[k] for k in kept]
    return tuple(
        OwnClass(k, name, tuple(r for r in rows if r.imagenet == k)) for k, name in zip(kept, names, strict=True)
    )


# --------------------------------------------------------------------------------------------
# TF-slim MobileNetV2 as plain Keras layers
# --------------------------------------------------------------------------------------------


def _keras_layer(keras, layer: real_weights.Layer, name: str, keep_rows: list[int] | None):
    """The Keras layer (and its weights) for one rebuilt TF-slim layer; `keep_rows` cuts the logits conv."""
    padding = layer.padding.lower()
    if layer.kind == "conv":
        weights, bias = layer.weights, layer.bias
        if keep_rows is not None:
            weights, bias = weights[..., keep_rows], bias[keep_rows]
        conv = keras.layers.Conv2D(weights.shape[-1], weights.shape[:2], layer.strides, padding, name=name)
        return conv, [weights, bias]
    if layer.kind == "depthwise":
        kh, kw, _, multiplier = layer.weights.shape
        conv = keras.layers.DepthwiseConv2D((kh, kw), layer.strides, padding, depth_multiplier=multiplier, name=name)
        return conv, [layer.weights, layer.bias]
    if layer.kind == "add":
        return keras.layers.Add(name=name), None
    if layer.kind == "avgpool":
        return keras.layers.AveragePooling2D(layer.pool, layer.strides, padding, name=name), None
    raise ValueError(f"no Keras layer for {layer.kind}")


def keras_model(classes: tuple[OwnClass, ...]):
    """The TF-slim MobileNetV2 from its dequantized weights, classifier cut to `classes`, softmax output."""
    keras = real_weights._need("keras")
    layers, input_index = real_weights.read_tflite(SEED.tflite)
    logits_conv = next(i for i, layer in enumerate(layers) if layer.kind == "reshape") - 1
    keep_rows = [c.imagenet + 1 for c in classes]  # TF-slim row 0 is the background class
    image = keras.Input((RESOLUTION, RESOLUTION, 3), name="input")
    tensors = {input_index: image}
    logits = None
    for i, layer in enumerate(layers):
        name = f"{i:02d}_{layer.name.replace('/', '_')}"
        if layer.kind == "reshape":
            logits = keras.layers.Flatten(name="logits")(tensors[layer.inputs[0]])
            tensors[layer.output] = logits
            continue
        keras_layer, weights = _keras_layer(keras, layer, name, keep_rows if i == logits_conv else None)
        inputs = [tensors[j] for j in layer.inputs]
        y = keras_layer(inputs if layer.kind == "add" else inputs[0])
        if weights is not None:
            keras_layer.set_weights(weights)
        if layer.relu6:
            y = keras.layers.ReLU(6.0, name=f"{name}_relu6")(y)
        tensors[layer.output] = y
    if logits is None:
        raise ValueError(f"{SEED.tflite}: no logits reshape")
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(image, probabilities, name=STEM)


def write_tflite(model, path: Path) -> Path:
    """A float TFLite file of the Keras model, batch 1 (as TFLite models are usually exported)."""
    tf = real_weights._need("tensorflow")
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec([1, RESOLUTION, RESOLUTION, 3], tf.float32, name="input")
    function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    # The weights as constants: a TFLite file that reads variables is not what users export.
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    path.write_bytes(converter.convert())
    return path


# --------------------------------------------------------------------------------------------
# torchvision MobileNetV2 (ONNX)
# --------------------------------------------------------------------------------------------


def onnx_model(classes: tuple[OwnClass, ...]):
    """The float ONNX MobileNetV2 whose Gemm keeps only `classes`' columns (weight [1280, 1000])."""
    onnx = real_weights._need("onnx")
    from onnx import numpy_helper

    model = real_weights.onnx_float_model()
    keep = [c.imagenet for c in classes]
    graph = model.graph
    for index, tensor in enumerate(graph.initializer):
        if tensor.name in ("classifier_weight", "classifier_bias"):
            array = numpy_helper.to_array(tensor)
            cut = array[:, keep] if array.ndim == 2 else array[keep]
            graph.initializer[index].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(cut), tensor.name))
    graph.output[0].type.tensor_type.shape.dim[1].dim_value = len(keep)
    graph.name = STEM
    onnx.checker.check_model(model)
    return model


# --------------------------------------------------------------------------------------------
# Labels and image layouts
# --------------------------------------------------------------------------------------------


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _unique_names(rows: list[ImageRow]) -> dict[ImageRow, str]:
    """A file name per image: its own, or `<set>_<name>` where two sets hold the same file name."""
    counts = Counter(r.path.name for r in rows)
    return {r: r.path.name if counts[r.path.name] == 1 else f"{r.image_set}_{r.path.name}" for r in rows}


def write_images(out: Path, classes: tuple[OwnClass, ...], rows: list[ImageRow]) -> dict[str, Path]:
    evaluation = [r for c in classes for r in c.images]
    names = _unique_names(evaluation)
    labels = out / "labels.txt"
    labels.write_text("".join(f"{c.name}\n" for c in classes))
    by_name = out / "csv" / "annotations.csv"
    by_index = out / "csv" / "annotations_index.csv"
    csv_rows = []
    for index, own in enumerate(classes):
        for row in own.images:
            _link(out / "imagefolder" / own.name / names[row], row.path)
            _link(out / "csv" / "images" / names[row], row.path)
            csv_rows.append((names[row], own.name, index))
    csv_rows.sort()
    for path, column in ((by_name, 1), (by_index, 2)):
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["filename", "label"])
            writer.writerows((r[0], r[column]) for r in csv_rows)
    taken = {r.path for r in evaluation}
    others = [r for r in rows if r.path not in taken]
    for row, name in _unique_names(others).items():
        _link(out / "calibration" / name, row.path)
    return {"labels": labels, "csv": by_name, "csv_index": by_index}


# --------------------------------------------------------------------------------------------


def build(out: Path, log=print) -> OwnModel:
    """Write the own model's files into `out` (which must be empty or missing)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"own_model: {out} is not empty")
    rows = shared_images()
    classes = choose_classes(rows)
    start = time.monotonic()
    model = keras_model(classes)
    keras_path, h5_path = out / f"{STEM}.keras", out / f"{STEM}.h5"
    model.save(keras_path)
    model.save(h5_path)
    tflite = write_tflite(model, out / f"{STEM}.tflite")
    log(f"own model: {tflite.name}, {keras_path.name}, {h5_path.name} ({time.monotonic() - start:.1f} s)")
    start = time.monotonic()
    onnx_path = out / f"{STEM}.onnx"
    real_weights._need("onnx").save(onnx_model(classes), str(onnx_path))
    log(f"own model: {onnx_path.name} ({time.monotonic() - start:.1f} s)")
    written = write_images(out, classes, rows)
    return OwnModel(
        root=out,
        classes=classes,
        tflite=tflite,
        keras=keras_path,
        h5=h5_path,
        onnx=onnx_path,
        labels=written["labels"],
        imagefolder=out / "imagefolder",
        csv_images=out / "csv" / "images",
        csv=written["csv"],
        csv_index=written["csv_index"],
        calibration=out / "calibration",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.own_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write (created; must be empty)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    built = build(args.out)
    print(f"{len(built.classes)} classes, {built.image_count} images")
    for fmt, path in built.files.items():
        print(f"{fmt}\t{path}\t{path.stat().st_size}\tsha256:{real_weights.sha256(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
