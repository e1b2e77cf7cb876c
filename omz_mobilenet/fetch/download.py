"""Fetch a model's files into the cache: mirror first, then each source; verified, atomic, locked.

Cache layout: `<cache>/models/<model>/<file>` plus `<file>.d/` for unpacked archives. A file only
ever appears there under its final name after its size and checksum matched, so the cache is never
poisoned; it is written as a hidden `.<file>.<random>.part` first, which is removed on any failure
and, after a SIGKILL, by the next run that takes the folder lock.

HTTP faults, per source (see `_http_get`): a 5xx/408/429, a dropped connection, a body shorter than
its Content-Length or no byte for `timeout` seconds is retried `retries` times with exponential
backoff (honouring a short Retry-After), resuming with a Range request when the server supports it;
any other 4xx, a redirect loop or a redirect to a non-http(s) scheme, and a size or checksum that
does not match the catalogue fail the source at once, and the next source is tried.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from omz_mobilenet.catalogue import ModelEntry, SourceFile
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.archive import extract_tgz
from omz_mobilenet.settings import MAX_BACKOFF_S, MIRROR_SCHEMES, Settings, mirror_location  # noqa: F401 (re-exported)

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
    """The model file in the cache; an archive member may not point outside its unpacked folder."""
    base = folder / entry.model_file.file
    member = entry.model_file.member
    if member:
        unpacked = base.with_name(base.name + ".d")
        if os.path.isabs(member) or ".." in Path(member).parts or "\\" in member:
            raise ToolError(f"{entry.name}: model_file.member {member!r} points outside the unpacked archive", 2)
        return unpacked / member
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


def _candidates(src: SourceFile, mirror: Optional[str]) -> list[tuple[str, str]]:
    """("http", url) / ("file", path) pairs: mirror locations first (by local name and by the URLs'
    file names), then the catalogue's sources (always http(s): the schema refuses anything else)."""
    names = [src.name] + [url.rsplit("/", 1)[-1] for url in src.sources]
    names = list(dict.fromkeys(names))
    found: list[tuple[str, str]] = []
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
            index = _mirror_dir_index(root)
            found += [("file", str(index[name])) for name in names if name in index]
    for url in src.sources:
        if not url.startswith(("http://", "https://")):  # defence in depth; the schema already refuses it
            raise ToolError(f"{src.name}: source {url!r} is not an http(s) URL", 2)
        found.append(("http", url))
    return found


class _Retry(Exception):
    """This attempt failed in a way another attempt may fix (5xx, dropped connection, stall)."""

    def __init__(self, reason: str, retry_after: Optional[float] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


RETRY_STATUS = {408, 425, 429}


def _retry_after(response) -> Optional[float]:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: use our own backoff


def _content_range_start(response) -> Optional[int]:
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _attempt(
    session, url: str, dest: Path, settings: Settings, bar, expected_size: Optional[int], resume: bool
) -> None:
    """One GET into `dest`; resumes after `dest`'s bytes when `resume` and the server allows it.
    Raises _Retry or SourceFailed; on success `dest` holds exactly the announced body."""
    import requests

    have = dest.stat().st_size if resume and dest.exists() else 0
    headers = {"Accept-Encoding": "identity"}  # byte counts and Range refer to the file itself
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = session.get(url, stream=True, timeout=(settings.timeout, settings.timeout), headers=headers)
    except requests.TooManyRedirects:
        raise SourceFailed("too many redirects") from None
    except requests.exceptions.InvalidSchema as exc:
        raise SourceFailed(f"redirected to an unsupported scheme ({exc})") from None
    except requests.Timeout:
        raise _Retry(f"no response within {settings.timeout:g} s") from None
    except requests.ConnectionError as exc:
        raise _Retry(f"connection failed ({type(exc).__name__})") from None
    except requests.RequestException as exc:
        raise SourceFailed(f"{type(exc).__name__}: {exc}") from None
    with response:
        status = response.status_code
        if status >= 500 or status in RETRY_STATUS:
            raise _Retry(f"HTTP {status}", _retry_after(response))
        if status == 416 or (status == 206 and _content_range_start(response) != have):
            dest.write_bytes(b"")  # the server cannot continue where we stopped: start over
            raise _Retry(f"HTTP {status} to a resume request; starting over")
        if status >= 400:
            raise SourceFailed(f"HTTP {status}")
        if status == 206 and have:
            mode = "ab"
        elif status == 200:
            mode, have = "wb", 0
        else:
            raise SourceFailed(f"unexpected HTTP {status}")
        length = response.headers.get("Content-Length")
        announced = int(length) if length and length.isdigit() else None
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("identity", "")
        bar.total = (have + announced) if announced is not None else 0
        if have:
            bar.update(have)
        received = 0
        try:
            with open(dest, mode) as handle:
                for block in response.iter_content(chunk_size=1 << 16):
                    handle.write(block)
                    received += len(block)
                    bar.update(len(block))
                    if expected_size is not None and have + received > expected_size:
                        raise SourceFailed(
                            f"size mismatch: the server sends more than the catalogue's {expected_size} B"
                        )
                handle.flush()
                os.fsync(handle.fileno())
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as exc:
            cause = "stalled" if "timed out" in str(exc).lower() or isinstance(exc, requests.Timeout) else "dropped"
            raise _Retry(f"connection {cause} after {have + received} B") from None
        except requests.RequestException as exc:
            raise SourceFailed(f"{type(exc).__name__}: {exc}") from None
        if announced is not None and not encoded and received != announced:
            raise _Retry(f"body of {received} B, Content-Length said {announced} B")


def _http_get(url: str, dest: Path, settings: Settings, label: str, expected_size: Optional[int] = None) -> None:
    """GET `url` into `dest` with bounded retries and exponential backoff (see the module doc)."""
    import requests

    from omz_mobilenet.output.progress import ByteProgress

    delay = settings.backoff
    last = ""
    with requests.Session() as session:
        session.max_redirects = 10
        for attempt in range(settings.retries + 1):
            with ByteProgress(label, enabled=settings.progress) as bar:
                try:
                    # resume only after a dropped connection with bytes on disk; the server decides (206 or 200)
                    _attempt(session, url, dest, settings, bar, expected_size, resume=attempt > 0)
                    return
                except _Retry as exc:
                    last = exc.reason
                    pause = min(MAX_BACKOFF_S, exc.retry_after if exc.retry_after is not None else delay)
            if attempt == settings.retries:
                break
            time.sleep(pause)
            delay = min(MAX_BACKOFF_S, delay * 2)
    tries = settings.retries + 1
    raise SourceFailed(f"{last} ({tries} attempt{'s' if tries > 1 else ''}; no network or server down?)")


def _part_file(folder: Path, name: str) -> Path:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    os.close(fd)
    return Path(tmp_name)


def _fetch_candidate(candidate: tuple[str, str], src: SourceFile, folder: Path, settings: Settings) -> Path:
    kind, location = candidate
    tmp = _part_file(folder, src.name)
    try:
        if kind == "http":
            _http_get(location, tmp, settings, src.name, src.size)
        else:
            try:
                shutil.copyfile(location, tmp)
            except OSError as exc:
                raise SourceFailed(f"cannot read it ({exc.strerror})") from None
        reason = _verify(tmp, src)
        if reason is not None:
            raise SourceFailed(f"checksum mismatch: {reason}")
        final = folder / src.name
        if src.checksum is None:  # the record lands first: a file is never there without it
            record = _part_file(folder, src.name + ".sha256")
            record.write_text(file_digest(tmp, "sha256") + "\n")
            os.replace(record, _recorded_sha256(final))
        os.replace(tmp, final)
        return final
    finally:
        tmp.unlink(missing_ok=True)


def remove_leftovers(folder: Path) -> list[str]:
    """Hidden `.part` files and unpacking folders of runs that were killed; call under the lock."""
    removed: list[str] = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if not path.name.startswith(".") or path.name == ".lock":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.endswith(".part"):
            path.unlink(missing_ok=True)
        else:
            continue
        removed.append(path.name)
    return removed


def fetch_file(src: SourceFile, folder: Path, settings: Settings, log: Log) -> Path:
    target = folder / src.name
    if _cached_ok(target, src, log):
        return target
    failures: list[str] = []
    for candidate in _candidates(src, settings.mirror):
        try:
            path = _fetch_candidate(candidate, src, folder, settings)
        except SourceFailed as exc:
            failures.append(f"{candidate[1]}: {exc}")
            log(f"[yellow]{src.name}: {candidate[1]} failed ({exc}); trying the next source[/]")
            continue
        if src.checksum is None:
            sha = _recorded_sha256(path).read_text().strip()
            log(f"[yellow]warning: no published checksum for {src.name}; recorded sha256 {sha}[/]")
        log(f"got {src.name} from {candidate[1]}")
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
    resolve_model_path(folder, entry)  # refuses a member outside the archive before fetching anything
    with folder_lock(folder):
        remove_leftovers(folder)  # we hold the lock: any .part or staging folder is from a killed run
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


# --- offline availability (no network, ever): what `--available` and `list` use --------------------

CACHED, MIRROR = "cached", "mirror"


@functools.lru_cache(maxsize=8)
def _mirror_index_cached(root: str, mtime_ns: int) -> dict[str, Path]:
    """The mirror folder's file index, computed once per folder state (27 models share one walk)."""
    return _mirror_dir_index(Path(root))


def mirror_folder(settings: Settings) -> Optional[Path]:
    """The mirror as a local folder, or None when there is none or it is http(s) (never contacted here)."""
    if not settings.mirror:
        return None
    kind, where = mirror_location(settings.mirror)
    return Path(where).expanduser() if kind == "dir" else None


def _good_file(path: Path, src: SourceFile) -> bool:
    """Size and checksum match, checked without side effects (a bad cached file is left for fetch_file)."""
    try:
        return path.is_file() and _verify(path, src) is None
    except OSError:
        return False


def _file_availability(src: SourceFile, folder: Path, mirror_root: Optional[Path]) -> Optional[str]:
    if _good_file(folder / src.name, src):
        return CACHED
    if mirror_root is None or not mirror_root.is_dir():
        return None
    index = _mirror_index_cached(str(mirror_root), mirror_root.stat().st_mtime_ns)
    names = dict.fromkeys([src.name] + [url.rsplit("/", 1)[-1] for url in src.sources])
    if src.checksum is None and src.size is None:
        return None  # nothing to recognise the file by: only a real download (which records a sha256) can tell
    return MIRROR if any(name in index and _good_file(index[name], src) for name in names) else None


def availability(entry: ModelEntry, settings: Settings) -> Optional[str]:
    """ "cached" when every file of the model is in the cache, "mirror" when each one is in the cache or
    in a mirror *folder* (by file name, size and checksum), else None. Never opens a connection: an
    http(s) mirror is not consulted, so only the cache counts then."""
    folder = model_folder(settings, entry)
    mirror_root = mirror_folder(settings)
    found = [_file_availability(src, folder, mirror_root) for src in entry.files]
    if any(where is None for where in found):
        return None
    return CACHED if all(where == CACHED for where in found) else MIRROR


def available_offline(entry: ModelEntry, settings: Settings) -> bool:
    return availability(entry, settings) is not None
