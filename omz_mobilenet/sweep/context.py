"""What every cell of a sweep shares (the sweep's options, its image set) and how a cell is keyed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.accuracy.evidence import MinImages
from omz_mobilenet.results.record import CellKey
from omz_mobilenet.settings import Settings
from omz_mobilenet.sweep.plan import Cell

Log = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


@dataclass(frozen=True)
class ScenarioPlan:
    """The MLPerf LoadGen runs of every cell (the spec key `scenarios:`): each scenario once, Server once
    per latency bound (at `target_qps`, or the highest VALID QPS LoadGen's runs find by bisection)."""

    scenarios: tuple[str, ...]
    bounds_ms: tuple[float, ...] = ()
    duration_s: float = 10.0
    target_qps: Optional[float] = None

    def stored_in(self, record: dict[str, Any]) -> bool:
        """A stored cell holds every run this plan asks for, none FAILED (a re-run measures it again, as it
        measures failed cells again); VALID and INVALID runs are results."""
        runs = [s for s in record.get("scenarios") or [] if s.get("result") != "FAILED"]
        have = {(s.get("scenario"), s.get("max_latency_ms")) for s in runs}
        wanted: set[tuple[str, Optional[float]]] = {(name, None) for name in self.scenarios if name != "server"}
        wanted |= {("server", bound) for bound in self.bounds_ms} if "server" in self.scenarios else set()
        return wanted <= have


@dataclass
class SweepContext:
    """The sweep's choices (from the spec and flags) and what its cells share once loaded."""

    settings: Settings
    dataset: Optional[Path]
    limit: Optional[int]
    calibration: Optional[Path]
    crop_rule: str
    time_s: float
    rounds: int
    command: str
    min_images: MinImages = field(default_factory=lambda: MinImages(count=1))  # the evidence rule's minimum
    skip_bad: bool = False  # --skip-bad-images: undecodable images are skipped and counted
    annotations: Optional[Path] = None  # --annotations for --dataset (else found beside it)
    allow_overlap: bool = False  # --allow-overlap: INT8 evaluated on images that calibrated it
    calibration_overlap: dict[tuple[str, str], int] = field(default_factory=dict)  # (model, precision) -> images
    log: Log = _quiet
    loaded_set: Any = None  # inputs.dataset.ImageSet, loaded on first use
    decoded: Any = None  # inputs.images.DecodedCache, made on first use
    ov_core: Any = None  # openvino.Core, made on first use (see `core`)
    # (IR sha256, device, inference precision, batch) -> accuracy block: the hint does not change predictions
    accuracy_cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    label_spaces: dict[str, Any] = field(default_factory=dict)  # model -> inputs.labels.LabelSpace
    e2e: Any = None  # bench.e2e.E2EOptions of the spec key `e2e: DIR`: each cell also timed end to end
    scenarios: Optional[ScenarioPlan] = None  # the spec key `scenarios:`: LoadGen runs per cell

    def __post_init__(self) -> None:
        # The spec holds --min-images as written (None, 200 or "50%"); None is the sweep's default, any one image.
        given: Any = self.min_images
        if given is None:
            self.min_images = MinImages(count=1)
        elif not isinstance(given, MinImages):
            self.min_images = MinImages.parse(str(given))

    def core(self) -> Any:
        """The sweep's one OpenVINO Core: every compile of the sweep shares its loaded plugins, as a
        bench session does (a Core per measurement loaded and unloaded the device plugins each time)."""
        from omz_mobilenet.runtime import new_core

        if self.ov_core is None:
            self.ov_core = new_core()
        return self.ov_core

    def image_set(self) -> Any:
        from omz_mobilenet.inputs.dataset import load_image_set

        if self.dataset is None:
            return None
        if self.loaded_set is None:
            self.loaded_set = load_image_set(self.dataset, self.annotations, self.skip_bad, self.limit)
        return self.loaded_set

    def label_space(self, entry: Any) -> Any:
        """The model's label space for the image set (inputs/labels.space_for), once per model: what a
        cell's accuracy Options carry as `labels` (with the sweep's settings, not the environment's)."""
        from omz_mobilenet.inputs.labels import space_for

        image_set = self.image_set()
        if entry.name not in self.label_spaces:
            self.label_spaces[entry.name] = space_for(entry, [image_set] if image_set else [], self.settings)
        return self.label_spaces[entry.name]

    def dataset_fingerprint(self) -> str:
        image_set = self.image_set()
        if image_set is None:
            return "no-dataset"
        text = f"{image_set.list_sha256}|{self.crop_rule}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def cell_key(cell: Cell, ir_sha256: str, ctx: SweepContext, machine: str) -> CellKey:
    return CellKey(
        model=cell.model,
        precision=cell.precision,
        device=cell.device,
        config=cell.config.key(),
        ir_sha256=ir_sha256,
        dataset_fingerprint=ctx.dataset_fingerprint(),
        machine=machine,
    )
