"""One flag name per concept (old spellings still work), help with defaults, exit codes and environment,
output paths checked before any work, offline status in `list`/`info`, `--available` without network,
the mirror scheme always checked, and one JSON envelope per command."""

from __future__ import annotations

import json

import pytest

from omz_mobilenet.cli import build_parser
from tests.helpers.paths import ASSETS, error_lines

IMAGES = ASSETS / "imagenet" / "val_original_20"
SMALL = "mobilenet-v1-0.25-128-quant"
OFFLINE_MODELS = {
    "mobilenet-v2-1.0-224-int8", "mobilenet-v2-1.0-224-quant", "mobilenet-v1-0.25-224-quant",
    "mobilenet-v1-0.50-160-quant", "mobilenet-v1-0.25-128-quant", "mobilenet-v1-0.75-192-quant",
    "mobilenet-v1-0.25-224-tflite", "mobilenetv2-12-int8",
}  # the models whose files are in ../shared/assets (its MANIFEST.md)


def _records(text: str, command: str) -> list[dict]:
    data = json.loads(text)
    assert set(data) >= {"schema_version", "command", "environment", "records"} and data["command"] == command
    return data["records"]


# --- flag names and aliases ------------------------------------------------------------------------

def test_old_spellings_are_aliases_of_the_new_names():
    parse = build_parser().parse_args
    convert = parse(["convert", SMALL, "--precisions", "FP16", "--subset-size", "7", "--output-dir", "d"])
    assert (convert.precisions, convert.calibration_limit, convert.output_dir) == ("FP16", 7, "d")
    convert = parse(["convert", SMALL, "--precision", "FP16", "--calibration-limit", "7", "-o", "d"])
    assert (convert.precisions, convert.calibration_limit, convert.output_dir) == ("FP16", 7, "d")
    for command in ("accuracy", "gate"):
        old = parse([command, SMALL, "--dataset", "x", "--subset", "3", "--output-dir", "d", "--device", "GPU"])
        new = parse([command, SMALL, "--dataset", "x", "--limit", "3", "--out", "d", "-d", "GPU"])
        assert (old.limit, old.output_dir, old.device) == (new.limit, new.output_dir, new.device) == (3, "d", "GPU")
    for command in ("convert", "bench", "accuracy", "gate", "download"):
        extra = ["--dataset", "x"] if command in ("accuracy", "gate") else []
        assert parse([command, "--available", *extra]).available is True


def test_old_spellings_still_convert(mirror, tmp_path, cli):
    out = tmp_path / "old-ir"
    code, stdout, err = cli("convert", SMALL, "--precisions", "FP16", "--output-dir", out, "--json")
    assert code == 0, err
    [record] = _records(stdout, "convert")
    assert record["precision"] == "FP16" and record["xml"].startswith(str(out))


def test_help_shows_defaults_examples_exit_codes_and_environment(capsys):
    for argv in (["--help"], ["convert", "--help"], ["gate", "--help"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
    text = capsys.readouterr().out
    assert "examples:" in text and "exit codes:" in text and "130" in text and "incomplete" in text
    assert "OMZ_MOBILENET_MIRROR" in text and "OMZ_MOBILENET_OUT" in text
    assert "(default: FP32)" in text and "(default: 300)" in text and "(default: CPU)" in text
    assert "--allow-missing" in text and "--precisions" not in text.split("usage: omz-mobilenet convert")[1]


# --- output paths before work, mirror scheme ---------------------------------------------------------

@pytest.mark.parametrize("command", ["accuracy", "gate"])
def test_unwritable_json_fails_before_any_conversion(mirror, tmp_path, cli, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _out, err = cli(command, SMALL, "--dataset", IMAGES, "--no-progress", "--json", blocker / "r.json")
    assert code == 2 and len(error_lines(err)) == 1 and "a-file" in err
    _cache, ir = mirror
    assert not ir.exists() or not any(ir.rglob("*.xml")), "converted before checking the output path"


def test_unwritable_ir_folder_fails_before_converting(mirror, tmp_path, cli):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _out, err = cli("convert", SMALL, "-o", blocker / "ir")
    assert code == 2 and "a-file" in err


def test_ftp_mirror_is_refused_even_when_the_model_is_cached(mirror, cli):
    assert cli("download", SMALL)[0] == 0
    for argv in (["download", SMALL], ["list"], ["convert", SMALL]):
        code, _out, err = cli(*argv, "--mirror", "ftp://x")
        assert code == 2 and "ftp" in err and len(error_lines(err)) == 1, argv


# --- offline status, --available without network ----------------------------------------------------

def test_list_available_is_exactly_the_offline_models(mirror, cli):
    code, out, err = cli("list", "--available", "--json")
    assert code == 0, err
    records = _records(out, "list")
    assert {r["name"] for r in records} == OFFLINE_MODELS
    assert {r["offline"] for r in records} == {"mirror"}  # empty cache: found in the mirror folder
    assert all(key == key.lower() and " " not in key for r in records for key in r)


def test_available_never_touches_the_network(mirror, http_mirror, cli):
    base, handler = http_mirror
    code, _out, err = cli("download", "--available", "--mirror", base)  # an http mirror: only the cache counts
    assert code == 2 and "only the cache counts" in err and "no model" in err
    code, out, err = cli("download", "--available")  # the folder mirror fills the cache
    assert code == 0 and "8 downloaded, 0 already cached, 0 not available" in out, err
    code, out, err = cli("download", "--available", "--mirror", base, "--json")
    records = _records(out, "download")
    assert code == 0 and {r["model"] for r in records} == OFFLINE_MODELS and {r["status"] for r in records} == {"cached"}
    code, out, _err = cli("list", "--available", "--mirror", base, "--json")
    assert {r["name"] for r in _records(out, "list")} == OFFLINE_MODELS
    assert handler.hits == []


def test_list_and_info_show_converted_precisions_and_accuracy_uses_the_irs_found(mirror, cli, tmp_path):
    assert cli("convert", SMALL, "--precision", "FP32")[0] == 0
    code, out, _ = cli("info", SMALL, "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == {"offline": "cached", "converted": ["FP32"]}
    assert _records(out, "info")[0]["name"] == SMALL
    listed = {r["name"]: r for r in _records(cli("list", "--json")[1], "list")}
    assert listed[SMALL]["converted"] == ["FP32"] and listed["mobilenet-v1-1.0-224"]["offline"] is None
    report = tmp_path / "acc.json"
    code, _out, err = cli("accuracy", "--dataset", IMAGES, "--limit", "4", "--no-progress", "--json", report)
    assert code == 0, err
    records = _records(report.read_text(), "accuracy")
    assert [(r["model"], r["precision"]) for r in records] == [(SMALL, "FP32")]


def test_accuracy_without_model_or_irs_is_bad_input(workdirs, cli):
    code, _out, err = cli("accuracy", "--dataset", IMAGES)
    assert code == 2 and "no IRs" in err and len(error_lines(err)) == 1


def test_download_all_ends_with_a_summary(mirror, http_mirror, tmp_path, monkeypatch, cli):
    from tests.helpers.catalogue_edit import edited_catalogue

    base, _handler = http_mirror
    # Every source of the catalogue goes to the local server (404 unless the file is in the assets):
    # the summary is then the same with or without a network.
    def local(entry: dict) -> None:
        for src in entry.get("files", []):
            src["sources"] = [f"{base}/nowhere/{src['name']}"]

    from tests.helpers.catalogue_edit import raw_catalogue

    edited_catalogue(tmp_path, monkeypatch, {m["name"]: local for m in raw_catalogue()["models"]})
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "0")
    code, out, _err = cli("download", "--all")
    assert code == 1
    assert out.splitlines()[-1] == "download: 8 downloaded, 0 already cached, 19 not available"
