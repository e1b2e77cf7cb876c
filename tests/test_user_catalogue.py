"""User catalogues beside the built-in one (issue 19, item 3), on real model files and images.

A user catalogue lives in a temporary folder with its own `defaults:` and `default_labels_file:`; its model
is a real TFLite file from ../shared/assets copied there at test time, named by a `path:` (relative to the
catalogue), a relative `file://` or an absolute `file://` source. What is checked: the file is fetched into
the cache like a download and counts as offline; a file that changed is exit 2 with nothing written; names
are unique across catalogues; `--catalogue` repeats and OMZ_MOBILENET_CATALOGUE is a path list; and an IR
converted from an older version of the entry is never used (float: converted again; INT8: refused).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from omz_mobilenet.catalogue import conversion_digest, load_catalogue
from omz_mobilenet.convert.ir_store import digest_path, ir_xml
from tests.helpers.paths import ASSETS, IMAGES, error_lines

pytestmark = pytest.mark.assets  # copies real model files and reads images from ../shared/assets

FLOAT_TFLITE = ASSETS / "models" / "mobilenet_v1_0.25_224_float_tf" / "mobilenet_v1_0.25_224_1_default_1.tflite"
# the same network with TFLite metadata added: another model file with the same inputs and outputs
OTHER_TFLITE = ASSETS / "models" / "mobilenet_v1_0.25_224_float_tf" / "mobilenet_v1_0.25_224_1_metadata_1.tflite"
LABELS = IMAGES / "labels" / "synset_words.txt"
SMALL_SET = IMAGES / "val_original_20"
MODEL = "my-v1-025"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def user_entry(name: str = MODEL, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """A catalogue entry for the float MobileNet V1 0.25 TFLite, by default at `models/<file>` (a `path:`)."""
    file = source or {"path": f"models/{FLOAT_TFLITE.name}"}
    return {
        "name": name,
        "description": "my own MobileNet V1 0.25 (a copy of the TF Hub TFLite file)",
        "family": "mobilenet-v1",
        "format": "tflite",
        "files": [
            {"name": FLOAT_TFLITE.name, "checksum": {"algorithm": "sha256", "value": sha256(FLOAT_TFLITE)}, **file}
        ],
        "model_file": {"file": FLOAT_TFLITE.name},
        "original_input": {
            "name": "input",
            "shape": [1, 224, 224, 3],
            "layout": "NHWC",
            "color": "RGB",
            "element_type": "f32",
            "mean": [127.5, 127.5, 127.5],
            "scale": [127.5, 127.5, 127.5],
        },
        "source_precision": "FP32",
        "gflops": 0.082,
        "mparams": 0.47,
    }


def write_catalogue(folder: Path, models: list[dict[str, Any]], name: str = "my-models.yml") -> Path:
    """A user catalogue with its own family defaults and labels file (a `path:`), and the model file
    copied to `<folder>/models/`."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(exist_ok=True)
    shutil.copyfile(FLOAT_TFLITE, folder / "models" / FLOAT_TFLITE.name)
    shutil.copyfile(LABELS, folder / "labels" / "synset_words.txt")
    data = {
        "defaults": {
            "mobilenet-v1": {
                "output": {"name": "MobilenetV1/Predictions/Reshape_1", "classes": 1001, "kind": "probabilities"},
                "preprocessing": {"kind": "central_crop", "central_fraction": 0.875, "interpolation": "bilinear"},
            }
        },
        "default_labels_file": {
            "name": "synset_words.txt",
            "path": "labels/synset_words.txt",
            "checksum": {"algorithm": "sha256", "value": sha256(LABELS)},
        },
        "models": models,
    }
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def edit_catalogue(path: Path, name: str, edit) -> None:
    data = yaml.safe_load(path.read_text())
    edit(next(entry for entry in data["models"] if entry["name"] == name))
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(autouse=True)
def _no_leaked_catalogues(monkeypatch):
    """`--catalogue` puts its files into os.environ for the rest of the process (so that subprocesses see
    them); setting the variable through monkeypatch here makes pytest remove it again after each test."""
    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", "")


@pytest.fixture()
def user_cat(workdirs, tmp_path, monkeypatch):
    """(catalogue file, cache, IR folder): a user catalogue named by OMZ_MOBILENET_CATALOGUE."""
    cat = write_catalogue(tmp_path / "user", [user_entry()])
    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", str(cat))
    cache, out = workdirs
    return cat, cache, out


# --- fetching path: and file:// sources ---


def test_path_source_is_fetched_into_the_cache_and_counts_as_offline(user_cat, cli):
    cat, cache, _out = user_cat
    code, out, err = cli("list", "--available", "--json")
    assert code == 0, err
    [row] = [r for r in json.loads(out)["records"] if r["name"] == MODEL]
    assert row["offline"] == "local" and row["catalogue"] == str(cat.resolve())
    code, out, err = cli("download", MODEL)
    assert code == 0, err
    cached = cache / "models" / MODEL / FLOAT_TFLITE.name
    assert cached.read_bytes() == FLOAT_TFLITE.read_bytes()
    assert (cache / "models" / MODEL / "synset_words.txt").read_bytes() == LABELS.read_bytes()
    assert not [p for p in cached.parent.iterdir() if p.name.endswith(".part")]
    code, out, err = cli("list", "--json")
    [row] = [r for r in json.loads(out)["records"] if r["name"] == MODEL]
    assert row["offline"] == "cached"


@pytest.mark.parametrize("form", ["relative file://", "absolute file://"])
def test_file_url_sources_are_read_from_disk(form, workdirs, tmp_path, monkeypatch, cli):
    folder = tmp_path / "user"
    url = f"file://models/{FLOAT_TFLITE.name}"
    if form == "absolute file://":
        url = (folder / "models" / FLOAT_TFLITE.name).as_uri()
    cat = write_catalogue(folder, [user_entry(source={"sources": [url]})])
    [entry] = [e for e in load_catalogue(cat).models if e.name == MODEL]
    assert entry.model_source.sources == [(folder / "models" / FLOAT_TFLITE.name).resolve().as_uri()]
    code, _out, err = cli("download", MODEL, "--catalogue", cat)
    assert code == 0, err
    assert (workdirs[0] / "models" / MODEL / FLOAT_TFLITE.name).read_bytes() == FLOAT_TFLITE.read_bytes()


def test_folder_path_is_copied_and_checked_by_its_tree_checksum(workdirs, tmp_path, cli):
    from omz_mobilenet.fetch.cache import tree_sha256

    folder = tmp_path / "user"
    saved = folder / "models" / "saved"  # a SavedModel-shaped folder of real files
    (saved / "variables").mkdir(parents=True)
    shutil.copyfile(FLOAT_TFLITE, saved / "saved_model.pb")
    shutil.copyfile(LABELS, saved / "variables" / "variables.index")
    entry = user_entry(source={"path": "models/saved"})
    entry["files"][0].update(name="saved", checksum={"algorithm": "sha256", "value": tree_sha256(saved)})
    entry.update(format="tf_savedmodel", model_file={"file": "saved"})
    cat = write_catalogue(folder, [entry])
    code, _out, err = cli("download", MODEL, "--catalogue", cat)
    assert code == 0, err
    copy = workdirs[0] / "models" / MODEL / "saved"
    assert copy.is_dir() and tree_sha256(copy) == tree_sha256(saved)
    (saved / "variables" / "variables.index").write_text("edited")
    shutil.rmtree(workdirs[0])
    code, _out, err = cli("download", MODEL, "--catalogue", cat)
    [line] = error_lines(err)
    assert code == 2 and MODEL in line and "saved" in line and "--force" in line, err
    assert not (workdirs[0] / "models" / MODEL).exists()


@pytest.mark.parametrize("command", ["download", "convert"])
def test_changed_path_file_is_exit_2_with_nothing_written(command, user_cat, monkeypatch, cli):
    cat, cache, out = user_cat
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", str(ASSETS))  # holds the original under the same name
    model_file = cat.parent / "models" / FLOAT_TFLITE.name
    model_file.write_bytes(model_file.read_bytes() + b"retrained")
    code, stdout, err = cli(command, MODEL)
    [line] = error_lines(err)
    assert code == 2 and not stdout, err
    assert MODEL in line and FLOAT_TFLITE.name in line and "changed since it was catalogued" in line, line
    assert f"omz-mobilenet add {model_file} --name {MODEL} --catalogue {cat.resolve()} --force" in line, line
    assert not (cache / "models" / MODEL).exists()  # no cache entry (the mirror's copy was not used either)
    assert not (out / MODEL).exists()  # no IR


def test_missing_path_file_is_exit_2_naming_it(user_cat, cli):
    cat, cache, _out = user_cat
    (cat.parent / "models" / FLOAT_TFLITE.name).unlink()
    code, _stdout, err = cli("download", MODEL)
    [line] = error_lines(err)
    assert code == 2 and MODEL in line and "does not exist" in line and "--force" in line, line
    assert not (cache / "models" / MODEL).exists()
    code, out, _err = cli("list", "--json")
    [row] = [r for r in json.loads(out)["records"] if r["name"] == MODEL]
    assert row["offline"] is None


# --- loading user catalogues ---


def test_names_are_unique_across_catalogues_with_file_and_line(workdirs, tmp_path, cli):
    first = write_catalogue(tmp_path / "a", [user_entry()])
    second = write_catalogue(tmp_path / "b", [user_entry("another-one"), user_entry()])
    code, _out, err = cli("list", "--catalogue", first, "--catalogue", second)
    [line] = error_lines(err)
    lines = second.read_text().splitlines()
    where = next(i for i, text in enumerate(lines, 1) if text == f"- name: {MODEL}")
    assert code == 2 and line.startswith(f"omz-mobilenet: error: {second.resolve()}:{where}: model '{MODEL}': name:")
    assert f"already defined in {first.resolve()}" in line, line
    builtin = write_catalogue(tmp_path / "c", [user_entry("mobilenet-v2-1.0-224")])
    code, _out, err = cli("list", "--catalogue", builtin)
    [line] = error_lines(err)
    assert code == 2 and "mobilenet-v2-1.0-224" in line and "models.yml" in line, line


def test_env_path_list_and_repeated_flag_add_every_catalogue(workdirs, tmp_path, monkeypatch, cli):
    first = write_catalogue(tmp_path / "a", [user_entry("first-model")])
    second = write_catalogue(tmp_path / "b", [user_entry("second-model")])
    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", os.pathsep.join([str(first), str(second)]))
    code, out, err = cli("list", "--json")
    rows = {r["name"]: r for r in json.loads(out)["records"]}
    assert code == 0 and len(rows) == 29, err
    assert rows["first-model"]["catalogue"] == str(first.resolve())
    assert rows["second-model"]["catalogue"] == str(second.resolve())
    assert rows["mobilenet-v2-1.0-224"]["catalogue"] == "built-in"
    monkeypatch.delenv("OMZ_MOBILENET_CATALOGUE")
    code, out, err = cli("list", "--catalogue", first, "--catalogue", second)
    assert code == 0 and "first-model" in out and "second-model" in out, err
    code, out, err = cli("info", "second-model", "--json", "--catalogue", second)
    [record] = json.loads(out)["records"]
    assert code == 0 and record["catalogue"] == str(second.resolve()) and "catalogue_file" not in record


def test_unreadable_catalogue_is_exit_2_naming_the_file(workdirs, tmp_path, monkeypatch, cli):
    broken = tmp_path / "broken.yml"
    broken.write_bytes(b"models:\n- name: \xff\xfe\n")
    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", str(broken))
    code, _out, err = cli("list")
    [line] = error_lines(err)
    assert code == 2 and str(broken) in line and "cannot read catalogue" in line, err
    missing = tmp_path / "nowhere.yml"
    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", str(missing))
    code, _out, err = cli("list")
    [line] = error_lines(err)
    assert code == 2 and str(missing) in line, err
    monkeypatch.delenv("OMZ_MOBILENET_CATALOGUE")
    code, _out, err = cli("list", "--catalogue", missing)
    [line] = error_lines(err)
    assert code == 2 and str(missing) in line, err


def test_user_catalogue_errors_name_file_line_and_field(workdirs, tmp_path, cli):
    bad = user_entry()
    bad["original_input"]["color"] = "GBR"
    cat = write_catalogue(tmp_path / "u", [user_entry("good-one"), bad])
    lines = cat.read_text().splitlines()
    where = next(i for i, text in enumerate(lines, 1) if text == f"- name: {MODEL}")
    code, _out, err = cli("list", "--catalogue", cat)
    [line] = error_lines(err)
    assert code == 2 and f"{cat.resolve()}:{where}: model '{MODEL}': original_input.color:" in line, line
    data = yaml.safe_load(cat.read_text())
    data["models"] = [user_entry()]
    data["defaults"]["mobilenet-v1"]["output"]["classes"] = 1
    cat.write_text(yaml.safe_dump(data, sort_keys=False))
    where = next(i for i, text in enumerate(cat.read_text().splitlines(), 1) if text.strip() == "output:")
    code, _out, err = cli("list", "--catalogue", cat)
    [line] = error_lines(err)
    assert code == 2 and f"{cat.resolve()}:{where}: defaults.mobilenet-v1.output.classes:" in line, line


def test_user_defaults_and_labels_file_fill_the_entry(user_cat):
    cat = user_cat[0]
    entry = load_catalogue().get(MODEL)
    assert entry.output.classes == 1001 and entry.preprocessing.kind == "central_crop"
    labels = next(f for f in entry.files if f.name == entry.labels_file)
    assert labels.path == str((cat.parent / "labels" / "synset_words.txt").resolve())
    assert entry.model_source.path == str((cat.parent / "models" / FLOAT_TFLITE.name).resolve())
    assert entry.catalogue_file == str(cat.resolve())


# --- an IR of an older version of the entry is never used ---


def _digest_of(out: Path, folder: str = "FP32") -> str:
    return digest_path(ir_xml(out, MODEL, folder)).read_text().strip()


def _ir_target(out: Path, folder: str = "FP32") -> str:
    return os.readlink(out / MODEL / folder)  # the swapped-in folder: a new one per conversion


def test_editing_the_entry_converts_again_before_accuracy_and_bench(user_cat, cli):
    cat, _cache, out = user_cat
    code, _o, err = cli("convert", MODEL, "--precision", "FP32")
    assert code == 0, err
    assert _digest_of(out) == conversion_digest(load_catalogue().get(MODEL))
    first = _ir_target(out)
    accuracy = ("accuracy", MODEL, "--dataset", SMALL_SET, "--limit", "4", "--no-progress")
    code, _o, err = cli(*accuracy)
    assert code == 0 and _ir_target(out) == first and "converting it again" not in err, err  # current: kept

    edit_catalogue(cat, MODEL, lambda e: e["original_input"].update(mean=[127.0, 127.0, 127.0]))
    code, _o, err = cli(*accuracy)
    assert code == 0 and "converted from an older version" in err and "converting it again" in err, err
    assert _ir_target(out) != first and _digest_of(out) == conversion_digest(load_catalogue().get(MODEL))

    second = _ir_target(out)
    edit_catalogue(cat, MODEL, lambda e: e["original_input"].update(color="BGR"))
    bench = ("bench", MODEL, "--time", "0.3", "--rounds", "1", "--warmup", "1", "--no-progress")
    code, _o, err = cli(*bench)
    assert code == 0 and "converting it again" in err, err
    assert _ir_target(out) != second and _digest_of(out) == conversion_digest(load_catalogue().get(MODEL))

    third = _ir_target(out)
    shutil.copyfile(OTHER_TFLITE, cat.parent / "models" / OTHER_TFLITE.name)
    edit_catalogue(
        cat,
        MODEL,
        lambda e: e["files"][0].update(
            path=f"models/{OTHER_TFLITE.name}", checksum={"algorithm": "sha256", "value": sha256(OTHER_TFLITE)}
        ),
    )
    code, _o, err = cli(*bench)
    assert code == 0 and "converting it again" in err, err
    assert _ir_target(out) != third and _digest_of(out) == conversion_digest(load_catalogue().get(MODEL))


def test_ir_without_a_digest_is_stale_and_find_irs_refuses_stale_irs(user_cat, cli):
    cat, _cache, out = user_cat
    assert cli("convert", MODEL, "--precision", "FP32")[0] == 0
    edit_catalogue(cat, MODEL, lambda e: e["original_input"].update(scale=[128.0, 128.0, 128.0]))
    code, _o, err = cli("bench", "--time", "0.3", "--rounds", "1", "--warmup", "1", "--no-progress")
    [line] = error_lines(err)  # bench without MODEL uses the IRs on disk as they are: a stale one is refused
    assert code == 2 and "stale IRs" in line and f"{MODEL} FP32" in line and "omz-mobilenet convert" in line, err

    assert cli("convert", MODEL, "--precision", "FP32")[0] == 0
    digest_path(ir_xml(out, MODEL, "FP32")).unlink()  # as an IR written before digests were recorded
    first = _ir_target(out)
    code, _o, err = cli("accuracy", MODEL, "--dataset", SMALL_SET, "--limit", "4", "--no-progress")
    assert code == 0 and "written before conversion digests" in err and _ir_target(out) != first, err


def test_stale_int8_ir_is_refused_naming_the_convert_command(user_cat, cli):
    cat, _cache, out = user_cat
    code, _o, err = cli(
        "convert", MODEL, "--precision", "INT8", "--calibration", SMALL_SET, "--subset-size", "10", "--no-progress"
    )
    assert code == 0, err
    assert _digest_of(out, "FP32-INT8") == conversion_digest(load_catalogue().get(MODEL))  # NNCF kept it
    bench = ("bench", MODEL, "--precision", "INT8", "--time", "0.3", "--rounds", "1", "--warmup", "1")
    assert cli(*bench, "--no-progress")[0] == 0
    edit_catalogue(cat, MODEL, lambda e: e["original_input"].update(color="BGR"))
    target = _ir_target(out, "FP32-INT8")
    for command in (bench, ("accuracy", MODEL, "--precision", "INT8", "--dataset", SMALL_SET, "--limit", "4")):
        code, _o, err = cli(*command, "--no-progress")
        [line] = error_lines(err)
        assert code == 2 and MODEL in line and "older version" in line, err
        assert f"omz-mobilenet convert {MODEL} --precision FP32-INT8 --calibration DIR" in line, line
    assert _ir_target(out, "FP32-INT8") == target  # refused, not rewritten


# --- the documented example runs as written ---

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reference" / "catalogue.md"


def _blocks(section: str, fence: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n```", 1)[0] for block in text.split(f"```{fence}\n")[1:]]


def test_documented_user_catalogue_runs_as_written(workdirs, tmp_path, monkeypatch, cli):
    [catalogue] = _blocks("User catalogues", "yaml")
    commands = _blocks("User catalogues", "sh")[0].splitlines()
    (tmp_path / "models").mkdir()
    (tmp_path / "labels").mkdir()
    shutil.copyfile(FLOAT_TFLITE, tmp_path / "models" / FLOAT_TFLITE.name)
    shutil.copyfile(LABELS, tmp_path / "labels" / "synset_words.txt")
    (tmp_path / "my-models.yml").write_text(catalogue)
    monkeypatch.chdir(tmp_path)
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "omz-mobilenet", line
        code, out, err = cli(*argv[1:])
        assert code == 0, f"{line}: {err}"
    assert json.loads(out)["records"][0]["catalogue"] == str((tmp_path / "my-models.yml").resolve())
    assert ir_xml(workdirs[1], "my-mobilenet", "FP32").is_file()
