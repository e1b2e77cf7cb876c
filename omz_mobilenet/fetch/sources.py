"""Where a file can come from, in order: the mirror (a folder or an http(s) base URL), then the
catalogue's own URLs; each candidate is fetched into a `.part` file, checked, and only then renamed
into the cache (fetch/cache.py). A candidate that fails is logged and the next one is tried.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path
from typing import Optional

from omz_mobilenet.catalogue import SourceFile
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.cache import Log, cached_ok, check_file, file_digest, part_file, recorded_sha256
from omz_mobilenet.fetch.http import SourceFailed, Transfer, http_get
from omz_mobilenet.settings import Settings, mirror_location

Candidate = tuple[str, str]  # ("http", url) or ("file", path)


def mirror_dir_index(root: Path) -> dict[str, Path]:
    """File name -> first path with that name under a mirror folder (searched recursively)."""
    index: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            index.setdefault(name, Path(dirpath) / name)
    return index


def file_names(src: SourceFile) -> list[str]:
    """The names a mirror may hold the file under: its own, then the file names of its URLs."""
    return list(dict.fromkeys([src.name] + [url.rsplit("/", 1)[-1] for url in src.sources]))


def candidates(src: SourceFile, mirror: Optional[str]) -> list[Candidate]:
    """Mirror locations first (by local name and by the URLs' file names), then the catalogue's
    sources (always http(s): the schema refuses anything else)."""
    names = file_names(src)
    found: list[Candidate] = []
    if mirror:
        kind, where = mirror_location(mirror)
        if kind == "http":
            found += [("http", f"{where.rstrip('/')}/{urllib.parse.quote(name)}") for name in names]
        else:
            root = Path(where).expanduser()
            if not root.is_dir():
                raise ToolError(
                    f"mirror folder {root} does not exist; pass an existing folder or an http(s) base URL", 2
                )
            index = mirror_dir_index(root)
            found += [("file", str(index[name])) for name in names if name in index]
    for url in src.sources:
        if not url.startswith(("http://", "https://")):  # defence in depth; the schema already refuses it
            raise ToolError(f"{src.name}: source {url!r} is not an http(s) URL", 2)
        found.append(("http", url))
    return found


def _fetch_candidate(candidate: Candidate, src: SourceFile, folder: Path, settings: Settings) -> Path:
    kind, location = candidate
    tmp = part_file(folder, src.name)
    try:
        if kind == "http":
            http_get(Transfer(location, tmp, src.name, src.size), settings)
        else:
            try:
                shutil.copyfile(location, tmp)
            except OSError as exc:
                raise SourceFailed(f"cannot read it ({exc.strerror})") from None
        reason = check_file(tmp, src)
        if reason is not None:
            raise SourceFailed(f"checksum mismatch: {reason}")
        final = folder / src.name
        if src.checksum is None:  # the record lands first: a file is never there without it
            record = part_file(folder, src.name + ".sha256")
            record.write_text(file_digest(tmp, "sha256") + "\n")
            os.replace(record, recorded_sha256(final))
        os.replace(tmp, final)
        return final
    finally:
        tmp.unlink(missing_ok=True)


def fetch_file(src: SourceFile, folder: Path, settings: Settings, log: Log) -> Path:
    """The file in the cache folder: the cached copy when it is good, else the first candidate that delivers."""
    target = folder / src.name
    if cached_ok(target, src, log):
        return target
    failures: list[str] = []
    for candidate in candidates(src, settings.mirror):
        try:
            path = _fetch_candidate(candidate, src, folder, settings)
        except SourceFailed as exc:
            failures.append(f"{candidate[1]}: {exc}")
            log(f"[yellow]{src.name}: {candidate[1]} failed ({exc}); trying the next source[/]")
            continue
        if src.checksum is None:
            sha = recorded_sha256(path).read_text().strip()
            log(f"[yellow]warning: no published checksum for {src.name}; recorded sha256 {sha}[/]")
        log(f"got {src.name} from {candidate[1]}")
        return path
    where = "; ".join(failures) or "no candidates"
    mirror_hint = "" if settings.mirror else " Set --mirror or OMZ_MOBILENET_MIRROR to a folder or URL holding it."
    raise ToolError(f"cannot download {src.name}: {where}.{mirror_hint}")
