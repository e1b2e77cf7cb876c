"""One meaning of INT8 (issue 20, item 3), on real IRs of an already-quantized model.

`convert --precision INT8` of an INT8 source writes its requantized IR (folder INT8-RQ), and every
other command's `--precision INT8` measures that same IR (the records name the same .xml); `INT8-RQ`
is another spelling of it; `INT8-ASIS` is the as-is import (folder FP32), also reached by the old
spelling `FP32`; a float model asked for INT8-ASIS is one line, exit 2; `list`/`info` show the IRs by
these names.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.helpers.paths import IMAGES, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

MODEL = "mobilenet-v1-0.25-128-quant"  # the smallest offline uint8 TFLite
FLOAT = "mobilenet-v1-0.25-224-tflite"
EVALUATION = IMAGES / "val_100_cropped_reencoded"
BENCH = ("--niter", "5", "--rounds", "1", "--no-progress")


def _calibration(tmp_path: Path, count: int = 20) -> Path:
    """~20 images of val_1300 named like no image of the evaluation sets (the overlap guard checks names)."""
    taken = {p.name for d in ("val_100_cropped_reencoded", "val_original_20") for p in (IMAGES / d).iterdir()}
    folder = tmp_path / "calibration"
    folder.mkdir()
    images = sorted(p for p in (IMAGES / "val_1300_resized_227").glob("*.JPEG") if p.name not in taken)
    for image in images[:count]:
        (folder / image.name).symlink_to(image)
    return folder


def _records(path: Path) -> list[dict]:
    return json.loads(path.read_text())["records"]


def _sha256(xml: str) -> str:
    return hashlib.sha256(Path(xml).read_bytes()).hexdigest()


def test_int8_means_one_ir_on_every_command(mirror, cli, tmp_path):
    _cache, out = mirror
    code, _out, err = cli(
        "convert", MODEL, "--precision", "INT8,INT8-ASIS", "--calibration", _calibration(tmp_path), "--json"
    )
    assert code == 0, err
    converted = {r["name"]: r for r in json.loads(_out)["records"]}
    rq_xml = out / MODEL / "INT8-RQ" / f"{MODEL}.xml"
    asis_xml = out / MODEL / "FP32" / f"{MODEL}.xml"
    assert converted["INT8"]["precision"] == "INT8-RQ" and Path(converted["INT8"]["xml"]) == rq_xml
    assert converted["INT8-ASIS"]["precision"] == "FP32" and Path(converted["INT8-ASIS"]["xml"]) == asis_xml

    bench_json = tmp_path / "bench.json"
    code, _out, err = cli("bench", MODEL, "--precision", "INT8,INT8-RQ,INT8-ASIS", *BENCH, "--json", bench_json)
    assert code == 0, err
    bench = {r["precision"]: r for r in _records(bench_json)}
    assert sorted(bench) == ["INT8", "INT8-ASIS"]  # INT8-RQ is INT8: one IR, benched once
    assert bench["INT8"]["ir_precision"] == "INT8-RQ" and Path(bench["INT8"]["xml"]) == rq_xml
    assert bench["INT8-ASIS"]["ir_precision"] == "FP32" and Path(bench["INT8-ASIS"]["xml"]) == asis_xml
    assert _sha256(bench["INT8"]["xml"]) != _sha256(bench["INT8-ASIS"]["xml"])

    accuracy_json = tmp_path / "accuracy.json"
    args = ("accuracy", MODEL, "--dataset", EVALUATION, "--no-progress", "--json", accuracy_json)
    code, _out, err = cli(*args, "--precision", "INT8")
    assert code == 0, err
    (record,) = _records(accuracy_json)
    assert record["precision"] == "INT8" and record["ir_folder"] == "INT8-RQ"
    assert _sha256(record["xml"]) == _sha256(bench["INT8"]["xml"])  # the very IR bench measured

    code, _out, err = cli(*args, "--precision", "INT8-RQ")
    assert code == 0, err
    assert [(r["precision"], r["ir_folder"]) for r in _records(accuracy_json)] == [("INT8", "INT8-RQ")]

    # the old spelling FP32 is the as-is import, named INT8-ASIS in results, with a one-line note
    code, _out, err = cli(*args, "--precision", "FP32")
    assert code == 0, err
    assert [(r["precision"], r["ir_folder"]) for r in _records(accuracy_json)] == [("INT8-ASIS", "FP32")]
    assert "now named INT8-ASIS" in err

    # diagnose: INT8 (spelled INT8-RQ here) is the same requantized IR; INT8-ASIS the FP32 folder
    diagnose_json = tmp_path / "diagnose.json"
    args = ("diagnose", MODEL, "--dataset", IMAGES / "val_original_20", "--limit", "2", "--no-scope")
    for asked, name, ir in (("INT8-RQ", "INT8", rq_xml), ("INT8-ASIS", "INT8-ASIS", asis_xml)):
        code, _out, err = cli(*args, "--precision", asked, "--json", diagnose_json)
        assert code == 0, err
        (record,) = _records(diagnose_json)
        assert record["precision"] == name and Path(record["low_ir"]) == ir

    code, stdout, err = cli("list", "--json")
    assert code == 0, err
    (row,) = [r for r in json.loads(stdout)["records"] if r["name"] == MODEL]
    assert row["converted"] == ["FP32", "INT8-RQ"]  # unchanged meaning: the folders
    assert row["irs"] == ["INT8-ASIS (FP32/)", "INT8 (INT8-RQ/)"]
    code, stdout, err = cli("info", MODEL, "--json")
    assert code == 0 and json.loads(stdout)["status"]["irs"] == ["INT8-ASIS (FP32/)", "INT8 (INT8-RQ/)"]
    code, stdout, err = cli("info", MODEL)
    assert code == 0 and "INT8-ASIS (FP32/)" in stdout and "INT8 (INT8-RQ/)" in stdout


@pytest.mark.parametrize(
    "command",
    [
        ("convert", FLOAT),
        ("bench", FLOAT, *BENCH),
        ("accuracy", FLOAT, "--dataset", EVALUATION),
        ("gate", FLOAT, "--dataset", EVALUATION),
        ("verify", FLOAT, "--dataset", EVALUATION),
        ("diagnose", FLOAT, "--dataset", EVALUATION),
    ],
    ids=lambda c: c[0],
)
def test_int8_asis_of_a_float_model_is_one_line_exit_2(mirror, cli, command):
    _cache, out = mirror
    code, _out, err = cli(*command, "--precision", "INT8-ASIS")
    assert code == 2, err
    assert error_lines(err) == [line for line in error_lines(err) if FLOAT in line and "INT8-ASIS" in line]
    assert len(error_lines(err)) == 1
    assert not (out / FLOAT).exists()  # refused before any conversion


def test_precision_rules_are_pure_and_fold_spellings():
    """The vocabulary itself (precision.py): names, folders and the old spellings, without any disk."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.errors import UsageError
    from omz_mobilenet.precision import folder_for, name_for, names_of, old_spelling, write_folder

    catalogue = load_catalogue()
    quant, float_ = catalogue.get(MODEL), catalogue.get(FLOAT)
    assert [(name_for(quant, p), folder_for(quant, p)) for p in ("INT8", "int8-rq", "INT8-ASIS", "FP32", "FP16")] == [
        ("INT8", "INT8-RQ"),
        ("INT8", "INT8-RQ"),
        ("INT8-ASIS", "FP32"),
        ("INT8-ASIS", "FP32"),
        ("FP16", "FP16"),
    ]
    assert write_folder(quant, "FP32-INT8") == "INT8-RQ" and write_folder(quant, "INT8-ASIS") == "FP32"
    assert old_spelling(quant, "FP32") and old_spelling(quant, "INT8-ASIS") is None
    assert old_spelling(float_, "FP32") is None
    assert folder_for(float_, "INT8") == "FP32-INT8" and folder_for(float_, "INT8", "FP16-INT8") == "FP16-INT8"
    for bad in ("INT8-ASIS", "INT8-RQ"):
        with pytest.raises(UsageError, match=FLOAT):
            name_for(float_, bad)
    with pytest.raises(UsageError, match="already an INT8 model"):
        folder_for(quant, "FP16-INT8")
    assert names_of(float_, ["FP32", "FP32-INT8", "FP16-INT8"]) == [
        "FP32 (FP32/)",
        "INT8 (FP32-INT8/)",
        "FP16-INT8 (FP16-INT8/)",
    ]


def test_report_and_pick_labels_use_todays_names():
    """Cells stored before INT8 had one meaning named the requantized IR `INT8-RQ`: labelled INT8 now."""
    from omz_mobilenet.results.labels import cell_label, precision_name

    old = {"model": MODEL, "precision": "INT8-RQ", "config": {"batch": 1}}
    assert precision_name(old) == "INT8" and cell_label(old) == f"{MODEL} INT8"
    as_is = {"model": MODEL, "precision": "FP32", "bench": {"source_precision": "INT8", "ir_precision": "FP32"}}
    assert precision_name(as_is) == "INT8-ASIS"
    plain = {"model": FLOAT, "precision": "FP32", "bench": {"source_precision": "FP32", "ir_precision": "FP32"}}
    assert precision_name(plain) == "FP32"
