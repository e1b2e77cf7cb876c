"""Fetch a model's files into the cache: mirror first, then each source; verified, atomic, locked.

Cache layout: `<cache>/models/<model>/<file>` plus `<file>.d/` for unpacked archives. A file only
ever appears there under its final name after its checksum matched, so the cache is never poisoned.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from omz_mobilenet.archive import extract_tgz
from omz_mobilenet.catalogue import ModelEntry, SourceFile
from omz_mobilenet.errors import ToolError
from omz_mobilenet.settings import Settings

Log = Callable[[str], None]


@dataclass(frozen=True)
class FetchedModel:
    entry: ModelEntry
    folder: Path
    model_path: Path
    source_sha256: str


class SourceFailed(Exception):
    """One candidate (mirror or URL) did not deliver a good file; the next one is tried."""


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_folder(settings: Settings, entry: ModelEntry) -> Path:
    return settings.cache_dir / "models" / entry.name


def resolve_model_path(folder: Path, entry: ModelEntry) -> Path:
    base = folder / entry.model_file.file
    if entry.model_file.member:
        return base.with_name(base.name + ".d") / entry.model_file.member
    return base


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Two processes fetching the same model take turns instead of racing on the same files."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _verify(path: Path, src: SourceFile) -> Optional[str]:
    """Return a reason the file is bad, or None when it is good."""
    if src.size is not None and path.stat().st_size != src.size:
        return f"size {path.stat().st_size} B, expected {src.size} B"
    if src.checksum is not None:
        got = file_digest(path, src.checksum.algorithm)
        if got != src.checksum.value:
            return f"{src.checksum.algorithm} {got[:16]}..., expected {src.checksum.value[:16]}..."
    return None


def _recorded_sha256(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _cached_ok(path: Path, src: SourceFile, log: Log) -> bool:
    if not path.is_file():
        return False
    reason = _verify(path, src)
    if reason is None and src.checksum is None:
        record = _recorded_sha256(path)
        if record.is_file() and record.read_text().strip() != file_digest(path, "sha256"):
            reason = "sha256 differs from the one recorded at download"
    if reason is None:
        return True
    log(f"[yellow]cached {path.name} is bad ({reason}); removing it and fetching again[/]")
    path.unlink()
    return False


def _mirror_dir_index(root: Path) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            index.setdefault(name, Path(dirpath) / name)
    return index


def _candidates(src: SourceFile, mirror: Optional[str]) -> list[str]:
    """Mirror locations first (by local name and by the URLs' file names), then the sources."""
    names = [src.name] + [url.rsplit("/", 1)[-1] for url in src.sources]
    names = list(dict.fromkeys(names))
    found: list[str] = []
    if mirror and mirror.startswith(("http://", "https://")):
        found += [f"{mirror.rstrip('/')}/{name}" for name in names]
    elif mirror:
        root = Path(mirror).expanduser()
        if not root.is_dir():
            raise ToolError(f"mirror folder {root} does not exist; pass an existing folder or an http(s) base URL", 2)
        index = _mirror_dir_index(root)
        found += [str(index[name]) for name in names if name in index]
    return found + list(src.sources)


def _http_get(url: str, dest: Path, settings: Settings, label: str) -> None:
    import pooch
    import requests

    from omz_mobilenet.progress import ByteProgress

    delay = 0.5
    for attempt in range(settings.retries + 1):
        with ByteProgress(label, enabled=settings.progress) as bar:
            try:
                pooch.HTTPDownloader(progressbar=bar, timeout=settings.timeout)(url, str(dest), None)
                return
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status < 500 or attempt == settings.retries:
                    raise SourceFailed(f"HTTP {status}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == settings.retries:
                    raise SourceFailed(f"{type(exc).__name__} (no network or server down?)") from None
            except requests.RequestException as exc:
                raise SourceFailed(f"{type(exc).__name__}: {exc}") from None
        time.sleep(delay)
        delay *= 2


def _fetch_candidate(candidate: str, src: SourceFile, folder: Path, settings: Settings) -> Path:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{src.name}.", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if candidate.startswith(("http://", "https://")):
            _http_get(candidate, tmp, settings, src.name)
        else:
            shutil.copyfile(candidate, tmp)
        reason = _verify(tmp, src)
        if reason is not None:
            raise SourceFailed(f"checksum mismatch: {reason}")
        final = folder / src.name
        os.replace(tmp, final)
        return final
    finally:
        tmp.unlink(missing_ok=True)


def fetch_file(src: SourceFile, folder: Path, settings: Settings, log: Log) -> Path:
    target = folder / src.name
    if _cached_ok(target, src, log):
        return target
    failures: list[str] = []
    for candidate in _candidates(src, settings.mirror):
        try:
            path = _fetch_candidate(candidate, src, folder, settings)
        except SourceFailed as exc:
            failures.append(f"{candidate}: {exc}")
            continue
        if src.checksum is None:
            sha = file_digest(path, "sha256")
            _recorded_sha256(path).write_text(sha + "\n")
            log(f"[yellow]warning: no published checksum for {src.name}; recorded sha256 {sha}[/]")
        log(f"got {src.name} from {candidate}")
        return path
    where = "; ".join(failures) or "no candidates"
    mirror_hint = "" if settings.mirror else " Set --mirror or OMZ_MOBILENET_MIRROR to a folder or URL holding it."
    raise ToolError(f"cannot download {src.name}: {where}.{mirror_hint}")


def _unpacked(archive: Path) -> Path:
    target = archive.with_name(archive.name + ".d")
    marker = target / ".omz-unpacked"
    if marker.is_file() and marker.read_text().strip() == file_digest(archive, "sha256"):
        return target
    extract_tgz(archive, target)
    marker.write_text(file_digest(archive, "sha256") + "\n")
    return target


def fetch_model(entry: ModelEntry, settings: Settings, log: Log = lambda _msg: None) -> FetchedModel:
    folder = model_folder(settings, entry)
    with folder_lock(folder):
        for src in entry.files:
            try:
                path = fetch_file(src, folder, settings, log)
            except ToolError as exc:
                raise ToolError(f"{entry.name}: {exc.message}", exc.exit_code) from None
            if src.unpack:
                _unpacked(path)
        model_path = resolve_model_path(folder, entry)
        if not model_path.exists():
            raise ToolError(
                f"{entry.name}: {entry.model_file.member} is not inside {entry.model_file.file}; "
                "the archive does not have the expected layout"
            )
        sha = file_digest(folder / entry.model_file.file, "sha256")
    return FetchedModel(entry=entry, folder=folder, model_path=model_path, source_sha256=sha)
