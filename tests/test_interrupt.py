"""Ctrl-C (a real SIGINT to a real `bench` process) prints the results gathered so far, writes them
to --json, marks the cut-short run `partial`, and exits 130 without a traceback."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from omz_mobilenet.cli import main
from tests.helpers.paths import ASSETS

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

FLOAT = "mobilenet-v1-0.25-224-tflite"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupt")
    locations = ["--mirror", str(ASSETS), "--cache-dir", str(root / "cache"), "-o", str(root / "ir")]
    assert main(["convert", FLOAT, "--precisions", "FP32,FP16", *locations]) == 0
    return root, locations


def _bench(dirs, *args: str):
    """Start `bench` with SIGINT at its default (a test runner started in the background may ignore it)."""
    root, locations = dirs
    proc = subprocess.Popen(
        [sys.executable, "-m", "omz_mobilenet", "bench", *args, *locations],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: queue.Queue = queue.Queue()
    err: list[str] = []

    def pump():
        for line in proc.stderr:
            err.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines, err


def _wait_for(lines: queue.Queue, text: str, count: int = 1, timeout: float = 180) -> None:
    deadline, seen = time.monotonic() + timeout, 0
    while seen < count:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        seen += text in line


def _interrupt(proc) -> tuple[str, float]:
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out = proc.stdout.read()
    proc.wait(timeout=60)
    return out, time.monotonic() - sent


def test_ctrl_c_during_the_measurement_reports_the_partial_run(dirs, tmp_path):
    path = tmp_path / "r.json"
    proc, lines, err = _bench(dirs, FLOAT, "--time", "120", "--json", str(path))
    _wait_for(lines, "measuring")
    time.sleep(1.0)
    out, took = _interrupt(proc)
    stderr = "".join(err)
    assert proc.returncode == 130, stderr
    assert took < 20 and "Traceback" not in stderr
    assert "INTERRUPTED" in out and FLOAT in out and "partial" in out
    assert stderr.strip().splitlines()[-1].startswith("omz-mobilenet: interrupted during")
    data = json.loads(path.read_text())
    (record,) = data["records"]
    assert data["interrupted"] is True and record["partial"] is True
    assert record["iterations"] > 0 and 0 < record["duration_s"] < 60
    assert 0 < record["latency_min_ms"] <= record["latency_median_ms"] <= record["latency_max_ms"]


def test_ctrl_c_in_the_second_run_keeps_the_first_complete(dirs, tmp_path):
    path, csv_path = tmp_path / "r.json", tmp_path / "r.csv"
    proc, lines, err = _bench(
        dirs,
        FLOAT,
        "--precision",
        "FP32,FP16",
        "--time",
        "5",
        "--warmup",
        "2",
        "--rounds",
        "1",
        "--json",
        str(path),
        "--csv",
        str(csv_path),
    )
    _wait_for(lines, "measuring", count=2)  # FP32 finished, FP16 started
    time.sleep(0.5)
    out, _took = _interrupt(proc)
    assert proc.returncode == 130, "".join(err)
    records = json.loads(path.read_text())["records"]
    assert [(r["precision"], r["partial"]) for r in records] == [("FP32", False), ("FP16", True)]
    assert records[0]["duration_s"] >= 4.9 and records[1]["duration_s"] < 4.9
    assert "1 complete result(s), 1 partial" in "".join(err)
    assert csv_path.read_text().count("\n") == 3  # header + both rows
    assert out.count(FLOAT) >= 2


def test_ctrl_c_before_any_result_exits_130_without_a_table(dirs, tmp_path):
    """Interrupted while the first model is still warming up: nothing to show, still a clean 130."""
    proc, lines, err = _bench(dirs, FLOAT, "--warmup", "1000000", "--niter", "5")
    _wait_for(lines, "warming up")
    time.sleep(0.5)
    out, _took = _interrupt(proc)
    stderr = "".join(err)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "INTERRUPTED" not in out
    assert "interrupted" in stderr.strip().splitlines()[-1]


def test_ctrl_c_during_accuracy_prints_partial_results_and_exits_130(dirs, tmp_path):
    root, locations = dirs
    slower = "mobilenet-v2-1.0-224-quant"  # about 15 s for the 1300 images here, so the signal lands mid-run
    assert main(["convert", slower, *locations]) == 0
    report = tmp_path / "accuracy.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "omz_mobilenet",
            "accuracy",
            slower,
            "--dataset",
            str(ASSETS / "imagenet" / "val_1300_resized_227"),
            "--precision",
            "FP32",
            "--no-progress",
            "--json",
            str(report),
            *locations,
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(7)  # the IR exists already: this lands inside the pass over 1300 images
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "INTERRUPTED, partial results" in out
    rows = json.loads(report.read_text())["records"]
    assert rows and rows[-1]["partial"].startswith("interrupted after")
    assert 0 < rows[-1]["images"] < 1300
