"""IR vs original framework on real ImageNet images, and the controls proving verify can fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.catalogue_edit import edited_catalogue, imitate_faulty_conversion
from tests.helpers.paths import IMAGES, OFFLINE_TFLITE, REPO

DATASET = IMAGES / "val_100_cropped_reencoded"
FLOAT_SOURCE = "mobilenet-v1-0.25-224-tflite"


def _records(out: str) -> list[dict]:
    payload = json.loads(out)
    assert payload["command"] == "verify" and payload["schema_version"] >= 1
    assert payload["environment"]["cpu_model"]  # every number says which machine made it
    return payload["records"]


@pytest.mark.parametrize("name", [*OFFLINE_TFLITE, "mobilenetv2-12-int8"])
def test_every_offline_model_matches_its_framework_with_margin(name, mirror, cli):
    code, out, err = cli("verify", name, "--dataset", DATASET, "--json")
    row = _records(out)[0]
    assert code == 0, (row, err)
    assert row["images"] == 100 and row["labelled"] == 100 and row["passed"] and row["complete"]
    assert row["infer_precision"] == "f32" and row["device"] == "CPU"
    assert row["annotations"].endswith("FILES.tsv") and row["original_runtime"] and row["openvino"]
    # an image one side gets right and the other wrong is an image where they disagree
    assert row["mcnemar_b"] + row["mcnemar_c"] <= row["images"] - row["agreement_images"]
    low, high = row["agreement_ci95"]
    assert low <= row["top1_agreement"] <= high
    if name == FLOAT_SOURCE:  # float source: FP32 IR at f32 matches to float rounding, no statistics needed
        assert row["criterion"] == "exact" and row["checks"] == {"agreement_100pct": "pass", "max_abs_diff": "pass"}
        assert row["top1_agreement"] == 1.0 and row["max_abs_diff"] <= 1e-4
        return
    # Quantized sources: every check passes with room for at least two more images turning wrong,
    # so one borderline image flipping (another CPU, another OpenVINO) cannot fail `make`.
    assert row["criterion"] == "paired" and set(row["checks"].values()) == {"pass"}, row["checks"]
    assert row["margin_images"] >= 2, row
    assert row["agreement_images"] - row["margin_images"] + 1 >= row["min_agreement"] * row["images"] - 1e-9


def _without_reversal(entry):
    entry["original_input"]["color"] = "BGR"


@pytest.mark.parametrize("name", [FLOAT_SOURCE, "mobilenet-v2-1.0-224-int8", "mobilenet-v2-1.0-224-quant"])
def test_ir_without_channel_reversal_fails_verify(name, mirror, tmp_path, monkeypatch, cli):
    edited_catalogue(tmp_path, monkeypatch, {name: _without_reversal})
    assert cli("convert", name)[0] == 0  # the broken IR, written where verify looks
    monkeypatch.delenv("OMZ_MOBILENET_MODELS_YML")
    imitate_faulty_conversion(mirror[1], name)
    code, out, _err = cli("verify", name, "--dataset", DATASET, "--limit", "40", "--json")
    row = _records(out)[0]
    assert code == 1 and not row["passed"]
    # A gross mismatch fails the agreement check alone, which needs no labels.
    assert row["checks"].get("agreement_floor", row["checks"].get("agreement_100pct")) == "fail", row["checks"]
    assert row["top1_agreement"] < row["min_agreement"]


def test_unlabelled_images_check_the_floor_only_and_say_so(mirror, tmp_path, cli):
    images = tmp_path / "no_labels" / "set" / "images"  # nothing within three levels holds a val.txt
    images.mkdir(parents=True)
    for source in sorted(DATASET.glob("*.JPEG"))[:12]:
        (images / source.name).symlink_to(source)
    code, out, err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", images, "--json")
    row = _records(out)[0]
    assert code == 0, err
    assert row["labelled"] == 0 and row["annotations"] is None and not row["complete"]
    assert row["checks"]["paired_loss"].startswith("not run") and row["mcnemar_p"] is None
    assert "only the agreement floor was checked" in row["note"] and "only the agreement floor" in err
    code, out, _err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", images)
    assert code == 0 and "pass*" in out and "only the agreement floor was checked" in out and "no labels" in out


def test_verify_table_shows_statistic_interval_and_thresholds(mirror, cli):
    code, out, err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", DATASET, "--limit", "30")
    assert code == 0, err
    for text in ("30 images, 30 labelled", "≥80", "p=", "[95 % Wilson CI]", "p < 0.01 and loss > 2 images", "pass"):
        assert text in out, (text, out)


def test_verify_help_shows_defaults(cli, capsys):
    with pytest.raises(SystemExit) as done:
        cli("verify", "--help")
    out = " ".join(capsys.readouterr().out.split())  # help wraps to the terminal's width
    assert done.value.code == 0 and "(default: CPU)" in out and "(default: FP32)" in out


def test_verify_on_a_device_this_machine_lacks(mirror, cli):
    code, _out, err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", DATASET, "-d", "NPU.7")
    assert code == 2 and "NPU.7" in err and "Traceback" not in err


def test_verify_needs_a_dataset(mirror, cli, monkeypatch):
    monkeypatch.delenv("OMZ_MOBILENET_DATASET", raising=False)
    code, _out, err = cli("verify", "mobilenet-v1-0.25-128-quant")
    assert code == 2 and "--dataset" in err


def test_verify_on_a_folder_without_images(mirror, tmp_path, cli):
    code, _out, err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", tmp_path)
    assert code == 2 and f"no images in {tmp_path}" in err


def test_verify_run_as_a_process_keeps_litert_chatter_off_stderr(mirror, tmp_path):
    """LiteRT's C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on fd 2 when an
    interpreter is built; only a real process shows what reaches the user's terminal."""
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "omz-mobilenet"),
            "verify",
            FLOAT_SOURCE,
            "--dataset",
            str(DATASET),
            "--limit",
            "3",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "XNNPACK" not in done.stderr and "XNNPACK" not in done.stdout, done.stderr


def test_accuracy_original_run_as_a_process_keeps_litert_chatter_off_stderr(mirror, tmp_path):
    """`accuracy --original` opens LiteRT too: the same filter (converters/native_log.py) applies."""
    env = {**os.environ, "COLUMNS": "100"}
    command = [str(Path(sys.executable).parent / "omz-mobilenet"), "accuracy", FLOAT_SOURCE, "--original"]
    done = subprocess.run(
        [*command, "--dataset", str(DATASET), "--limit", "3", "--no-progress", "--json", str(tmp_path / "a.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "a.json").read_text())["records"][0]["original_runtime"]  # the original ran
    assert "XNNPACK" not in done.stderr and "XNNPACK" not in done.stdout, done.stderr


def test_verify_table_leads_with_verdict_and_agreement_at_100_columns(mirror, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = cli("verify", "mobilenet-v1-0.25-224-quant", "--dataset", DATASET, "--limit", "5", "--no-progress")
    assert code == 0, err
    header = next(line for line in out.splitlines() if "model" in line)
    assert header.index("result") < header.index("agreement %") and "images" in header, out
    assert all(len(line) <= 100 for line in out.splitlines()), out


def test_verify_counts_unreadable_images_and_refuses_them_before_any_work(mirror, tmp_path, cli):
    folder = tmp_path / "set"
    folder.mkdir()
    for source in sorted(DATASET.glob("*.JPEG"))[:12]:
        (folder / source.name).symlink_to(source)
    (folder / "zz_broken.JPEG").write_bytes(b"not a jpeg")
    code, _out, err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", folder, "--no-progress")
    assert code == 2 and "zz_broken.JPEG cannot be decoded" in err and "--skip-bad-images" in err
    assert not (mirror[1] / "mobilenet-v1-0.25-128-quant").exists(), "nothing converted before the check"
    code, out, err = cli("verify", "mobilenet-v1-0.25-128-quant", "--dataset", folder, "--skip-bad-images", "--json")
    assert code == 0, err
    row = _records(out)[0]
    assert row["images"] == 12 and row["skipped"] == 1 and "1 unreadable images skipped" in row["note"]
