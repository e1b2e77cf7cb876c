"""Where IRs live and how they are written so a reader never sees a half-written or mixed IR.

`<out>/<model>/<precision>` is a symlink to a fully written sibling folder `.<precision>.<id>`;
swapping the symlink with os.replace is atomic, so a killed `convert` leaves the old IR or the new
one, never an `.xml` of one run beside a `.bin` of another. Each folder also holds
`<model>.sha256` (sha256sum format) for its `.xml` and `.bin`, written before the swap, so anyone
can check that the pair belongs together (`sha256sum -c`), and `<model>.conversion`: the
`conversion_digest` of the catalogue entry it was converted from (catalogue/digest.py; the pipeline puts
it in the model's rt_info, which NNCF keeps, and it is copied here). An IR whose recorded digest differs
from its entry's current one, or that has none (written before digests were recorded), is stale
(`stale_reason`): the pipeline converts a float one again and refuses an INT8 one. Folders and temporary links of killed
runs are removed by the next `write_ir` of that model, under the model's lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from omz_mobilenet.catalogue import ModelEntry, conversion_digest
from omz_mobilenet.errors import ToolError, UsageError
from omz_mobilenet.precision import IR_FOLDERS, Source, folder_for, needs_calibration

if TYPE_CHECKING:
    from openvino import Model

RT_KEY = "omz_mobilenet"  # the IR's rt_info section written by convert (model, source, labels, calibration)
DIGEST_KEY = "conversion_digest"  # rt_info [RT_KEY, DIGEST_KEY]: the entry's conversion_digest


def ir_xml(out_dir: Path, model: str, precision: str) -> Path:
    return out_dir / model / precision / f"{model}.xml"


def ir_folder(entry: Source, precision: str, out_dir: Path) -> str:
    """The IR folder under `out_dir` a requested precision means (precision.folder_for's rule): INT8
    of a float source is FP32-INT8, or FP16-INT8 when only that one is on disk; INT8 of an
    already-quantized source is INT8-RQ and its INT8-ASIS is FP32."""
    only_fp16 = (
        not ir_xml(out_dir, entry.name, "FP32-INT8").is_file() and ir_xml(out_dir, entry.name, "FP16-INT8").is_file()
    )
    return folder_for(entry, precision, "FP16-INT8" if only_fp16 else "FP32-INT8")


def find_irs(out_dir: Path, refuse_stale: bool = True) -> list[tuple[str, str, Path]]:
    """(model, precision, xml) for every complete IR under `out_dir`. With `refuse_stale` (the default:
    bench and accuracy without MODEL use these IRs as they are), an IR of a catalogue model converted
    from an older version of its entry is a usage error naming it and the command that converts it
    again; IRs of models the catalogue does not know are returned unchecked (nothing to compare with).
    `list` passes False: it only shows what is on disk."""
    found: list[tuple[str, str, Path]] = []
    if not out_dir.is_dir():
        return found
    for model_dir in sorted(p for p in out_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for precision in IR_FOLDERS:
            xml = ir_xml(out_dir, model_dir.name, precision)
            if xml.is_file() and xml.with_suffix(".bin").is_file():
                found.append((model_dir.name, precision, xml))
    if refuse_stale:
        _refuse_stale(found, out_dir)
    return found


def _refuse_stale(found: list[tuple[str, str, Path]], out_dir: Path) -> None:
    from omz_mobilenet.catalogue import load_catalogue

    known = {entry.name: entry for entry in load_catalogue().models}
    stale = [(known[m], p) for m, p, xml in found if m in known and stale_reason(known[m], xml) is not None]
    if stale:
        first, precision = stale[0]
        raise UsageError(
            f"stale IRs in {out_dir} (converted from an older version of their catalogue entry): "
            + ", ".join(f"{entry.name} {folder}" for entry, folder in stale)
            + f"; convert again, e.g. {reconvert_command(first, precision)}, or name the models "
            "(a float IR of a named model is converted again by itself)"
        )


def reconvert_command(entry: Source, folder: str) -> str:
    """The `convert` command that writes this IR folder again (INT8 of a float source needs images)."""
    calibration = " --calibration DIR" if needs_calibration(entry, folder) else ""
    return f"`omz-mobilenet convert {entry.name} --precision {folder}{calibration}`"


def digest_path(xml: Path) -> Path:
    """`<model>.conversion` beside the IR: the conversion_digest of the entry it was converted from."""
    return xml.with_suffix(".conversion")


def recorded_digest(xml: Path) -> Optional[str]:
    try:
        return digest_path(xml).read_text().strip() or None
    except OSError:
        return None


def is_current(entry: ModelEntry, xml: Path) -> bool:
    """The IR is on disk and was converted from the entry as it is now (what "already converted" means)."""
    return xml.is_file() and stale_reason(entry, xml) is None


def stale_reason(entry: ModelEntry, xml: Path) -> Optional[str]:
    """Why the IR at `xml` no longer matches the entry (None when it does): see the module doc."""
    recorded = recorded_digest(xml)
    if recorded is None:
        return f"{xml.parent.name} IR has no {digest_path(xml).name} (written before conversion digests)"
    if recorded != conversion_digest(entry):
        return (
            f"{xml.parent.name} IR was converted from an older version of its catalogue entry "
            "(mean, scale, colour, input, output or the model file changed)"
        )
    return None


@contextmanager
def model_lock(out_dir: Path, model: str) -> Iterator[Path]:
    folder = out_dir / model
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "w")  # noqa: SIM115 (held across the yield below)
    except OSError as exc:
        raise ToolError(
            f"output folder {folder} is not writable ({exc.strerror}); pass -o DIR or set OMZ_MOBILENET_OUT", 2
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield folder


def _remove_stale(folder: Path, precision: str, keep: str) -> None:
    for old in folder.glob(f".{precision}.*"):
        if old.name == keep:
            continue
        if old.is_symlink():
            old.unlink(missing_ok=True)  # a temporary link of a run killed before its swap
        elif old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def manifest_path(xml: Path) -> Path:
    return xml.with_suffix(".sha256")


def check_manifest(xml: Path) -> bool:
    """True when the .xml and .bin next to `xml` are the pair `write_ir` recorded together."""
    try:
        lines = manifest_path(xml).read_text().splitlines()
    except OSError:
        return False
    recorded = {name: digest for digest, name in (line.split("  ", 1) for line in lines if "  " in line)}
    bin_path = xml.with_suffix(".bin")
    return recorded.get(xml.name) == _sha256(xml) and recorded.get(bin_path.name) == _sha256(bin_path)


def _seal(staging: Path, name: str, digest: Optional[str]) -> None:
    """Record the pair's hashes (and the entry's conversion digest) and flush everything to disk
    before the folder becomes visible."""
    xml, bin_path = staging / f"{name}.xml", staging / f"{name}.bin"
    manifest = manifest_path(xml)
    manifest.write_text(f"{_sha256(xml)}  {xml.name}\n{_sha256(bin_path)}  {bin_path.name}\n")
    written = [xml, bin_path, manifest]
    if digest is not None:
        digest_path(xml).write_text(digest + "\n")
        written.append(digest_path(xml))
    for path in (*written, staging):
        _fsync(path)


def model_digest(model: Model) -> Optional[str]:
    """The conversion digest the pipeline put in the model's rt_info, if any."""
    if not model.has_rt_info([RT_KEY, DIGEST_KEY]):
        return None
    return str(model.get_rt_info([RT_KEY, DIGEST_KEY]).astype(str))


def write_ir(model: Model, out_dir: Path, name: str, precision: str, compress_to_fp16: bool) -> Path:
    """Serialize `model` as `<out>/<name>/<precision>/<name>.xml|.bin`, atomically."""
    import openvino as ov

    with model_lock(out_dir, name) as folder:
        staging = folder / f".{precision}.{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            ov.save_model(model, str(staging / f"{name}.xml"), compress_to_fp16=compress_to_fp16)
            _seal(staging, name, model_digest(model))
        except Exception as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ToolError(f"cannot write IR into {folder}: {exc}", 2) from None
        link = folder / precision
        if link.exists() and not link.is_symlink():
            # a plain folder from elsewhere: moved aside in one rename, then replaced by our managed layout
            os.replace(link, folder / f".{precision}.plain-{uuid.uuid4().hex[:12]}")
        fd, tmp_link = tempfile.mkstemp(prefix=f".{precision}.link.", dir=folder)
        os.close(fd)
        os.unlink(tmp_link)
        os.symlink(staging.name, tmp_link)
        os.replace(tmp_link, link)
        _fsync(folder)
        _remove_stale(folder, precision, keep=staging.name)
    return ir_xml(out_dir, name, precision)


def ir_sha256(xml: Path) -> str:
    """One digest for an IR (.xml and .bin together): the sha256 of its checked manifest, so a
    sweep can tell a stored cell's IR from a re-converted one without hashing twice."""
    if not check_manifest(xml):
        raise ToolError(
            f"IR {xml} does not match its {manifest_path(xml).name} (half-written or edited); convert it again", 2
        )
    return hashlib.sha256(manifest_path(xml).read_bytes()).hexdigest()
