"""`gate`: a requested model that cannot run is SKIPPED and makes the gate INCOMPLETE (exit 3), never a
pass; `--allow-missing` accepts that (exit 0). The skip's reason is said once, on one line."""

from __future__ import annotations

import json

import pytest

from tests.helpers.catalogue_edit import edited_catalogue
from tests.helpers.paths import ASSETS

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
    code, out, err = cli("gate", OFFLINE, MISSING, "--dataset", IMAGES, "--precision", "FP32", "--limit", "5",
                         "--no-progress", "--json", report, *extra)
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
