"""The TensorFlow stand-ins for the TF-slim archives, and the TF reference runtime that reads them."""

from __future__ import annotations

import hashlib
import sys
import tarfile
import time

import numpy as np
import openvino as ov
import pytest

from tests.helpers.requires import require

require("tensorflow")

from omz_mobilenet.converters.tf_runtime import FrozenGraphRunner, SavedModelRunner  # noqa: E402
from omz_mobilenet.errors import ToolError  # noqa: E402
from tests.helpers import tf_fixtures  # noqa: E402

V1_OUTPUT = "MobilenetV1/Predictions/Reshape_1"
OFFICIAL_SUFFIXES = [
    ".ckpt.data-00000-of-00001",
    ".ckpt.index",
    ".ckpt.meta",
    ".tflite",
    "_eval.pbtxt",
    "_frozen.pb",
    "_info.txt",
]


@pytest.fixture(scope="module")
def v1_model():
    # The smallest official-looking size that still has every v1 layer; builds in ~2 s.
    return tf_fixtures.build_keras_mobilenet("v1", 0.5, 160)


@pytest.fixture(scope="module")
def v1_pb(v1_model, tmp_path_factory):
    return tf_fixtures.write_frozen_graph(v1_model, "v1", tmp_path_factory.mktemp("v1") / "frozen.pb")


@pytest.fixture(scope="module")
def images():
    return tf_fixtures.smooth_images(8, 160, seed=1234)


def _openvino_f32(model_path, images: np.ndarray) -> np.ndarray:
    # The CPU plugin defaults to bf16 on this machine; comparisons against TF need f32.
    compiled = ov.Core().compile_model(ov.convert_model(str(model_path)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.concatenate([compiled(image[None])[0] for image in images])


def test_frozen_graph_has_official_node_names(v1_pb):
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(v1_pb.read_bytes())
    nodes = {node.name: node for node in graph_def.node}
    placeholder = nodes["input"]
    assert placeholder.op == "Placeholder"
    assert [d.size for d in placeholder.attr["shape"].shape.dim] == [1, 160, 160, 3]
    assert placeholder.attr["dtype"].type == tf.float32.as_datatype_enum
    assert V1_OUTPUT in nodes
    assert [n.name for n in graph_def.node if n.op == "Placeholder"] == ["input"]


def test_openvino_f32_matches_tensorflow(v1_pb, images):
    reference = FrozenGraphRunner(v1_pb, "input", V1_OUTPUT)(images)
    assert reference.shape == (8, 1001)
    np.testing.assert_allclose(reference.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(_openvino_f32(v1_pb, images), reference, rtol=0, atol=1e-4)


def test_channel_swap_changes_predictions(v1_model, v1_pb, images):
    run = FrozenGraphRunner(v1_pb, "input", V1_OUTPUT)
    swapped = images[..., ::-1].copy()
    probs, swapped_probs = run(images), run(swapped)
    assert (probs.argmax(1) != swapped_probs.argmax(1)).sum() >= 6

    logits = tf_fixtures.logits_model(v1_model)
    logit_change = np.abs(logits.predict(images, verbose=0) - logits.predict(swapped, verbose=0))
    assert logit_change.mean() > 1.0
    # Peaked enough that the top-1 means something: uniform would be 1/1001.
    assert np.median(probs.max(axis=1)) > 10 / 1001


def test_build_is_deterministic(v1_pb, tmp_path):
    again = tf_fixtures.build_keras_mobilenet("v1", 0.5, 160)
    rebuilt = tf_fixtures.write_frozen_graph(again, "v1", tmp_path / "again.pb")
    assert rebuilt.read_bytes() == v1_pb.read_bytes()


def test_tgz_has_official_layout(v1_pb, tmp_path):
    stem = "mobilenet_v1_0.5_160"
    archive = tf_fixtures.pack_official_tgz(v1_pb, stem, tmp_path / "a")
    assert archive == tmp_path / "a" / f"{stem}.tgz"
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted(f"./{stem}{suffix}" for suffix in OFFICIAL_SUFFIXES)
        assert tar.extractfile(f"./{stem}_frozen.pb").read() == v1_pb.read_bytes()
    repacked = tf_fixtures.pack_official_tgz(v1_pb, stem, tmp_path / "b")
    assert hashlib.sha256(repacked.read_bytes()).digest() == hashlib.sha256(archive.read_bytes()).digest()


@pytest.mark.slow
def test_savedmodel_runner_agrees_with_frozen_graph(v1_model, v1_pb, images, tmp_path):
    saved = tf_fixtures.write_savedmodel(v1_model, "v1", tmp_path / "saved")
    frozen = FrozenGraphRunner(v1_pb, "input", V1_OUTPUT)(images)
    np.testing.assert_allclose(SavedModelRunner(saved, "input", V1_OUTPUT)(images), frozen, rtol=0, atol=1e-4)

    converted = ov.convert_model(str(saved))
    assert converted.inputs[0].get_names() == {"input"}
    assert V1_OUTPUT in converted.outputs[0].get_names()
    np.testing.assert_allclose(_openvino_f32(saved, images), frozen, rtol=0, atol=1e-4)


def test_runner_splits_batches_for_fixed_batch_graph(v1_pb, images):
    run = FrozenGraphRunner(v1_pb, "input:0", V1_OUTPUT + ":0")
    batch = run(images[:3])
    one_by_one = np.concatenate([run(images[i : i + 1]) for i in range(3)])
    assert batch.dtype == np.float32 and batch.shape == (3, 1001)
    np.testing.assert_array_equal(batch, one_by_one)


def test_runner_errors_are_tool_errors(v1_pb, tmp_path, monkeypatch):
    garbage = tmp_path / "garbage.pb"
    garbage.write_bytes(b"\xff\x00not a graph" * 10)
    with pytest.raises(ToolError, match="garbage.pb"):
        FrozenGraphRunner(garbage, "input", V1_OUTPUT)
    with pytest.raises(ToolError, match="missing.pb"):
        FrozenGraphRunner(tmp_path / "missing.pb", "input", V1_OUTPUT)
    with pytest.raises(ToolError, match="Reshape_9"):
        FrozenGraphRunner(v1_pb, "input", "MobilenetV1/Predictions/Reshape_9")
    with pytest.raises(ToolError, match="SavedModel"):
        SavedModelRunner(tmp_path, "input", V1_OUTPUT)

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` raise ImportError
    with pytest.raises(ToolError, match=r"pip install omz-mobilenet\[tf\]"):
        FrozenGraphRunner(v1_pb, "input", V1_OUTPUT)


@pytest.mark.slow
def test_official_like_v2_archive_is_quick_and_converts(tmp_path):
    start = time.perf_counter()
    archive = tf_fixtures.build_official_like_tgz("v2", 1.0, 224, tmp_path)
    assert time.perf_counter() - start < 60
    assert archive.name == "mobilenet_v2_1.0_224.tgz"
    assert [p.name for p in tmp_path.iterdir()] == [archive.name]

    with tarfile.open(archive) as tar:
        tar.extract("./mobilenet_v2_1.0_224_frozen.pb", tmp_path / "x", filter="data")
    pb = tmp_path / "x" / "mobilenet_v2_1.0_224_frozen.pb"
    images = tf_fixtures.smooth_images(4, 224, seed=99)
    run = FrozenGraphRunner(pb, "input", "MobilenetV2/Predictions/Reshape_1")
    reference = run(images)
    np.testing.assert_allclose(_openvino_f32(pb, images), reference, rtol=0, atol=1e-4)
    assert (reference.argmax(1) != run(images[..., ::-1].copy()).argmax(1)).sum() >= 3
