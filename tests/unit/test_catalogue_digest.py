"""`conversion_digest`: what makes an IR stale (catalogue/digest.py). Needs no assets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from omz_mobilenet.catalogue import ModelEntry, conversion_digest, load_catalogue

MODEL = "mobilenet-v1-0.25-224-tflite"


@pytest.fixture()
def entry(monkeypatch) -> ModelEntry:
    monkeypatch.delenv("OMZ_MOBILENET_MODELS_YML", raising=False)
    monkeypatch.delenv("OMZ_MOBILENET_CATALOGUE", raising=False)
    return load_catalogue().get(MODEL)


def _with(entry: ModelEntry, part: str, **changes: Any) -> ModelEntry:
    return entry.model_copy(update={part: getattr(entry, part).model_copy(update=changes)})


def _with_file(entry: ModelEntry, index: int, **changes: Any) -> ModelEntry:
    files = list(entry.files)
    files[index] = files[index].model_copy(update=changes)
    return entry.model_copy(update={"files": files})


def test_baked_inputs_change_the_digest(entry):
    base = conversion_digest(entry)
    checksum = entry.model_source.checksum.model_copy(update={"value": "0" * 64})
    labels_index = [f.name for f in entry.files].index(entry.labels_file)
    changed = [
        _with(entry, "original_input", mean=[127.0, 127.5, 127.5]),
        _with(entry, "original_input", scale=[128.0, 128.0, 128.0]),
        _with(entry, "original_input", color="BGR"),
        _with(entry, "original_input", layout="NCHW", shape=[1, 3, 224, 224]),
        _with(entry, "output", name="other"),
        _with(entry, "output", kind="logits"),
        _with(entry, "model_file", member="inner/other.tflite"),
        _with_file(entry, 0, checksum=checksum),
        _with_file(entry, labels_index, checksum=checksum),
        entry.model_copy(update={"source_precision": "INT8"}),
        entry.model_copy(update={"format": "onnx"}),
    ]
    digests = [conversion_digest(e) for e in changed]
    assert base not in digests and len(set(digests)) == len(digests)


def test_what_is_not_baked_keeps_the_digest(entry):
    base = conversion_digest(entry)
    kept = [
        entry.model_copy(update={"description": "another description", "notes": "n", "gflops": 1.0}),
        entry.model_copy(update={"accuracy": None, "license": None, "catalogue_file": "/elsewhere/models.yml"}),
        _with(entry, "preprocessing", central_fraction=0.5),  # geometry is applied at run time, not baked
        _with_file(entry, 0, path="/somewhere/else/model.tflite", sources=["https://mirror.example/m.tflite"]),
    ]
    assert {conversion_digest(e) for e in kept} == {base}


def test_a_user_catalogue_moved_to_another_folder_keeps_its_digest(entry, tmp_path):
    for folder in ("a", "b/c"):
        cat = tmp_path / folder / "my.yml"
        cat.parent.mkdir(parents=True)
        data: dict[str, Any] = {"models": [_user_entry(entry)]}
        cat.write_text(yaml.safe_dump(data, sort_keys=False))
    first = load_catalogue(tmp_path / "a" / "my.yml").get("mine")
    second = load_catalogue(tmp_path / "b" / "c" / "my.yml").get("mine")
    assert first.model_source.path != second.model_source.path
    assert conversion_digest(first) == conversion_digest(second)


def _user_entry(entry: ModelEntry) -> dict[str, Any]:
    data = entry.model_dump(exclude_none=True, exclude={"catalogue_file", "framework", "converted_input"})
    data["name"] = "mine"
    for file in data["files"]:
        file["path"] = str(Path("files") / file["name"])
    return data
