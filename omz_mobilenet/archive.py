"""Safe extraction of .tgz archives: no paths outside the target, no links or devices, bounded size."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from omz_mobilenet.errors import ToolError

# MobileNet archives unpack to at most ~5x their size; anything far beyond that is a bomb.
MAX_UNPACK_RATIO = 20
MAX_UNPACK_FLOOR = 256 * 1024 * 1024


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    name = member.name
    if name.startswith("/") or os.path.isabs(name) or ".." in Path(name).parts:
        raise ToolError(f"{archive}: refusing archive member {name!r} (path leaves the target folder)")
    if not (member.isfile() or member.isdir()):
        raise ToolError(f"{archive}: refusing archive member {name!r} (links and devices are not allowed)")


def extract_tgz(archive: Path, target: Path) -> Path:
    """Extract into `target` atomically: a half-extracted folder is never left under that name."""
    limit = max(MAX_UNPACK_FLOOR, archive.stat().st_size * MAX_UNPACK_RATIO)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                for member in members:
                    _check_member(member, archive)
                total = sum(m.size for m in members if m.isfile())
                if total > limit:
                    raise ToolError(f"{archive}: unpacks to {total} bytes, over the {limit}-byte limit; refusing")
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
