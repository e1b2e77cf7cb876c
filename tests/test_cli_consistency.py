"""One flag name per concept (old spellings still work), help with defaults, exit codes and environment,
output paths checked before any work, offline status in `list`/`info`, `--available` without network,
the mirror scheme always checked, and one JSON envelope per command."""

from __future__ import annotations

import json

import pytest

from omz_mobilenet.cli import build_parser
from tests.helpers import paths
from tests.helpers.paths import ASSETS, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

IMAGES = ASSETS / "imagenet" / "val_original_20"
SMALL = "mobilenet-v1-0.25-128-quant"
OFFLINE_MODELS = set(paths.OFFLINE_MODELS)


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
        old = parse([command, SMALL, "--dataset", str(IMAGES), "--subset", "3", "--output-dir", "d", "--device", "GPU"])
        new = parse([command, SMALL, "--dataset", str(IMAGES), "--limit", "3", "--out", "d", "-d", "GPU"])
        assert (old.limit, old.output_dir, old.device) == (new.limit, new.output_dir, new.device) == (3, "d", "GPU")
    for command in ("convert", "bench", "accuracy", "gate", "download"):
        extra = ["--dataset", str(IMAGES)] if command in ("accuracy", "gate") else []
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
    assert (
        code == 0 and {r["model"] for r in records} == OFFLINE_MODELS and {r["status"] for r in records} == {"cached"}
    )
    code, out, _err = cli("list", "--available", "--mirror", base, "--json")
    assert {r["name"] for r in _records(out, "list")} == OFFLINE_MODELS
    assert handler.hits == []


def test_list_and_info_show_converted_precisions_and_accuracy_uses_the_irs_found(mirror, cli, tmp_path):
    assert cli("convert", SMALL, "--precision", "FP32")[0] == 0
    code, out, _ = cli("info", SMALL, "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == {"offline": "cached", "converted": ["FP32"], "irs": ["INT8-ASIS (FP32/)"]}
    assert _records(out, "info")[0]["name"] == SMALL
    listed = {r["name"]: r for r in _records(cli("list", "--json")[1], "list")}
    assert listed[SMALL]["converted"] == ["FP32"] and listed["mobilenet-v1-1.0-224"]["offline"] is None
    report = tmp_path / "acc.json"
    code, _out, err = cli("accuracy", "--dataset", IMAGES, "--limit", "4", "--no-progress", "--json", report)
    assert code == 0, err
    records = _records(report.read_text(), "accuracy")
    assert [(r["model"], r["precision"]) for r in records] == [(SMALL, "INT8-ASIS")]  # a quantized model's FP32/


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


# --- one set of validators: the same value gets the same one-line message everywhere -------------------


def _run(capsys, *argv) -> tuple[int, str, str]:
    """cli.main in-process; argparse's refusals leave through SystemExit, as from the console script."""
    from omz_mobilenet.cli import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 2
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _commands_with(option: str) -> list[str]:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return [
        name
        for name, sub in subparsers.choices.items()
        if any(option in action.option_strings for action in sub._actions)
    ]


BAD_VALUES = {
    "--limit": ["0", "-5", "abc", "1.5"],
    "--batch": ["0", "abc", "100000"],
    "--time": ["0", "-1", "nan", "inf", "abc"],
    "--rounds": ["0", "abc"],
    "--hint": ["foo"],
    "--precision": ["FOO", ","],
    "--device": ["", "C P U"],
    "--min-images": ["0", "150%", "abc"],
    "--min-top1": ["150", "-5", "nan"],
    "--max-latency": ["0", "-3", "inf"],
    "--calibration-limit": ["0"],
    "--dataset": ["/nonexistent/images", "/etc/hostname"],
    "--calibration": ["/nonexistent/images"],
    "--annotations": ["/nonexistent/val.txt", "/etc"],
}


@pytest.mark.parametrize("option", sorted(BAD_VALUES))
def test_same_bad_value_gets_the_same_message_in_every_command(option, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = _commands_with(option)
    assert commands, f"no command takes {option}"
    for value in BAD_VALUES[option]:
        messages = {}
        for command in commands:
            code, _out, err = _run(capsys, command, f"{option}={value}")
            lines = err.strip().splitlines()
            assert code == 2 and len(lines) == 1, (command, option, value, err)
            assert lines[0].startswith(f"omz-mobilenet {command}: error: argument "), lines
            assert lines[0].endswith(f"; see omz-mobilenet {command} --help") and option in lines[0], lines
            messages[command] = lines[0].split(": ", 3)[-1].rsplit("; see ", 1)[0]
        assert len(set(messages.values())) == 1, (option, value, messages)
    assert list(tmp_path.iterdir()) == [], "a refused flag left a file"


def test_the_shared_flags_reach_every_command_that_takes_them():
    assert {"bench", "accuracy", "gate", "verify", "sweep"} <= set(_commands_with("--limit")) | {"bench"}
    assert {"bench", "accuracy", "gate", "sweep"} <= set(_commands_with("--batch"))
    assert {"bench", "sweep"} <= set(_commands_with("--time")) & set(_commands_with("--rounds"))
    assert {"bench", "sweep"} <= set(_commands_with("--hint"))
    assert {"accuracy", "gate", "sweep"} <= set(_commands_with("--min-images"))
    assert {"accuracy", "gate", "sweep"} <= set(_commands_with("--skip-bad-images"))
    assert {"accuracy", "gate", "sweep"} <= set(_commands_with("--annotations"))
    assert {"accuracy", "gate", "sweep"} <= set(_commands_with("--allow-overlap"))


def test_every_long_command_accepts_no_progress():
    parse = build_parser().parse_args
    for command in ("download", "convert", "verify", "bench", "accuracy", "gate", "sweep"):
        extra = ["--dataset", "."] if command in ("accuracy", "gate") else []
        assert parse([command, "--no-progress", *extra]).no_progress is True, command


@pytest.mark.parametrize(
    "argv",
    [["bench", "--time"], ["bogus"], ["accuracy"], ["list", "--frobnicate"], ["convert", "x", "--batch", "3"]],
)
def test_usage_errors_are_one_line_naming_the_command_and_its_help(argv, capsys):
    code, out, err = _run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and "usage:" not in err, err
    prog = "omz-mobilenet" if argv == ["bogus"] else f"omz-mobilenet {argv[0]}"
    assert lines[0].startswith(f"{prog}: error: ") and lines[0].endswith(f"; see {prog} --help"), lines


# --- sweep checks everything before any work (issue 17, items 2-5 and 7) ------------------------------

FLOAT = "mobilenet-v1-0.25-224-tflite"  # a float model: its INT8 is calibrated by NNCF


def _sweep_flags() -> set[str]:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    return {o for action in subparsers.choices["sweep"]._actions for o in action.option_strings}


def _refused_before_work(code: int, err: str, db, ir) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "internal error" not in err and "ValidationError" not in err, err
    assert not db.exists() and not any(ir.rglob("*.xml")) if ir.exists() else not db.exists(), "work started"
    named = set(__import__("re").findall(r"--[a-z][a-z0-9-]*", lines[0]))
    assert named <= _sweep_flags(), f"the message names flags sweep does not have: {named - _sweep_flags()}"
    return lines[0]


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--limit", "0"),
        ("--limit", "-5"),
        ("--time", "0"),
        ("--rounds", "0"),
        ("--batch", "0"),
        ("--batch", "abc"),
        ("--hint", "foo"),
        ("--min-images", "0"),
    ],
)
def test_sweep_refuses_bad_flag_values_like_bench(flag, value, workdirs, tmp_path, capsys):
    db = tmp_path / "r.db"
    code, _out, err = _run(capsys, "sweep", "--models", SMALL, "--db", db, f"{flag}={value}")
    line = _refused_before_work(code, err, db, workdirs[1])
    assert f"argument {flag}: " in line, line
    if _commands_with(flag) != ["sweep"]:
        other = next(c for c in _commands_with(flag) if c != "sweep")
        _code, _out, other_err = _run(capsys, other, f"{flag}={value}")
        assert (
            other_err.split(f"argument {flag}: ")[1].split("; see")[0]
            == line.split(f"argument {flag}: ")[1].split("; see")[0]
        )


@pytest.mark.parametrize(
    "text, key, flag",
    [
        ("limit: 0\n", "limit", "--limit"),
        ("time: 0\n", "time", "--time"),
        ("rounds: -1\n", "rounds", "--rounds"),
        ("bench:\n  - hint: foo\n", "bench[0].hint", "--hint"),
        ("bench:\n  - batch: abc\n", "bench[0].batch", "--batch"),
        ("min_images: 0\n", "min_images", "--min-images"),
    ],
)
def test_sweep_spec_values_get_the_same_words_as_their_flags(text, key, flag, workdirs, tmp_path, capsys):
    spec, db = tmp_path / "spec.yml", tmp_path / "r.db"
    spec.write_text(f"models: [{SMALL}]\ndb: {db}\n{text}")
    code, _out, err = _run(capsys, "sweep", spec)
    line = _refused_before_work(code, err, db, workdirs[1])
    at = 4 if key.startswith("bench") else 3  # a bench item's own line
    assert line.startswith(f"omz-mobilenet: error: {spec}:{at}: {key}: "), line
    value = text.split(":")[-1].strip()
    _code, _out, flag_err = _run(capsys, "sweep", "--models", SMALL, f"{flag}={value}")
    assert line.split(f"{key}: ", 1)[1] == flag_err.split(f"argument {flag}: ")[1].split("; see")[0]


def test_sweep_spec_with_bytes_that_are_not_utf8_is_one_line(workdirs, tmp_path, capsys):
    spec = tmp_path / "spec.yml"
    spec.write_bytes(b"models: [" + SMALL.encode() + b"]\n# caf\xe9\n")
    code, _out, err = _run(capsys, "sweep", spec)
    line = _refused_before_work(code, err, tmp_path / "results" / "results.db", workdirs[1])
    assert str(spec) in line and "UTF-8" in line


def test_sweep_mistyped_calibration_is_bad_input_even_with_allow_missing(workdirs, tmp_path, capsys):
    db = tmp_path / "r.db"
    argv = ["sweep", "--models", FLOAT, "--precision", "INT8", "--calibration", tmp_path / "calibraton", "--db", db]
    code, _out, err = _run(capsys, *argv, "--allow-missing")
    line = _refused_before_work(code, err, db, workdirs[1])
    assert "argument --calibration: " in line and "calibraton" in line and "--dataset" not in line
    spec = tmp_path / "spec.yml"
    spec.write_text(f"models: [{FLOAT}]\nprecision: [INT8]\ncalibration: {tmp_path / 'nope'}\ndb: {db}\n")
    code, _out, err = _run(capsys, "sweep", spec, "--allow-missing")
    line = _refused_before_work(code, err, db, workdirs[1])
    assert f"{spec}:3: calibration: " in line and "does not exist" in line


def test_sweep_refuses_to_evaluate_on_its_calibration_images(workdirs, tmp_path, capsys):
    db = tmp_path / "r.db"
    code, _out, err = _run(
        capsys,
        "sweep",
        "--models",
        FLOAT,
        "--precision",
        "INT8",
        "--dataset",
        IMAGES,
        "--calibration",
        IMAGES,
        "--db",
        db,
        "--allow-missing",
    )
    line = _refused_before_work(code, err, db, workdirs[1])
    assert "20 image(s)" in line and "inflates INT8 accuracy" in line and "--allow-overlap" in line


def test_sweep_allow_overlap_counts_the_shared_images_for_the_cells(workdirs, tmp_path):
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.settings import Settings
    from omz_mobilenet.sweep.spec import SpecFile, SweepSpec, check_calibration, check_images

    spec = SweepSpec(
        models=[FLOAT], precision=["INT8"], dataset=str(IMAGES), calibration=str(IMAGES), limit=5, allow_overlap=True
    )
    spec_file = SpecFile(None, "", spec)
    image_set = check_images(spec_file)
    entry = load_catalogue().get(FLOAT)
    counts = check_calibration(spec_file, [(entry, "INT8"), (entry, "FP32")], image_set, Settings.resolve().out_dir)
    assert counts == {(FLOAT, "INT8"): 5}


def test_sweep_int8_of_a_float_model_without_calibration_is_bad_input(workdirs, tmp_path, capsys):
    db = tmp_path / "r.db"
    code, _out, err = _run(capsys, "sweep", "--models", FLOAT, "--precision", "INT8", "--db", db, "--allow-missing")
    line = _refused_before_work(code, err, db, workdirs[1])
    assert f"--calibration: {FLOAT} INT8" in line and "pass --calibration DIR" in line


def test_sweep_corrupt_image_is_refused_before_any_work(workdirs, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for source in sorted(IMAGES.glob("*.JPEG"))[:3]:
        (images / source.name).write_bytes(source.read_bytes())
    broken = sorted(images.iterdir())[1]
    broken.write_bytes(broken.read_bytes()[:200])
    db = tmp_path / "r.db"
    labels = ["--annotations", ASSETS / "imagenet" / "labels" / "val.txt"]
    code, _out, err = _run(capsys, "sweep", "--models", SMALL, "--dataset", images, *labels, "--db", db)
    line = _refused_before_work(code, err, db, workdirs[1])
    assert broken.name in line and "--skip-bad-images" in line


def test_sweep_empty_folder_says_no_images(workdirs, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    db = tmp_path / "r.db"
    code, _out, err = _run(capsys, "sweep", "--models", SMALL, "--dataset", tmp_path / "empty", "--db", db)
    line = _refused_before_work(code, err, db, workdirs[1])
    assert "no images" in line and "ground truth" not in line


def test_sweep_unknown_model_says_did_you_mean(workdirs, tmp_path, capsys):
    db = tmp_path / "r.db"
    code, _out, err = _run(capsys, "sweep", "--models", SMALL + "x", "--db", db)
    line = _refused_before_work(code, err, db, workdirs[1])
    assert "--models" in line and f"Did you mean: {SMALL}" in line
    spec = tmp_path / "spec.yml"
    spec.write_text(f"db: {db}\nmodels:\n  - {SMALL}\n  - {SMALL[:-1]}\n")
    code, _out, err = _run(capsys, "sweep", spec)
    line = _refused_before_work(code, err, db, workdirs[1])
    assert f"{spec}:4: models: " in line and f"Did you mean: {SMALL}" in line


def test_sweep_available_with_nothing_offline_is_bad_input_and_creates_no_database(
    workdirs, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # found by the CLI fuzz: exit 0 and an empty results/results.db
    code, _out, err = _run(capsys, "sweep", "--available")
    line = _refused_before_work(code, err, tmp_path / "results" / "results.db", workdirs[1])
    assert "--available: no model's files" in line and not (tmp_path / "results").exists()


def test_a_value_with_a_line_break_stays_one_line(workdirs, tmp_path, capsys):
    code, _out, err = _run(capsys, "sweep", "--models", "mobile\nnet", "--db", tmp_path / "r.db")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "mobile\\nnet" in err, err


@pytest.mark.parametrize(
    "flag, value",
    [("--annotations", ASSETS / "imagenet" / "labels" / "val.txt"), ("--limit", "5"), ("--min-images", "50%")],
)
def test_sweep_refuses_dataset_options_without_a_dataset(flag, value, workdirs, tmp_path, capsys):
    db = tmp_path / "r.db"
    code, _out, err = _run(capsys, "sweep", "--models", SMALL, flag, value, "--db", db)
    line = _refused_before_work(code, err, db, workdirs[1])
    assert f"{flag}: applies to the images of --dataset" in line
