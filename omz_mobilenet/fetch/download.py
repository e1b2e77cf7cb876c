"""Fetch a model's files into the cache: mirror first, then each source; verified, atomic, locked.

The parts, as Open Model Zoo's download_engine splits them: `http.py` (one file over HTTP with
retries), `cache.py` (layout, checks, locks, `.part` files), `sources.py` (mirror and URL candidates
in order) and `availability.py` (offline: what is cached or in a mirror folder). This module puts
them together for one model and re-exports the names the other stages use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omz_mobilenet.catalogue import ModelEntry, SourceFile
from omz_mobilenet.errors import ToolError, UsageError
from omz_mobilenet.fetch.availability import CACHED, LOCAL, MIRROR, availability, available_offline, mirror_folder
from omz_mobilenet.fetch.cache import (
    Log,
    check_file,
    content_digest,
    file_digest,
    folder_lock,
    model_folder,
    remove_leftovers,
    resolve_model_path,
    tree_sha256,
    unpacked,
)
from omz_mobilenet.fetch.http import SourceFailed
from omz_mobilenet.fetch.sources import fetch_file
from omz_mobilenet.settings import Settings

__all__ = [
    "CACHED",
    "LOCAL",
    "MIRROR",
    "FetchedModel",
    "SourceFailed",
    "availability",
    "available_offline",
    "check_local_sources",
    "fetch_file",
    "fetch_model",
    "file_digest",
    "mirror_folder",
    "model_folder",
    "remove_leftovers",
    "resolve_model_path",
    "tree_sha256",
]


@dataclass(frozen=True)
class FetchedModel:
    entry: ModelEntry
    folder: Path
    model_path: Path
    source_sha256: str


def _local_problem(src: SourceFile) -> str | None:
    """Why a `path:` source cannot be used as the catalogue describes it, or None."""
    assert src.path is not None
    path = Path(src.path)
    if not path.exists():
        return f"{path} does not exist"
    try:
        reason = check_file(path, src)
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"
    return None if reason is None else f"{path} changed since it was catalogued ({reason})"


def check_local_sources(entry: ModelEntry) -> None:
    """Every `path:` source of the entry is on disk with its catalogued size and checksum; else exit 2
    naming the model, the file and how to record the new file. Checked before anything is written:
    a changed file never reaches the cache or an IR."""
    for src in entry.files:
        if src.path is None:
            continue
        problem = _local_problem(src)
        if problem is not None:
            raise UsageError(
                f"{entry.name}: {src.name}: {problem}; restore it, or record the new file with {_add(entry, src)}"
            )


def _add(entry: ModelEntry, src: SourceFile) -> str:
    """The `add` command that re-records the entry after its file `src` changed."""
    model = entry.model_source.path or "MODEL_FILE"
    labels = f" --labels {src.path}" if src is not entry.model_source else ""
    return f"`omz-mobilenet add {model} --name {entry.name}{labels} --catalogue {entry.catalogue_file} --force`"


def fetch_model(entry: ModelEntry, settings: Settings, log: Log = lambda _msg: None) -> FetchedModel:
    """Every file of the model in its cache folder (archives unpacked), checked; one process at a time."""
    folder = model_folder(settings, entry)
    resolve_model_path(folder, entry)  # refuses a member outside the archive before fetching anything
    check_local_sources(entry)
    with folder_lock(folder):
        remove_leftovers(folder)  # we hold the lock: any .part or staging folder is from a killed run
        for src in entry.files:
            try:
                path = fetch_file(src, folder, settings, log)
            except ToolError as exc:
                raise ToolError(f"{entry.name}: {exc.message}", exc.exit_code) from None
            if src.unpack:
                unpacked(path)
        model_path = resolve_model_path(folder, entry)
        if not model_path.exists():
            raise ToolError(
                f"{entry.name}: {entry.model_file.member} is not inside {entry.model_file.file}; "
                "the archive does not have the expected layout"
            )
        sha = content_digest(folder / entry.model_file.file, "sha256")
    return FetchedModel(entry=entry, folder=folder, model_path=model_path, source_sha256=sha)
