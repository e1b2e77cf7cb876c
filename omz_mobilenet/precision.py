"""The one precision vocabulary: what users may ask for, which IR folder that means, how results
name it, and the INT8 rules. Every command parses `--precision` here. Pure words and rules: no disk
access (which NNCF folder exists on disk is the IR store's question: convert/ir_store.ir_folder).

- IR folders (what `convert` writes, Open Model Zoo's names): FP32, FP16, FP32-INT8, FP16-INT8.
- Requestable names: those four plus INT8 and INT8-RQ. INT8 of a float source is the NNCF IR
  (FP32-INT8, or FP16-INT8 when only that exists); INT8 of an already-quantized source is its own
  FP32 IR, whose graph keeps the source's int8 ops (the as-is import).
- INT8-RQ (folder INT8-RQ, label INT8-RQ): an already-quantized source requantized by NNCF from its
  dequantized float weights into symmetric per-channel int8 (convert/requantize.py), calibrated on
  images; only for INT8 sources. `convert --precision INT8` on an INT8 source writes it.
- Runtime inference precisions (INFERENCE_PRECISION_HINT) are a different thing: f32, bf16, f16.
  FP32/FP16 IRs run with f32 unless asked otherwise, and bf16/f16 results carry those names.
"""

from __future__ import annotations

from typing import Protocol

from omz_mobilenet.errors import UsageError


class Source(Protocol):
    """What the rules need of a catalogue entry (a `ModelEntry` is one); precision sits below the catalogue."""

    @property
    def name(self) -> str: ...

    @property
    def source_precision(self) -> str: ...


FLOAT_FOLDERS = ("FP32", "FP16")
INT8_FOLDERS = {"FP32-INT8": False, "FP16-INT8": True}  # folder -> float weights compressed to FP16
REQUANTIZED = "INT8-RQ"  # folder and label of a requantized INT8 source
IR_FOLDERS = FLOAT_FOLDERS + tuple(INT8_FOLDERS) + (REQUANTIZED,)
REQUESTABLE = ("FP32", "FP16", "INT8", "FP32-INT8", "FP16-INT8", REQUANTIZED)
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


def parse_folders(text: str, option: str = "--precision") -> list[str]:
    """What `convert` writes: INT8 means FP32-INT8, as Open Model Zoo named it."""
    return list(dict.fromkeys("FP32-INT8" if p == "INT8" else p for p in parse(text, REQUESTABLE, option)))


def is_int8(precision: str) -> bool:
    return precision.upper().endswith("INT8") or is_requantized(precision)


def is_requantized(precision: str) -> bool:
    return precision.upper() == REQUANTIZED


def label(folder: str) -> str:
    """How a result names the IR folder it measured: the NNCF folders of float sources are INT8,
    a requantized INT8 source keeps its own name (INT8-RQ)."""
    if is_requantized(folder):
        return REQUANTIZED
    return "INT8" if is_int8(folder) else folder


def write_folder(entry: Source, folder: str) -> str:
    """The folder `convert` writes for a parsed folder: INT8 (= FP32-INT8) of an already-quantized
    source is its requantization; INT8-RQ of a float source is a usage error."""
    if entry.source_precision == "INT8" and folder == "FP32-INT8":
        return REQUANTIZED
    if entry.source_precision == "INT8" and folder == "FP16-INT8":
        raise UsageError(
            f"{entry.name} is already an INT8 model: use --precision INT8 (= {REQUANTIZED}, requantized), not FP16-INT8"
        )
    if entry.source_precision != "INT8" and is_requantized(folder):
        raise UsageError(
            f"{entry.name} is a float model: {REQUANTIZED} is for already-quantized sources; use --precision INT8"
        )
    return folder


def compress_to_fp16(folder: str) -> bool:
    return folder == "FP16" or INT8_FOLDERS.get(folder, False)


def folder_for(entry: Source, precision: str, nncf_folder: str = "FP32-INT8") -> str:
    """The IR folder a requested precision means (one rule for bench, accuracy, gate, verify, sweep).
    `nncf_folder` is the folder INT8 of a float source resolves to: FP16-INT8 when only that one was
    converted (convert/ir_store.ir_folder looks on disk)."""
    precision = precision.upper()
    if not is_int8(precision):
        return precision
    if is_requantized(precision):
        return write_folder(entry, precision)  # refuses a float source
    if entry.source_precision == "INT8":
        if precision != "INT8":
            raise UsageError(
                f"{entry.name} is already INT8: use --precision INT8 (its own IR) or {REQUANTIZED}, not {precision}"
            )
        return "FP32"
    return nncf_folder if precision == "INT8" else precision


def needs_calibration(entry: Source, folder: str) -> bool:
    """An INT8 folder of a float source, and a requantization, are made by NNCF from calibration images."""
    return (is_int8(folder) and entry.source_precision == "FP32") or is_requantized(folder)
