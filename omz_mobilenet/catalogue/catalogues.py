"""Which catalogue files there are and how their models join: the built-in `models.yml` (or the file
OMZ_MOBILENET_MODELS_YML names) plus every user catalogue of OMZ_MOBILENET_CATALOGUE, a path list that
`--catalogue FILE` (commands/common.use_catalogues) puts its files in front of. Each file is loaded on
its own by loader.py (its own `defaults:` and `default_labels_file:`, its own `file:line` errors);
model names must be unique across all of them.

Only light imports here: `omz-mobilenet list` must start fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from omz_mobilenet.catalogue.loader import CATALOGUE_ENV, default_catalogue_path, entry_location, load_file
from omz_mobilenet.catalogue.schema import Catalogue, ModelEntry
from omz_mobilenet.errors import ToolError

BUILT_IN = "built-in"  # how `list` and `info` name the built-in catalogue


def _same_file_key(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return str(path)


def user_catalogue_paths() -> list[Path]:
    """The user catalogues OMZ_MOBILENET_CATALOGUE lists (os.pathsep-separated; `--catalogue` adds to it),
    each once (a file named twice, or the built-in file itself, is read once)."""
    seen = {_same_file_key(default_catalogue_path())}
    paths: list[Path] = []
    for part in os.environ.get(CATALOGUE_ENV, "").split(os.pathsep):
        if not part.strip():
            continue
        path = Path(part.strip()).expanduser()
        if _same_file_key(path) not in seen:
            seen.add(_same_file_key(path))
            paths.append(path)
    return paths


def catalogue_label(entry: ModelEntry) -> str:
    """Where an entry comes from, as `list` and `info` show it: "built-in", or the user catalogue's path."""
    if entry.catalogue_file is None or entry.catalogue_file == _same_file_key(default_catalogue_path()):
        return BUILT_IN
    return entry.catalogue_file


def load_catalogue(path: Optional[Path] = None) -> Catalogue:
    """One catalogue file when `path` is given; else the built-in catalogue plus every user catalogue
    (OMZ_MOBILENET_CATALOGUE / --catalogue), with model names unique across all of them."""
    if path is not None:
        return load_file(Path(path))
    merged = load_file(default_catalogue_path())
    where = {entry.name: entry.catalogue_file for entry in merged.models}
    for user_path in user_catalogue_paths():
        user = load_file(user_path)
        for index, entry in enumerate(user.models):
            if entry.name in where:
                raise ToolError(
                    f"{entry_location(user_path, index)}: model {entry.name!r}: name: already defined in "
                    f"{where[entry.name]}; model names must be unique across catalogues (rename one)",
                    2,
                )
            where[entry.name] = entry.catalogue_file
        merged = Catalogue.model_construct(models=[*merged.models, *user.models])
    return merged
