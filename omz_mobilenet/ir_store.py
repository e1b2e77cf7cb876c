"""Where IRs live and how they are written so a reader never sees a half-written or mixed IR.

`<out>/<model>/<precision>` is a symlink to a fully written sibling folder `.<precision>.<id>`;
swapping the symlink with os.replace is atomic, so a killed `convert` leaves the old IR or the new
one, never an `.xml` of one run beside a `.bin` of another.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from omz_mobilenet.errors import ToolError

PRECISIONS = ("FP32", "FP16", "FP32-INT8", "FP16-INT8", "INT8")


def ir_xml(out_dir: Path, model: str, precision: str) -> Path:
    return out_dir / model / precision / f"{model}.xml"


def find_irs(out_dir: Path) -> list[tuple[str, str, Path]]:
    """(model, precision, xml) for every complete IR under `out_dir`."""
    found = []
    if not out_dir.is_dir():
        return found
    for model_dir in sorted(p for p in out_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for precision in PRECISIONS:
            xml = ir_xml(out_dir, model_dir.name, precision)
            if xml.is_file() and xml.with_suffix(".bin").is_file():
                found.append((model_dir.name, precision, xml))
    return found


@contextmanager
def model_lock(out_dir: Path, model: str) -> Iterator[Path]:
    folder = out_dir / model
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "w")
    except OSError as exc:
        raise ToolError(f"output folder {folder} is not writable ({exc.strerror}); pass -o DIR or set OMZ_MOBILENET_OUT", 2) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield folder


def _remove_stale(folder: Path, precision: str, keep: str) -> None:
    for old in folder.glob(f".{precision}.*"):
        if old.name != keep and old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)


def write_ir(model, out_dir: Path, name: str, precision: str, compress_to_fp16: bool) -> Path:
    """Serialize `model` as `<out>/<name>/<precision>/<name>.xml|.bin`, atomically."""
    import openvino as ov

    with model_lock(out_dir, name) as folder:
        staging = folder / f".{precision}.{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            ov.save_model(model, str(staging / f"{name}.xml"), compress_to_fp16=compress_to_fp16)
        except Exception as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ToolError(f"cannot write IR into {folder}: {exc}", 2) from None
        link = folder / precision
        if link.exists() and not link.is_symlink():
            shutil.rmtree(link)  # a plain folder from elsewhere; replaced by our managed layout
        fd, tmp_link = tempfile.mkstemp(prefix=f".{precision}.link.", dir=folder)
        os.close(fd)
        os.unlink(tmp_link)
        os.symlink(staging.name, tmp_link)
        os.replace(tmp_link, link)
        _remove_stale(folder, precision, keep=staging.name)
    return ir_xml(out_dir, name, precision)
