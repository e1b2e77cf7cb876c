"""`gate --baseline FILE`: the user's own baseline, recorded and compared on real models and images.

Recorded once per module (two offline quantized TFLite models, FP32 and FP16, on 100 labelled images),
then: the same IRs pass; a real regression (the catalogue's colour order swapped, so the IR is converted
with swapped channels) fails with exit 1 naming the row and the flipped images; another image list,
crop rule or schema, or a corrupt file, is refused (exit 2, one line) before any work; a baseline row
with no result now is incomplete (exit 3); a failed or interrupted --update-baseline leaves the file
as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from omz_mobilenet.accuracy import baseline as store
from omz_mobilenet.accuracy.judge import BaselineRule, Flips, baseline_loss_fails
from omz_mobilenet.inputs.dataset import load_image_sets, to_model_label
from omz_mobilenet.verify import criteria, stats
from tests.helpers.catalogue_edit import edited_catalogue
from tests.helpers.paths import ASSETS, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

IMAGES = ASSETS / "imagenet" / "val_100_cropped_reencoded"
SET = IMAGES.name
SMALL, WIDE = "mobilenet-v1-0.25-128-quant", "mobilenet-v1-0.25-224-quant"  # 1001 classes, offline
# FP32 of a quantized model is its as-is import: results and the baseline name it INT8-ASIS
ASIS = "INT8-ASIS"
ROWS = {(m, p, SET) for m in (SMALL, WIDE) for p in (ASIS, "FP16")}
REPO = Path(__file__).resolve().parents[1]


def _env(cache: Path, out: Path) -> dict[str, str]:
    return {"OMZ_MOBILENET_CACHE": str(cache), "OMZ_MOBILENET_OUT": str(out), "OMZ_MOBILENET_MIRROR": str(ASSETS)}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The baseline recorded by the real command, with the cache and IR folder it used."""
    from omz_mobilenet.cli import main

    root = tmp_path_factory.mktemp("baseline")
    path = root / "accuracy-baseline.yml"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _env(root / "cache", root / "ir").items():
            patch.setenv(name, value)
        for name in ("OMZ_MOBILENET_MODELS_YML", "OMZ_MOBILENET_CATALOGUE"):
            patch.delenv(name, raising=False)
        argv = ["gate", SMALL, WIDE, "--dataset", str(IMAGES), "--no-progress", "--baseline", str(path)]
        assert main([*argv, "--update-baseline"]) == 0
    return root, path


@pytest.fixture
def lab(recorded, mirror, tmp_path, monkeypatch):
    """This test's copy of the baseline, with the recorded cache and IRs (conftest's `mirror` env otherwise)."""
    root, path = recorded
    for name, value in _env(root / "cache", root / "ir").items():
        monkeypatch.setenv(name, value)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    return copy


def _gate(cli, tmp_path: Path, *args) -> tuple[int, str, str, list[dict]]:
    report = tmp_path / "gate.json"
    report.unlink(missing_ok=True)
    code, out, err = cli("gate", *args, "--no-progress", "--json", report)
    return code, out, err, json.loads(report.read_text())["records"] if report.is_file() else []


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_record_writes_one_row_per_model_precision_and_set(recorded):
    from omz_mobilenet.environment import environment

    _root, path = recorded
    text = path.read_text()
    assert text.startswith("# omz-mobilenet gate baseline")
    data = yaml.safe_load(text)
    assert data["schema_version"] == store.SCHEMA_VERSION and data["machine"]["cpu_model"] == environment()["cpu_model"]
    assert {(r["model"], r["precision"], r["image_set"]) for r in data["rows"]} == ROWS
    (image_set,) = load_image_sets(IMAGES)
    labels = {p.name: to_model_label(label, 1001) for p, label in image_set.items}
    for row in data["rows"]:
        assert row["image_list_sha256"] == image_set.list_sha256 and row["images"] == 100
        assert set(row["top1_per_image"]) == set(labels)
        hits = sum(top1 == labels[image] for image, top1 in row["top1_per_image"].items())
        assert row["top1_hits"] == hits and row["top1"] == hits  # 100 images: hits are percent
        assert row["predictions_sha256"] == store.predictions_sha256(row["top1_per_image"])
    assert store.load(path).by_key().keys() == ROWS


def test_the_same_irs_pass_against_their_baseline(lab, cli, tmp_path):
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab)
    assert code == 0, out + err
    assert {(r["model"], r["precision"], r["image_set"]) for r in rows} == ROWS  # without MODEL: the baseline's rows
    assert {r["status"] for r in rows} == {"PASSED"} and "gate PASSED: 4 passed" in out
    assert all(r["reference"].startswith(f"baseline {lab}") and r["flips"]["changed"] == 0 for r in rows)
    assert "warning" not in out  # recorded on this machine


def test_a_channel_swap_fails_naming_the_row_and_the_flipped_images(lab, cli, tmp_path, monkeypatch):
    edited_catalogue(tmp_path, monkeypatch, {SMALL: lambda entry: entry["original_input"].update(color="BGR")})
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab, "-o", tmp_path / "ir")
    assert code == 1, out + err
    by_row = {(r["model"], r["precision"]): r for r in rows}
    assert {by_row[(WIDE, p)]["status"] for p in (ASIS, "FP16")} == {"PASSED"}
    failed = by_row[(SMALL, ASIS)]
    assert failed["status"] == "FAILED" and failed["top1"] < failed["top1_ref"] - 1
    base = store.load(lab).by_key()[(SMALL, ASIS, SET)]
    line = f"FAILED {SMALL} {ASIS} {SET}: Top-1 {base.top1:g} -> {failed['top1']:g} ("
    assert line in out, out
    lost = failed["flips"]["right_to_wrong"]
    assert len(lost) - len(failed["flips"]["wrong_to_right"]) == base.top1_hits - failed["top1"]
    labels = {p.name: to_model_label(label, 1001) for p, label in load_image_sets(IMAGES)[0].items}
    assert all(base.top1_per_image[image] == labels[image] for image in lost)  # right before
    assert f"  right -> wrong ({len(lost)}): {', '.join(lost[:5])}" in out


def test_another_image_list_is_refused_before_any_work(lab, cli, tmp_path):
    fresh = tmp_path / "ir"
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--limit", "50", "--baseline", lab, "-o", fresh)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and not rows, out + err
    assert str(lab) in lines[0] and "another image list" in lines[0] and "--update-baseline" in lines[0]
    assert not fresh.exists()  # nothing converted, nothing evaluated

    code, _out, err, _rows = _gate(
        cli, tmp_path, "--dataset", IMAGES, "--crop-rule", "accuracy-checker", "--baseline", lab
    )
    assert code == 2 and "--crop-rule tf" in error_lines(err)[0]


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2] + "\n  - [unclosed"), "not readable YAML"),
        (lambda p: p.write_text("- just\n- a list\n"), "not a gate baseline"),
        (lambda p: _edit(p, lambda d: d.update(schema_version=2)), "schema_version 2"),
        (lambda p: _edit(p, lambda d: d["rows"][0].pop("top1_hits")), "missing or unknown: top1_hits"),
        (lambda p: _edit(p, lambda d: d["rows"][0]["top1_per_image"].update({"x.JPEG": 1})), "predictions_sha256"),
        (lambda p: _edit(p, lambda d: d["rows"][0].update(top1_hits="29")), "top1_hits of the wrong type"),
    ],
    ids=["truncated", "not-a-mapping", "schema", "missing-field", "hand-edited", "wrong-type"],
)
def test_a_corrupt_or_foreign_baseline_is_one_line_and_exit_2(lab, cli, tmp_path, damage, words):
    damage(lab)
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab, "-o", tmp_path / "ir")
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and not rows and "Traceback" not in err, out + err
    assert str(lab) in lines[0] and words in lines[0] and "--update-baseline" in lines[0]
    assert not (tmp_path / "ir").exists()


def test_update_without_model_records_the_baselines_own_rows_again(lab, cli, tmp_path):
    before = store.load(lab)
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab, "--update-baseline")
    assert code == 0 and {r["status"] for r in rows} == {"RECORDED"} and f"4 rows written to {lab}" in out, out + err
    after = store.load(lab)
    assert after.recorded >= before.recorded
    assert {r.key: r.predictions_sha256 for r in after.rows} == {r.key: r.predictions_sha256 for r in before.rows}

    lab.write_text("rows: [unclosed\n")
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab, "--update-baseline")
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "name the models to record it anew" in lines[0], out + err
    assert lab.read_text() == "rows: [unclosed\n"


def test_a_baseline_row_with_no_result_now_is_incomplete(lab, cli, tmp_path):
    code, out, err, rows = _gate(cli, tmp_path, WIDE, "--dataset", IMAGES, "--baseline", lab)
    assert code == 3, out + err
    status = {(r["model"], r["precision"]): r["status"] for r in rows}
    assert status == {
        (WIDE, ASIS): "PASSED",
        (WIDE, "FP16"): "PASSED",
        (SMALL, ASIS): "SKIPPED",
        (SMALL, "FP16"): "SKIPPED",
    }
    assert all("in the baseline, no result now" in r["reason"] for r in rows if r["status"] == "SKIPPED")
    code, out, _err, rows = _gate(cli, tmp_path, WIDE, "--dataset", IMAGES, "--baseline", lab, "--allow-missing")
    assert code == 0 and [r["status"] for r in rows].count("SKIPPED") == 2 and "gate PASSED: 2 passed, 2 skipped" in out


def test_a_missing_image_set_or_model_is_incomplete_even_with_allow_missing(lab, cli, tmp_path):
    other = ASSETS / "imagenet" / "val_original_20"
    for extra in ((), ("--allow-missing",)):
        code, out, err, rows = _gate(cli, tmp_path, "--dataset", other, "--baseline", lab, *extra)
        assert code == 3 and "nothing was checked" in out, out + err  # no row was compared: never a pass
        assert {r["status"] for r in rows if r["image_set"] == SET} == {"SKIPPED"}
        assert {r["status"] for r in rows if r["image_set"] == other.name} == {"NO REF"}
    # the other way round: a row the job asks for that the baseline does not hold is missing too
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab)
    assert code == 0, out + err
    both = tmp_path / "two-sets"
    both.mkdir()
    for folder in (IMAGES, other):
        (both / folder.name).symlink_to(folder)
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", both, "--baseline", lab)
    assert code == 3 and "rows the baseline does not hold" in out, out + err
    assert {r["status"] for r in rows if r["image_set"] == other.name} == {"NO REF"}
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", both, "--baseline", lab, "--allow-missing")
    assert code == 0 and "no ref" in out, out + err
    _edit(lab, lambda d: [row.update(model="my-deleted-model") for row in d["rows"] if row["model"] == SMALL])
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab)
    assert code == 3, out + err
    gone = [r for r in rows if r["model"] == "my-deleted-model"]
    assert len(gone) == 2 and all(r["status"] == "SKIPPED" and "not in the catalogue" in r["reason"] for r in gone)


def test_another_cpu_kind_is_warned_about_in_one_line_and_still_compared(lab, cli, tmp_path):
    _edit(lab, lambda d: d["machine"].update(cpu_model="Intel Xeon Platinum 8480+", isa=["avx2", "amx_int8"]))
    code, out, err, rows = _gate(cli, tmp_path, "--dataset", IMAGES, "--baseline", lab)
    assert code == 0 and {r["status"] for r in rows} == {"PASSED"}, out + err
    warnings = [line for line in out.splitlines() if line.startswith("warning: baseline")]
    assert len(warnings) == 1 and "Intel Xeon Platinum 8480+" in warnings[0] and "INT8 Top-1" in warnings[0]


def test_a_failed_update_leaves_the_baseline_unchanged(lab, cli, tmp_path, monkeypatch):
    before = lab.read_bytes()
    onnx = ASSETS / "models" / "mobilenetv2-12-int8_onnx" / "mobilenetv2-12-int8.onnx"

    def onnx_as_tflite(entry):  # downloads (checksum right), cannot convert: an ERROR row
        import hashlib

        sha = hashlib.sha256(onnx.read_bytes()).hexdigest()
        entry["files"][0].update(name=onnx.name, checksum={"algorithm": "sha256", "value": sha})
        entry["files"][0].pop("size", None)
        entry["model_file"]["file"] = onnx.name

    edited_catalogue(tmp_path, monkeypatch, {SMALL: onnx_as_tflite})
    args = ("--dataset", IMAGES, "--baseline", lab, "--update-baseline", "-o", tmp_path / "ir")
    code, out, err, rows = _gate(cli, tmp_path, *args)
    assert code == 2 and {r["status"] for r in rows} == {"RECORDED", "ERROR"}, out + err
    assert f"baseline {lab} not written" in out and lab.read_bytes() == before
    assert sorted(p.name for p in lab.parent.iterdir() if p.name.startswith(f".{lab.name}")) == []


def test_an_interrupted_update_leaves_the_baseline_unchanged(lab, tmp_path):
    """A real process, a real SIGINT while it evaluates 1300 images: exit 130, the old file whole."""
    before = lab.read_bytes()
    out_dir = tmp_path / "ir"
    images = ASSETS / "imagenet" / "val_1300_resized_227"
    argv = [
        sys.executable,
        "-m",
        "omz_mobilenet.cli",
        "gate",
        SMALL,
        WIDE,
        "--dataset",
        str(images),
        "-o",
        str(out_dir),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [*argv, "--baseline", str(lab), "--update-baseline", "--no-progress"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(out_dir.glob(f"{SMALL}/FP32/*.xml")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # evaluating now (1300 images x 4 rows take far longer than this)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert lab.read_bytes() == before and "interrupted" in err
    assert [p.name for p in lab.parent.iterdir() if p.name.startswith(f".{lab.name}")] == []


def test_the_default_tolerance_is_the_paired_test_and_at_most_one_point():
    rule = BaselineRule(max_points=criteria.MAX_LOSS_POINTS, alpha=criteria.ALPHA, worse_p=stats.mcnemar_worse_p)

    def fails(b: int, c: int, total: int, tolerance: BaselineRule = rule) -> bool:
        flips = Flips(right_to_wrong=[f"r{i}" for i in range(b)], wrong_to_right=[f"w{i}" for i in range(c)])
        return baseline_loss_fails(flips, total, tolerance) is not None

    assert not fails(0, 0, 100) and not fails(3, 5, 100)  # no loss
    assert not fails(1, 0, 100)  # 1 point, not significant (p = 0.5)
    assert fails(2, 0, 100)  # 2 points: more than 1 point
    assert fails(1, 0, 20)  # 5 points: one image of 20 is already more than 1 point
    assert not fails(3, 2, 1300)  # 1 image of 1300, p = 0.5
    assert fails(8, 0, 1300)  # 0.6 points but significant: p = 1/256 < 0.01
    assert not fails(8, 1, 1300)  # p = 10/512 = 0.02: not significant, 0.5 points
    assert fails(14, 0, 1300) and fails(20, 6, 1300)  # 1.08 points
    wide = BaselineRule(points=5.0, worse_p=stats.mcnemar_worse_p)  # --tolerance 5: points only
    assert not fails(5, 0, 100, wide) and fails(6, 0, 100, wide) and not fails(40, 0, 1300, wide)
