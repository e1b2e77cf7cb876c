"""Output paths checked before any work, and files written whole (temporary file + rename): the one
home of both, for every command (JSON, CSV, HTML, Markdown, PNG folders)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from omz_mobilenet.errors import ToolError


def check_output_file(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Refuse (exit 2, one line) an output file that cannot be written, before the work starts."""
    path = Path(path)
    if path.is_dir():
        raise ToolError(f"cannot write the {what} {path}: it is a folder", 2)
    _probe_folder(path.parent, f"cannot write the {what} {path}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ToolError(f"cannot write the {what} {path}: the file is read-only", 2)
    return path


def check_output_dir(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ToolError(f"cannot write the {what} {path}: it is not a folder", 2)
    _probe_folder(path, f"cannot write the {what} {path}")
    return path


def _probe_folder(folder: Path, message: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ToolError(f"{message}: {exc.strerror or exc}", 2) from None


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` whole: readers see the old file or the new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
