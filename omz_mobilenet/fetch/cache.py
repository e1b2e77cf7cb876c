"""The model cache: where a model's files live, how they are checked, locked and written.

Layout: `<cache>/models/<model>/<file>` plus `<file>.d/` for unpacked archives. A file only ever
appears there under its final name after its size and checksum matched, so the cache is never
poisoned; it is written as a hidden `.<file>.<random>.part` first, which is removed on any failure
and, after a SIGKILL, by the next run that takes the folder lock. Files are created like any other
file (0666 less the umask, so 0644 usually): the cache may be shared read-only with other users.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from omz_mobilenet.catalogue import ModelEntry, SourceFile
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.archive import extract_tgz
from omz_mobilenet.settings import Settings

Log = Callable[[str], None]


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(folder: Path) -> str:
    """The checksum of a folder (a TF SavedModel): sha256 over each regular file's relative POSIX path and
    its sha256, sorted by path, one `path\\0digest\\n` record each. Renaming, adding, removing or editing a
    file changes it; timestamps and the folder's own name do not. Symlinks are refused (they may point
    outside the folder)."""
    folder = Path(folder)
    records: list[str] = []
    for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
        if path.is_symlink():
            raise ToolError(f"{path}: symbolic link inside model folder {folder}; copy the file itself there", 2)
        if path.is_file():
            records.append(f"{path.relative_to(folder).as_posix()}\0{file_digest(path, 'sha256')}\n")
    return hashlib.sha256("".join(records).encode()).hexdigest()


def tree_size(folder: Path) -> int:
    """A folder's `size`: the bytes of its regular files together (tree_sha256 refuses symlinks)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def content_digest(path: Path, algorithm: str) -> str:
    """A file's digest, or a folder's `tree_sha256` (folders have sha256 checksums only)."""
    if path.is_dir():
        if algorithm != "sha256":
            raise ToolError(f"{path} is a folder: its checksum must be a sha256 (tree_sha256), not {algorithm}", 2)
        return tree_sha256(path)
    return file_digest(path, algorithm)


def content_size(path: Path) -> int:
    return tree_size(path) if path.is_dir() else path.stat().st_size


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


def check_file(path: Path, src: SourceFile) -> Optional[str]:
    """A reason the file (or folder) is bad (size or checksum against the catalogue), or None when it is good."""
    if src.size is not None and content_size(path) != src.size:
        return f"size {content_size(path)} B, expected {src.size} B"
    if src.checksum is not None:
        got = content_digest(path, src.checksum.algorithm)
        if got != src.checksum.value:
            return f"{src.checksum.algorithm} {got[:16]}..., expected {src.checksum.value[:16]}..."
    return None


def recorded_sha256(path: Path) -> Path:
    """Where the sha256 of a file without a published checksum is recorded at download."""
    return path.with_name(path.name + ".sha256")


def cached_ok(path: Path, src: SourceFile, log: Log) -> bool:
    """The cached file is good; a bad one is removed (and said so) so that it is fetched again."""
    if not (path.is_file() or (src.path is not None and path.is_dir())):
        return False
    reason = check_file(path, src)
    if reason is None and src.checksum is None:
        record = recorded_sha256(path)
        if record.is_file() and record.read_text().strip() != file_digest(path, "sha256"):
            reason = "sha256 differs from the one recorded at download"
    if reason is None:
        return True
    log(f"[yellow]cached {path.name} is bad ({reason}); removing it and fetching again[/]")
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    return False


def part_file(folder: Path, name: str) -> Path:
    """A new empty hidden `.<name>.<random>.part`, created 0666 less the umask (as `open` would);
    tempfile.mkstemp would make it 0600, and os.replace keeps that mode on the final file."""
    for _ in range(100):
        path = folder / f".{name}.{secrets.token_hex(6)}.part"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise ToolError(f"cannot create a temporary file in {folder}", 2)


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


def unpacked(archive: Path) -> Path:
    """`<archive>.d/`, extracted once per archive content (a marker holds the archive's sha256)."""
    target = archive.with_name(archive.name + ".d")
    marker = target / ".omz-unpacked"
    if marker.is_file() and marker.read_text().strip() == file_digest(archive, "sha256"):
        return target
    extract_tgz(archive, target)
    marker.write_text(file_digest(archive, "sha256") + "\n")
    return target
