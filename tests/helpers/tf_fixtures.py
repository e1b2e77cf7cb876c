"""Stand-ins for the TF-slim float MobileNet archives, built with TensorFlow at test time.

The real frozen graphs are not available offline. These helpers build Keras MobileNets with the
same architecture, input/output node names and archive layout as the official TF-slim releases.

A randomly initialised MobileNet gives nearly the same softmax for every input, so an RGB/BGR
mistake would go unnoticed. `build_keras_mobilenet` therefore makes the model input-sensitive:

1. BatchNorm moving statistics are set from one training-mode pass over smooth random images
   (momentum temporarily 0, so the moving stats become exactly that batch's statistics), so
   inference-mode activations stay normalised through the depth of the network.
2. The classifier is re-centred and rescaled: bias = -mean(features) @ W, so the logits carry
   only the image-dependent part (otherwise a per-class constant picks the same top-1 for every
   image), and W is scaled so the centred logits have a standard deviation of `LOGIT_STD`
   across classes, which makes the softmax peaked instead of near-uniform (~1/1001).

Everything is seeded, so the same arguments give the same weights and the same frozen graph.
TensorFlow is imported inside the functions so that collecting tests does not need it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile
from pathlib import Path

import numpy as np

INPUT_NAME = "input"
OUTPUT_NAMES = {
    "v1": "MobilenetV1/Predictions/Reshape_1",
    "v2": "MobilenetV2/Predictions/Reshape_1",
}
NUM_CLASSES = 1001
CALIBRATION_IMAGES = 32
# Std of the centred logits across classes. 2 gives top-1 probabilities of ~0.04-0.2 (median ~0.09,
# about 90x uniform) and a channel swap moves the top probability by ~0.15, while OpenVINO f32 still
# matches TF to <5e-5 (worst seen 7.4e-5, v2 1.0 224). Larger values make the softmax more peaked
# but scale up float32 rounding noise in the logits (8 gives top-1 ~0.8 but IR-vs-TF ~2.5e-4).
LOGIT_STD = 1.5


def output_name(version: str) -> str:
    """The official TF-slim output node name for `version` ("v1" or "v2")."""
    try:
        return OUTPUT_NAMES[version]
    except KeyError:
        raise ValueError(f"version must be 'v1' or 'v2', not {version!r}") from None


def smooth_images(n: int, resolution: int, seed: int, grid: int = 7) -> np.ndarray:
    """`n` NHWC float32 images in [-1, 1] (the TF-slim input range) made of upsampled coarse noise.

    Smooth rather than white noise: a 3x3 conv stack averages white noise away, so every image
    would look the same to the network.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-1.0, 1.0, (n, grid, grid, 3)).astype(np.float32)
    return tf.image.resize(coarse, (resolution, resolution), method="bilinear").numpy()


def build_keras_mobilenet(version: str, alpha: float, resolution: int, seed: int = 0):
    """A Keras MobileNet v1/v2 with 1001 classes and a softmax output, made input-sensitive.

    `logits_model(model)` gives the pre-softmax logits of the returned model.
    """
    import keras

    output_name(version)  # validates `version`
    # Reset Keras' layer-name counters so a second build in the same process freezes to the same
    # node names (and so byte-identical .pb/.tgz files); initialisers draw from the global seed.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    factory = keras.applications.MobileNet if version == "v1" else keras.applications.MobileNetV2
    base = factory(
        input_shape=(resolution, resolution, 3),
        alpha=alpha,
        weights=None,
        classes=NUM_CLASSES,
        classifier_activation=None,
    )
    probs = keras.layers.Softmax(name="probabilities")(base.output)
    model = keras.Model(base.input, probs, name=f"mobilenet_{version}_{alpha}_{resolution}")

    calibration = smooth_images(CALIBRATION_IMAGES, resolution, seed=seed + 1)
    _set_batchnorm_statistics(model, calibration)
    _recentre_classifier(model, calibration)
    return model


def logits_model(model):
    """A Keras model sharing `model`'s weights that outputs the pre-softmax logits."""
    import keras

    return keras.Model(model.input, model.layers[-2].output)


def _set_batchnorm_statistics(model, images: np.ndarray) -> None:
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    model(images, training=True)
    for layer, momentum in zip(layers, momenta, strict=True):
        layer.momentum = momentum


def _classifier(model):
    """The layer holding the 1001-way weights: Dense (v2) or a 1x1 Conv2D `conv_preds` (v1)."""
    for name in ("predictions", "conv_preds"):
        layer = next((layer for layer in model.layers if layer.name == name), None)
        if layer is not None and layer.get_weights() and layer.get_weights()[0].shape[-1] == NUM_CLASSES:
            return layer
    raise ValueError("no 1001-way classifier layer found")


def _recentre_classifier(model, images: np.ndarray) -> None:
    import keras

    classifier = _classifier(model)
    features = keras.Model(model.input, classifier.input).predict(images, verbose=0)
    features = features.reshape(len(images), -1).astype(np.float64)
    kernel, _ = classifier.get_weights()
    w = kernel.reshape(features.shape[1], NUM_CLASSES).astype(np.float64)
    centred_logits = (features - features.mean(axis=0)) @ w
    w *= LOGIT_STD / centred_logits.std(axis=1).mean()
    bias = -features.mean(axis=0) @ w
    classifier.set_weights([w.reshape(kernel.shape).astype(np.float32), bias.astype(np.float32)])


def _serving_function(model, version: str):
    """A tf.function with a fixed [1, H, W, 3] input named `input` and the TF-slim output name."""
    import tensorflow as tf

    _, height, width, channels = model.input.shape
    spec = tf.TensorSpec([1, height, width, channels], tf.float32, name=INPUT_NAME)
    name = output_name(version)

    @tf.function(input_signature=[spec])
    def serve(images):
        return {name: tf.identity(model(images, training=False), name=name)}

    return serve


def write_frozen_graph(model, version: str, path: Path) -> Path:
    """Freeze `model` into a GraphDef .pb with placeholder `input` and the TF-slim output node."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(_serving_function(model, version).get_concrete_function())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frozen.graph.as_graph_def().SerializeToString(deterministic=True))
    return path


def write_savedmodel(model, version: str, path: Path) -> Path:
    """A SavedModel whose `serving_default` signature takes `input` and returns the output name.

    The signature output key is the TF-slim output name (e.g. `MobilenetV2/Predictions/Reshape_1`);
    `openvino.convert_model` names the IR input `input` and the output that same name. Keras'
    ExportArchive is used because a plain `tf.saved_model.save` of a Keras 3 model saves
    variables that OpenVINO's TensorFlow frontend cannot find (VarHandleOp conversion failure).
    """
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", _serving_function(model, version))
    path = Path(path)
    archive.write_out(str(path), verbose=False)
    return path


def write_tflite(model, version: str, path: Path) -> Path:
    """A float .tflite of `model` (takes a few seconds; optional content for the archive)."""
    import tensorflow as tf

    serve = _serving_function(model, version)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], model)
    path = Path(path)
    path.write_bytes(converter.convert())
    return path


def pack_official_tgz(frozen_pb: Path, stem: str, out_dir: Path, tflite: Path | None = None) -> Path:
    """Write `<out_dir>/<stem>.tgz` with the members of an official TF-slim archive.

    Only `./<stem>_frozen.pb` (and `./<stem>.tflite` if `tflite` is given) hold real content; the
    checkpoint, eval graph and info members are small placeholders. Timestamps are fixed so the
    same inputs give byte-identical archives (stable checksums for download tests).
    """
    placeholder = f"placeholder for {stem}; not a real TF-slim file\n".encode()
    members = {
        f"{stem}.ckpt.data-00000-of-00001": placeholder,
        f"{stem}.ckpt.index": placeholder,
        f"{stem}.ckpt.meta": placeholder,
        f"{stem}.tflite": Path(tflite).read_bytes() if tflite else placeholder,
        f"{stem}_eval.pbtxt": placeholder,
        f"{stem}_frozen.pb": Path(frozen_pb).read_bytes(),
        f"{stem}_info.txt": f"Model: {stem}\nInput: input\n".encode(),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{stem}.tgz"
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for name, data in members.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return archive


def build_official_like_tgz(version: str, alpha: float, resolution: int, out_dir: Path, seed: int = 0) -> Path:
    """Build, freeze and pack a stand-in for `mobilenet_<version>_<alpha>_<resolution>.tgz`.

    `alpha` is spelled as in the official names (`0.5`, `1.0`, `0.25`); only the archive is left
    in `out_dir`, so it looks like a download mirror.
    """
    stem = f"mobilenet_{version}_{alpha}_{resolution}"
    model = build_keras_mobilenet(version, alpha, resolution, seed=seed)
    with tempfile.TemporaryDirectory() as scratch:
        frozen = write_frozen_graph(model, version, Path(scratch) / f"{stem}_frozen.pb")
        return pack_official_tgz(frozen, stem, out_dir)
