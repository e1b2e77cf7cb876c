"""Write a modified copy of models.yml for a test and point OMZ_MOBILENET_MODELS_YML at it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def raw_catalogue() -> dict:
    return yaml.safe_load((REPO / "models.yml").read_text())


def edited_catalogue(tmp_path: Path, monkeypatch, edits: dict[str, Callable[[dict], None]]) -> Path:
    """`edits` maps a model name to a function that changes its entry (a plain dict) in place."""
    data = copy.deepcopy(raw_catalogue())
    for entry in data["models"]:
        if entry["name"] in edits:
            edits[entry["name"]](entry)
    path = tmp_path / "models.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("OMZ_MOBILENET_MODELS_YML", str(path))
    return path
