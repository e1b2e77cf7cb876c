"""`gate`: a requested model that cannot run is SKIPPED and makes the gate INCOMPLETE (exit 3), never a
pass; `--allow-missing` accepts that (exit 0). The skip's reason is said once, on one line."""

from __future__ import annotations

import json

import pytest

from tests.helpers.catalogue_edit import edited_catalogue
from tests.helpers.paths import ASSETS

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

IMAGES = ASSETS / "imagenet" / "val_original_20"
OFFLINE = "mobilenet-v1-0.25-224-tflite"  # in the offline mirror; has a published reference
MISSING = "mobilenet-v1-1.0-224"  # float frozen graph: not in the mirror


@pytest.fixture
def unreachable(mirror, http_mirror, tmp_path, monkeypatch):
    """MISSING's only source is a local URL that answers 404: its download fails fast and never
    depends on whether this machine has a network."""
    base, _handler = http_mirror

    def local_404(entry: dict) -> None:
        entry["files"][0]["sources"] = [f"{base}/nowhere/{entry['files'][0]['name']}"]

    edited_catalogue(tmp_path, monkeypatch, {MISSING: local_404})
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "0")
    return tmp_path


def _gate(cli, folder, *extra: str):
    report = folder / "gate.json"
    report.unlink(missing_ok=True)
    code, out, err = cli(
        "gate",
        OFFLINE,
        MISSING,
        "--dataset",
        IMAGES,
        "--precision",
        "FP32",
        "--limit",
        "5",
        "--no-progress",
        "--json",
        report,
        *extra,
    )
    return code, out, err, json.loads(report.read_text())


def test_a_requested_model_that_cannot_run_makes_the_gate_incomplete(unreachable, cli):
    code, out, err, data = _gate(cli, unreachable)
    assert code == 3, out + err
    statuses = {r["model"]: r["status"] for r in data["records"]}
    assert statuses == {OFFLINE: "PASSED", MISSING: "SKIPPED"}
    assert data["exit_code"] == 3 and data["command"] == "gate"
    assert "gate INCOMPLETE" in out and "1 passed, 1 skipped" in out
    reasons = [line for line in err.splitlines() if MISSING in line]
    assert len(reasons) == 1 and "SKIPPED" in reasons[0] and "HTTP 404" in reasons[0], err

    code, out, err, data = _gate(cli, unreachable, "--allow-missing")
    assert code == 0, out + err
    assert "gate PASSED" in out and data["allow_missing"] is True


def test_available_picks_only_offline_models_so_nothing_is_skipped(unreachable, cli):
    from omz_mobilenet.cli import build_parser
    from omz_mobilenet.commands.common import selected_models

    args = build_parser().parse_args(["gate", "--available", "--dataset", str(IMAGES)])
    names = [entry.name for entry in selected_models(args)]
    assert OFFLINE in names and MISSING not in names and len(names) == 8


def test_available_with_model_names_is_bad_input(unreachable, cli):
    code, _out, err = cli("gate", OFFLINE, "--available", "--dataset", IMAGES)
    assert code == 2 and "--available picks the models itself" in err


# ---- one rule for evidence: zero or too few evaluated images is INCOMPLETE (exit 3), never a pass ----

SOURCE = ASSETS / "imagenet" / "val_original_20"


def _image_set(folder, good: int, bad: int):
    """A val.txt-labelled folder: `good` real ImageNet JPEGs and `bad` files named like JPEGs that are not images."""
    rows = [line.split("\t") for line in (SOURCE / "FILES.tsv").read_text().splitlines()[1:]]
    folder.mkdir()
    lines = []
    for index, row in enumerate(rows[: good + bad]):
        name, label = row[0], row[3]
        if index < good:
            (folder / name).write_bytes((SOURCE / name).read_bytes())
        else:
            (folder / name).write_text("not an image\n")
        lines.append(f"{name} {label}")
    (folder / "val.txt").write_text("\n".join(lines) + "\n")
    return folder


def _run(cli, tmp_path, command: str, folder, *extra: str):
    report = tmp_path / f"{command}.json"
    report.unlink(missing_ok=True)
    code, out, err = cli(
        command,
        OFFLINE,
        "--dataset",
        folder,
        "--precision",
        "FP32",
        "--skip-bad-images",
        "--no-progress",
        "--json",
        report,
        *extra,
    )
    return code, out, err, json.loads(report.read_text()) if report.is_file() else None


def test_gate_on_a_folder_of_unreadable_images_is_incomplete_not_passed(mirror, cli, tmp_path):
    folder = _image_set(tmp_path / "all_bad", good=0, bad=5)
    code, out, err, data = _run(cli, tmp_path, "gate", folder)
    assert code == 3, out + err
    assert "gate PASSED" not in out and "gate INCOMPLETE" in out, out
    [record] = data["records"]
    assert record["status"] == "INCOMPLETE" and record["images"] == 0 and record["skipped"] == 5
    assert "only 0 of 5 images evaluated" in record["reason"]
    assert data["exit_code"] == 3
    code, out, _err, _data = _run(cli, tmp_path, "gate", folder, "--allow-missing")
    assert code == 3 and "gate INCOMPLETE" in out, "--allow-missing accepts missing rows, not missing evidence"


def test_accuracy_on_a_folder_of_unreadable_images_exits_3(mirror, cli, tmp_path):
    folder = _image_set(tmp_path / "all_bad", good=0, bad=4)
    csv = tmp_path / "accuracy.csv"
    code, out, err, data = _run(cli, tmp_path, "accuracy", folder, "--csv", csv)
    assert code == 3, out + err
    [record] = data["records"]
    assert record["status"] == "incomplete" and record["images"] == 0 and record["skipped"] == 4
    assert data["exit_code"] == 3
    assert "incomplete" in out and "INCOMPLETE" in out  # the table row and the reason line
    header, row = csv.read_text().splitlines()[:2]
    assert "status" in header.split(",") and "skipped" in header.split(",") and "incomplete" in row


def test_gate_where_fewer_than_half_could_be_read_is_incomplete(mirror, cli, tmp_path):
    folder = _image_set(tmp_path / "mostly_bad", good=2, bad=3)
    code, out, err, data = _run(cli, tmp_path, "gate", folder)
    assert code == 3, out + err
    [record] = data["records"]
    assert record["status"] == "INCOMPLETE" and record["images"] == 2 and record["skipped"] == 3
    assert "at least 3 needed (--min-images 50%)" in record["reason"]
    # A lower minimum, stated on the command line, lets the same evidence be judged.
    code, out, err, data = _run(cli, tmp_path, "gate", folder, "--min-images", "2")
    assert data["records"][0]["status"] != "INCOMPLETE" and code in (0, 1), out + err


def test_min_images_is_checked_before_any_work(workdirs, capsys):
    from omz_mobilenet.cli import main

    with pytest.raises(SystemExit) as stop:  # argparse's own exit, through the shared flag validator
        main(["gate", OFFLINE, "--dataset", str(SOURCE), "--min-images", "0%"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--min-images" in err and len(err.strip().splitlines()) == 1, err
    assert not workdirs[1].exists(), "nothing converted before the flag was checked"


def test_the_gate_table_shows_why_a_row_is_not_a_pass_at_100_columns(mirror, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    folder = _image_set(tmp_path / "all_bad", good=0, bad=3)
    code, out, _err, _data = _run(cli, tmp_path, "gate", folder)
    assert code == 3
    table = [line for line in out.splitlines() if OFFLINE in line]
    assert table and all(len(line) <= 100 for line in out.splitlines()), out
    assert "reason" in out and "INCOMPLETE" in table[0] and "only 0 of 3" in table[0], out
