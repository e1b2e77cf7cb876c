"""The sweep spec (SPEC.yml): the same choices as the command-line flags, for CI and for repeating
a run. Flags override the file. Unknown keys and unknown models or precisions are one-line errors
naming the spec's file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omz_mobilenet.errors import ToolError

DEFAULT_DB = "results/results.db"


class BenchConfig(BaseModel):
    """One bench configuration of a cell: what the compiled model is asked to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hint: Literal["latency", "throughput", "none"] = "latency"
    batch: int = Field(default=1, ge=1, le=64)
    infer_precision: Literal["f32", "bf16", "f16", "default"] = "f32"
    nireq: Optional[int] = Field(default=None, ge=1)
    nstreams: Optional[int] = Field(default=None, ge=1)
    tune: bool = False  # search hint/streams/requests/batch/precision (bench --tune) instead of fixing them
    max_latency_ms: Optional[float] = Field(default=None, gt=0, description="--tune's latency limit")

    def key(self) -> str:
        """Canonical JSON: the configuration part of a cell's database key."""
        import json

        return json.dumps(self.model_dump(exclude_none=True), sort_keys=True, separators=(",", ":"))


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str] = Field(default_factory=list)
    available: bool = False
    precision: list[str] = Field(default_factory=lambda: ["FP32"])
    device: list[str] = Field(default_factory=lambda: ["CPU"])
    bench: list[BenchConfig] = Field(default_factory=lambda: [BenchConfig()])
    dataset: Optional[str] = None
    limit: Optional[int] = Field(default=None, ge=1)
    calibration: Optional[str] = None
    crop_rule: Literal["tf", "accuracy-checker"] = "tf"
    time: float = Field(default=3.0, gt=0, description="bench seconds per cell, over all its rounds")
    rounds: int = Field(default=3, ge=1)
    db: str = DEFAULT_DB
    allow_missing: bool = False
    pin: dict[str, str] = Field(default_factory=dict, description="device or model -> Ray node label (Ray only)")


def _line_of(text: str, key: str, index: Optional[int] = None) -> Optional[int]:
    """1-based line of top-level `key` (or of its index-th list item) in the spec's YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for k, v in root.value:
        if k.value == key:
            if index is not None and isinstance(v, yaml.SequenceNode) and index < len(v.value):
                return v.value[index].start_mark.line + 1
            return k.start_mark.line + 1
    return None


class SpecFile:
    """A loaded spec with its text, so later checks (unknown model, precision) can name a line."""

    def __init__(self, path: Optional[Path], text: str, spec: SweepSpec) -> None:
        self.path, self.text, self.spec = path, text, spec

    def where(self, key: str, index: Optional[int] = None) -> str:
        if self.path is None:
            return f"--{key.replace('_', '-')}"
        line = _line_of(self.text, key, index)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, key: str, message: str, index: Optional[int] = None) -> ToolError:
        return ToolError(f"{self.where(key, index)}: {message}", 2)


def load_spec(path: Optional[Path]) -> SpecFile:
    if path is None:
        return SpecFile(None, "", SweepSpec())
    try:
        text = Path(path).read_text(encoding="utf-8")
        raw = yaml.safe_load(text) or {}
    except OSError as exc:
        raise ToolError(f"cannot read sweep spec {path}: {exc.strerror}", 2) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ToolError(f"{path}:{mark.line + 1 if mark else '?'}: YAML syntax error in the sweep spec", 2) from None
    if not isinstance(raw, dict):
        raise ToolError(f"{path}: a sweep spec is a mapping (models:, precision:, device:, bench:, ...)", 2)
    try:
        return SpecFile(Path(path), text, SweepSpec.model_validate(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        index = int(loc[1]) if len(loc) > 1 and loc[1].isdigit() else None
        line = _line_of(text, loc[0], index) if loc else None
        where = f"{path}:{line}" if line else str(path)
        raise ToolError(f"{where}: {'.'.join(loc)}: {error['msg']}", 2) from None
