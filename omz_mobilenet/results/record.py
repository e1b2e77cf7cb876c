"""The stored sweep cell: one typed record with its key defined once.

`CellKey` names a cell (the database's unique key: `KEY_FIELDS` is derived from it) and
`CellRecord` is what the sweep stores under it. The stored form is the JSON of `as_dict()`; it is
read back with `CellRecord.from_dict`. Keys this version does not know are kept (`extra`) so a
record written by a newer tool survives a read and write by this one. The report, `pick` and
`results` read the same JSON as plain dicts (their helpers in `cells.py`).

Stored keys, besides the key: model, precision, device, config (the bench configuration as a
mapping), status, reason, environment (the machine stamp), command, started_at, finished_at,
ir_size_mb, gflops, mparams, compiled_precision, accuracy, bench, tuned, and

- `rounds`: one entry per bench round of the cell's measurement, in time order:
  `{"round", "position", "of", "started_at", "finished_at", "median_ms"}`; `position` is where the
  measurement ran in that round among the `of` measurements of its device that alternated with it.
- `shared_measurement`: the `model precision` labels of every cell measured by the same run (the
  same IR, device and configuration), this one included; one entry when the run was its own.
- `skipped_images`: images of the set that could not be decoded (with --skip-bad-images).
- `e2e`: with the spec key `e2e: DIR`, the cell's end-to-end timing from those image files (bench/e2e.py's
  `stages` block: each stage's and the total's median/p90/p95/p99 in ms, images/s); None without it.
- `scenarios`: with the spec key `scenarios:`, one block per MLPerf LoadGen run of the cell (`SCENARIO_KEYS`:
  scenario, result VALID/INVALID/FAILED with LoadGen's reasons, the headline figure and its unit, p50/p90/p99,
  the Server bound and QPS, the duration, whether it met MLPerf's minimums); None without it (older databases).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional

from omz_mobilenet.errors import ToolError

#: Status words of a stored cell. Only `ok` is a result; the others carry a `reason`.
OK, FAILED, INCOMPLETE, UNAVAILABLE = "ok", "failed", "incomplete", "unavailable"
STATUSES = (OK, FAILED, INCOMPLETE, UNAVAILABLE)
#: Result words of a stored LoadGen run: only VALID is a result; FAILED is a run that did not finish.
VALID, INVALID, RUN_FAILED = "VALID", "INVALID", "FAILED"
#: The keys of one stored scenario block (sweep/measure.py builds it from the bench's LoadGen record).
SCENARIO_KEYS = ("scenario", "result", "reasons", "headline", "unit", "max_latency_ms", "target_qps", "qps",
                 "p50_ms", "p90_ms", "p99_ms", "duration_s", "compliant", "note")  # fmt: skip


@dataclass(frozen=True)
class CellKey:
    """What makes two cells the same cell; a re-run skips a key stored `ok`."""

    model: str
    precision: str
    device: str
    config: str  # canonical JSON of the bench configuration
    ir_sha256: str
    dataset_fingerprint: str
    machine: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(str(getattr(self, k)) for k in KEY_FIELDS)

    @classmethod
    def from_dict(cls, key: dict[str, Any]) -> CellKey:
        """A stored key; a missing field is bad input (a database this tool did not write)."""
        missing = [k for k in KEY_FIELDS if k not in key]
        if missing:
            raise ToolError(f"cell key lacks {', '.join(missing)}", 2)
        return cls(**{k: str(key[k]) for k in KEY_FIELDS})


KEY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CellKey))


def config_key(config: dict[str, Any]) -> str:
    """Canonical JSON of a bench configuration: the `config` part of a key."""
    return json.dumps({k: v for k, v in config.items() if v is not None}, sort_keys=True, separators=(",", ":"))


def config_label(config: dict[str, Any]) -> str:
    """A bench configuration as the report names it, e.g. `b1 latency f32`."""
    parts = [f"b{config['batch']}"] if "batch" in config else []
    for key, value in sorted(config.items()):
        if key in ("batch", "max_latency_ms") or value is False or value is None:
            continue
        if key == "tune":
            limit = config.get("max_latency_ms")
            parts.append(f"tuned<={limit}ms" if limit else "tuned")
        else:
            parts.append(f"{key}={value}" if key in ("nireq", "nstreams") else str(value))
    return " ".join(parts) or "default"


@dataclass
class CellRecord:
    """One stored cell. Build it with the constructor (key, status, config, environment, command and
    times are required); `as_dict()` is the stored JSON, `from_dict()` reads it back."""

    key: CellKey
    status: str
    config: dict[str, Any]
    environment: dict[str, Any]
    command: str
    started_at: float
    finished_at: float
    reason: Optional[str] = None
    ir_size_mb: Optional[float] = None
    gflops: Optional[float] = None
    mparams: Optional[float] = None
    compiled_precision: Optional[str] = None
    accuracy: Optional[dict[str, Any]] = None
    bench: Optional[dict[str, Any]] = None
    tuned: Optional[str] = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    shared_measurement: list[str] = field(default_factory=list)
    skipped_images: int = 0
    e2e: Optional[dict[str, Any]] = None  # end-to-end stages (older databases: absent, read as None)
    scenarios: Optional[list[dict[str, Any]]] = None  # LoadGen runs (older databases: absent, read as None)
    extra: dict[str, Any] = field(default_factory=dict)  # stored keys this version does not know

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"cell status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.status != OK and not self.reason:
            raise ValueError(f"a cell with status {self.status!r} needs a reason")

    @property
    def model(self) -> str:
        return self.key.model

    @property
    def precision(self) -> str:
        return self.key.precision

    @property
    def device(self) -> str:
        return self.key.device

    @property
    def label(self) -> str:
        """`model precision device b1 latency f32`: the cell as progress lines and messages name it."""
        return f"{self.model} {self.precision} {self.device} {config_label(self.config)}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key.as_dict(), "model": self.model, "precision": self.precision}
        out["device"] = self.device
        for f in fields(self):
            if f.name not in ("key", "extra"):
                out[f.name] = getattr(self, f.name)
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellRecord:
        known = {f.name for f in fields(cls)} - {"key", "extra"}
        derived = {"key", "model", "precision", "device"}  # model, precision, device come from the key
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known and k not in derived}
        return cls(key=CellKey.from_dict(data["key"]), extra=extra, **values)
