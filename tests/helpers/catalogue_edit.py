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


def imitate_faulty_conversion(out_dir: Path, model: str) -> list[Path]:
    """Stamp the IRs of `model` (converted from an edited entry) as converted from the catalogue's entry
    as it is now: what a conversion bug would leave behind. The IR store would otherwise see the edit
    and convert again (or refuse), so a test could never show that verify or the gate catches the bug."""
    from omz_mobilenet.catalogue import conversion_digest, load_catalogue
    from omz_mobilenet.convert.ir_store import digest_path

    digest = conversion_digest(load_catalogue().get(model))
    stamped = []
    for xml in sorted((out_dir / model).glob(f"*/{model}.xml")):
        digest_path(xml).write_text(digest + "\n")
        stamped.append(xml)
    assert stamped, f"no IR of {model} under {out_dir}"
    return stamped
