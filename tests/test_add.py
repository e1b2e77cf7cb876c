"""`omz-mobilenet add`: a model file of one's own described as a user catalogue entry, on real files.

TFLite and ONNX: the real asset files copied to a temporary folder (the built-in catalogue describes
the same bytes, so the entry `add` reads from the file must agree with it). SavedModel, frozen graph and
Keras (.keras, .h5): an input-sensitive MobileNetV2 built with TensorFlow at test time. Refusals are
checked to leave nothing behind: no catalogue, no temporary file, the old text byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from omz_mobilenet.catalogue import load_catalogue
from omz_mobilenet.fetch.cache import file_digest, tree_sha256
from tests.helpers import tf_fixtures
from tests.helpers.paths import ASSETS, IMAGES, error_lines

pytestmark = pytest.mark.assets

INT8_TFLITE = ASSETS / "models" / "mobilenet_v2_1.0_224_int8_arm_mlzoo" / "mobilenet_v2_1.0_224_INT8.tflite"
ONNX = ASSETS / "models" / "mobilenetv2-12-int8_onnx" / "mobilenetv2-12-int8.onnx"
FLOAT_NORM = ["--mean", "127.5,127.5,127.5", "--scale", "127.5,127.5,127.5"]
RESOLUTION = 96


@pytest.fixture(autouse=True)
def isolated(workdirs, monkeypatch):
    """Each test starts without user catalogues; `--catalogue` on other commands edits os.environ itself,
    so the variable is set here to be restored afterwards."""
    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", "")
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", str(ASSETS))  # ImageNet's labels file for 1000/1001 outputs
    return workdirs


@pytest.fixture(scope="module")
def tf_files(tmp_path_factory):
    """A small input-sensitive MobileNetV2 (1001 classes, softmax) as .keras, .h5, SavedModel and frozen graph."""
    folder = tmp_path_factory.mktemp("tf-models")
    model = tf_fixtures.build_keras_mobilenet("v2", 0.35, RESOLUTION)
    model.save(folder / "flowers.keras")
    model.save(folder / "flowers.h5")
    return {
        "keras": folder / "flowers.keras",
        "h5": folder / "flowers.h5",
        "tf_savedmodel": tf_fixtures.write_savedmodel(model, "v2", folder / "saved"),
        "tf_frozen": tf_fixtures.write_frozen_graph(model, "v2", folder / "frozen.pb"),
    }


@pytest.fixture(scope="module")
def five_class_keras(tmp_path_factory):
    """A tiny Keras classifier of 5 classes with a dynamic input size (not an ImageNet label space)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5, name="scores")(x)
    path = tmp_path_factory.mktemp("five") / "five.keras"
    keras.Model(inputs, outputs).save(path)
    return path


@pytest.fixture(scope="module")
def two_output_keras(tmp_path_factory):
    """A tiny Keras model with two heads: 5 class scores (softmax) and 3 auxiliary values."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    aux = keras.layers.Dense(3, name="aux")(x)
    scores = keras.layers.Softmax(name="classes")(keras.layers.Dense(5)(x))
    path = tmp_path_factory.mktemp("two") / "two.keras"
    keras.Model(inputs, [aux, scores]).save(path)
    return path


def _copy(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / src.name
    (shutil.copytree if src.is_dir() else shutil.copyfile)(src, target)
    return target


def _entry(catalogue: Path, name: str) -> dict:
    return next(m for m in yaml.safe_load(catalogue.read_text())["models"] if m["name"] == name)


def _labels(path: Path, count: int) -> Path:
    path.write_text("".join(f"class {i}\n" for i in range(count)))
    return path


def _refused(result, *words: str) -> str:
    code, _out, err = result
    assert code == 2, err
    lines = error_lines(err)
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# --- each format's entry ---


def test_tflite_entry_matches_the_builtin_description_of_the_same_file(cli, tmp_path):
    model = _copy(INT8_TFLITE, tmp_path / "models")
    catalogue = tmp_path / "cat" / "my-models.yml"
    catalogue.parent.mkdir()
    flags = ["--background", "--mean", "128,128,128", "--scale", "1,1,1"]
    code, out, err = cli("add", model, "--name", "my-int8", "--catalogue", catalogue, *flags)
    assert code == 0, err
    assert "added my-int8" in out
    written = _entry(catalogue, "my-int8")
    source = written["files"][0]
    assert source["path"] == "../models/mobilenet_v2_1.0_224_INT8.tflite"  # relative to the catalogue file
    builtin = load_catalogue().get("mobilenet-v2-1.0-224-int8")
    assert source["checksum"]["value"] == builtin.model_source.checksum.value
    entry = load_catalogue(catalogue).get("my-int8")
    assert Path(entry.model_source.path) == model.resolve()
    assert entry.original_input.model_dump(exclude={"normalization_note"}) == builtin.original_input.model_dump(
        exclude={"normalization_note"}
    )
    assert entry.output.model_dump(exclude={"background"}) == builtin.output.model_dump(exclude={"background"})
    assert entry.output.has_background and entry.source_precision == "INT8"
    assert entry.gflops == pytest.approx(builtin.gflops, rel=0.02)
    assert entry.mparams == pytest.approx(builtin.mparams, rel=0.03)


def test_onnx_entry(cli, tmp_path):
    model = _copy(ONNX, tmp_path)
    catalogue = tmp_path / "my-models.yml"
    norm = ["--mean", "123.675,116.28,103.53", "--scale", "58.395,57.12,57.375"]
    code, _out, err = cli("add", model, "--name", "my-onnx", "--catalogue", catalogue, *norm, "--crop", "224")
    assert code == 0, err
    entry = load_catalogue(catalogue).get("my-onnx")
    assert entry.format == "onnx" and entry.source_precision == "INT8"
    assert (entry.original_input.name, entry.original_input.layout) == ("input", "NCHW")
    assert entry.original_input.shape == [1, 3, 224, 224]
    assert (entry.output.name, entry.output.classes, entry.output.kind) == ("output", 1000, "logits")
    assert not entry.output.has_background
    assert entry.preprocessing.kind == "resize_short_crop" and entry.preprocessing.resize_short == 256
    assert entry.labels_file == "synset_words.txt"  # 1000 outputs and no --labels: ImageNet's names


@pytest.mark.parametrize("kind", ["keras", "h5", "tf_savedmodel", "tf_frozen"])
def test_tensorflow_formats_entries(cli, tmp_path, tf_files, kind):
    model = _copy(tf_files[kind], tmp_path)
    catalogue = tmp_path / "my-models.yml"
    code, _out, err = cli("add", model, "--name", "mine", "--catalogue", catalogue, "--background", *FLOAT_NORM)
    assert code == 0, err
    entry = load_catalogue(catalogue).get("mine")
    assert entry.format == {"h5": "keras"}.get(kind, kind)
    assert entry.original_input.shape == [1, RESOLUTION, RESOLUTION, 3] and entry.original_input.layout == "NHWC"
    assert entry.original_input.mean == [127.5] * 3 and entry.original_input.element_type == "f32"
    assert (entry.output.classes, entry.output.kind, entry.source_precision) == (1001, "probabilities", "FP32")
    assert entry.gflops > 0 and entry.mparams > 0
    if kind in ("keras", "h5"):
        assert (entry.original_input.name, entry.output.name) == ("input_layer", "probabilities")
    else:
        assert (entry.original_input.name, entry.output.name) == ("input", "MobilenetV2/Predictions/Reshape_1")
    source = _entry(catalogue, "mine")["files"][0]
    want = tree_sha256(model) if model.is_dir() else file_digest(model, "sha256")
    assert source["checksum"] == {"algorithm": "sha256", "value": want}


def test_labels_file_is_a_path_source(cli, tmp_path, five_class_keras):
    model = _copy(five_class_keras, tmp_path)
    labels = _labels(tmp_path / "five.txt", 5)
    catalogue = tmp_path / "my-models.yml"
    args = ["add", model, "--name", "five", "--catalogue", catalogue, "--labels", labels, "--resize", "64"]
    code, _out, err = cli(*args, "--color", "bgr")
    assert code == 0, err
    entry = load_catalogue(catalogue).get("five")
    assert entry.labels_file == "five.txt" and entry.output.classes == 5 and entry.output.kind == "logits"
    labels_source = next(f for f in entry.files if f.name == "five.txt")
    assert Path(labels_source.path) == labels.resolve()
    assert labels_source.checksum.value == file_digest(labels, "sha256")
    assert entry.original_input.shape == [1, 64, 64, 3] and entry.original_input.color == "BGR"
    assert entry.preprocessing.kind == "central_crop" and entry.preprocessing.central_fraction == 1.0


def test_keras_model_with_two_outputs_converts_and_verifies_the_one_named(cli, tmp_path, two_output_keras):
    labels = _labels(tmp_path / "five.txt", 5)
    catalogue = tmp_path / "my-models.yml"
    args = ["add", two_output_keras, "--name", "two", "--catalogue", catalogue, "--labels", labels, "--resize", "32"]
    _refused(cli(*args), "2 outputs", "aux, classes", "--output-name")
    code, _out, err = cli(*args, "--output-name", "classes", *FLOAT_NORM)
    assert code == 0, err
    entry = load_catalogue(catalogue).get("two")
    assert (entry.output.name, entry.output.classes, entry.output.kind) == ("classes", 5, "probabilities")
    assert cli("convert", "two", "--catalogue", catalogue)[0] == 0
    images = sorted((IMAGES / "val_original_20").glob("*.JPEG"))
    assert len(images) == 20
    for index, image in enumerate(images):  # an ImageFolder of the model's own 5 classes
        _copy(image, tmp_path / "images" / f"class {index % 5}")
    code, out, err = cli("verify", "two", "--catalogue", catalogue, "--dataset", tmp_path / "images", "--json")
    assert code == 0, err
    (record,) = json.loads(out)["records"]
    assert record["passed"] and record["images"] == 20


# --- refusals: one line, exit 2, nothing written ---


def _nothing_written(folder: Path, before: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == before, "a refusal left a file behind"


@pytest.mark.parametrize("name", ["junk.tflite", "junk.onnx", "junk.pb", "junk.keras", "junk.h5", "folder"])
def test_a_file_no_framework_reads_is_refused(cli, tmp_path, name):
    junk = tmp_path / name
    if name == "folder":
        junk.mkdir()
    else:
        junk.write_bytes(b"not a model\x00" * 64)
    before = {p.name for p in tmp_path.iterdir()}
    _refused(cli("add", junk, "--name", "junk", "--catalogue", tmp_path / "c.yml", "--crop", "224"), name)
    _nothing_written(tmp_path, before)


def test_keras_lambda_layer_is_refused_with_what_to_do(cli, tmp_path):
    """Keras' safe mode will not run a Lambda layer's code from a file; add says so and what to do instead."""
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Lambda(lambda t: t / 127.5 - 1)(inputs))
    model = tmp_path / "lambda.keras"
    keras.Model(inputs, keras.layers.Dense(4)(x)).save(model)
    result = cli("add", model, "--name", "lam", "--catalogue", tmp_path / "c.yml")
    _refused(result, "lambda.keras", "Lambda", "Rescaling")
    assert not (tmp_path / "c.yml").exists()


def test_the_builtin_catalogue_is_never_written(cli, tmp_path, monkeypatch):
    builtin = tmp_path / "models.yml"
    shutil.copyfile(load_catalogue().models[0].catalogue_file, builtin)
    monkeypatch.setenv("OMZ_MOBILENET_MODELS_YML", str(builtin))
    old = builtin.read_bytes()
    _refused(cli("add", INT8_TFLITE, "--name", "new", "--catalogue", builtin, "--background"), "built-in catalogue")
    assert builtin.read_bytes() == old


def test_labels_count_contradicting_the_output_is_refused(cli, tmp_path, five_class_keras):
    labels = _labels(tmp_path / "four.txt", 4)
    before = {p.name for p in tmp_path.iterdir()}
    catalogue = tmp_path / "my-models.yml"
    result = cli(
        "add", five_class_keras, "--name", "five", "--catalogue", catalogue, "--labels", labels, "--crop", "64"
    )
    _refused(result, "four.txt", "names 4 classes", "has 5")
    _nothing_written(tmp_path, before)


def test_no_labels_for_a_non_imagenet_output_is_refused(cli, tmp_path, five_class_keras):
    result = cli("add", five_class_keras, "--name", "five", "--catalogue", tmp_path / "c.yml", "--crop", "64")
    _refused(result, "5 classes", "--labels")
    assert not (tmp_path / "c.yml").exists()


def test_dynamic_input_size_needs_crop_or_resize(cli, tmp_path, five_class_keras):
    labels = _labels(tmp_path / "five.txt", 5)
    result = cli("add", five_class_keras, "--name", "five", "--catalogue", tmp_path / "c.yml", "--labels", labels)
    _refused(result, "no fixed size", "--crop N or --resize N")


def test_layout_contradicting_the_shape_is_refused(cli, tmp_path):
    catalogue = tmp_path / "c.yml"
    result = cli("add", INT8_TFLITE, "--name", "x", "--catalogue", catalogue, "--background", "--layout", "NCHW")
    _refused(result, "--layout NCHW", "[1, 224, 224, 3]", "last (NHWC)")
    assert not catalogue.exists()


@pytest.mark.parametrize("flag", ["--crop", "--resize"])
def test_crop_contradicting_the_input_size_is_refused(cli, tmp_path, flag):
    catalogue = tmp_path / "c.yml"
    result = cli("add", INT8_TFLITE, "--name", "x", "--catalogue", catalogue, "--background", flag, "200")
    _refused(result, f"{flag} 200", "224x224")
    assert not catalogue.exists()


def test_resize_with_crop_is_refused(cli, tmp_path):
    result = cli(
        "add", INT8_TFLITE, "--name", "x", "--catalogue", tmp_path / "c.yml", "--resize", "224", "--crop", "224"
    )
    _refused(result, "--resize", "--crop")


def test_1001_outputs_without_background_or_labels_is_refused(cli, tmp_path):
    _refused(cli("add", INT8_TFLITE, "--name", "x", "--catalogue", tmp_path / "c.yml"), "1001 classes", "--background")


def _flag_refused(cli, capsys, args: list, *words: str) -> None:
    """argparse refuses a flag value by exiting (SystemExit 2) with one line naming the flag."""
    with pytest.raises(SystemExit) as exited:
        cli(*args)
    _refused((exited.value.code, "", capsys.readouterr().err), *words)


def test_bad_flag_values_use_the_shared_validators(cli, capsys, tmp_path):
    catalogue = tmp_path / "c.yml"
    base = ["add", INT8_TFLITE, "--name", "x", "--catalogue", catalogue]
    _flag_refused(cli, capsys, [*base, "--mean", "1,2"], "--mean", "three")
    _flag_refused(cli, capsys, [*base, "--scale", "1,0,1"], "--scale", "more than 0")
    _flag_refused(cli, capsys, [*base, "--crop", "0"], "--crop", "at least 1")
    _flag_refused(cli, capsys, [*base, "--labels", tmp_path / "none.txt"], "--labels", "does not exist")
    _flag_refused(cli, capsys, [*base, "--catalogue", tmp_path], "--catalogue", "is a folder")
    _refused(cli("add", tmp_path / "none.tflite", "--name", "x", "--catalogue", catalogue), "none.tflite", "not exist")
    _refused(cli("add", INT8_TFLITE, "--name", "Bad Name", "--catalogue", catalogue, "--background"), "name")
    assert not catalogue.exists()


# --- existing names, --force, and the rest of the file kept ---

HAND_WRITTEN = """# My team's models: keep this comment.
# (second header line)
models:
- name: kept
  # a comment inside the entry
  description: hand-written entry
  family: mobilenet-v2
  format: tflite
  files:
  - name: mobilenet_v2_1.0_224_INT8.tflite
    path: {path}
    checksum: {{algorithm: sha256, value: {sha}}}
  - {{name: labels.txt, path: labels.txt, checksum: {{algorithm: sha256, value: {labels_sha}}}}}
  model_file: {{file: mobilenet_v2_1.0_224_INT8.tflite}}
  labels_file: labels.txt
  original_input: {{name: tfl.quantize, shape: [1, 224, 224, 3], layout: NHWC, color: RGB, element_type: i8}}
  output: {{name: MobilenetV2/Predictions/Reshape_11, classes: 1001, background: true, kind: probabilities}}
  preprocessing: {{kind: central_crop}}
  source_precision: INT8
  gflops: 0.6
  mparams: 3.4
# a trailing comment
"""


@pytest.fixture()
def hand_written(tmp_path):
    model = _copy(INT8_TFLITE, tmp_path)
    labels = _labels(tmp_path / "labels.txt", 1000)
    text = HAND_WRITTEN.format(
        path=model.name, sha=file_digest(model, "sha256"), labels_sha=file_digest(labels, "sha256")
    )
    catalogue = tmp_path / "my-models.yml"
    catalogue.write_text(text)
    load_catalogue(catalogue)  # the hand-written file is a valid catalogue
    return catalogue, model, labels


def test_adding_keeps_the_header_and_other_entries(cli, hand_written):
    catalogue, model, labels = hand_written
    old = catalogue.read_text()
    code, _out, err = cli(
        "add", model, "--name", "second", "--catalogue", catalogue, "--background", "--labels", labels
    )
    assert code == 0, err
    new = catalogue.read_text()
    assert new.startswith(old.replace("# a trailing comment\n", ""))
    assert new.endswith("# a trailing comment\n")
    assert load_catalogue(catalogue).names() == ["kept", "second"]


def test_existing_name_without_force_is_refused_and_nothing_changes(cli, hand_written):
    catalogue, model, labels = hand_written
    old = catalogue.read_bytes()
    before = {p.name for p in catalogue.parent.iterdir()}
    result = cli("add", model, "--name", "kept", "--catalogue", catalogue, "--background", "--labels", labels)
    _refused(result, "'kept'", "--force")
    assert catalogue.read_bytes() == old
    _nothing_written(catalogue.parent, before)


def test_force_replaces_the_entry_in_place(cli, hand_written):
    catalogue, model, labels = hand_written
    old = catalogue.read_text()
    args = ["add", model, "--name", "kept", "--catalogue", catalogue, "--background", "--labels", labels]
    code, out, err = cli(*args, "--force", "--color", "bgr", "--description", "replaced by add")
    assert code == 0, err
    assert "replaced kept" in out
    new = catalogue.read_text()
    assert new.startswith("# My team's models: keep this comment.\n# (second header line)\nmodels:\n- name: kept\n")
    assert new.endswith("# a trailing comment\n") and "a comment inside the entry" not in new
    entry = load_catalogue(catalogue).get("kept")
    assert entry.description == "replaced by add" and entry.original_input.color == "BGR"
    assert load_catalogue(catalogue).names() == ["kept"] and new != old


def test_force_keeps_what_the_flags_said_before(cli, tmp_path):
    """`add --force --color bgr` changes the colour order only: flags left out keep the replaced entry's values."""
    model = _copy(INT8_TFLITE, tmp_path)
    labels = _labels(tmp_path / "labels.txt", 1000)
    catalogue = tmp_path / "my-models.yml"
    first = ["--background", "--labels", labels, "--mean", "128,128,128", "--scale", "1,1,1", "--resize", "224"]
    assert cli("add", model, "--name", "mine", "--catalogue", catalogue, *first)[0] == 0
    before = load_catalogue(catalogue).get("mine")
    code, _out, err = cli("add", model, "--name", "mine", "--catalogue", catalogue, "--force", "--color", "bgr")
    assert code == 0, err
    assert "kept from the entry it replaces" in err and "--labels" in err
    after = load_catalogue(catalogue).get("mine")
    assert after.original_input.color == "BGR"
    assert after.model_dump(exclude={"original_input"}) == before.model_dump(exclude={"original_input"})
    assert after.original_input.model_dump(exclude={"color"}) == before.original_input.model_dump(exclude={"color"})
    code, _out, err = cli("add", model, "--name", "mine", "--catalogue", catalogue, "--force", "--no-background")
    _refused((code, _out, err), "labels.txt", "names 1000 classes", "has 1001")  # the kept labels now contradict


def test_builtin_name_is_refused_even_with_force(cli, tmp_path):
    catalogue = tmp_path / "c.yml"
    args = ["add", INT8_TFLITE, "--name", "mobilenet-v2-1.0-224-int8", "--catalogue", catalogue, "--background"]
    _refused(cli(*args, "--force"), "mobilenet-v2-1.0-224-int8", "already defined in", "another --name")
    assert not catalogue.exists()


def test_writer_refuses_an_entry_the_loader_refuses_and_leaves_the_file(hand_written):
    """The writer loads the new text with the catalogue loader before it replaces the file."""
    from omz_mobilenet.catalogue.writer import write_entry
    from omz_mobilenet.errors import ToolError

    catalogue, _model, _labels_path = hand_written
    old = catalogue.read_bytes()
    broken = dict(_entry(catalogue, "kept"), name="broken", gflops=-1)
    with pytest.raises(ToolError) as refused:
        write_entry(catalogue, broken)
    assert refused.value.exit_code == 2
    assert f"{catalogue}:" in refused.value.message and "'broken'" in refused.value.message
    assert "gflops" in refused.value.message
    assert catalogue.read_bytes() == old
    assert sorted(p.name for p in catalogue.parent.iterdir() if p.name.startswith(".")) == []


WRITER = """
import sys, yaml
from omz_mobilenet.catalogue.writer import write_entry
catalogue, prefix = sys.argv[1], sys.argv[2]
entry = next(m for m in yaml.safe_load(open(catalogue))["models"] if m["name"] == "kept")
for i in range(12):
    write_entry(catalogue, dict(entry, name=f"{prefix}-{i}"))
"""


def test_two_writers_of_one_catalogue_lose_no_entry(hand_written):
    """Read-modify-write of the catalogue is under a lock: concurrent `add`s of different names all land."""
    import subprocess
    import sys

    catalogue, _model, _labels_path = hand_written
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(catalogue), prefix], cwd=catalogue.parent)
        for prefix in ("a", "b")
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    names = load_catalogue(catalogue).names()
    assert sorted(names) == sorted(["kept"] + [f"{p}-{i}" for p in "ab" for i in range(12)])
    assert catalogue.read_text().startswith("# My team's models: keep this comment.\n")


# --- the added model in the other commands ---


@pytest.mark.slow
def test_added_keras_model_lists_converts_and_verifies_against_tensorflow(cli, tmp_path, tf_files):
    model = _copy(tf_files["keras"], tmp_path / "models")
    labels = _labels(tmp_path / "labels.txt", 1000)
    catalogue = tmp_path / "my-models.yml"
    args = ["add", model, "--name", "flowers", "--catalogue", catalogue, "--labels", labels, "--background"]
    code, _out, err = cli(*args, *FLOAT_NORM, "--resize-short", "110", "--crop", str(RESOLUTION))
    assert code == 0, err

    code, out, err = cli("list", "--catalogue", catalogue, "--json")
    assert code == 0, err
    assert "flowers" in [r["name"] for r in json.loads(out)["records"]]

    code, out, err = cli("convert", "flowers", "--catalogue", catalogue, "--json")
    assert code == 0, err
    code, out, err = cli(
        "verify", "flowers", "--catalogue", catalogue, "--dataset", IMAGES / "val_original_20", "--json"
    )
    assert code == 0, err
    (record,) = json.loads(out)["records"]
    assert record["passed"] and record["images"] == 20
    assert "TensorFlow" in json.dumps(record)  # the original ran in its own runtime
    assert 0 < record["max_abs_diff"] <= 1e-4  # two runtimes computed it, and they agree
