"""Behaviour the layout change fixed or promised: one batch-reshape helper for bench and accuracy,
and unit tests that run without ../shared/assets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.paths import ASSETS, IMAGES, TESTS

BATCHABLE = ["mobilenet-v2-1.0-224-quant", "mobilenet-v1-0.25-128-quant", "mobilenet-v2-1.0-224-int8"]


@pytest.mark.parametrize("model", BATCHABLE)
def test_accuracy_batch_works_where_bench_batch_does(model, mirror, cli, tmp_path):
    dataset = IMAGES / "val_100_cropped_reencoded"
    assert cli("bench", model, "--batch", "4", "--niter", "8", "--warmup", "1", "--rounds", "1")[0] == 0
    one, four = tmp_path / "b1.json", tmp_path / "b4.json"
    for batch, out in (("1", one), ("4", four)):
        code, _out, err = cli("accuracy", model, "--dataset", dataset, "--limit", "30", "--batch", batch, "--no-progress", "--json", out)
        assert code == 0, err
    rows = [json.loads(p.read_text()) for p in (one, four)]
    rows = [r["records"] if isinstance(r, dict) else r for r in rows]
    assert rows[0][0]["top1"] == rows[1][0]["top1"] and rows[1][0]["images"] == 30


def test_a_batch_that_cannot_be_set_is_one_line_naming_the_model(mirror, cli, tmp_path, monkeypatch):
    """An IR whose graph pins the batch (a Concat with a constant of batch 1) fails in one line."""
    import openvino as ov
    import openvino.opset13 as ops

    from omz_mobilenet.runtime import load_model, new_core

    param = ops.parameter([1, 3, 8, 8], ov.Type.f32, name="x")
    import numpy as np

    pinned = ops.concat([param, ops.constant(np.zeros((1, 1, 8, 8), np.float32))], axis=1)
    model = ov.Model([ops.result(pinned)], [param], "pinned")
    xml = tmp_path / "pinned.xml"
    ov.save_model(model, str(xml))
    from omz_mobilenet.errors import ToolError

    with pytest.raises(ToolError) as info:
        load_model(new_core(), xml, 4, "pinned-model")
    assert info.value.message.startswith("pinned-model: ") and "batch 4" in info.value.message
    assert "\n" not in info.value.message and info.value.exit_code == 2


def test_unit_tests_run_without_the_assets_and_the_others_say_why_not():
    env = {**os.environ, "OMZ_MOBILENET_ASSETS": "/nonexistent"}
    unit = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TESTS / "unit" / "test_bench_rounds.py")],
                          capture_output=True, text=True, env=env, cwd=TESTS.parent, timeout=300)
    assert unit.returncode == 0, unit.stdout + unit.stderr
    other = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TESTS / "test_layout.py")],
                           capture_output=True, text=True, env=env, cwd=TESTS.parent, timeout=300)
    assert other.returncode != 0 and "offline assets not found at /nonexistent" in other.stdout + other.stderr
    assert ASSETS.is_dir()
