"""Offline availability (no network, ever): what `--available` and `list` use.

A model is "cached" when every file is in the cache, "mirror" when each one is in the cache or in a
mirror *folder* (by file name, size and checksum), else unavailable. An http(s) mirror is never
contacted here, so only the cache counts then.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

from omz_mobilenet.catalogue import ModelEntry, SourceFile
from omz_mobilenet.fetch.cache import check_file, model_folder
from omz_mobilenet.fetch.sources import file_names, mirror_dir_index
from omz_mobilenet.settings import Settings, mirror_location

CACHED, MIRROR = "cached", "mirror"


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
        return path.is_file() and check_file(path, src) is None
    except OSError:
        return False


def _file_availability(src: SourceFile, folder: Path, mirror_root: Optional[Path]) -> Optional[str]:
    if _good_file(folder / src.name, src):
        return CACHED
    if mirror_root is None or not mirror_root.is_dir():
        return None
    index = _mirror_index_cached(str(mirror_root), mirror_root.stat().st_mtime_ns)
    if src.checksum is None and src.size is None:
        return None  # nothing to recognise the file by: only a real download (which records a sha256) can tell
    return MIRROR if any(name in index and _good_file(index[name], src) for name in file_names(src)) else None


def availability(entry: ModelEntry, settings: Settings) -> Optional[str]:
    """CACHED, MIRROR or None (see the module doc). Never opens a connection."""
    folder = model_folder(settings, entry)
    mirror_root = mirror_folder(settings)
    found = [_file_availability(src, folder, mirror_root) for src in entry.files]
    if any(where is None for where in found):
        return None
    return CACHED if all(where == CACHED for where in found) else MIRROR


def available_offline(entry: ModelEntry, settings: Settings) -> bool:
    return availability(entry, settings) is not None
