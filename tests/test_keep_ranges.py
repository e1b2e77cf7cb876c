"""Requantization that keeps the original's ranges (convert/keep_ranges.py), on a real uint8 TFLite.

The as-is import of mobilenet-v1-0.25-128-quant (f32 kernels: asymmetric u8 weights) gets its weights
re-expressed as symmetric int8 per channel, its activation FakeQuantizes kept, no calibration image:
- every convolution then runs int8 (the compiled model's runtime precisions);
- a channel that fits keeps exactly the original's weight values; the others are counted as rounded;
- Top-1 against the original in LiteRT on 300 images it never saw stays within the 1-point rule for
  unseen images (measured idle on 700 images: +0.57 points, benchmarks/requant_keep_ranges.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.paths import ASSETS, IMAGES

pytestmark = pytest.mark.assets

MODEL = "mobilenet-v1-0.25-128-quant"


@pytest.fixture(scope="module")
def as_is(tmp_path_factory):
    from omz_mobilenet.cli import main

    root = tmp_path_factory.mktemp("keep_ranges")
    locations = ["--mirror", str(ASSETS), "--cache-dir", str(root / "cache"), "-o", str(root / "ir")]
    assert main(["convert", MODEL, "--precision", "INT8-ASIS", *locations, "--no-progress"]) == 0
    return root, root / "ir" / MODEL / "FP32" / f"{MODEL}.xml"


@pytest.fixture(scope="module")
def kept(as_is):
    import openvino as ov

    from omz_mobilenet.convert.keep_ranges import keep_ranges

    root, xml = as_is
    model = ov.Core().read_model(xml)
    record = keep_ranges(model)
    out = root / "keep" / f"{MODEL}.xml"
    ov.save_model(model, str(out), compress_to_fp16=False)
    return model, record, out


def _kernels(xml) -> dict:
    from omz_mobilenet.bench.compiled import runtime_precisions
    from omz_mobilenet.runtime import compile_ir, new_core

    text = runtime_precisions(compile_ir(new_core(), xml, "CPU", "f32", {}, 1))
    return {k: int(v) for k, v in (item.split(":") for item in text.split())}


def test_every_convolution_runs_int8(as_is, kept):
    _model, record, xml = kept
    assert record.layers == 28 and record.left == 0
    assert _kernels(xml) == {"u8": 28}
    assert _kernels(as_is[1]).get("f32", 0) > 20  # the as-is import it started from did not


def test_channels_that_fit_keep_the_original_values(as_is, kept):
    """On the original's grid a fitting channel's weights pass the weight FakeQuantize unchanged."""
    model, record, _xml = kept
    assert record.exact_channels > 0.95 * (record.exact_channels + record.rounded_channels)
    checked = 0
    for op in model.get_ops():
        if op.get_type_name() != "Convolution":
            continue
        fq = op.input_value(1).get_node()
        assert fq.get_type_name() == "FakeQuantize" and fq.get_levels() == 255
        weights, half = (fq.input_value(i).get_node().get_data() for i in (0, 2))
        step = -half / 127  # the grid step per channel (input_low is -half)
        on_grid = np.abs(weights / step - np.round(weights / step)).max(axis=(1, 2, 3)) < 1e-3
        checked += int(on_grid.sum())
    assert checked > 0


def test_top1_stays_within_the_unseen_rule_against_litert(as_is, kept):
    from omz_mobilenet.accuracy.requant_check import UNSEEN_MAX_DROP, ir_top1, judgement, original_top1
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.inputs.dataset import load_image_set

    root, _xml = as_is
    entry = {m.name: m for m in load_catalogue().models}[MODEL]
    images = load_image_set(IMAGES / "val_1300_resized_227", subset=300)
    original = original_top1(entry, next((root / "cache").rglob("*.tflite")), images)
    verdict = judgement(entry, "INT8-RQ", images.name, ir_top1(entry, kept[2], images), original, UNSEEN_MAX_DROP)
    assert verdict.passed, verdict


def test_convert_int8_writes_keep_ranges_when_it_holds_the_margin(tmp_path):
    """`convert --precision INT8` of the uint8 source, calibration folder of one split (60 calibration and
    100 labelled validation images): keep-ranges is judged on the validation images against LiteRT,
    holds the 0.5-point margin, and is the INT8-RQ IR written, with the method in its records."""
    import json
    import os
    import subprocess
    import sys

    import openvino as ov

    env = dict(os.environ, OMZ_MOBILENET_CACHE=str(tmp_path / "cache"), OMZ_MOBILENET_OUT=str(tmp_path / "ir"))
    env["OMZ_MOBILENET_MIRROR"] = str(ASSETS)
    for key in ("OMZ_MOBILENET_MODELS_YML", "OMZ_MOBILENET_CATALOGUE"):
        env.pop(key, None)

    def run(*args, progress_flag: bool = True) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "omz_mobilenet", *map(str, args), *(["--no-progress"] if progress_flag else [])]
        return subprocess.run(command, env=env, capture_output=True, text=True)

    split = run("split", IMAGES / "val_1300_resized_227", "--calibration-count", 160, "--out", tmp_path / "split",
                "--exclude", IMAGES / "val_100_cropped_reencoded", "--exclude", IMAGES / "val_original_20")  # fmt: skip
    assert split.returncode == 0, split.stderr
    folder = tmp_path / "split" / "calibration"
    done = run("convert", MODEL, "--precision", "INT8", "--calibration", folder, "--calibration-limit", 60, "--json")
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)["records"]  # stdout is the envelope alone
    xml = tmp_path / "ir" / MODEL / "INT8-RQ" / f"{MODEL}.xml"
    assert record["xml"] == str(xml)
    margin = json.loads(xml.with_name(f"{MODEL}.calibration.json").read_text())["requant_margin"]
    assert margin["method"] == "keep-ranges" and margin["checked"] and margin["within"], margin
    assert margin["validation_images"] == 100 and margin["drop"] <= 0.5
    rt = ov.Core().read_model(str(xml)).get_rt_info(["omz_mobilenet", "requant_margin"]).astype(str)
    assert str(rt).startswith("keep-ranges")
    assert _kernels(xml) == {"u8": 28}
    # `info` says how the INT8 IR was checked, in its table and its JSON status
    info = run("info", MODEL, "--json", progress_flag=False)  # info shows no progress: it has no such flag
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["status"]["requant_margin"] == margin
    table = run("info", MODEL, "--wide", progress_flag=False)
    assert "INT8 margin" in table.stdout and "keep-ranges: Top-1" in table.stdout, table.stdout
    assert "held-out images: within 0.5 points" in table.stdout
