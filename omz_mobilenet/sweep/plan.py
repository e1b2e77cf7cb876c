"""The cells of a sweep: every model x precision x device x bench configuration the spec asks for,
grouped by (model, precision) so each IR is converted once and shared by its cells."""

from __future__ import annotations

from dataclasses import dataclass

from omz_mobilenet.catalogue import Catalogue, ModelEntry
from omz_mobilenet.errors import UsageError
from omz_mobilenet.precision import REQUESTABLE, name_for
from omz_mobilenet.sweep.spec import BenchConfig, SpecFile


@dataclass(frozen=True)
class Cell:
    model: str
    precision: str
    device: str
    config: BenchConfig

    @property
    def label(self) -> str:
        return f"{self.model} {self.precision} {self.device} {self.config.key()}"


@dataclass(frozen=True)
class Group:
    """The cells sharing one IR."""

    entry: ModelEntry
    precision: str
    cells: tuple[Cell, ...]


def selected_models(spec_file: SpecFile, catalogue: Catalogue, available: list[str]) -> list[ModelEntry]:
    spec = spec_file.spec
    if spec.available:
        return [catalogue.get(name) for name in available]
    if not spec.models:
        raise spec_file.error(
            "models", "name the models to sweep (models: [...] or MODEL arguments), or use --available"
        )
    entries = []
    for index, name in enumerate(spec.models):
        if name not in catalogue.names():
            raise spec_file.error("models", f"unknown model {name!r}; see `omz-mobilenet list`", index)
        entries.append(catalogue.get(name))
    return entries


def check_precisions(spec_file: SpecFile) -> list[str]:
    wanted = []
    for index, name in enumerate(spec_file.spec.precision):
        upper = name.upper()
        if upper not in REQUESTABLE:
            raise spec_file.error(
                "precision", f"unknown precision {name!r}; choose from {', '.join(REQUESTABLE)}", index
            )
        wanted.append(upper)
    return list(dict.fromkeys(wanted))


def groups(
    entries: list[ModelEntry],
    precisions: list[str],
    devices: list[str],
    configs: list[BenchConfig],
) -> list[Group]:
    """Groups in catalogue order, one per IR. Whether an IR can be made (INT8 of a float model needs
    calibration images) is found when the group runs: it is then reported as not made."""
    out = []
    for entry in entries:
        for precision in dict.fromkeys(_name(entry, p) for p in precisions):
            cells = tuple(Cell(entry.name, precision, d, c) for d in devices for c in configs)
            out.append(Group(entry, precision, cells))
    return out


def _name(entry: ModelEntry, precision: str) -> str:
    """The name the cells carry (precision.name_for: INT8-RQ of an INT8 source is INT8, its FP32 is
    INT8-ASIS); a pair the model cannot have keeps its spelling and fails when its group runs."""
    try:
        return name_for(entry, precision)
    except UsageError:
        return precision
