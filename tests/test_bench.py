"""`omz-mobilenet bench` / `benchmark` / `devices`: statistics, records, devices, compare, profile, bad input.

Fast: two small offline models (float MobileNet V1 0.25 TFLite, quantized V1 0.25/128) converted once
into a temp folder, and runs of a few dozen inferences. Not a timing test: numbers are only checked
for consistency (positive, ordered, layer times within the latency).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections import namedtuple
from datetime import timedelta
from pathlib import Path

import pytest

from omz_mobilenet.bench.compare import CompareRecord
from omz_mobilenet.bench.profile import LayerProfile
from omz_mobilenet.bench.record import BenchRecord
from omz_mobilenet.bench.stats import percentile, summarize
from omz_mobilenet.catalogue import conversion_digest, load_catalogue
from omz_mobilenet.cli import main
from omz_mobilenet.convert.ir_store import digest_path
from omz_mobilenet.errors import ToolError

ASSETS = Path(os.environ.get("OMZ_MOBILENET_ASSETS", Path(__file__).resolve().parents[1].parent / "shared" / "assets"))
FLOAT = "mobilenet-v1-0.25-224-tflite"
QUANT = "mobilenet-v1-0.25-128-quant"
IMAGES = ASSETS / "imagenet" / "val_original_20"

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """Cache and IR folders shared by the module; the two models are converted once."""
    root = tmp_path_factory.mktemp("bench")
    locations = ["--mirror", str(ASSETS), "--cache-dir", str(root / "cache"), "-o", str(root / "ir")]
    assert main(["convert", FLOAT, "--precisions", "FP32,FP16", *locations]) == 0
    assert main(["convert", QUANT, *locations]) == 0
    return {"root": root, "locations": locations, "out": root / "ir"}


def bench(dirs, *args: str) -> int:
    try:
        return main(["bench", *args, *dirs["locations"]])
    except SystemExit as exc:  # argparse refuses a flag's value by exiting (2)
        return int(exc.code or 0)


def records_of(path: Path) -> dict:
    return json.loads(path.read_text())


def one_line_error(capsys, rc: int) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0
    assert err and re.match(r"omz-mobilenet( bench)?: error: ", err[-1]), err  # argparse names the command
    assert not any("Traceback" in line for line in err)
    return err[-1]


# --- statistics -------------------------------------------------------------------------------


def test_percentiles_of_known_samples():
    samples = list(range(1, 101))  # 1..100 ms
    stats = summarize(samples)
    assert stats.count == 100
    assert stats.median_ms == pytest.approx(50.5)
    assert stats.mean_ms == pytest.approx(50.5)
    assert (stats.min_ms, stats.max_ms) == (1, 100)
    assert stats.p90_ms == pytest.approx(90.1)  # linear interpolation between ranks 90 and 91
    assert stats.p99_ms == pytest.approx(99.01)
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([7.0], 99) == 7.0
    assert summarize([3, 1, 2]).median_ms == 2  # order does not matter


def test_no_samples_is_a_clear_error():
    with pytest.raises(ToolError, match="no latency samples"):
        summarize([])


Info = namedtuple("Info", "node_name node_type exec_type real_time status")


def test_profile_sums_layers_over_inferences():
    profile = LayerProfile()
    for _ in range(4):
        profile.add(
            [
                Info("conv1", "Convolution", "jit_avx2", timedelta(microseconds=300), "Status.EXECUTED"),
                Info("conv2", "Convolution", "jit_avx2", timedelta(microseconds=100), "Status.EXECUTED"),
                Info("relu", "Eltwise", "jit", timedelta(microseconds=50), "Status.EXECUTED"),
                Info("gone", "Reshape", "undef", timedelta(microseconds=999), "Status.OPTIMIZED_OUT"),
            ]
        )
    assert profile.inferences == 4
    assert profile.per_inference_ms() == pytest.approx(0.45)
    top = profile.top_layers(2)
    assert [r["layer"] for r in top] == ["conv1", "conv2"]
    assert top[0]["total_ms"] == pytest.approx(1.2)
    by_type = {r["op_type"]: r for r in profile.by_type()}
    assert set(by_type) == {"Convolution", "Eltwise"}
    assert by_type["Convolution"]["per_inference_ms"] == pytest.approx(0.4)
    assert by_type["Convolution"]["layers"] == 2


# --- runs ---------------------------------------------------------------------------------------


def test_fp32_and_fp16_run_and_records_have_every_field(dirs, tmp_path, capsys):
    json_path, csv_path = tmp_path / "r.json", tmp_path / "r.csv"
    rc = bench(
        dirs,
        FLOAT,
        "--device",
        "CPU",
        "--precision",
        "FP32,FP16",
        "--niter",
        "20",
        "--warmup",
        "2",
        "--json",
        str(json_path),
        "--csv",
        str(csv_path),
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "INFERENCE_PRECISION_HINT=f32" in out
    fields = [f.name for f in dataclasses.fields(BenchRecord)]
    records = records_of(json_path)["records"]
    assert [r["precision"] for r in records] == ["FP32", "FP16"]
    for record in records:
        assert list(record) == fields
        assert record["model"] == FLOAT and record["device"] == "CPU" and record["device_used"] == "CPU"
        assert record["infer_precision_hint"] == "f32" and record["compiled_precision"] == "f32"
        assert record["batch"] == 1 and record["iterations"] == 20 and record["openvino"].startswith("20")
        assert 0 < record["latency_min_ms"] <= record["latency_median_ms"] <= record["latency_p90_ms"]
        assert record["latency_p90_ms"] <= record["latency_p99_ms"] <= record["latency_max_ms"]
        assert record["throughput_fps"] > 0 and record["compile_ms"] > 0 and record["first_inference_ms"] > 0
        assert record["gflops"] == pytest.approx(0.0846, rel=0.05) and record["mparams"] > 0.4
        assert record["streams"] >= 1 and record["threads"] >= 1 and record["requests"] >= 1
        assert record["peak_rss_mb"] > 10 and record["device_full_name"]
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and list(rows[0]) == fields


def test_record_field_names_stay_what_the_database_and_report_read():
    """JSON/CSV keys are BenchRecord's field names; the results database and the report read them."""
    assert [f.name for f in dataclasses.fields(BenchRecord)] == [
        "model", "precision", "ir_precision", "source_precision", "device", "device_used", "device_full_name",
        "infer_precision_hint", "compiled_precision", "runtime_precisions", "performance_hint", "batch", "inputs",
        "gflops", "mparams", "compile_ms", "first_inference_ms", "latency_median_ms", "latency_mean_ms",
        "latency_min_ms", "latency_max_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_p999_ms",
        "throughput_fps", "rounds", "round_medians_ms", "round_fps", "spread", "noisy", "latency_quantiles_ms",
        "iterations", "duration_s", "streams", "threads", "requests", "cpu_pinning", "openvino", "peak_rss_mb", "xml",
        "partial", "stages", "scenario",
    ]  # fmt: skip


def test_table_leads_with_median_p99_and_fps_at_100_columns(dirs, cli, monkeypatch):
    """What bench is for shows first: at 100 columns the header has median, p99 and FPS; hint,
    GFlops and the first inference are among the columns `--wide` shows."""
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = cli("bench", QUANT, "--time", "0.3", "--rounds", "1", "--warmup", "1", *dirs["locations"])
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if " model " in line and " prec " in line)
    cells = [cell.strip() for cell in header.split("┃" if "┃" in header else "|")]
    assert cells[1:7] == ["model", "prec", "device", "median", "p99", "FPS"], header
    hidden = next(line for line in lines if "--wide shows all" in line)
    assert "GFlops" in hidden and "first" in hidden
    code, out, err = cli("bench", QUANT, "--time", "0.3", "--rounds", "1", "--warmup", "1", "--wide",
                         *dirs["locations"])  # fmt: skip
    assert code == 0, err
    assert "GFlops" in out and "--wide shows all" not in out


def test_impossible_pair_is_refused_before_any_work(dirs, cli):
    """INT8-RQ of a float model next to a pair that works: refused in one line, exit 2, before the
    working pair is compiled or warmed up (it used to warm FP32 up for 30 s of rounds, then fail)."""
    started = time.monotonic()
    code, out, err = cli("bench", FLOAT, QUANT, "--precision", "FP32,INT8-RQ", "--time", "30", "--warmup", "50",
                         *dirs["locations"])  # fmt: skip
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and re.match(r"omz-mobilenet( bench)?: error: ", lines[0]), err
    assert FLOAT in lines[0] and "INT8-RQ" in lines[0] and "float model" in lines[0]
    assert "warming up" not in err and "measuring" not in err and out == ""
    assert time.monotonic() - started < 20


def test_int8_without_its_calibrated_ir_is_refused_before_any_work(dirs, cli):
    """INT8 needs an IR made with calibration images (NNCF of a float model, the requantization of a
    quantized one); bench never calibrates."""
    for first, second in ((FLOAT, QUANT), (QUANT, FLOAT)):
        code, out, err = cli("bench", first, second, "--precision", "INT8", "--time", "30", *dirs["locations"])
        assert code == 2 and "warming up" not in err and "measuring" not in err
        assert "has no INT8 IR yet" in err and "--calibration DIR" in err and first in err


def test_with_several_models_impossible_pairs_are_reported_first_and_the_rest_measured(
    dirs, cli, tmp_path, monkeypatch
):
    """--all (here a catalogue of the two test models): the impossible pairs are reported before any
    work, the possible ones are measured, and the run exits 1 because some pairs failed."""
    import yaml

    from tests.helpers.catalogue_edit import raw_catalogue

    data = raw_catalogue()
    data["models"] = [m for m in data["models"] if m["name"] in (FLOAT, QUANT)]
    catalogue = tmp_path / "models.yml"
    catalogue.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("OMZ_MOBILENET_MODELS_YML", str(catalogue))
    path = tmp_path / "r.json"
    code, _out, err = cli("bench", "--all", "--precision", "FP32,INT8-RQ", "--niter", "3", "--warmup", "1",
                          "--rounds", "1", "--json", path, *dirs["locations"])  # fmt: skip
    assert code == 1, err
    lines = err.splitlines()
    first_work = next(i for i, line in enumerate(lines) if line.startswith("warming up "))
    refused = [i for i, line in enumerate(lines) if "INT8-RQ" in line]
    assert len(refused) == 2 and max(refused) < first_work, err
    assert {(r["model"], r["precision"]) for r in records_of(path)["records"]} == {
        (FLOAT, "FP32"),
        (QUANT, "INT8-ASIS"),
    }


def test_no_progress_is_accepted(dirs, cli):
    code, _out, err = cli("bench", FLOAT, "--no-progress", "--niter", "3", "--warmup", "0", "--rounds", "1",
                          *dirs["locations"])  # fmt: skip
    assert code == 0, err


def test_benchmark_alias_quantized_int8_batch_and_dataset(dirs, tmp_path):
    """INT8-ASIS of an already-quantized source benches its FP32 IR and says so; batch reshapes the IR."""
    path = tmp_path / "r.json"
    rc = main(
        [
            "benchmark",
            QUANT,
            "--precision",
            "INT8-ASIS",
            "--batch",
            "2",
            "--niter",
            "8",
            "--warmup",
            "1",
            "--inputs",
            "dataset",
            str(IMAGES),
            "--json",
            str(path),
            *dirs["locations"],
        ]
    )
    assert rc == 0
    (record,) = records_of(path)["records"]
    assert (record["precision"], record["ir_precision"], record["source_precision"]) == ("INT8-ASIS", "FP32", "INT8")
    assert record["batch"] == 2 and record["inputs"].startswith("dataset")


def test_no_model_benches_every_ir_in_the_output_folder(dirs, tmp_path, capsys):
    path = tmp_path / "r.json"
    assert bench(dirs, "--device", "CPU", "--niter", "5", "--warmup", "0", "--json", str(path)) == 0
    found = {(r["model"], r["precision"]) for r in records_of(path)["records"]}
    assert found == {(FLOAT, "FP32"), (FLOAT, "FP16"), (QUANT, "INT8-ASIS")}  # a quantized model's FP32/
    rc = main(["bench", "--device", "CPU", "-o", str(tmp_path / "empty")])
    message = one_line_error(capsys, rc)
    assert "no IRs" in message and "omz-mobilenet convert" in message


def test_auto_passes_through_and_records_the_device_used(dirs, tmp_path):
    path = tmp_path / "r.json"
    assert bench(dirs, FLOAT, "--device", "AUTO", "--niter", "5", "--warmup", "0", "--json", str(path)) == 0
    (record,) = records_of(path)["records"]
    assert record["device"] == "AUTO" and record["device_used"] == "CPU"


def test_compare_runs_openvino_and_litert(dirs, tmp_path):
    path = tmp_path / "r.json"
    rc = bench(dirs, FLOAT, "--compare", "--niter", "12", "--rounds", "2", "--warmup", "1", "--json", str(path))
    assert rc == 0
    (row,) = records_of(path)["compare"]
    assert list(row) == [f.name for f in dataclasses.fields(CompareRecord)]
    assert row["runtime"] == "LiteRT" and row["threads"] >= 1
    assert row["openvino_runs"] == 12 and row["original_runs"] == 12
    assert row["openvino_median_ms"] > 0 and row["original_median_ms"] > 0
    assert row["ratio_original_to_openvino"] == pytest.approx(row["original_median_ms"] / row["openvino_median_ms"])


def test_profile_layer_times_fit_in_the_latency(dirs, tmp_path, capsys):
    path = tmp_path / "r.json"
    assert bench(dirs, FLOAT, "--profile", "5", "--niter", "20", "--warmup", "2", "--json", str(path)) == 0
    data = records_of(path)
    (record,), (profile,) = data["records"], data["profile"]
    assert profile["inferences"] == record["iterations"] == 20
    assert len(profile["top_layers"]) == 5
    per_inference = sum(row["total_ms"] for row in profile["by_op_type"]) / profile["inferences"]
    assert per_inference == pytest.approx(profile["layers_per_inference_ms"])
    assert 0 < per_inference <= record["latency_mean_ms"]
    assert sum(row["per_inference_ms"] for row in profile["top_layers"]) <= per_inference + 1e-9
    assert "per op type" in capsys.readouterr().out


def test_devices_lists_cpu_with_its_full_name(capsys):
    assert main(["devices", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    devices = data["records"]
    assert data["command"] == "devices" and data["openvino"].startswith("2026")
    assert any(d["device"] == "CPU" and d["full_name"] for d in devices)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["GPU", "NPU", "HETERO:GPU,CPU", "FOO"])
def test_absent_device_is_a_one_line_error(dirs, capsys, device):
    rc = bench(dirs, FLOAT, "--device", device, "--niter", "2")
    message = one_line_error(capsys, rc)
    assert rc == 2 and "is not available here" in message and "CPU" in message


@pytest.mark.parametrize(
    "args, expected",
    [
        (["no-such-model"], "unknown model"),
        ([FLOAT, "--precision", "FP8"], "unknown precision"),
        ([FLOAT, "--precision", "INT8"], "has no INT8 IR yet"),
        ([FLOAT, "--batch", "0"], "argument --batch: must be at least 1"),
        ([FLOAT, "--time", "0"], "argument --time: must be more than 0"),
        ([FLOAT, "--niter", "0"], "argument --niter: must be at least 1"),
        ([FLOAT, "--rounds", "0"], "argument --rounds: must be at least 1"),
        ([FLOAT, "--tune", "--max-latency", "-1"], "argument --max-latency: must be more than 0"),
        ([FLOAT, "--inputs", "dataset", "EMPTY"], "no images in"),
        ([FLOAT, "--inputs", "sometimes"], "--inputs takes"),
    ],
)
def test_bad_input_is_a_one_line_error(dirs, tmp_path, capsys, args, expected):
    (tmp_path / "EMPTY").mkdir()
    args = [str(tmp_path / "EMPTY") if a == "EMPTY" else a for a in args]
    message = one_line_error(capsys, bench(dirs, *args))
    assert expected in message


def test_corrupt_ir_is_a_one_line_error(dirs, tmp_path, capsys):
    folder = tmp_path / "ir" / FLOAT / "FP32"
    folder.mkdir(parents=True)
    (folder / f"{FLOAT}.xml").write_text("<net name='broken'><layers><layer")
    (folder / f"{FLOAT}.bin").write_bytes(b"\0" * 16)
    # stamped as converted from the current entry: an IR without the stamp is stale and converted again
    digest_path(folder / f"{FLOAT}.xml").write_text(conversion_digest(load_catalogue().get(FLOAT)) + "\n")
    rc = main(["bench", FLOAT, "--niter", "2", "-o", str(tmp_path / "ir")])
    assert "not an OpenVINO IR" in one_line_error(capsys, rc)


def test_cli_subprocess_error_has_no_traceback(dirs):
    result = subprocess.run(
        [sys.executable, "-m", "omz_mobilenet", "bench", FLOAT, "--device", "NPU", *dirs["locations"]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0


def test_command_module_imports_nothing_heavy():
    code = "import sys, omz_mobilenet.commands.bench_cmds; print(sorted(m for m in ('openvino', 'numpy', 'tensorflow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_rounds_alternate_configurations_and_report_spread(dirs, tmp_path, capsys):
    """Two precisions, three rounds: the measuring order rotates and each record keeps its rounds."""
    path = tmp_path / "rounds.json"
    rc = bench(
        dirs, FLOAT, "--precision", "FP32,FP16", "--rounds", "3", "--time", "1.5", "--warmup", "2", "--json", str(path)
    )
    err = capsys.readouterr().err
    assert rc == 0
    order = [line.split("measuring ", 1)[1].split(" on ")[0] for line in err.splitlines() if "measuring " in line]
    assert order == [
        f"{FLOAT} FP32",
        f"{FLOAT} FP16",
        f"{FLOAT} FP16",
        f"{FLOAT} FP32",
        f"{FLOAT} FP32",
        f"{FLOAT} FP16",
    ]
    data = records_of(path)
    assert data["schema_version"] == 1 and data["command"] == "bench"
    assert data["environment"]["cpu_model"] and data["environment"]["openvino"].startswith("2026")
    for record in data["records"]:
        assert record["rounds"] == 3 and len(record["round_medians_ms"]) == 3 and len(record["round_fps"]) == 3
        medians = record["round_medians_ms"]
        assert record["spread"] == pytest.approx((max(medians) - min(medians)) / record["latency_median_ms"], abs=1e-3)
        assert record["noisy"] == (record["spread"] > 0.10)
        assert sorted(medians)[1] == pytest.approx(record["latency_median_ms"], abs=1e-3)


def test_cpu_pinning_is_set_on_request_and_read_back(dirs, tmp_path):
    path = tmp_path / "pin.json"
    assert (
        bench(dirs, FLOAT, "--pinning", "off", "--niter", "6", "--warmup", "1", "--rounds", "1", "--json", str(path))
        == 0
    )
    (record,) = records_of(path)["records"]
    assert record["cpu_pinning"] is False
