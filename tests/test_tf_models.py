"""TF frozen-graph and SavedModel drivers end to end: TF-built MobileNets in the official .tgz
layout, served over HTTP, converted through the catalogue path, verified against TensorFlow."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest

from tests.helpers import tf_fixtures
from tests.helpers.catalogue_edit import edited_catalogue, imitate_faulty_conversion
from tests.helpers.paths import IMAGES

pytestmark = [pytest.mark.slow, pytest.mark.assets]  # assets: reads ../shared/assets

CASES = {  # model: (version, alpha, resolution, archive stem)
    "mobilenet-v1-0.50-160": ("v1", 0.5, 160, "mobilenet_v1_0.5_160"),
    "mobilenet-v2-1.0-224": ("v2", 1.0, 224, "mobilenet_v2_1.0_224"),
}
DATASET = IMAGES / "val_original_20"


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("official-like")
    return {name: tf_fixtures.build_official_like_tgz(v, a, r, folder) for name, (v, a, r, _stem) in CASES.items()}


def _point_at(entry, archive):
    data = archive.read_bytes()
    entry["files"][0].update(
        size=len(data), checksum={"algorithm": "sha384", "value": hashlib.sha384(data).hexdigest()}
    )


@pytest.fixture()
def served(archives, workdirs, http_mirror, tmp_path, monkeypatch):
    """The built archives replace the official ones: same names, their own checksums, over HTTP."""
    base, handler = http_mirror
    for archive in archives.values():
        handler.index[archive.name] = archive
    edited_catalogue(tmp_path, monkeypatch, {name: (lambda e, a=a: _point_at(e, a)) for name, a in archives.items()})
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", base)
    return workdirs


@pytest.mark.parametrize("name", sorted(CASES))
def test_frozen_graph_converts_and_matches_tensorflow(name, served, cli):
    code, out, err = cli("convert", name, "--precisions", "FP32,FP16", "--json")
    assert code == 0, err
    row = json.loads(out)["records"][0]
    catalogue = json.loads(cli("info", name, "--json")[1])["records"][0]
    # The IR's own count must reproduce Open Model Zoo's published figures within 1 %.
    assert abs(row["gflops"] - catalogue["gflops"]) / catalogue["gflops"] < 0.01, row
    assert abs(row["mparams"] - catalogue["mparams"]) / catalogue["mparams"] < 0.01, row
    code, out, err = cli("verify", name, "--dataset", DATASET, "--json")
    result = json.loads(out)["records"][0]
    assert code == 0, json.dumps(result) + err
    assert result["top1_agreement"] == 1.0 and result["max_abs_diff"] <= 1e-4
    assert result["original_runtime"].startswith("TensorFlow")


def test_frozen_graph_without_channel_reversal_fails_verify(served, tmp_path, monkeypatch, cli):
    name = "mobilenet-v1-0.50-160"
    catalogue = tmp_path / "models.yml"
    good = catalogue.read_text()
    catalogue.write_text(good.replace("color: RGB", "color: BGR"))
    assert cli("convert", name)[0] == 0
    catalogue.write_text(good)
    imitate_faulty_conversion(served[1], name)  # else the IR store sees the edit and converts again
    code, out, _ = cli("verify", name, "--dataset", DATASET, "--json")
    result = json.loads(out)["records"][0]
    assert code == 1 and result["top1_agreement"] < 1.0 and result["max_abs_diff"] > 1e-3


def _savedmodel_tgz(folder, version, alpha, resolution):
    model = tf_fixtures.build_keras_mobilenet(version, alpha, resolution)
    saved = tf_fixtures.write_savedmodel(model, version, folder / "saved_model")
    archive = folder / f"mobilenet_{version}_savedmodel.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(saved, arcname="./saved_model")
    return archive


def test_savedmodel_driver(workdirs, http_mirror, tmp_path, monkeypatch, cli):
    base, handler = http_mirror
    archive = _savedmodel_tgz(tmp_path, "v1", 0.5, 160)
    handler.index[archive.name] = archive

    def as_savedmodel(entry):
        entry["format"] = "tf_savedmodel"
        entry["files"][0].update(name=archive.name, sources=[f"{base}/{archive.name}"])
        _point_at(entry, archive)
        entry["model_file"] = {"file": archive.name, "member": "saved_model"}

    edited_catalogue(tmp_path, monkeypatch, {"mobilenet-v1-0.50-160": as_savedmodel})
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", base)
    code, out, err = cli("verify", "mobilenet-v1-0.50-160", "--dataset", DATASET, "--json")
    result = json.loads(out)["records"][0]
    assert code == 0, json.dumps(result) + err
    assert result["top1_agreement"] == 1.0 and result["max_abs_diff"] <= 1e-4
