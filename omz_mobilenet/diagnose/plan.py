"""What a diagnosis needs and gives: a model's float IR against its lower-precision IR, layer by layer, and (INT8) the
ignored scope that brings the output back above a threshold. Checks everything it can before any work."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.ir_store import ir_folder, ir_xml, reconvert_command
from omz_mobilenet.convert.job import QuantizeOptions
from omz_mobilenet.diagnose.layers import LayerRow
from omz_mobilenet.diagnose.scope import DEFAULT_MAX_TRIES, DEFAULT_MIN_SQNR, ScopeSearch
from omz_mobilenet.errors import UsageError
from omz_mobilenet.precision import AS_IS
from omz_mobilenet.settings import Settings

DIAGNOSED = ("INT8", "FP16", AS_IS)  # names (precision.name_for); INT8-RQ is read as INT8
DEFAULT_LIMIT = 16


@dataclass(frozen=True)
class DiagnoseRequest:
    entry: ModelEntry
    precision: str  # INT8, FP16 or (an INT8 source) INT8-ASIS
    dataset: Path
    limit: int = DEFAULT_LIMIT
    search: bool = True  # INT8: look for an ignored scope
    min_sqnr_db: float = DEFAULT_MIN_SQNR
    max_tries: int = DEFAULT_MAX_TRIES
    calibration: Optional[Path] = None  # default: the folder the INT8 IR was calibrated on


@dataclass
class DiagnoseResult:
    model: str
    precision: str
    float_ir: str
    low_ir: str
    images: int
    output: dict[str, Any]
    kernels: dict[str, dict[str, int]]
    reorders: list[dict[str, Any]]
    matching: str
    layers: list[LayerRow]
    ops: list[dict[str, Any]] = field(default_factory=list)
    scope: Optional[ScopeSearch] = None
    notes: list[str] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        record = {k: v for k, v in vars(self).items() if k not in ("layers", "scope")}
        record["layers"] = [row.to_dict() for row in self.layers]
        record["scope"] = self.scope.to_dict() if self.scope else None
        return record


@dataclass(frozen=True)
class Plan:
    float_xml: Path
    low_xml: Path
    images: list[Path]
    calibration: Optional[QuantizeOptions]


def low_folder(entry: ModelEntry, precision: str, out_dir: Path) -> str:
    if precision == "FP16":
        return "FP16"
    return ir_folder(entry, precision, out_dir)  # INT8: INT8-RQ of an INT8 source; INT8-ASIS: its FP32


def plan(request: DiagnoseRequest, settings: Settings) -> Plan:
    """Every check before any work: precision, both IRs on disk, the images, the calibration for the search."""
    from omz_mobilenet.inputs.checks import check_image_folder

    entry = request.entry
    if request.precision not in DIAGNOSED:
        raise UsageError(f"diagnose --precision {request.precision}: choose INT8, FP16 or {AS_IS} (compared with FP32)")
    images = check_image_folder(request.dataset, request.limit)
    float_xml = ir_xml(settings.out_dir, entry.name, "FP32")
    low = low_folder(entry, request.precision, settings.out_dir)
    low_xml = ir_xml(settings.out_dir, entry.name, low)
    for folder, xml in (("FP32", float_xml), (low, low_xml)):
        if not xml.is_file():
            raise UsageError(
                f"{entry.name} has no {folder} IR in {settings.out_dir} (diagnose compares existing IRs); "
                f"make it with {reconvert_command(entry, folder)}"
            )
    search = request.search and request.precision == "INT8"
    return Plan(float_xml, low_xml, images, _calibration(request, low_xml) if search else None)


def _calibration(request: DiagnoseRequest, low_xml: Path) -> QuantizeOptions:
    from omz_mobilenet.convert.calibration import calibration_images
    from omz_mobilenet.convert.quantize import calibration_of

    record = calibration_of(low_xml)
    folder = request.calibration or (Path(record.folder) if record else None)
    if folder is None or not folder.is_dir():
        raise UsageError(
            f"{request.entry.name}: the ignored-scope search re-quantizes with the IR's calibration images, "
            f"and {folder or 'its calibration folder'} is not there; pass --calibration DIR or --no-scope"
        )
    calibration_images(folder)  # holds images: said now, not after the comparison
    return QuantizeOptions(calibration=folder, subset_size=record.used if record else 300)


def float_reference(core: Any, entry: ModelEntry, xml: Path, precision: str) -> Any:
    """The FP32 IR; for an INT8 source's INT8 (requantized) and INT8-ASIS IRs, the float graph of its
    as-is import (its quantization folded back)."""
    from omz_mobilenet.runtime import read_ir

    model = read_ir(core, xml)
    if entry.source_precision == "INT8" and precision in ("INT8", AS_IS):
        from omz_mobilenet.convert.requantize import strip_quantization

        model = strip_quantization(model)
    return model


def load_images(entry: ModelEntry, paths: list[Path]) -> list[np.ndarray]:
    from omz_mobilenet.inputs.images import ir_input, load_for_model

    return [ir_input([load_for_model(path, entry)]) for path in paths]
