"""INT8 with NNCF: quantization end to end, the calibration fingerprint, the overlap guard, the gate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers.catalogue_edit import edited_catalogue, imitate_faulty_conversion
from tests.helpers.paths import ASSETS, IMAGES, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

FLOAT = "mobilenet-v1-0.25-224-tflite"
CALIBRATION = IMAGES / "val_original_20"
EVALUATION = IMAGES / "val_100_cropped_reencoded"


def _int8(cli, *extra):
    return cli(
        "convert", FLOAT, "--precisions", "FP32,INT8", "--calibration", CALIBRATION, "--subset-size", "20", *extra
    )


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """FP32 and INT8 IRs, the INT8 one calibrated on 300 images of val_1300 that share no name with val_100."""
    work = tmp_path_factory.mktemp("int8")
    env = dict(
        os.environ,
        OMZ_MOBILENET_CACHE=str(work / "cache"),
        OMZ_MOBILENET_OUT=str(work / "ir"),
        OMZ_MOBILENET_MIRROR=str(ASSETS),
    )
    run = lambda *args: subprocess.run(
        [sys.executable, "-m", "omz_mobilenet", *map(str, args)], env=env, check=True, capture_output=True
    )
    run(
        "split",
        IMAGES / "val_1300_resized_227",
        "--calibration-count",
        "300",
        "--out",
        work / "split",
        "--exclude",
        EVALUATION,
    )
    run("convert", FLOAT, "--precisions", "FP32,INT8", "--calibration", work / "split" / "calibration")
    return work / "ir"


def _install(calibrated_ir, out):
    shutil.copytree(calibrated_ir, out, symlinks=True, dirs_exist_ok=True)


def test_quantizes_a_real_model_with_its_calibration_fingerprint(mirror, cli):
    import openvino as ov

    from omz_mobilenet.convert.calibration import sha256_of

    _cache, out = mirror
    code, _out, err = _int8(cli)
    assert code == 0, err
    xml = out / FLOAT / "FP32-INT8" / f"{FLOAT}.xml"
    model = ov.Core().read_model(str(xml))
    assert sum(op.get_type_name() == "FakeQuantize" for op in model.get_ops()) > 20
    recorded = set(model.get_rt_info(["omz_mobilenet", "calibration_sha256"]).astype(str).split("\n"))
    assert recorded == {sha256_of(p) for p in CALIBRATION.glob("*.JPEG")}
    sidecar = json.loads(xml.with_name(f"{FLOAT}.calibration.json").read_text())
    assert sidecar["used"] == 20 and set(sidecar["sha256"]) == recorded


def test_overlap_is_refused_unless_allowed_and_then_printed(mirror, cli):
    assert _int8(cli)[0] == 0
    code, _out, err = cli("accuracy", FLOAT, "--precision", "INT8", "--dataset", CALIBRATION, "--no-progress")
    assert code == 2 and "calibrated" in err and "--allow-overlap" in err and len(error_lines(err)) == 1
    code, out, _err = cli(
        "accuracy", FLOAT, "--precision", "INT8", "--dataset", CALIBRATION, "--no-progress", "--allow-overlap"
    )
    assert code == 0 and "--allow-overlap: 20 of these images calibrated" in out
    code, _out, _err = cli("gate", FLOAT, "--precision", "INT8", "--dataset", CALIBRATION, "--no-progress")
    assert code == 2


def test_gate_judges_int8_against_fp32_and_passes(mirror, cli, tmp_path, calibrated):
    _install(calibrated, mirror[1])
    report = tmp_path / "gate.json"
    code, out, _ = cli("gate", FLOAT, "--precision", "INT8", "--dataset", EVALUATION, "--no-progress", "--json", report)
    rows = json.loads(report.read_text())["records"]
    assert code == 0, out
    assert [r["precision"] for r in rows] == ["INT8"] and rows[0]["status"] == "PASSED"
    assert rows[0]["top1_ref"] is not None  # the FP32 IR's Top-1 on the same images


def test_gate_fails_when_int8_was_quantized_with_broken_preprocessing(mirror, cli, tmp_path, monkeypatch):
    assert cli("convert", FLOAT, "--precisions", "FP32")[0] == 0
    edited_catalogue(tmp_path, monkeypatch, {FLOAT: lambda e: e["original_input"].update(color="BGR")})
    assert cli("convert", FLOAT, "--precisions", "INT8", "--calibration", CALIBRATION, "--subset-size", "20")[0] == 0
    monkeypatch.delenv("OMZ_MOBILENET_MODELS_YML")
    imitate_faulty_conversion(mirror[1], FLOAT)
    code, out, _ = cli("gate", FLOAT, "--precision", "INT8", "--dataset", EVALUATION, "--no-progress")
    assert code == 1 and "FAILED" in out


def test_quantized_sources_are_requantized_not_compressed_twice(mirror, cli):
    """INT8 of an already-quantized source is its requantization (tests/test_requantize.py); FP16-INT8 is refused."""
    code, _out, err = cli(
        "convert", "mobilenet-v1-0.25-128-quant", "--precision", "FP16-INT8", "--calibration", CALIBRATION
    )
    assert code == 2 and "already an INT8 model" in err


def test_int8_needs_calibration_images(mirror, cli, tmp_path):
    code, _out, err = cli("convert", FLOAT, "--precisions", "INT8")
    assert code == 2 and "--calibration DIR" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _out, err = cli("convert", FLOAT, "--precisions", "INT8", "--calibration", empty)
    assert code == 2 and "has no images" in err and len(error_lines(err)) == 1
    # issue 17: the hint names the flag that gave the folder, and says so before any download
    assert "--calibration" in err and "--dataset" not in err
    cache, out = mirror
    assert not (out / FLOAT / "FP32-INT8").exists() and not (cache / "models" / FLOAT).exists()


def test_missing_calibration_folder_names_calibration_before_any_work(mirror, tmp_path):
    """Through the Python entry point (sweep and scripts call it without the CLI's flag validators)."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.pipeline import convert_model
    from omz_mobilenet.convert.quantize import QuantizeOptions
    from omz_mobilenet.errors import ToolError
    from omz_mobilenet.settings import Settings

    cache, _out = mirror
    entry = {m.name: m for m in load_catalogue().models}[FLOAT]
    with pytest.raises(ToolError) as info:
        convert_model(
            entry, ["FP32", "FP32-INT8"], Settings.resolve(), quantize_options=QuantizeOptions(tmp_path / "typo")
        )
    message = info.value.message
    assert info.value.exit_code == 2 and "--calibration" in message and "--dataset" not in message, message
    assert str(tmp_path / "typo") in message and not (cache / "models" / FLOAT).exists()


def test_subset_larger_than_folder_uses_all_and_says_so(mirror, cli):
    code, _out, err = cli(
        "convert", FLOAT, "--precisions", "INT8", "--calibration", CALIBRATION, "--subset-size", "500"
    )
    assert code == 0 and "using all 20" in err


def test_split_is_disjoint_and_deterministic(tmp_path, cli):
    args = [
        "split",
        IMAGES / "val_100_cropped_reencoded",
        "--calibration-count",
        "30",
        "--exclude",
        IMAGES / "val_1300_resized_227",
    ]
    assert cli(*args, "--out", tmp_path / "a")[0] == 0
    assert cli(*args, "--out", tmp_path / "b")[0] == 0
    names = lambda folder: sorted(p.name for p in folder.glob("*.JPEG"))
    calibration, evaluation = names(tmp_path / "a" / "calibration"), names(tmp_path / "a" / "evaluation")
    assert len(calibration) == 30 and len(evaluation) == 70 and not set(calibration) & set(evaluation)
    assert calibration == names(tmp_path / "b" / "calibration")
    excluded = {p.name for p in (IMAGES / "val_1300_resized_227").glob("*.JPEG")}
    assert not set(calibration) & excluded
    assert len((tmp_path / "a" / "evaluation" / "val.txt").read_text().split("\n")) == 71
