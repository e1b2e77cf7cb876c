"""INT8-RQ (requantized INT8 sources) and `bench --tune`: behaviour, never speed.

- a requantized IR runs int8 convolutions (the compiled model's runtime precisions say so);
- the accuracy rule (vs the original in LiteRT, same images) accepts a faithful requantization and
  rejects one whose baked preprocessing reverses the wrong channels;
- `--tune` picks a configuration within --max-latency, or says in one line that nothing fits (exit 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.catalogue_edit import edited_catalogue
from tests.helpers.paths import ASSETS, IMAGES, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

MODEL = "mobilenet-v1-0.25-128-quant"  # the smallest offline uint8 TFLite
CALIBRATION = IMAGES / "val_original_20"
EVALUATION = IMAGES / "val_100_cropped_reencoded"
INT8_KERNELS = {"i8", "u8"}


def _convert(env: dict) -> subprocess.Popen:
    # NNCF's requantization by name: the broken case below is a calibration on reversed channels, and
    # keep-ranges (the default first candidate, tests/test_keep_ranges.py) does not calibrate at all
    args = ["convert", MODEL, "--precision", "INT8", "--calibration", CALIBRATION, "--subset-size", "20"]
    args += ["--requant-method", "nncf"]
    return subprocess.Popen(
        [sys.executable, "-m", "omz_mobilenet", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _env(work) -> dict:
    env = dict(
        os.environ,
        OMZ_MOBILENET_CACHE=str(work / "cache"),
        OMZ_MOBILENET_OUT=str(work / "ir"),
        OMZ_MOBILENET_MIRROR=str(ASSETS),
    )
    env.pop("OMZ_MOBILENET_MODELS_YML", None)
    return env


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Two requantizations (`convert --precision INT8` of a uint8 TFLite, 20 calibration images), made
    side by side: a faithful one, and one from a catalogue copy that says the model takes BGR, so
    its baked IR feeds the channels reversed (calibration sees the same broken IR)."""
    good, bad = tmp_path_factory.mktemp("rq"), tmp_path_factory.mktemp("rq_broken")
    with pytest.MonkeyPatch.context() as patch:
        path = edited_catalogue(bad, patch, {MODEL: lambda e: e["original_input"].update(color="BGR")})
    runs = [_convert(_env(good)), _convert(dict(_env(bad), OMZ_MOBILENET_MODELS_YML=str(path)))]
    for run in runs:
        _out, err = run.communicate()
        assert run.returncode == 0, err
    return good, bad


@pytest.fixture(scope="module")
def requantized(converted):
    return converted[0]


@pytest.fixture(scope="module")
def broken(converted):
    return converted[1]


def _xml(work):
    return work / "ir" / MODEL / "INT8-RQ" / f"{MODEL}.xml"


def _judge(work):
    from omz_mobilenet.accuracy.requant_check import judge_requantized
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.fetch.download import fetch_model
    from omz_mobilenet.inputs.dataset import load_image_set
    from omz_mobilenet.settings import Settings

    entry = {m.name: m for m in load_catalogue().models}[MODEL]  # the true catalogue: RGB
    original = fetch_model(entry, Settings.resolve(cache_dir=work / "cache", mirror=str(ASSETS))).model_path
    return judge_requantized(entry, _xml(work), load_image_set(EVALUATION), original)


def test_requantized_ir_runs_int8_convolutions(requantized, monkeypatch, cli):
    from omz_mobilenet.bench.compiled import runtime_precisions
    from omz_mobilenet.runtime import compile_ir, new_core

    assert _xml(requantized).is_file() and not (requantized / "ir" / MODEL / "FP32-INT8").exists()
    kernels = runtime_precisions(compile_ir(new_core(), _xml(requantized), "CPU", "f32", {}, 1))
    counts = dict(item.split(":") for item in kernels.split())
    assert set(counts) <= INT8_KERNELS, kernels  # every Convolution/GroupConvolution/MatMul runs int8
    assert sum(map(int, counts.values())) >= 27  # MobileNet V1: 27 convolutions + the classifier
    monkeypatch.setenv("OMZ_MOBILENET_OUT", str(requantized / "ir"))
    monkeypatch.setenv("OMZ_MOBILENET_CACHE", str(requantized / "cache"))
    out = requantized / "bench.json"
    code, _out, err = cli("bench", MODEL, "--precision", "INT8-RQ", "--niter", "20", "--rounds", "1", "--json", out)
    assert code == 0, err
    record = json.loads(out.read_text())["records"][0]
    assert record["precision"] == "INT8" and record["ir_precision"] == "INT8-RQ"  # INT8-RQ is a spelling of INT8
    assert set(k.split(":")[0] for k in record["runtime_precisions"].split()) <= INT8_KERNELS


def test_int8_rq_is_only_for_quantized_sources(mirror, cli):
    code, _out, err = cli(
        "convert", "mobilenet-v1-0.25-224-tflite", "--precision", "INT8-RQ", "--calibration", CALIBRATION
    )
    assert code == 2 and "float model" in err and len(error_lines(err)) == 1


def test_accuracy_rule_accepts_faithful_and_rejects_broken_preprocessing(requantized, broken):
    good, bad = _judge(requantized), _judge(broken)
    assert good.original_top1 == bad.original_top1  # the same original, the same images
    assert good.passed, good.as_dict()
    assert not bad.passed and bad.top1 < bad.minimum_top1, bad.as_dict()


def test_tune_respects_the_latency_limit(requantized, monkeypatch, cli):
    monkeypatch.setenv("OMZ_MOBILENET_OUT", str(requantized / "ir"))
    monkeypatch.setenv("OMZ_MOBILENET_CACHE", str(requantized / "cache"))
    out = requantized / "tune.json"
    limit = 10_000.0
    args = ["bench", MODEL, "--precision", "INT8-RQ", "--tune", "--time", "0.2"]
    code, stdout, err = cli(*args, "--max-latency", limit, "--json", out)
    assert code == 0, err
    tune = json.loads(out.read_text())["tune"][0]
    chosen, explored = tune["chosen"], tune["explored"]
    assert chosen["latency_median_ms"] <= limit and len(explored) >= 4
    fitting = [r for r in explored if r["latency_median_ms"] <= limit]
    assert chosen["throughput_fps"] == max(r["throughput_fps"] for r in fitting)
    assert "chosen:" in stdout and "CHOSEN" in stdout
    code, _out, err = cli(*args, "--max-latency", "0.000001")
    assert code == 1 and "nothing fits" in err and len(error_lines(err)) == 1


def test_gate_judges_int8_rq_against_the_original(requantized, broken, tmp_path):
    """`gate --precision INT8-RQ` compares with the original in LiteRT on the same images: the faithful
    requantization passes, the one with reversed channels is a regression (exit 1)."""
    codes = {}
    for name, work in (("good", requantized), ("broken", broken)):
        out = tmp_path / f"{name}.json"
        env = _env(work)
        if name == "broken":
            env["OMZ_MOBILENET_MODELS_YML"] = str(next(work.glob("models.yml")))
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "omz_mobilenet",
                "gate",
                MODEL,
                "--precision",
                "INT8-RQ",
                "--dataset",
                str(EVALUATION),
                "--no-progress",
                "--json",
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        codes[name] = proc.returncode
        (row,) = json.loads(out.read_text())["records"]
        assert row["precision"] == "INT8" and row["reference"].startswith("original in LiteRT"), row
    assert codes == {"good": 0, "broken": 1}
