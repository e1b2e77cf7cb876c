"""Every seed model end to end on real (dequantized) weights, through the CLI only (issue 11).

tests/helpers/real_weights.py rebuilds the float seed models from the trained weights of their
quantized offline copies: mobilenet-v1-0.50-160 and mobilenet-v2-1.0-224 as TF-slim frozen graphs in
the official .tgz layout (plus a SavedModel of V1 0.50 160), and mobilenetv2-7 as a float ONNX file.
It writes a catalogue copy pointing at them with their real sha256, so the whole catalogue path
(mirror, checksum, unpack, driver, preprocessing, verify, accuracy) runs unchanged on them:

- convert FP32, FP16 and INT8 (NNCF, calibrated on images disjoint from the evaluation images);
- verify against TensorFlow / ONNX Runtime: float rule, 100 % top-1 agreement and max diff 1e-4;
- accuracy: the float IR's Top-1 is within 1.5 points of the quantized original's Top-1 measured
  in its own runtime on the same images (the dequantized graph computes nearly what the quantized
  one does), and removing the channel reversal (catalogue colour BGR) costs more than 10 points;
- GFlops/MParams counted on the IRs against Open Model Zoo's published figures.

The product is driven only as `python -m omz_mobilenet ...` in a subprocess, with the catalogue,
mirror, cache, IR folder and accuracy configs given through its environment variables. Every measured
number is printed (run with -s) and recorded as a junit property.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.paths import IMAGES

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

REPO = Path(__file__).resolve().parents[1]
SOURCE_IMAGES = IMAGES / "val_1300_resized_227"
CALIBRATION_COUNT = 300  # images the INT8 IRs are calibrated on (the rest are evaluation images)
EVAL_IMAGES = 300  # evaluation images per accuracy run (the first 300 of the 1000 left, by name)
CALIBRATION_SUBSET = 100  # of the calibration images, what NNCF uses (statistics time is ~linear in it)
VERIFY_IMAGES = 25
MAX_GAP = 1.5  # points: float IR Top-1 vs the quantized original's Top-1, same images
MIN_CONTROL_LOSS = 10.0  # points lost without the RGB<->BGR reversal
MAX_INT8_DROP = 3.0  # points: NNCF INT8 vs FP32 IR of the same float model, same images

TF_SEEDS = ["mobilenet-v1-0.50-160", "mobilenet-v2-1.0-224"]
SEEDS = TF_SEEDS + ["mobilenetv2-7"]
SAVEDMODEL = "mobilenet-v1-0.50-160-savedmodel"
# Float model -> the catalogue model measuring the quantized original's Top-1 in its own runtime
# (LiteRT for the TFLite files). For the ONNX int8 file, ONNX Runtime's u8s8 kernels saturate
# 16-bit sums on CPUs without VNNI, so its int8 arithmetic is simulated in float in ONNX Runtime
# (mobilenetv2-12-int8-simulated, built by the fixture); benchmarks/real_weights.py reports the raw
# ONNX Runtime figure too (about 7 points lower on this VNNI-less CPU).
REFERENCE = {
    "mobilenet-v1-0.50-160": "mobilenet-v1-0.50-160-quant",
    "mobilenet-v2-1.0-224": "mobilenet-v2-1.0-224-quant",
    "mobilenetv2-7": "mobilenetv2-12-int8-simulated",
}
ORIGINAL_RUNTIME = {
    "mobilenet-v1-0.50-160": "TensorFlow",
    "mobilenet-v2-1.0-224": "TensorFlow",
    "mobilenetv2-7": "ONNX Runtime",
    SAVEDMODEL: "TensorFlow",
}

# Open Model Zoo's GFlops/MParams for the TF-slim frozen graphs. The rebuilt graphs have BatchNorm
# folded (conv weights + one bias per channel), which is exactly what Open Model Zoo counted after
# its Model Optimizer folded BatchNorm into the convolutions: measured 0.1556/1.3266 and
# 0.6146/3.4891 here, within 0.3 %. 1 % (the tolerance the synthetic-weight TF tests use) bounds
# the rounding of the published figures to 3 decimals (0.3 % on 0.156) with room to spare.
OMZ_FIGURES = {
    "mobilenet-v1-0.50-160": (0.156, 1.327),
    "mobilenet-v2-1.0-224": (0.615, 3.489),
    SAVEDMODEL: (0.156, 1.327),
}
OMZ_TOLERANCE = 0.01
# mobilenetv2-7's catalogue figures (0.602 GFlops, 3.505 MParams) are estimates from the torchvision
# architecture: 2 x 300.8 M MACs, and 3,504,872 parameters counting BatchNorm's gamma and beta (2 per
# channel, 17,056 channels). The IR counts folded BatchNorm (one bias per channel: 3,487,816, -0.49 %)
# and adds one FLOP per output element of the bias Adds, ReLU6 clamps and residual Adds (+2.1 %).
ONNX_FIGURES, ONNX_GFLOPS_TOLERANCE, ONNX_MPARAMS_TOLERANCE = (0.602, 3.505), 0.025, 0.01

NEEDED = {
    "tensorflow": "tf",
    "ai_edge_litert": "tflite",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "yaml": "base",
    "nncf": "int8",
}
MEASURED: dict[str, dict] = {}


def _records(obj):
    """The result rows of a --json output: a bare list today, `{"records": [...]}` in an envelope."""
    if isinstance(obj, dict) and "records" in obj:
        return obj["records"]
    return obj


def _record(model: str, **values) -> None:
    MEASURED.setdefault(model, {}).update(values)
    print(f"\n[real-weights] {model}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


@pytest.fixture(scope="session", autouse=False)
def tools():
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not installed; these tests need them: make setup "
            f"(or pip install -e '.[{','.join(sorted({NEEDED[m] for m in missing}))},test]')"
        )


class Workspace:
    """The rebuilt models, their catalogue copy and mirror, and the CLI run against them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mirror, self.catalogue = root / "mirror", root / "models.yml"
        self.ac_configs = root / "accuracy_checker_configs"
        self.cache, self.out, self.work = root / "cache", root / "ir", root / "work"
        self.split = root / "split"
        self.work.mkdir(parents=True, exist_ok=True)
        self._memo: dict[tuple, object] = {}  # CLI results reused across tests (one session)

    def _once(self, key: tuple, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def env(self, **overrides) -> dict:
        env = dict(os.environ)
        env.update(
            OMZ_MOBILENET_MODELS_YML=str(self.catalogue),
            OMZ_MOBILENET_MIRROR=str(self.mirror),
            OMZ_MOBILENET_CACHE=str(self.cache),
            OMZ_MOBILENET_OUT=str(self.out),
            OMZ_MOBILENET_AC_CONFIGS=str(self.ac_configs),
            OMZ_MOBILENET_TIMEOUT="5",
        )
        env.pop("OMZ_MOBILENET_DATASET", None)
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def build(self) -> float:
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.helpers.real_weights",
                "--out",
                str(self.mirror),
                "--catalogue-out",
                str(self.catalogue),
                "--ac-configs-out",
                str(self.ac_configs),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"fixture build failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
        return time.monotonic() - start

    def cli(self, *args, expect: int | None = 0, **env) -> subprocess.CompletedProcess:
        # cwd is a scratch folder: the package comes from the installed (editable) omz_mobilenet.
        proc = subprocess.run(
            [sys.executable, "-m", "omz_mobilenet", *map(str, args)],
            cwd=self.work,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=900,
        )
        if expect is not None:
            assert proc.returncode == expect, (
                f"omz-mobilenet {' '.join(map(str, args))} exited {proc.returncode}, "
                f"expected {expect}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def cli_json(self, *args, **env) -> list[dict]:
        stdout = self.cli(*args, "--json", **env).stdout
        # `convert --json` with INT8 also prints NNCF's progress bars on stdout: parse from the first
        # line that opens the JSON document.
        lines = stdout.splitlines(keepends=True)
        start = next((i for i, line in enumerate(lines) if line.startswith(("[", "{"))), 0)
        return _records(json.loads("".join(lines[start:])))

    def converted(self, model: str, precisions: str = "FP32,FP16") -> tuple:
        extra = (
            ["--calibration", self.split / "calibration", "--subset-size", CALIBRATION_SUBSET]
            if "INT8" in precisions
            else []
        )
        return self._once(
            ("convert", model, precisions),
            lambda: tuple(self.cli_json("convert", model, "--precisions", precisions, *extra)),
        )

    def accuracy(self, model: str, precision: str = "FP32", original: bool = False, tag: str = "", **env) -> dict:
        report = self.root / f"accuracy-{model}-{precision}{'-original' if original else ''}{tag}.json"
        self.cli(
            "accuracy",
            model,
            "--dataset",
            self.split / "evaluation",
            "--subset",
            EVAL_IMAGES,
            "--precision",
            precision,
            "--no-progress",
            "--json",
            report,
            *(["--original"] if original else []),
            **env,
        )
        rows = _records(json.loads(report.read_text()))
        assert len(rows) == 1, rows
        assert rows[0]["images"] == EVAL_IMAGES and not rows[0].get("skipped"), rows[0]
        return rows[0]

    def float_top1(self, model: str) -> float:
        return self._once(("top1", model), lambda: self.accuracy(model)["top1"])

    def original_top1(self, reference_model: str) -> tuple[float, str]:
        def measure():
            row = self.accuracy(reference_model, original=True)
            return row["original_top1"], row.get("original_runtime", "")

        return self._once(("original", reference_model), measure)


@pytest.fixture(scope="session")
def ws(tools, tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("real-weights"))
    seconds = workspace.build()
    print(f"\n[real-weights] fixture build: {seconds:.1f} s")
    proc = workspace.cli("split", SOURCE_IMAGES, "--calibration-count", CALIBRATION_COUNT, "--out", workspace.split)
    assert "calibration" in proc.stdout and (workspace.split / "evaluation").is_dir(), proc.stdout
    yield workspace
    if MEASURED:
        (workspace.root / "measured.json").write_text(json.dumps(MEASURED, indent=2))
        print("\n[real-weights] measured:\n" + json.dumps(MEASURED, indent=2))


def test_split_is_disjoint(ws):
    calibration = {p.name for p in (ws.split / "calibration").iterdir() if p.suffix.lower() == ".jpeg"}
    evaluation = {p.name for p in (ws.split / "evaluation").iterdir() if p.suffix.lower() == ".jpeg"}
    assert len(calibration) == CALIBRATION_COUNT and len(evaluation) >= EVAL_IMAGES
    assert not calibration & evaluation


@pytest.mark.parametrize("model", SEEDS + [SAVEDMODEL])
def test_convert_float_counts_the_published_figures(ws, model, record_property):
    rows = ws.converted(model)
    assert sorted(r["precision"] for r in rows) == ["FP16", "FP32"], rows
    for row in rows:
        assert Path(row["xml"]).is_file() and Path(row["xml"]).with_suffix(".bin").is_file(), row
    gflops, mparams = rows[0]["gflops"], rows[0]["mparams"]
    if model in OMZ_FIGURES:
        (want_g, want_p), tol_g, tol_p = OMZ_FIGURES[model], OMZ_TOLERANCE, OMZ_TOLERANCE
    else:
        (want_g, want_p), tol_g, tol_p = ONNX_FIGURES, ONNX_GFLOPS_TOLERANCE, ONNX_MPARAMS_TOLERANCE
    _record(
        model,
        gflops=gflops,
        mparams=mparams,
        published_gflops=want_g,
        published_mparams=want_p,
        gflops_gap_pct=round(100 * (gflops - want_g) / want_g, 2),
        mparams_gap_pct=round(100 * (mparams - want_p) / want_p, 2),
    )
    record_property("gflops_mparams", f"{gflops}/{mparams} vs {want_g}/{want_p}")
    assert abs(gflops - want_g) <= tol_g * want_g, (gflops, want_g)
    assert abs(mparams - want_p) <= tol_p * want_p, (mparams, want_p)


@pytest.mark.parametrize("model", SEEDS + [SAVEDMODEL])
def test_verify_against_the_original_framework(ws, model, record_property):
    ws.converted(model)
    rows = ws.cli_json("verify", model, "--dataset", ws.split / "evaluation", "--limit", VERIFY_IMAGES)
    assert len(rows) == 1, rows
    result = rows[0]
    _record(
        model,
        verify_images=result["images"],
        top1_agreement=result["top1_agreement"],
        max_abs_diff=result["max_abs_diff"],
        original_runtime=result["original_runtime"],
    )
    record_property("verify", json.dumps(result))
    assert result["original_runtime"].startswith(ORIGINAL_RUNTIME[model]), result
    assert result["images"] == VERIFY_IMAGES, result
    assert result["top1_agreement"] == 1.0 and result["max_abs_diff"] <= 1e-4, result
    assert result["passed"] is True, result


@pytest.mark.parametrize("model", SEEDS)
def test_float_top1_matches_the_quantized_original(ws, model, record_property):
    ws.converted(model)
    top1 = ws.float_top1(model)
    reference, runtime = ws.original_top1(REFERENCE[model])
    gap = round(top1 - reference, 2)
    values = dict(
        float_ir_top1=top1,
        quantized_original_top1=reference,
        reference_model=REFERENCE[model],
        reference_runtime=runtime,
        gap=gap,
        eval_images=EVAL_IMAGES,
    )
    _record(model, **values)
    record_property("top1_gap", json.dumps(values))
    assert abs(gap) <= MAX_GAP, values


@pytest.mark.parametrize("model", SEEDS)
def test_without_channel_reversal_accuracy_collapses(ws, model, record_property):
    import yaml

    catalogue = ws.root / f"models-{model}-bgr.yml"
    data = yaml.safe_load(ws.catalogue.read_text())
    entry = next(e for e in data["models"] if e["name"] == model)
    if "original_input" not in entry:  # taken from the family defaults
        entry["original_input"] = dict(data["defaults"][entry["family"]]["original_input"])
    assert entry["original_input"]["color"] == "RGB"
    entry["original_input"] = {**entry["original_input"], "color": "BGR"}
    catalogue.write_text(yaml.safe_dump(data, sort_keys=False))
    out = ws.root / f"ir-{model}-bgr"
    ws.cli("convert", model, "--precisions", "FP32", OMZ_MOBILENET_MODELS_YML=catalogue, OMZ_MOBILENET_OUT=out)
    swapped = ws.accuracy(model, tag="-bgr", OMZ_MOBILENET_MODELS_YML=catalogue, OMZ_MOBILENET_OUT=out)["top1"]
    top1 = ws.float_top1(model)
    _record(model, bgr_control_top1=swapped, bgr_control_loss=round(top1 - swapped, 2))
    record_property("bgr_control", f"{swapped} vs {top1}")
    assert top1 - swapped > MIN_CONTROL_LOSS, (top1, swapped)


@pytest.mark.parametrize("model", SEEDS)
def test_int8_with_calibration(ws, model, record_property):
    rows = ws.converted(model, "INT8")
    assert [r["precision"] for r in rows] == ["FP32-INT8"], rows
    assert Path(rows[0]["xml"]).is_file(), rows
    row = ws.accuracy(model, precision="INT8")
    assert row.get("calibration_overlap", 0) == 0, row
    top1 = ws.float_top1(model)
    _record(model, int8_top1=row["top1"], int8_drop=round(top1 - row["top1"], 2))
    record_property("int8", f"{row['top1']} vs FP32 {top1}")
    assert row["top1"] >= top1 - MAX_INT8_DROP, (row["top1"], top1)
