"""Safe extraction of .tgz archives: no paths outside the target, no links or devices, bounded size.

The bound is checked on the tar headers while reading them, before anything is written, so an
archive bomb (a small .tgz of a huge zero-filled file) is refused after reading a few KB of it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tarfile
from pathlib import Path
from typing import Optional

from omz_mobilenet.errors import ToolError

# MobileNet archives unpack to at most ~5x their size; anything far beyond that is a bomb.
MAX_UNPACK_RATIO = 20
MAX_UNPACK_FLOOR = 256 * 1024 * 1024
MAX_MEMBERS = 10_000  # the official archives hold fewer than 20 files


def unpack_limit(archive: Path) -> int:
    """Bytes an archive may unpack to: 20x its size, and never less than 256 MiB."""
    return max(MAX_UNPACK_FLOOR, archive.stat().st_size * MAX_UNPACK_RATIO)


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    name = member.name
    if name.startswith("/") or os.path.isabs(name) or ".." in Path(name).parts or "\\" in name:
        raise ToolError(f"{archive}: refusing archive member {name!r} (path leaves the target folder)")
    if not (member.isfile() or member.isdir()):
        raise ToolError(f"{archive}: refusing archive member {name!r} (links and devices are not allowed)")


def _checked_members(tar: tarfile.TarFile, archive: Path, limit: int) -> list[tarfile.TarInfo]:
    members, total = [], 0
    for member in tar:  # reads one header at a time: a bomb is refused at its header
        _check_member(member, archive)
        if member.isfile():
            total += member.size
        if total > limit:
            raise ToolError(f"{archive}: unpacks to more than {limit} bytes (an archive bomb?); refusing")
        members.append(member)
        if len(members) > MAX_MEMBERS:
            raise ToolError(f"{archive}: more than {MAX_MEMBERS} members; refusing")
    return members


def _staging_folder(target: Path) -> Path:
    """A new hidden sibling of `target`, made 0777 less the umask like any folder (tempfile.mkdtemp
    makes 0700, which the extracted folder would keep)."""
    for _ in range(100):
        staging = target.parent / f".{target.name}.{secrets.token_hex(6)}"
        try:
            staging.mkdir(0o777)
        except FileExistsError:
            continue
        return staging
    raise ToolError(f"cannot create a staging folder in {target.parent}", 2)


def extract_tgz(archive: Path, target: Path, max_bytes: Optional[int] = None) -> Path:
    """Extract into `target` atomically: a half-extracted folder is never left under that name.
    `max_bytes` bounds the unpacked size (default: `unpack_limit(archive)`)."""
    limit = unpack_limit(archive) if max_bytes is None else max_bytes
    staging = _staging_folder(target)
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = _checked_members(tar, archive, limit)
                tar.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise ToolError(f"{archive}: unreadable archive ({exc}); delete it and download again") from None
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
