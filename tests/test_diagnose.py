"""`diagnose` and `convert --ignored-scope` on a real model, real images, real NNCF and OpenVINO.

One module fixture converts mobilenet-v1-0.25-224-tflite to FP32 and INT8 (NNCF, 32 calibration images of
val_1300_resized_227); the diagnosis runs on val_original_20, which shares no image with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.paths import ASSETS, IMAGES, error_lines

pytestmark = pytest.mark.assets

FLOAT = "mobilenet-v1-0.25-224-tflite"
EVALUATION = IMAGES / "val_original_20"


def _run(*args: object) -> int:
    from omz_mobilenet.cli import main

    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def irs(tmp_path_factory):
    """(work folder, location flags, calibration folder) with FP32 and FP32-INT8 IRs converted."""
    work = tmp_path_factory.mktemp("diagnose")
    calibration = work / "calibration"
    calibration.mkdir()
    for image in sorted((IMAGES / "val_1300_resized_227").glob("*.JPEG"))[:32]:
        (calibration / image.name).symlink_to(image)
    where = ["-o", work / "ir", "--cache-dir", work / "cache", "--mirror", ASSETS]
    code = _run("convert", FLOAT, "--precision", "FP32,INT8", "--calibration", calibration, "--no-progress", *where)
    assert code == 0
    return work, where, calibration


def _ir(work: Path, folder: str, out: str = "ir") -> Path:
    return (work / out / FLOAT / folder / f"{FLOAT}.xml").resolve()


def _corrupt_scale(src: Path, dst: Path, layer: str) -> None:
    """Write the INT8 IR with `layer`'s weight dequantization scale broken: every other output channel's
    scale negated and the rest tripled (what a bad calibration or a wrong per-channel axis does)."""
    import openvino as ov
    import openvino.opset13 as ops

    model = ov.Core().read_model(str(src))
    conv = next(op for op in model.get_ops() if op.get_friendly_name() == layer)
    multiply = conv.input_value(1).get_node()
    assert multiply.get_type_name() == "Multiply", multiply.get_type_name()  # int8 weights x scale
    index = next(i for i, v in enumerate(multiply.input_values()) if v.get_node().get_type_name() == "Constant")
    scale = multiply.input_value(index).get_node().get_data().copy()
    factors = np.where(np.arange(scale.shape[0]) % 2 == 0, -1.0, 3.0).reshape((-1,) + (1,) * (scale.ndim - 1))
    multiply.input(index).replace_source_output(ops.constant((scale * factors).astype(scale.dtype)).output(0))
    ov.save_model(model, str(dst), compress_to_fp16=False)


@pytest.fixture(scope="module")
def corrupted(irs):
    """A copy of the IR folder whose INT8 IR has one convolution's quantization scale corrupted."""
    import shutil

    work, _where, _calibration = irs
    bad = work / "bad"
    for folder in ("FP32", "FP32-INT8"):
        shutil.copytree(_ir(work, folder).parent, bad / FLOAT / folder)
    xml = bad / FLOAT / "FP32-INT8" / f"{FLOAT}.xml"
    layer = _middle_convolution(_ir(work, "FP32-INT8"))
    _corrupt_scale(_ir(work, "FP32-INT8"), xml, layer)
    return bad, layer


def _middle_convolution(xml: Path) -> str:
    """The friendly name of the convolution a third of the way through the graph (the sixth of 15). Chosen by position: automatic names
    (`Convolution_204`) count the operations the converting process made before, so they differ between a
    test run alone and one inside the whole suite."""
    import openvino as ov

    convolutions = [
        op for op in ov.Core().read_model(str(xml)).get_ordered_ops() if op.get_type_name() == "Convolution"
    ]
    return str(convolutions[len(convolutions) // 3].get_friendly_name())


def test_diagnose_ranks_a_corrupted_convolution_worst(irs, corrupted, cli, tmp_path):
    work, where, _calibration = irs
    bad, layer = corrupted
    files = {kind: tmp_path / f"d.{kind}" for kind in ("json", "csv", "html")}
    code, out, err = cli(
        "diagnose", FLOAT, "--dataset", EVALUATION, "--limit", "6", "--no-scope", *where[2:], "-o", bad,
        "--json", files["json"], "--csv", files["csv"], "--html", files["html"],
    )  # fmt: skip
    assert code == 0, err
    record = json.loads(files["json"].read_text())["records"][0]
    worst = record["layers"][0]
    assert worst["layer"] == layer and worst["rank"] == 1, record["layers"][:3]
    second = record["layers"][1]
    # it adds more noise than signal; the layers after it inherit the noise and add much less of their own
    assert worst["local_sqnr_db"] < 0 and second["local_sqnr_db"] > worst["local_sqnr_db"] + 5, (worst, second)
    assert record["output"]["output_sqnr_db"] < 10 and record["kernels"]["low"].get("int8", 0) >= 20
    assert worst["low_precision"] == "int8" and worst["ops"].startswith("Convolution")
    assert "29 FakeQuantize" in record["matching"] and out.index(layer) < out.index(
        "Convolution_", out.index(layer) + 1
    )
    assert files["csv"].read_text().splitlines()[1].split(",")[1:3] == ["1", layer]
    page = files["html"].read_text()
    assert page.startswith("<!doctype html>") and layer in page and "<script" not in page and "http" not in page

    # the IR as NNCF made it has no such layer: its worst layer adds far less noise
    files["json"].unlink()
    code, _out, err = cli(
        "diagnose", FLOAT, "--dataset", EVALUATION, "--limit", "6", "--no-scope", *where, "--json", files["json"]
    )
    assert code == 0, err
    good = json.loads(files["json"].read_text())["records"][0]
    assert good["layers"][0]["local_sqnr_db"] > 15 and good["output"]["output_sqnr_db"] > 15, good["layers"][0]


def test_scope_search_re_quantizes_and_counts_its_tries(irs, corrupted, cli, tmp_path):
    _work, where, calibration = irs
    bad, _layer = corrupted
    report, scope_file = tmp_path / "d.json", tmp_path / "scope.yml"
    code, out, err = cli(
        "diagnose", FLOAT, "--dataset", EVALUATION, "--limit", "4", "--min-sqnr", "99", "--max-tries", "2",
        "--calibration", calibration, "--scope-out", scope_file, *where[2:], "-o", bad, "--json", report,
    )  # fmt: skip
    assert code == 0, err
    scope = json.loads(report.read_text())["records"][0]["scope"]
    # try 0 re-quantizes with no scope: NNCF's own quantization, not the corrupted IR, is the baseline
    assert scope["tries"] == 3 and len(scope["history"]) == 3 and not scope["reached"]
    assert scope["start_sqnr_db"] < 10 < scope["history"][0]["output_sqnr_db"]
    assert [len(h["names"]) for h in scope["history"]][0] == 0 and "3 re-quantization(s)" in out
    if scope["names"]:  # a layer that raised the output SQNR: the file convert reads
        from omz_mobilenet.convert.ignored_scope import read_scope_file

        assert list(read_scope_file(scope_file)[0]) == scope["names"]
    else:
        assert not scope_file.exists() and "not written" in err


def test_ignored_scope_keeps_the_named_layers_float(irs, cli, tmp_path):
    """A scope names layers as the FP32 IR on disk does (what diagnose prints); this process converts the
    model again, so automatic names may differ and the layers are found by their recorded positions."""
    import openvino as ov

    from omz_mobilenet.convert.ignored_scope import layer_keys

    work, where, calibration = irs
    positions = ["Convolution#13", "GroupConvolution#1"]  # the 1x1 conv before the classifier, an early depthwise
    on_disk = {key: name for name, key in layer_keys(ov.Core().read_model(str(_ir(work, "FP32")))).items()}
    scope_file = tmp_path / "scope.json"
    scope_file.write_text(
        json.dumps({"model": FLOAT, "names": [on_disk[p] for p in positions], "positions": positions})
    )
    out = tmp_path / "ir"
    code, _out, err = cli(
        "convert", FLOAT, "--precision", "INT8", "--calibration", calibration, "--ignored-scope", scope_file,
        "--no-progress", *where[2:], "-o", out,
    )  # fmt: skip
    assert code == 0, err
    model = ov.Core().read_model(str(_ir(tmp_path, "FP32-INT8")))
    here = {key: name for name, key in layer_keys(model).items()}
    kept = [here[p] for p in positions]
    assert model.get_rt_info(["omz_mobilenet", "ignored_scope"]).astype(str).split("\n") == kept
    ops = {op.get_friendly_name(): op for op in model.get_ops()}

    def feeds(name: str) -> list[str]:
        return [value.get_node().get_type_name() for value in ops[name].input_values()]

    for name in kept:  # no FakeQuantize on the activations, float weights
        assert "FakeQuantize" not in feeds(name) and feeds(name)[1] == "Constant", (name, feeds(name))
    quantized = here["Convolution#12"]
    assert "FakeQuantize" in feeds(quantized)  # the others are still quantized
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERF_COUNT": True})
    request = compiled.create_infer_request()
    request.infer({0: np.zeros((1, 3, 224, 224), np.uint8)})
    kernels = {item.node_name: item.exec_type for item in request.profiling_info}
    assert all(kernels[name].endswith("_f32") for name in kept), {n: kernels[n] for n in kept}
    assert kernels[quantized].endswith("_I8"), kernels[quantized]


def test_bad_scope_file_is_one_line_before_any_work(irs, cli, tmp_path):
    _work, where, calibration = irs
    broken = tmp_path / "broken.yml"
    broken.write_text("names: [\n")
    out = tmp_path / "ir"
    for scope, expected in ((broken, "not YAML or JSON"), (tmp_path / "missing.yml", "cannot read")):
        code, _out, err = cli(
            "convert", FLOAT, "--precision", "INT8", "--calibration", calibration, "--ignored-scope", scope,
            *where[2:], "-o", out,
        )  # fmt: skip
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1 and str(scope) in lines[0] and expected in lines[0], err
        assert "Traceback" not in err and not out.exists()


def test_unknown_layer_is_exit_2_naming_it_before_calibration(irs, cli, tmp_path):
    _work, where, calibration = irs
    scope = tmp_path / "scope.yml"
    scope.write_text("names: [Convolution_428, NoSuchLayer_1]\n")
    out = tmp_path / "ir"
    code, _out, err = cli(
        "convert", FLOAT, "--precision", "INT8", "--calibration", calibration, "--ignored-scope", scope,
        *where[2:], "-o", out,
    )  # fmt: skip
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "NoSuchLayer_1" in lines[0] and str(scope) in lines[0], err
    assert "calibrating" not in err and not (out / FLOAT / "FP32-INT8").exists()


def test_diagnose_without_the_float_ir_is_one_line_before_any_work(irs, cli, tmp_path):
    import shutil

    work, where, _calibration = irs
    only_int8 = tmp_path / "ir"
    shutil.copytree(_ir(work, "FP32-INT8").parent, only_int8 / FLOAT / "FP32-INT8")
    report = tmp_path / "d.json"
    code, _out, err = cli("diagnose", FLOAT, "--dataset", EVALUATION, *where[2:], "-o", only_int8, "--json", report)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "no FP32 IR" in lines[0] and "convert" in lines[0], err
    assert not report.exists() and "comparing" not in err


def test_ignored_scope_auto_applies_what_the_search_found(irs, cli, tmp_path):
    import re

    import openvino as ov

    _work, where, calibration = irs
    out = tmp_path / "ir"
    code, _out, err = cli(
        "convert", FLOAT, "--precision", "INT8", "--calibration", calibration, "--calibration-limit", "16",
        "--ignored-scope", "auto", "--no-progress", *where[2:], "-o", out,
    )  # fmt: skip
    assert code == 0, err
    assert "ignored scope auto: diagnosing INT8 on 16 images" in err  # the 16 images calibration did not use
    model = ov.Core().read_model(str(_ir(tmp_path, "FP32-INT8")))
    found = re.search(r"ignored scope of (\d+) layer\(s\)", err)
    reached_without = "no scope needed" in err
    assert found or reached_without, err
    if found and int(found.group(1)):
        names = model.get_rt_info(["omz_mobilenet", "ignored_scope"]).astype(str).split("\n")
        assert len(names) == int(found.group(1))
        assert model.get_rt_info(["omz_mobilenet", "ignored_scope_file"]).astype(str) == "auto"
    else:
        assert not model.has_rt_info(["omz_mobilenet", "ignored_scope"])
