"""Real processes: `convert` killed with SIGKILL at random points, a `download` killed mid-transfer,
and two `convert` / two `download` processes for the same model at the same time.

Two catalogue variants of the float model differ in their mean (baked into the .bin as a constant
and recorded in the .xml's rt_info), so an `.xml` of one run next to a `.bin` of the other is
detectable from the files alone: every (xml, bin) pair on disk must be one of the two reference
pairs, and match the `<model>.sha256` written with it.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from omz_mobilenet.convert.ir_store import check_manifest
from tests.helpers.catalogue_edit import raw_catalogue
from tests.helpers.paths import ASSETS

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

MODEL = "mobilenet-v1-0.25-224-tflite"
QUANT = "mobilenet-v1-0.25-128-quant"
QUANT_FILE = "mobilenet_v1_0.25_128_quant.tflite"
QUANT_SHA256 = "cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(cache: Path, out: Path, catalogue: Path | None = None, mirror: str | None = str(ASSETS)) -> dict:
    env = dict(os.environ)
    env.update(OMZ_MOBILENET_CACHE=str(cache), OMZ_MOBILENET_OUT=str(out), OMZ_MOBILENET_TIMEOUT="10")
    env.pop("OMZ_MOBILENET_MIRROR", None)
    env.pop("OMZ_MOBILENET_MODELS_YML", None)
    if mirror:
        env["OMZ_MOBILENET_MIRROR"] = mirror
    if catalogue:
        env["OMZ_MOBILENET_MODELS_YML"] = str(catalogue)
    return env


def _start(args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "omz_mobilenet", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _pair(out: Path) -> tuple[str, str]:
    folder = out / MODEL / "FP32"
    return _sha(folder / f"{MODEL}.xml"), _sha(folder / f"{MODEL}.bin")


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """Two catalogues (mean 127.5 and 120) and the (xml, bin) hashes a complete convert gives for each,
    plus how long a complete convert takes here."""
    root = tmp_path_factory.mktemp("variants")
    data = raw_catalogue()
    paths, pairs, durations = {}, {}, []
    for name, mean in (("A", 127.5), ("B", 120.0)):
        for entry in data["models"]:
            if entry["name"] == MODEL:
                entry["original_input"]["mean"] = [mean] * 3
        paths[name] = root / f"models-{name}.yml"
        paths[name].write_text(yaml.safe_dump(data, sort_keys=False))
        started = time.monotonic()
        proc = _start(["convert", MODEL], _env(root / "cache", root / f"ir-{name}", paths[name]), root)
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        durations.append(time.monotonic() - started)
        pairs[name] = _pair(root / f"ir-{name}")
    assert pairs["A"][0] != pairs["B"][0] and pairs["A"][1] != pairs["B"][1]
    return {"root": root, "catalogue": paths, "pairs": pairs, "duration": max(durations), "cache": root / "cache"}


def _check_ir(out: Path, pairs: dict) -> str:
    """Which variant is on disk ("A"/"B"); fails on a mix or a broken manifest."""
    link = out / MODEL / "FP32"
    assert link.is_symlink() and link.resolve().is_dir()
    pair = _pair(out)
    found = [name for name, ref in pairs.items() if ref == pair]
    assert found, f"mixed or foreign IR on disk: {pair}"
    assert check_manifest(link / f"{MODEL}.xml")
    return found[0]


def test_sigkill_during_convert_leaves_the_old_or_the_new_ir(variants, tmp_path):
    out, pairs = tmp_path / "ir", variants["pairs"]
    cache = variants["cache"]
    proc = _start(["convert", MODEL], _env(cache, out, variants["catalogue"]["A"]), tmp_path)
    assert proc.wait(timeout=300) == 0
    assert _check_ir(out, pairs) == "A"
    rng = random.Random(20261121)
    duration = variants["duration"]
    outcomes = []
    for kill in range(8):
        before = _check_ir(out, pairs)
        variant = "B" if before == "A" else "A"  # always write the other one, so a swap is visible
        existing = {p.name for p in (out / MODEL).iterdir()}
        proc = _start(["convert", MODEL], _env(cache, out, variants["catalogue"][variant]), tmp_path)
        if kill % 2 == 0:  # anywhere in the run: start-up, download check, conversion, write
            delay = rng.uniform(0.3, 1.1) * duration
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        else:  # inside the write: a random moment after the new staging folder appears
            delay = rng.uniform(0.0, 0.1)  # a write (save, hashes, fsync, swap) takes ~50 ms here
            deadline = time.monotonic() + 300
            while proc.poll() is None and time.monotonic() < deadline:
                if any(p.name not in existing and p.name.startswith(".FP32.") for p in (out / MODEL).iterdir()):
                    time.sleep(delay)
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.001)
        proc.communicate(timeout=60)
        after = _check_ir(out, pairs)  # the real assertion: never a mix, never nothing
        assert after in (before, variant)
        staging = [p.name for p in (out / MODEL).iterdir() if p.name.startswith(".FP32.")]
        outcomes.append((round(delay, 3), proc.returncode, before, after, len(staging)))
    print("kills (delay s, return code, IR before, IR after, staging folders):", outcomes)
    assert any(code == -signal.SIGKILL for _d, code, *_ in outcomes)
    # a complete run afterwards cleans up what the killed runs left behind
    proc = _start(["convert", MODEL], _env(cache, out, variants["catalogue"]["A"]), tmp_path)
    assert proc.wait(timeout=300) == 0
    assert _check_ir(out, pairs) == "A"
    hidden = sorted(p.name for p in (out / MODEL).iterdir() if p.name.startswith("."))
    assert len(hidden) == 2 and ".lock" in hidden, hidden  # the lock and the one live folder


def test_two_converts_at_once_both_succeed_with_a_correct_ir(variants, tmp_path):
    """Fresh cache and output: both processes download (taking turns) and write (taking turns)."""
    cache, out = tmp_path / "cache", tmp_path / "ir"
    env = _env(cache, out, variants["catalogue"]["A"])
    procs = [_start(["convert", MODEL], env, tmp_path) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert _check_ir(out, variants["pairs"]) == "A"
    folder = cache / "models" / MODEL
    assert [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []
    hidden = sorted(p.name for p in (out / MODEL).iterdir() if p.name.startswith("."))
    assert len(hidden) == 2, hidden


class _Slow:
    """A flat HTTP mirror that trickles QUANT's file out in 32 KB pieces (~1.5 s in all)."""

    def __init__(self, http_mirror):
        self.base, self.handler = http_mirror
        self.data = (ASSETS / "models" / "mobilenet_v1_0.25_128_quant_uint8_coral" / QUANT_FILE).read_bytes()
        self.model_requests = 0
        self.sent = threading.Event()  # set once 100 KB of the model went out
        original = self.handler.do_GET
        slow = self

        def do_get(h):
            if not h.path.endswith(QUANT_FILE):
                return original(h)
            slow.model_requests += 1
            h.send_response(200)
            h.send_header("Content-Length", str(len(slow.data)))
            h.end_headers()
            try:
                for start in range(0, len(slow.data), 32768):
                    h.wfile.write(slow.data[start : start + 32768])
                    h.wfile.flush()
                    if start >= 100_000:
                        slow.sent.set()
                    time.sleep(0.09)
            except OSError:
                pass  # the client was killed

        self.handler.do_GET = do_get


def test_sigkill_during_download_leaves_no_file_and_the_next_run_cleans_up(workdirs, http_mirror, tmp_path):
    cache, out = workdirs
    slow = _Slow(http_mirror)
    env = _env(cache, out, mirror=slow.base)
    proc = _start(["download", QUANT], env, tmp_path)
    assert slow.sent.wait(60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    folder = cache / "models" / QUANT
    assert not (folder / QUANT_FILE).exists()  # never under the final name unverified
    assert any(p.name.endswith(".part") for p in folder.iterdir())  # the killed run's partial file
    proc = _start(["download", QUANT], env, tmp_path)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _sha(folder / QUANT_FILE) == QUANT_SHA256
    assert [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []


def test_two_downloads_at_once_fetch_the_file_once(workdirs, http_mirror, tmp_path):
    cache, out = workdirs
    slow = _Slow(http_mirror)
    env = _env(cache, out, mirror=slow.base)
    procs = [_start(["download", QUANT], env, tmp_path) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert all(QUANT_FILE in stdout for stdout, _err in results)
    assert slow.model_requests == 1  # the second process waited for the lock and found it verified
    folder = cache / "models" / QUANT
    assert _sha(folder / QUANT_FILE) == QUANT_SHA256
    assert [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []
