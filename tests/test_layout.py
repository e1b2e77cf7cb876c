"""Behaviour the layout change fixed or promised: one batch-reshape helper for bench and accuracy,
and test groups chosen by marker: `-m "not assets"` runs anywhere, pytest's own exit codes are kept."""

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
        code, _out, err = cli(
            "accuracy", model, "--dataset", dataset, "--limit", "30", "--batch", batch, "--no-progress", "--json", out
        )
        assert code == 0, err
    rows = [json.loads(p.read_text()) for p in (one, four)]
    rows = [r["records"] if isinstance(r, dict) else r for r in rows]
    assert rows[0][0]["top1"] == rows[1][0]["top1"] and rows[1][0]["images"] == 30


def test_a_batch_that_cannot_be_set_is_one_line_naming_the_model(tmp_path):
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


def _pytest(*args: str, assets: str) -> subprocess.CompletedProcess:
    """pytest in a child process, as `make test` runs it, with OMZ_MOBILENET_ASSETS set to `assets`."""
    env = {**os.environ, "OMZ_MOBILENET_ASSETS": assets}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=TESTS.parent,
        timeout=300,
    )


# Asset-free tests inside and outside tests/unit, and a module marked `assets` as a whole.
FREE = [str(TESTS / "unit" / "test_bench_rounds.py"), str(TESTS / "test_pick.py")]
MARKED = str(TESTS / "test_gate_incomplete.py")


def test_tests_without_the_assets_marker_run_without_the_assets(tmp_path):
    free = _pytest("-m", "not assets", *FREE, MARKED, assets=str(tmp_path))
    assert free.returncode == 0, free.stdout + free.stderr
    assert " passed" in free.stdout and "deselected" in free.stdout and "offline assets" not in free.stdout


def test_tests_marked_assets_stop_the_session_in_one_line_without_them(tmp_path):
    marked = _pytest(MARKED, assets=str(tmp_path / "none"))
    assert marked.returncode == 4, marked.stdout + marked.stderr  # pytest's usage error, before any test
    assert f"offline assets not found at {tmp_path / 'none'}" in marked.stderr and "make test-fast" in marked.stderr
    assert "passed" not in marked.stdout + marked.stderr


def test_the_mirror_fixture_implies_the_assets_marker(tmp_path):
    """The batch test of this module asks for `mirror` and carries no marker of its own."""
    listed = _pytest("--co", "-m", "not assets", str(TESTS / "test_layout.py"), assets=str(tmp_path))
    assert listed.returncode == 0, listed.stdout + listed.stderr
    chosen = {line.split("::")[1] for line in listed.stdout.splitlines() if "::" in line}
    assert chosen and not any(name.startswith("test_accuracy_batch_works") for name in chosen), listed.stdout
    assert f"({len(BATCHABLE)} deselected)" in listed.stdout, listed.stdout


def test_no_test_selected_is_exit_5_and_a_usage_error_keeps_pytests_message(tmp_path):
    """A selection that runs nothing must not pass CI (pytest says 5), and a bad flag keeps pytest's
    own message and exit 4: the suite leaves through the interpreter's normal exit, never a hard exit."""
    nothing = _pytest("-m", "not assets", "-k", "no_test_is_named_like_this", *FREE, assets=str(ASSETS))
    assert nothing.returncode == 5, nothing.stdout + nothing.stderr
    assert "no tests ran" in nothing.stdout or "deselected" in nothing.stdout
    bad = _pytest("--no-such-flag", *FREE, assets=str(ASSETS))
    assert bad.returncode == 4 and "unrecognized arguments: --no-such-flag" in bad.stderr, bad.stderr


def test_no_hard_exit_left_in_the_tests():
    offenders = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py") if "os." + "_exit(" in p.read_text()]
    assert offenders == []


LEAKS_A_HANDLER = """
import signal
import pytest

@pytest.fixture(scope="module")
def cluster():  # as Ray's in-process cluster does: a process-wide SIGTERM handler, never removed
    signal.signal(signal.SIGTERM, lambda *_: None)
    yield

def test_uses_the_cluster(cluster):
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL

def test_sets_one_itself():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
"""

RUNS_AFTER = """
import signal

def test_later_tests_see_the_default_sigterm():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
"""


def test_signal_handlers_set_by_a_test_module_do_not_outlive_it(tmp_path):
    """A SIGTERM handler left in the pytest process is inherited by children forked later (OpenVINO's
    telemetry forks some), which then cannot be terminated, and the session hangs at exit waiting for them."""
    (tmp_path / "test_a_leaky.py").write_text(LEAKS_A_HANDLER)
    (tmp_path / "test_b_after.py").write_text(RUNS_AFTER)
    run = _pytest("-p", "tests.conftest", "--rootdir", str(tmp_path), str(tmp_path), assets=str(ASSETS))
    assert run.returncode == 0 and "3 passed" in run.stdout, run.stdout + run.stderr
