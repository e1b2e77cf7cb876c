"""Offline availability (no network, ever): what `--available` and `list` use.

A model is "cached" when every file is in the cache, "mirror" when each one is in the cache or in a
mirror *folder* (by file name, size and checksum), "local" when each one is in the cache, a mirror folder
or on disk where the catalogue says (a `path:` or `file://` source, checked the same way), else
unavailable. An http(s) mirror is never
contacted here, so only the cache counts then.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

from omz_mobilenet.catalogue import ModelEntry, SourceFile
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.cache import check_file, model_folder
from omz_mobilenet.fetch.sources import file_names, local_path, mirror_dir_index
from omz_mobilenet.settings import Settings, mirror_location

CACHED, MIRROR, LOCAL = "cached", "mirror", "local"


@functools.lru_cache(maxsize=8)
def _mirror_index_cached(root: str, mtime_ns: int) -> dict[str, Path]:
    """The mirror folder's file index, computed once per folder state (27 models share one walk)."""
    return mirror_dir_index(Path(root))


def mirror_folder(settings: Settings) -> Optional[Path]:
    """The mirror as a local folder, or None when there is none or it is http(s) (never contacted here)."""
    if not settings.mirror:
        return None
    kind, where = mirror_location(settings.mirror)
    return Path(where).expanduser() if kind == "dir" else None


def _good_file(path: Path, src: SourceFile) -> bool:
    """Size and checksum match, checked without side effects (a bad cached file is left for fetch_file)."""
    try:
        return (path.is_file() or (src.path is not None and path.is_dir())) and check_file(path, src) is None
    except (OSError, ToolError):
        return False


def _on_disk(src: SourceFile) -> bool:
    """The file is where its `path:` or a `file://` source says, and good."""
    if src.path is not None:
        return _good_file(Path(src.path), src)
    try:
        local = [local_path(url) for url in src.sources if url.startswith("file://")]
    except ToolError:
        return False
    return (src.checksum is not None or src.size is not None) and any(_good_file(path, src) for path in local)


def _file_availability(src: SourceFile, folder: Path, mirror_root: Optional[Path]) -> Optional[str]:
    if _good_file(folder / src.name, src):
        return CACHED
    if (src.path is not None or any(url.startswith("file://") for url in src.sources)) and _on_disk(src):
        return LOCAL
    if src.path is not None:
        return None  # a mirror never stands in for a user's own file
    if mirror_root is None or not mirror_root.is_dir():
        return None
    index = _mirror_index_cached(str(mirror_root), mirror_root.stat().st_mtime_ns)
    if src.checksum is None and src.size is None:
        return None  # nothing to recognise the file by: only a real download (which records a sha256) can tell
    return MIRROR if any(name in index and _good_file(index[name], src) for name in file_names(src)) else None


def availability(entry: ModelEntry, settings: Settings) -> Optional[str]:
    """CACHED, MIRROR, LOCAL or None (see the module doc). Never opens a connection."""
    folder = model_folder(settings, entry)
    mirror_root = mirror_folder(settings)
    found = [_file_availability(src, folder, mirror_root) for src in entry.files]
    if any(where is None for where in found):
        return None
    if all(where == CACHED for where in found):
        return CACHED
    return LOCAL if LOCAL in found else MIRROR


def available_offline(entry: ModelEntry, settings: Settings) -> bool:
    return availability(entry, settings) is not None
