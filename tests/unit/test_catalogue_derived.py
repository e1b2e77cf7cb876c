"""The catalogue loader's derived fields (framework, converted_input, the labels file) and per-family
defaults: derived when absent, an entry's own value kept, conflicts and unknown keys reported with
file, line, model and field. Small self-contained catalogues; no assets needed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from omz_mobilenet.catalogue import load_catalogue
from omz_mobilenet.errors import ToolError

REPO = Path(__file__).resolve().parents[2]
LABELS = {
    "name": "synset_words.txt",
    "size": 12,
    "checksum_note": "test file",
    "sources": ["https://example.com/synset.txt"],
}


def _entry(name: str = "m-one", **changes) -> dict:
    entry = {
        "name": name,
        "description": "a test entry",
        "family": "mobilenet-v1",
        "format": "tflite",
        "files": [{"name": "m.tflite", "checksum_note": "test file", "sources": ["https://example.com/m.tflite"]}],
        "model_file": {"file": "m.tflite"},
        "original_input": {
            "name": "in",
            "shape": [1, 160, 128, 3],
            "layout": "NHWC",
            "color": "RGB",
            "element_type": "u8",
        },
        "output": {"name": "out", "classes": 1001, "kind": "probabilities"},
        "preprocessing": {"kind": "central_crop"},
        "source_precision": "INT8",
        "gflops": 1.0,
        "mparams": 1.0,
        "license": {"name": "Apache-2.0", "url": "https://example.com/LICENSE"},
    }
    entry.update(changes)
    return entry


def _write(tmp_path: Path, models: list[dict], **top) -> tuple[Path, str]:
    data = {**top, "models": models}
    if "default_labels_file" not in top:
        data = {"default_labels_file": copy.deepcopy(LABELS), **data}
    data = {key: value for key, value in data.items() if value is not None}
    text = yaml.safe_dump(data, sort_keys=False)
    path = tmp_path / "models.yml"
    path.write_text(text)
    return path, text


def _line(text: str, starts: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(starts))


def _load_one(tmp_path: Path, entry: dict, **top):
    path, _text = _write(tmp_path, [entry], **top)
    return load_catalogue(path).models[0]


def _error(tmp_path: Path, models: list[dict], **top) -> tuple[str, Path, str]:
    path, text = _write(tmp_path, models, **top)
    with pytest.raises(ToolError) as caught:
        load_catalogue(path)
    message = caught.value.message
    assert caught.value.exit_code == 2 and "\n" not in message.strip()
    return message, path, text


# --- framework ---


@pytest.mark.parametrize(
    ("fmt", "framework"), [("tflite", "tflite"), ("onnx", "onnx"), ("tf_frozen", "tf"), ("tf_savedmodel", "tf")]
)
def test_framework_is_derived_from_format(tmp_path, fmt, framework):
    assert _load_one(tmp_path, _entry(format=fmt)).framework == framework


def test_an_explicit_framework_that_agrees_is_kept(tmp_path):
    assert _load_one(tmp_path, _entry(framework="tflite")).framework == "tflite"


def test_a_conflicting_framework_names_file_line_model_and_field(tmp_path):
    models = [_entry("m-one"), _entry("m-two", framework="onnx")]
    message, path, text = _error(tmp_path, models)
    assert message.startswith(f"{path}:{_line(text, '- name: m-two')}: model 'm-two': framework: ")
    assert "'onnx' does not match format 'tflite'" in message


# --- converted_input ---


def test_converted_input_is_derived_from_the_original_input(tmp_path):
    entry = _load_one(tmp_path, _entry())
    assert entry.converted_input.model_dump() == {
        "name": "in",
        "shape": [1, 3, 160, 128],
        "layout": "NCHW",
        "color": "BGR",
        "element_type": "u8",
    }


def test_converted_input_of_an_nchw_original(tmp_path):
    original = {"name": "data", "shape": [1, 3, 96, 112], "layout": "NCHW", "color": "RGB", "element_type": "f32"}
    entry = _load_one(tmp_path, _entry(format="onnx", original_input=original))
    assert (entry.converted_input.name, entry.converted_input.shape) == ("data", [1, 3, 96, 112])


def test_an_explicit_converted_input_is_kept(tmp_path):
    converted = {"name": "input", "shape": [1, 3, 160, 128], "layout": "NCHW", "color": "BGR", "element_type": "f32"}
    entry = _load_one(tmp_path, _entry(converted_input=converted))
    assert (entry.converted_input.name, entry.converted_input.element_type) == ("input", "f32")


def test_an_explicit_converted_input_is_still_checked_against_the_original(tmp_path):
    converted = {"name": "in", "shape": [1, 3, 224, 224], "layout": "NCHW", "color": "BGR"}
    message, path, text = _error(tmp_path, [_entry(converted_input=converted)])
    assert f"{path}:{_line(text, '- name: m-one')}: model 'm-one':" in message
    assert "converted_input.shape must be [1, 3, 160, 128]" in message


def test_the_real_catalogue_keeps_its_one_differing_converted_input():
    entry = load_catalogue(REPO / "models.yml").get("mobilenet-v2-1.0-224-int8")
    assert entry.original_input.name == "tfl.quantize" and entry.converted_input.name == "input"


# --- the labels file ---


def test_the_default_labels_file_is_appended_and_named(tmp_path):
    entry = _load_one(tmp_path, _entry())
    assert entry.labels_file == "synset_words.txt"
    assert [f.name for f in entry.files] == ["m.tflite", "synset_words.txt"]
    assert entry.files[-1].sources == LABELS["sources"]


def test_an_entry_listing_its_own_labels_file_keeps_it(tmp_path):
    own = {"name": "synset_words.txt", "checksum_note": "a mirror", "sources": ["https://mirror.example.com/s.txt"]}
    files = [own, *_entry()["files"]]
    entry = _load_one(tmp_path, _entry(files=files))
    assert [f.name for f in entry.files] == ["synset_words.txt", "m.tflite"]
    assert entry.files[0].sources == own["sources"]


def test_an_entry_with_another_labels_file_gets_no_default(tmp_path):
    words = {"name": "words.txt", "checksum_note": "test file", "sources": ["https://example.com/words.txt"]}
    entry = _load_one(tmp_path, _entry(files=[*_entry()["files"], words], labels_file="words.txt"))
    assert entry.labels_file == "words.txt" and [f.name for f in entry.files] == ["m.tflite", "words.txt"]


def test_without_a_default_labels_file_an_entry_must_name_its_own(tmp_path):
    message, path, text = _error(tmp_path, [_entry()], default_labels_file=None)
    assert f"{path}:{_line(text, '- name: m-one')}: model 'm-one': labels_file: Field required" in message


def test_a_bad_default_labels_file_names_its_line(tmp_path):
    labels = {**LABELS, "sources": ["ftp://example.com/synset.txt"]}
    message, path, text = _error(tmp_path, [_entry()], default_labels_file=labels)
    assert message.startswith(f"{path}:{_line(text, 'default_labels_file:')}: default_labels_file.sources: ")


# --- family defaults ---

V1_DEFAULTS = {
    "mobilenet-v1": {
        "preprocessing": {"kind": "central_crop", "central_fraction": 0.5},
        "license": {"name": "MIT", "url": "https://example.com/MIT"},
    }
}


def test_a_family_default_fills_a_missing_key(tmp_path):
    entry = _entry()
    del entry["preprocessing"], entry["license"]
    loaded = _load_one(tmp_path, entry, defaults=V1_DEFAULTS)
    assert (loaded.preprocessing.kind, loaded.preprocessing.central_fraction) == ("central_crop", 0.5)
    assert loaded.license.name == "MIT"


def test_an_entry_key_replaces_the_whole_family_default(tmp_path):
    entry = _entry(preprocessing={"kind": "resize_short_crop"})
    del entry["license"]
    loaded = _load_one(tmp_path, entry, defaults=V1_DEFAULTS)
    assert loaded.preprocessing.kind == "resize_short_crop"
    assert loaded.preprocessing.central_fraction == 0.875  # the schema's default: no deep merge with the family's 0.5
    assert loaded.license.name == "MIT"


def test_defaults_of_another_family_do_not_apply(tmp_path):
    entry = _entry(family="mobilenet-v2")
    del entry["license"]
    path, _text = _write(tmp_path, [entry], defaults=V1_DEFAULTS)
    loaded = load_catalogue(path).models[0]
    assert loaded.license is None  # the v1 family's licence did not reach a v2 entry
    assert loaded.preprocessing.central_fraction != V1_DEFAULTS["mobilenet-v1"]["preprocessing"]["central_fraction"]


def test_an_unknown_key_in_defaults_names_its_line(tmp_path):
    defaults = {"mobilenet-v1": {"license": V1_DEFAULTS["mobilenet-v1"]["license"], "colour": "RGB"}}
    message, path, text = _error(tmp_path, [_entry()], defaults=defaults)
    assert message.startswith(f"{path}:{_line(text, '    colour:')}: defaults.mobilenet-v1.colour: ")
    assert "not a key a family default can set" in message


@pytest.mark.parametrize("key", ["name", "family"])
def test_identity_keys_cannot_be_defaulted(tmp_path, key):
    message, _path, _text = _error(tmp_path, [_entry()], defaults={"mobilenet-v1": {key: "x"}})
    assert f"defaults.mobilenet-v1.{key}: not a key a family default can set" in message


def test_an_unknown_family_in_defaults_is_an_error(tmp_path):
    message, path, text = _error(tmp_path, [_entry()], defaults={"mobilenet-v9": {"gflops": 1.0}})
    assert message.startswith(f"{path}:{_line(text, '  mobilenet-v9:')}: defaults: unknown family 'mobilenet-v9'")


def test_a_bad_default_value_names_its_line_and_field(tmp_path):
    defaults = {"mobilenet-v1": {"preprocessing": {"kind": "stretch"}}}
    message, path, text = _error(tmp_path, [_entry()], defaults=defaults)
    assert message.startswith(f"{path}:{_line(text, '    preprocessing:')}: defaults.mobilenet-v1.preprocessing.kind: ")


@pytest.mark.parametrize("defaults", [["mobilenet-v1"], {"mobilenet-v1": "x"}, "x"])
def test_malformed_defaults_are_one_line_errors(tmp_path, defaults):
    message, path, _text = _error(tmp_path, [_entry()], defaults=defaults)
    assert str(path) in message and "defaults" in message


def test_a_defaulted_field_is_derived_from_too(tmp_path):
    """Defaults come first, so a family-wide original_input still gives each entry its converted_input."""
    entry = _entry()
    original = entry.pop("original_input")
    loaded = _load_one(tmp_path, entry, defaults={"mobilenet-v1": {"original_input": original}})
    assert loaded.converted_input.shape == [1, 3, 160, 128]


# --- the file itself ---


def test_models_yml_is_short_and_has_no_anchors():
    text = (REPO / "models.yml").read_text()
    assert len(text.splitlines()) <= 700
    assert not [t for t in yaml.scan(text) if isinstance(t, (yaml.AnchorToken, yaml.AliasToken))]
