"""The files of an entry `add` writes: the model file (or SavedModel folder) and its labels file, each a
`path:` source relative to the catalogue file with its sha256 (a folder: fetch/cache.py's tree_sha256).

Without `--labels`: a 1000-class output (1001 with `--background`) gets ImageNet's labels file, the one
the built-in catalogue uses (its URL and checksum); any other class count is refused: a made-up
`class_0..N-1` file would let accuracy, the gate and ImageFolder sets run on names that mean nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omz_mobilenet.catalogue.loader import default_catalogue_path
from omz_mobilenet.convert.add_request import AddRequest
from omz_mobilenet.errors import UsageError
from omz_mobilenet.fetch.cache import file_digest, tree_sha256

IMAGENET_CLASSES = 1000


def _source(path: Path, catalogue: Path) -> dict[str, Any]:
    """A `files` item for a file or folder on disk: plain name, path relative to the catalogue, checksum."""
    path = path.expanduser().resolve()
    relative = os.path.relpath(path, catalogue.expanduser().resolve().parent)
    item: dict[str, Any] = {"name": path.name, "path": relative}
    if path.is_dir():
        item["checksum"] = {"algorithm": "sha256", "value": tree_sha256(path)}
    else:
        item["size"] = path.stat().st_size
        item["checksum"] = {"algorithm": "sha256", "value": file_digest(path, "sha256")}
    return item


def entry_files(request: AddRequest, output: dict[str, Any], notes: list[str]) -> tuple[list[dict[str, Any]], str]:
    """The entry's `files` (model first, then labels) and its `labels_file`; a labels file whose count
    is not the output's (less the background) is refused naming both."""
    model = _source(request.file, request.catalogue)
    expected = output["classes"] - (1 if request.background else 0)
    if request.labels is None:
        labels = _imagenet_labels(expected, output, request)
        notes.append(f"no --labels: {output['classes']} outputs, so ImageNet's {labels['name']} names the classes")
        return [model, labels], labels["name"]
    from omz_mobilenet.inputs.labels import read_labels_file

    space = read_labels_file(request.labels, bool(request.background))
    if len(space.names) != expected:
        background = f" ({output['classes']} less the background)" if request.background else ""
        hint = (
            "" if request.background or len(space.names) != expected - 1 else "; pass --background if output 0 is one"
        )
        raise UsageError(
            f"--labels {request.labels} names {len(space.names)} classes but output {output['name']!r} of "
            f"{request.file} has {expected}{background}{hint}"
        )
    labels = _source(request.labels, request.catalogue)
    if labels["name"] == model["name"]:
        raise UsageError(f"--labels {request.labels} has the model file's name; rename one of them")
    return [model, labels], labels["name"]


def _imagenet_labels(expected: int, output: dict[str, Any], request: AddRequest) -> dict[str, Any]:
    import yaml

    if expected == IMAGENET_CLASSES + 1:
        raise UsageError(
            f"output {output['name']!r} of {request.file} has {output['classes']} classes; pass --background if output 0"
            " is a background class (ImageNet's labels then name the rest), or --labels FILE"
        )
    if expected != IMAGENET_CLASSES:
        raise UsageError(
            f"output {output['name']!r} of {request.file} has {output['classes']} classes; pass --labels FILE with "
            f"{expected} class names, one a line in output order"
        )
    raw = yaml.safe_load(default_catalogue_path().read_text(encoding="utf-8"))
    labels = raw.get("default_labels_file") if isinstance(raw, dict) else None
    if not isinstance(labels, dict):
        raise UsageError(f"the built-in catalogue has no ImageNet labels file; pass --labels FILE for {request.file}")
    return dict(labels)
