"""The one precision vocabulary: what users may ask for, which IR folder that means, how results
name it, and the INT8 rules. Every command parses `--precision` here. Pure words and rules: no disk
access (which NNCF folder exists on disk is the IR store's question: convert/ir_store.ir_folder).

- IR folders (what `convert` writes, Open Model Zoo's names): FP32, FP16, FP32-INT8, FP16-INT8, INT8-RQ.
- Requestable names: those five plus INT8 and INT8-ASIS. `INT8` means one IR per model on every command
  (convert, bench, accuracy, gate, verify, sweep, diagnose) and results name it `INT8`:
  - of a float source: the NNCF IR (folder FP32-INT8, or FP16-INT8 when only that exists);
  - of an already-quantized source (source_precision INT8): its requantized IR (folder INT8-RQ: the
    source's float graph quantized by NNCF into symmetric per-channel int8, convert/requantize.py).
    `INT8-RQ` is another spelling of the same IR; results name it `INT8`.
- `INT8-ASIS` (only for INT8 sources) is the as-is import: the graph keeps the source's own int8 ops.
  Its folder is `FP32` (IRs written before the name existed stay valid); results name it `INT8-ASIS`.
  `FP32` of an INT8 source is the old spelling of it (it always meant that folder): accepted, named
  `INT8-ASIS` in results, with a one-line note (`old_spelling`).
- Runtime inference precisions (INFERENCE_PRECISION_HINT) are a different thing: f32, bf16, f16.
  FP32/FP16 IRs run with f32 unless asked otherwise, and bf16/f16 results carry those names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional, Protocol

from omz_mobilenet.errors import UsageError


class Source(Protocol):
    """What the rules need of a catalogue entry (a `ModelEntry` is one); precision sits below the catalogue."""

    @property
    def name(self) -> str: ...

    @property
    def source_precision(self) -> str: ...


FLOAT_FOLDERS = ("FP32", "FP16")
INT8_FOLDERS = {"FP32-INT8": False, "FP16-INT8": True}  # folder -> float weights compressed to FP16
REQUANTIZED = "INT8-RQ"  # folder of a requantized INT8 source; a spelling of INT8 for such a source
AS_IS = "INT8-ASIS"  # name of an INT8 source's as-is import (folder FP32)
IR_FOLDERS = FLOAT_FOLDERS + tuple(INT8_FOLDERS) + (REQUANTIZED,)
REQUESTABLE = ("FP32", "FP16", "INT8", "FP32-INT8", "FP16-INT8", REQUANTIZED, AS_IS)
INFER_PRECISIONS = ("f32", "bf16", "f16")
DEFAULT_INFER_PRECISION = "f32"  # some CPUs default to bf16 (FACTS 3); FP32 means f32


def parse(text: str, allowed: tuple[str, ...] = REQUESTABLE, option: str = "--precision") -> list[str]:
    """`FP32,fp16` -> ["FP32", "FP16"], in order, once each; anything not in `allowed` is a usage error."""
    wanted = list(dict.fromkeys(p.strip().upper() for p in text.split(",") if p.strip()))
    for precision in wanted:
        if precision not in allowed:
            raise UsageError(f"unknown precision {precision!r} for {option}; choose from {', '.join(allowed)}")
    if not wanted:
        raise UsageError(f"{option} needs at least one of {', '.join(allowed)}")
    return wanted


def parse_one(text: str, allowed: tuple[str, ...] = REQUESTABLE, option: str = "--precision") -> str:
    """One precision (`verify --precision`), spelled in any case."""
    wanted = parse(text, allowed, option)
    if len(wanted) > 1:
        raise UsageError(f"{option} takes one precision here, not {text!r}")
    return wanted[0]


def parse_folders(text: str, option: str = "--precision") -> list[str]:
    """What `convert` writes: INT8 means FP32-INT8, as Open Model Zoo named it (`write_folder` turns it
    into INT8-RQ for an already-quantized source)."""
    return list(dict.fromkeys("FP32-INT8" if p == "INT8" else p for p in parse(text, REQUESTABLE, option)))


def is_int8(precision: str) -> bool:
    """An int8 IR made by NNCF (a name or a folder): INT8, FP32-INT8, FP16-INT8, INT8-RQ. Not the
    as-is import (INT8-ASIS, folder FP32), which needs no calibration."""
    return precision.upper().endswith("INT8") or is_requantized(precision)


def is_requantized(precision: str) -> bool:
    """The folder INT8-RQ (or its spelling); for a requested name use `requantizes(entry, name)`."""
    return precision.upper() == REQUANTIZED


def _is_int8_source(entry: Source) -> bool:
    return entry.source_precision == "INT8"


def name_for(entry: Source, precision: str) -> str:
    """The one name results carry for a requested precision of this model: INT8 and INT8-RQ of an INT8
    source are `INT8`, its FP32 and INT8-ASIS are `INT8-ASIS`. Impossible pairs are usage errors."""
    precision = precision.upper()
    if _is_int8_source(entry):
        if precision in ("INT8", REQUANTIZED):
            return "INT8"
        if precision in ("FP32", AS_IS):
            return AS_IS
        if precision in INT8_FOLDERS:
            raise UsageError(
                f"{entry.name} is already an INT8 model: use --precision INT8 (its requantized IR, folder "
                f"{REQUANTIZED}) or {AS_IS} (the as-is import), not {precision}"
            )
        return precision
    if precision == REQUANTIZED:
        raise UsageError(
            f"{entry.name} is a float model: {REQUANTIZED} is for already-quantized sources; use --precision INT8"
        )
    if precision == AS_IS:
        raise UsageError(
            f"{entry.name} is a float model: {AS_IS} is the as-is import of an already-quantized source; "
            "use --precision FP32 or INT8"
        )
    return precision


def old_spelling(entry: Source, precision: str) -> Optional[str]:
    """A one-line note when a requested name is the old spelling of another (None otherwise)."""
    if _is_int8_source(entry) and precision.upper() == "FP32":
        return f"{entry.name}: FP32 of an already-quantized model is its as-is import, now named {AS_IS}"
    return None


def requantizes(entry: Source, precision: str) -> bool:
    """The requested name means the requantized IR of an INT8 source (judged against the original)."""
    return _is_int8_source(entry) and name_for(entry, precision) == "INT8"


def label(folder: str, entry: Optional[Source] = None) -> str:
    """How a result names the IR folder it measured: the NNCF folders are INT8; of an INT8 source
    (`entry` given), INT8-RQ is INT8 and FP32 is INT8-ASIS."""
    if entry is not None and _is_int8_source(entry) and folder in ("FP32", REQUANTIZED):
        return name_for(entry, folder)
    return "INT8" if is_int8(folder) else folder


def names_of(entry: Source, folders: Iterable[str]) -> list[str]:
    """`INT8-ASIS (FP32/)`, `INT8 (INT8-RQ/)`: IR folders by the name `--precision` takes for them. Of
    the two NNCF folders, INT8 is the one `folder_for` picks (FP32-INT8 when it exists); the other
    keeps its folder name, by which it is requested."""
    folders = list(folders)
    nncf = "FP16-INT8" if "FP16-INT8" in folders and "FP32-INT8" not in folders else "FP32-INT8"
    names = [folder if folder in INT8_FOLDERS and folder != nncf else label(folder, entry) for folder in folders]
    return [f"{name} ({folder}/)" for name, folder in zip(names, folders, strict=True)]


def write_folder(entry: Source, folder: str) -> str:
    """The folder `convert` writes for a parsed folder: INT8 (= FP32-INT8) of an already-quantized
    source is its requantization, INT8-ASIS its FP32 folder; impossible pairs are usage errors."""
    if _is_int8_source(entry) and folder == "FP32-INT8":
        return REQUANTIZED
    return folder_for(entry, folder)


def compress_to_fp16(folder: str) -> bool:
    return folder == "FP16" or INT8_FOLDERS.get(folder, False)


def folder_for(entry: Source, precision: str, nncf_folder: str = "FP32-INT8") -> str:
    """The IR folder a requested precision means (one rule for convert, bench, accuracy, gate, verify,
    sweep, diagnose). `nncf_folder` is the folder INT8 of a float source resolves to: FP16-INT8 when only
    that one was converted (convert/ir_store.ir_folder looks on disk)."""
    name = name_for(entry, precision)  # refuses the impossible pairs
    if _is_int8_source(entry):
        return {"INT8": REQUANTIZED, AS_IS: "FP32"}.get(name, name)
    return nncf_folder if name == "INT8" else name


def needs_calibration(entry: Source, folder: str) -> bool:
    """An INT8 folder of a float source, and a requantization, are made by NNCF from calibration images."""
    return (is_int8(folder) and entry.source_precision == "FP32") or is_requantized(folder)
