"""IR vs original framework on real ImageNet images, and the control proving verify can fail."""

from __future__ import annotations

import json

import pytest

from catalogue_edit import edited_catalogue
from conftest import IMAGES, OFFLINE_TFLITE

DATASET = IMAGES / "val_100_cropped_reencoded"


@pytest.mark.parametrize("name", OFFLINE_TFLITE)
def test_every_offline_model_matches_its_framework(name, mirror, cli):
    code, out, err = cli("verify", name, "--dataset", DATASET, "--json")
    row = json.loads(out)[0]
    assert code == 0, (row, err)
    assert row["images"] == 100 and row["passed"]
    assert row["top1_agreement"] >= row["min_agreement"]
    if name == "mobilenet-v1-0.25-224-tflite":  # float source: FP32 IR at f32 matches to float rounding
        assert row["top1_agreement"] == 1.0 and row["max_abs_diff"] <= 1e-4
        assert row["infer_precision"] == "f32"


def _without_reversal(entry):
    entry["original_input"]["color"] = "BGR"


@pytest.mark.parametrize("name", ["mobilenet-v1-0.25-224-tflite", "mobilenet-v2-1.0-224-int8", "mobilenet-v2-1.0-224-quant"])
def test_ir_without_channel_reversal_fails_verify(name, mirror, tmp_path, monkeypatch, cli):
    edited_catalogue(tmp_path, monkeypatch, {name: _without_reversal})
    assert cli("convert", name)[0] == 0  # the broken IR, written where verify looks
    monkeypatch.delenv("OMZ_MOBILENET_CATALOGUE")
    code, out, _err = cli("verify", name, "--dataset", DATASET, "--limit", "40", "--json")
    row = json.loads(out)[0]
    assert code == 1 and not row["passed"]
    assert row["top1_agreement"] < row["min_agreement"]


def test_verify_needs_a_dataset(mirror, cli, monkeypatch):
    monkeypatch.delenv("OMZ_MOBILENET_DATASET", raising=False)
    code, _out, err = cli("verify", "mobilenet-v1-0.25-128-quant")
    assert code == 2 and "--dataset" in err


def test_verify_on_a_folder_without_images(mirror, tmp_path, cli):
    code, _out, err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", tmp_path)
    assert code == 2 and "has no images" in err
