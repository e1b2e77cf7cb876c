"""Conversion of every offline model through the catalogue path, and the conversion failure modes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from omz_mobilenet.catalogue import load_catalogue
from tests.helpers.catalogue_edit import edited_catalogue
from tests.helpers.paths import ASSETS, IMAGES, OFFLINE_TFLITE, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)


def _read(xml):
    import openvino as ov

    return ov.Core().read_model(str(xml))


@pytest.mark.parametrize("name", OFFLINE_TFLITE)
def test_offline_model_converts_with_baked_io(name, mirror, cli):
    _cache, out = mirror
    entry = load_catalogue().get(name)
    code, stdout, err = cli("convert", name, "--precisions", "FP32,FP16", "--json")
    assert code == 0, err
    rows = json.loads(stdout)["records"]
    assert [r["precision"] for r in rows] == ["FP32", "FP16"]
    for precision in ("FP32", "FP16"):
        model = _read(out / name / precision / f"{name}.xml")
        port = model.inputs[0]
        assert list(port.get_shape()) == [1, 3, entry.resolution, entry.resolution]
        assert port.get_element_type().get_type_name() == "u8" and entry.converted_input.name in port.get_names()
        assert list(model.outputs[0].get_shape()) == [1, entry.output.classes]
        assert model.outputs[0].get_element_type().get_type_name() == "f32"
        labels = model.get_rt_info(["omz_mobilenet", "labels"]).astype(str).split("\n")
        assert len(labels) == entry.output.classes and labels[0] == "background"
        assert model.get_rt_info(["omz_mobilenet", "source_sha256"]).astype(str) == entry.model_source.checksum.value


def test_fp16_compresses_weights_and_fp32_keeps_them(mirror, cli):
    _cache, out = mirror
    name = "mobilenet-v1-0.25-224-tflite"
    assert cli("convert", name, "--precisions", "FP32,FP16")[0] == 0

    def const_types(precision):
        model = _read(out / name / precision / f"{name}.xml")
        return {
            op.get_output_element_type(0).get_type_name() for op in model.get_ops() if op.get_type_name() == "Constant"
        }

    assert "f16" not in const_types("FP32") and "f16" in const_types("FP16")
    fp32 = (out / name / "FP32" / f"{name}.bin").stat().st_size
    fp16 = (out / name / "FP16" / f"{name}.bin").stat().st_size
    assert fp16 < 0.6 * fp32


def test_reconvert_swaps_atomically_and_cleans_up(mirror, cli):
    _cache, out = mirror
    name = "mobilenet-v1-0.25-128-quant"
    assert cli("convert", name)[0] == 0
    first = os.readlink(out / name / "FP32")
    assert cli("convert", name)[0] == 0
    second = os.readlink(out / name / "FP32")
    assert first != second and not (out / name / first).exists()
    assert (out / name / "FP32" / f"{name}.bin").is_file()


def test_ir_cost_matches_catalogue_for_float_tflite(mirror, cli):
    code, stdout, _ = cli("convert", "mobilenet-v1-0.25-224-tflite", "--json")
    row = json.loads(stdout)["records"][0]
    # TF-slim table: 41 M MACs and 0.47 M parameters for MobileNet_v1_0.25_224.
    assert abs(row["mparams"] - 0.47) / 0.47 < 0.01
    assert abs(row["gflops"] - 0.082) / 0.082 < 0.05


def test_onnx_qoperator_model_converts_through_qdq(mirror, cli):
    _cache, out = mirror
    code, _out, err = cli("convert", "mobilenetv2-12-int8")
    assert code == 0, err
    model = _read(out / "mobilenetv2-12-int8" / "FP32" / "mobilenetv2-12-int8.xml")
    assert any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
    assert list(model.outputs[0].get_shape()) == [1, 1000]


def test_unwritable_output_dir(mirror, tmp_path, cli):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _out, err = cli("convert", "mobilenet-v1-0.25-128-quant", "-o", str(blocker / "ir"))
    assert code == 2 and "not writable" in err and "Traceback" not in err


def test_convert_and_download_accept_no_progress(mirror, cli):
    """Issue 18: every command that takes long accepts --no-progress; convert refused it."""
    code, _out, err = cli("download", "mobilenet-v1-0.25-128-quant", "--no-progress")
    assert code == 0, err
    code, out, err = cli("convert", "mobilenet-v1-0.25-128-quant", "--no-progress", "--json")
    assert code == 0, err
    assert json.loads(out)["records"][0]["precision"] == "FP32"


def test_impossible_pair_is_refused_before_any_model_is_converted(mirror, cli):
    """Issue 18: every named model x precision pair is checked before any work, not when its turn comes
    (the INT8 model first would be requantized, then the float one refused)."""
    calibration = IMAGES / "val_original_20"
    quantized, floating = "mobilenet-v1-0.25-128-quant", "mobilenet-v1-0.25-224-tflite"
    code, _out, err = cli("convert", quantized, floating, "--precision", "INT8-RQ", "--calibration", calibration)
    assert code == 2 and "float model" in err and floating in err and len(error_lines(err)) == 1, err
    cache, out = mirror
    assert not (out / quantized).exists() and not (cache / "models").exists()


def test_unknown_precision(mirror, cli, capsys):
    with pytest.raises(SystemExit) as stop:  # refused while parsing, by the shared --precision check
        cli("convert", "mobilenet-v1-0.25-128-quant", "--precisions", "FP8")
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "FP8" in err and len(err.strip().splitlines()) == 1


def test_truncated_model_file_is_a_clear_error(workdirs, tmp_path, monkeypatch, cli):
    source = ASSETS / "models" / "mobilenet_v1_0.25_128_quant_uint8_coral" / "mobilenet_v1_0.25_128_quant.tflite"
    broken_mirror = tmp_path / "mirror"
    broken_mirror.mkdir()
    data = source.read_bytes()[:200_000]
    (broken_mirror / source.name).write_bytes(data)
    (broken_mirror / "synset_words.txt").write_bytes((ASSETS / "imagenet" / "labels" / "synset_words.txt").read_bytes())
    import hashlib

    def truncated(entry):
        entry["files"][0]["checksum"] = {"algorithm": "sha256", "value": hashlib.sha256(data).hexdigest()}

    edited_catalogue(tmp_path, monkeypatch, {"mobilenet-v1-0.25-128-quant": truncated})
    code, _out, err = cli("convert", "mobilenet-v1-0.25-128-quant", "--mirror", str(broken_mirror))
    assert code == 1 and "cannot read this TFLite model" in err and len(error_lines(err)) == 1
    _cache, out = workdirs
    assert not (out / "mobilenet-v1-0.25-128-quant" / "FP32").exists()


def test_wrong_format_file_is_refused(workdirs, tmp_path, monkeypatch, cli):
    onnx = ASSETS / "models" / "mobilenetv2-12-int8_onnx" / "mobilenetv2-12-int8.onnx"
    import hashlib

    def onnx_as_tflite(entry):
        entry["files"][0].update(
            name=onnx.name,
            sources=["https://example.invalid/x.onnx"],
            checksum={"algorithm": "sha256", "value": hashlib.sha256(onnx.read_bytes()).hexdigest()},
        )
        entry["files"][0].pop("size", None)
        entry["model_file"]["file"] = onnx.name

    edited_catalogue(tmp_path, monkeypatch, {"mobilenet-v1-0.25-128-quant": onnx_as_tflite})
    code, _out, err = cli("convert", "mobilenet-v1-0.25-128-quant", "--mirror", str(ASSETS))
    assert code == 1 and "not a TFLite flatbuffer" in err


def test_missing_files_without_mirror(workdirs, cli):
    code, _out, err = cli("convert", "mobilenet-v1-0.50-160")
    assert code == 1 and "cannot download mobilenet_v1_0.5_160.tgz" in err and "--mirror" in err


def test_convert_all_reports_failures_but_converts_the_rest(mirror, cli):
    code, stdout, err = cli("convert", "--all", "--json")
    assert code == 1
    converted = {r["model"] for r in json.loads(stdout)["records"]}
    assert set(OFFLINE_TFLITE) | {"mobilenetv2-12-int8"} <= converted
    assert "cannot download mobilenet_v2_1.0_224.tgz" in err


def test_baked_ir_equals_manual_preprocessing(mirror, cli):
    """Same pixels, once through the baked IR and once normalised by hand into the raw model."""
    import openvino as ov

    from omz_mobilenet.inputs.images import ir_input, load_for_model, original_input

    name = "mobilenet-v1-0.25-224-tflite"
    cache, out = mirror
    assert cli("convert", name)[0] == 0
    entry = load_catalogue().get(name)
    image = load_for_model(sorted((ASSETS / "imagenet" / "val_original_20").glob("*.JPEG"))[0], entry)
    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    baked = core.compile_model(str(out / name / "FP32" / f"{name}.xml"), "CPU", config)
    raw = core.compile_model(str(cache / "models" / name / entry.model_file.file), "CPU", config)
    manual = ((image[..., ::-1].astype(np.float32) - 127.5) / 127.5)[None]
    np.testing.assert_allclose(original_input([image], entry), manual, atol=1e-6)
    np.testing.assert_allclose(baked(ir_input([image]))[0], raw(manual)[0], atol=1e-5)
