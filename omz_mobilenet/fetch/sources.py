"""Where a file can come from, in order: the mirror (a folder or an http(s) base URL), then the
catalogue's own URLs (http(s) or file://); a `path:` source comes from its path only. Each candidate is fetched into a `.part` file, checked, and only then renamed
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
from omz_mobilenet.fetch.cache import Log, cached_ok, check_file, content_digest, part_file, recorded_sha256
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


def local_path(url: str) -> Path:
    """The file a `file://` source names (the loader has made relative ones absolute)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise ToolError(f"source {url!r}: a file:// URL with a host is not supported; use file:///path", 2)
    return Path(urllib.parse.unquote(parsed.path))


def candidates(src: SourceFile, mirror: Optional[str]) -> list[Candidate]:
    """A `path:` source is its own only candidate: a mirror never overrides a user's own file. Else
    mirror locations first (by local name and by the URLs' file names), then the catalogue's
    sources in order (http(s), or file:// read from disk)."""
    if src.path is not None:
        return [("file", src.path)]
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
        if url.startswith("file://"):
            found.append(("file", str(local_path(url))))
        elif url.startswith(("http://", "https://")):
            found.append(("http", url))
        else:  # defence in depth; the schema already refuses it
            raise ToolError(f"{src.name}: source {url!r} is not an http(s) or file:// URL", 2)
    return found


def _copy_tree(location: Path, folder: Path, name: str) -> Path:
    """A copy of a folder (a SavedModel) as a hidden `.<name>.<random>.part` folder beside the target."""
    tmp = part_file(folder, name)
    tmp.unlink()
    try:
        shutil.copytree(location, tmp)
    except (OSError, shutil.Error) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SourceFailed(f"cannot read it ({exc})") from None
    return tmp


def _copy_file(location: Path, folder: Path, name: str) -> Path:
    tmp = part_file(folder, name)
    try:
        shutil.copyfile(location, tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SourceFailed(f"cannot read it ({exc.strerror})") from None
    return tmp


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fetch_candidate(candidate: Candidate, src: SourceFile, folder: Path, settings: Settings) -> Path:
    """The candidate's content as `<folder>/<name>`: written to a `.part` first, checked, then renamed."""
    kind, location = candidate
    if kind == "http":
        tmp = part_file(folder, src.name)
        try:
            http_get(Transfer(location, tmp, src.name, src.size), settings)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    elif Path(location).is_dir():
        tmp = _copy_tree(Path(location), folder, src.name)
    else:
        tmp = _copy_file(Path(location), folder, src.name)
    try:
        reason = check_file(tmp, src)
        if reason is not None:
            raise SourceFailed(f"checksum mismatch: {reason}")
        final = folder / src.name
        if src.checksum is None:  # the record lands first: a file is never there without it
            record = part_file(folder, src.name + ".sha256")
            record.write_text(content_digest(tmp, "sha256") + "\n")
            os.replace(record, recorded_sha256(final))
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)  # a folder cannot be renamed over a non-empty one; we hold the lock
        os.replace(tmp, final)
        return final
    finally:
        _remove(tmp)


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
