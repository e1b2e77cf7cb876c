"""`verify` and `accuracy --original` load OpenVINO and the original's runtime (LiteRT here) in one
process; a command that prints its verdict and then dies at interpreter exit (signal 11) fails a
user's CI as surely as a wrong verdict. Each runs 20 times as a real process and must exit 0 every
time, with nothing on stderr that a crash at exit leaves (faulthandler is on, so one would print
"Fatal Python error" and the stacks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.paths import ASSETS, IMAGES

pytestmark = pytest.mark.assets

MODEL = "mobilenet-v1-0.25-128-quant"  # the smallest offline model: 0.03 GFlops, 128x128
DATASET = IMAGES / "val_100_cropped_reencoded"
RUNS = 20
AT_ONCE = 2  # two processes at a time: the exit is what is tested, not the speed
CRASH_MARKS = ("Segmentation fault", "Fatal Python error", "core dumped", "Aborted", "terminate called")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The environment of every run: the assets as the mirror, and the IR converted once."""
    root = tmp_path_factory.mktemp("clean_exit")
    env = {
        **os.environ,
        "OMZ_MOBILENET_MIRROR": str(ASSETS),
        "OMZ_MOBILENET_CACHE": str(root / "cache"),
        "OMZ_MOBILENET_OUT": str(root / "ir"),
        "PYTHONFAULTHANDLER": "1",
    }
    converted = _run(["convert", MODEL, "--no-progress"], env)
    assert converted.returncode == 0, converted.stderr
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "omz_mobilenet", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, cwd=Path(env["OMZ_MOBILENET_OUT"]).parent
    )


def _how_it_ended(proc: subprocess.CompletedProcess) -> str:
    if proc.returncode < 0:
        return f"killed by {signal.Signals(-proc.returncode).name}"
    return f"exit {proc.returncode}"


def _repeat(args: list[str], env: dict[str, str]) -> None:
    with ThreadPoolExecutor(AT_ONCE) as pool:
        runs = list(pool.map(lambda _i: _run(args, env), range(RUNS)))
    bad = [
        f"run {i + 1}: {_how_it_ended(p)}; stderr ends: {p.stderr.strip().splitlines()[-3:]}"
        for i, p in enumerate(runs)
        if p.returncode != 0 or any(mark in p.stderr for mark in CRASH_MARKS)
    ]
    assert not bad, (
        f"{len(bad)} of {RUNS} runs of `omz-mobilenet {' '.join(args)}` did not exit cleanly:\n" + "\n".join(bad)
    )
    # each run did its work before exiting: the verdict / the table names the model
    assert all(MODEL in p.stdout for p in runs), runs[0].stdout


def test_verify_exits_0_every_time(env):
    _repeat(["verify", MODEL, "--dataset", str(DATASET), "--limit", "10"], env)


def test_accuracy_with_the_original_exits_0_every_time(env):
    _repeat(["accuracy", MODEL, "--original", "--dataset", str(DATASET), "--limit", "10", "--no-progress"], env)
