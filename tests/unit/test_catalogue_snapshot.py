"""`list --json` and `info --json` for every model are what they were before models.yml was shrunk
(family defaults, derived fields): tests/unit/snapshots/catalogue.json was taken from the long file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omz_mobilenet.cli import main

SNAPSHOT = json.loads((Path(__file__).parent / "snapshots" / "catalogue.json").read_text())

# `list --json` keys as the snapshot spells them. When the list's keys are renamed, map each new key to
# its old spelling here (e.g. "source_precision": "source precision") and the comparison still holds.
LIST_KEYS: dict[str, str] = {
    "source_precision": "source precision",
    "gflops": "GFlops",
    "mparams": "MParams",
    "top1": "Top-1",
    "top5": "Top-5",
}
# Machine-dependent status added to each `list` record (not catalogue content): left out of the comparison.
STATUS_KEYS = {"offline", "converted", "irs"}


def as_snapshot_row(row: dict) -> dict:
    return {LIST_KEYS.get(key, key): value for key, value in row.items() if key not in STATUS_KEYS}


def _json(capsys, *args: str):
    code = main(list(args))
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


@pytest.fixture(autouse=True)
def _packaged_catalogue(monkeypatch):
    monkeypatch.delenv("OMZ_MOBILENET_MODELS_YML", raising=False)


def test_list_json_matches_the_snapshot(capsys):
    rows = _json(capsys, "list", "--json")["records"]
    assert [as_snapshot_row(row) for row in rows] == SNAPSHOT["list"]


def test_every_model_of_the_snapshot_is_still_listed(capsys):
    names = [row["name"] for row in _json(capsys, "list", "--json")["records"]]
    assert sorted(names) == sorted(SNAPSHOT["info"]) and len(names) == 27


@pytest.mark.parametrize("name", sorted(SNAPSHOT["info"]))
def test_info_json_matches_the_snapshot(name, capsys):
    assert _json(capsys, "info", name, "--json")["records"] == [SNAPSHOT["info"][name]]
