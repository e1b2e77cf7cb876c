"""`gate`: passes on the real converted models, fails (exit 1) on broken controls, exit 2 on errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from omz_mobilenet.accuracy import gate
from omz_mobilenet.accuracy.ac_config import SubsetRef
from omz_mobilenet.accuracy.evaluate import Options
from omz_mobilenet.catalogue import default_catalogue_path, load_catalogue
from omz_mobilenet.cli import main
from omz_mobilenet.inputs.dataset import load_image_sets
from omz_mobilenet.settings import Settings
from tests.helpers.catalogue_edit import edited_catalogue
from tests.helpers.paths import ASSETS

IMAGENET = ASSETS / "imagenet"
# The most sensitive set: a channel swap costs 10-20 points top-1 there (see the README's table).
SENSITIVE_SET = IMAGENET / "val_1300_resized_227"
pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)


@pytest.fixture
def scratch(mirror):
    """conftest's temp cache/IR folders with the offline mirror; returns the folder holding them."""
    return mirror[0].parent


def broken_catalogue(tmp_path: Path, monkeypatch, model: str, change) -> None:
    """A models.yml copy where `model`'s input convention is wrong, so its IR is built wrong."""
    raw = yaml.safe_load(default_catalogue_path().read_text())
    for entry in raw["models"]:
        if entry["name"] == model:
            change(entry["original_input"])
    path = tmp_path / "broken-models.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("OMZ_MOBILENET_MODELS_YML", str(path))


def _gate(scratch, *args: str) -> tuple[int, list[dict]]:
    out = scratch / "gate.json"
    code = main(["gate", *args, "--no-progress", "--json", str(out)])
    return code, json.loads(out.read_text())["records"] if out.is_file() else []


def test_gate_passes_on_the_real_converted_models(scratch, capsys):
    code, rows = _gate(
        scratch, "mobilenet-v1-0.25-128-quant", "mobilenet-v1-0.25-224-tflite", "--dataset", str(IMAGENET)
    )
    assert code == 0, capsys.readouterr().out
    assert len(rows) == 2 * 2 * 3  # models x FP32/FP16 x image sets
    assert {r["status"] for r in rows} == {"PASSED"}
    assert all(r["reference"].startswith("subset: LiteRT") for r in rows)
    assert "gate PASSED" in capsys.readouterr().out


def test_gate_fails_on_a_channel_swapped_ir(scratch, monkeypatch, capsys):
    broken_catalogue(scratch, monkeypatch, "mobilenet-v1-0.25-128-quant", lambda spec: spec.update(color="BGR"))
    code, rows = _gate(scratch, "mobilenet-v1-0.25-128-quant", "--dataset", str(SENSITIVE_SET), "--precision", "FP32")
    assert code == 1
    assert [r["status"] for r in rows] == ["FAILED"]
    assert rows[0]["top1"] < rows[0]["top1_min"]
    assert "FAILED" in capsys.readouterr().out


def test_gate_fails_on_a_double_applied_mean(scratch, monkeypatch):
    # (pixel - 127.5) - 127.5: what subtracting the mean outside an IR that already bakes it in does
    broken_catalogue(
        scratch, monkeypatch, "mobilenet-v1-0.25-224-tflite", lambda spec: spec.update(mean=[255.0, 255.0, 255.0])
    )
    code, rows = _gate(scratch, "mobilenet-v1-0.25-224-tflite", "--dataset", str(SENSITIVE_SET), "--precision", "FP32")
    assert code == 1 and rows[0]["status"] == "FAILED"


def test_unconvertible_model_is_an_error_row_and_exit_2(scratch, monkeypatch, capsys):
    # An ONNX file where the catalogue promises a TFLite flatbuffer: it downloads, but cannot convert.
    onnx = ASSETS / "models" / "mobilenetv2-12-int8_onnx" / "mobilenetv2-12-int8.onnx"

    def onnx_as_tflite(entry):
        entry["files"][0].update(
            name=onnx.name, checksum={"algorithm": "sha256", "value": hashlib.sha256(onnx.read_bytes()).hexdigest()}
        )
        entry["files"][0].pop("size", None)
        entry["model_file"]["file"] = onnx.name

    edited_catalogue(scratch, monkeypatch, {"mobilenet-v1-0.25-128-quant": onnx_as_tflite})
    code, rows = _gate(
        scratch, "mobilenet-v1-0.25-128-quant", "--dataset", str(IMAGENET / "val_original_20"), "--precision", "FP32"
    )
    assert code == 2
    assert rows[0]["status"] == "ERROR" and "not a TFLite flatbuffer" in rows[0]["note"]
    assert "gate ERROR" in capsys.readouterr().out  # the table is still printed


def test_unavailable_model_is_skipped_and_the_gate_incomplete(scratch):
    entry = load_catalogue().get("mobilenet-v1-1.0-224")  # float frozen graph: not in the offline mirror
    settings = Settings(
        cache_dir=scratch / "cache", out_dir=scratch / "ir", mirror=str(ASSETS), timeout=2, retries=0, progress=False
    )
    image_sets = load_image_sets(IMAGENET / "val_original_20")
    options = Options(progress=False)
    logged: list[str] = []
    skipped = gate.run_gate([entry], ["FP32"], image_sets, settings, options, logged.append)
    assert [r.status for r in skipped] == ["SKIPPED"] and "not available" in skipped[0].note
    # --allow-missing accepts a skipped row beside one that passed, never a gate that checked nothing
    assert gate.exit_code(skipped) == 3 and gate.exit_code(skipped, allow_missing=True) == 3
    assert len(logged) == 1 and "\n" not in logged[0] and "mobilenet-v1-1.0-224" in logged[0]  # the reason, once


def test_unknown_image_list_falls_back_to_the_published_reference(scratch):
    code, rows = _gate(
        scratch,
        "mobilenet-v1-0.25-224-tflite",
        "--dataset",
        str(IMAGENET / "val_original_20"),
        "--subset",
        "10",
        "--precision",
        "FP32",
    )
    assert code == 0 and rows[0]["status"] == "PASSED"
    assert rows[0]["reference"].startswith("published") and rows[0]["top1_ref"] == 50.6
    assert "another image list" in rows[0]["note"]


def test_checks_and_exit_codes():
    ref = SubsetRef("s", 100, "x", top1_hits=60, top5_hits=80, tolerance={"top1": 2, "top5": 1}, measured={})
    assert gate.subset_check(58, 100, ref, "top1").passed
    assert not gate.subset_check(57, 100, ref, "top1").passed
    assert not gate.subset_check(78, 100, ref, "top5").passed
    # 10/20 measured: the Wilson upper bound (70 %) reaches 60.6 - 0.5 but not 75 - 0.5.
    assert gate.published_check(10, 20, 0.606, 0.005).passed
    assert not gate.published_check(10, 20, 0.75, 0.005).passed
    assert gate.published_check(10, 20, None, 0.005).passed is None
    row = lambda status: gate.GateRow("m", "FP32", "CPU", "s", status)  # noqa: E731
    assert gate.exit_code([row("PASSED"), row("NO REF")]) == 0
    assert gate.exit_code([row("PASSED"), row("SKIPPED"), row("NO REF")]) == 3
    assert gate.exit_code([row("PASSED"), row("SKIPPED")], allow_missing=True) == 0
    assert gate.exit_code([row("NO REF"), row("SKIPPED")], allow_missing=True) == 3  # nothing was checked
    assert gate.exit_code([row("SKIPPED")], allow_missing=True) == 3
    assert gate.exit_code([row("RECORDED")]) == 0
    assert gate.exit_code([row("FAILED"), row("SKIPPED")]) == 1
    assert gate.exit_code([row("PASSED"), row("FAILED")]) == 1
    assert gate.exit_code([row("FAILED"), row("ERROR")]) == 2
