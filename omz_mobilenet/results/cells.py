"""Small read-only views of cell records shared by export, report and pick."""

from __future__ import annotations

import json
from typing import Any, Optional

from omz_mobilenet.results.db import Record, key_tuple


def cell_id(record: Record) -> str:
    """A stable identifier of a cell: its full key joined by '|'."""
    return "|".join(key_tuple(record["key"]))


def machine_of(record: Record) -> str:
    return str(record["key"]["machine"])


def config_label(record: Record) -> str:
    """A short label of the bench configuration, e.g. `b1 latency f32`."""
    config = record.get("config") or json.loads(record["key"]["config"])
    parts = []
    if "batch" in config:
        parts.append(f"b{config['batch']}")
    for key, value in sorted(config.items()):
        if key in ("batch", "max_latency_ms") or value is False:
            continue
        if key == "tune":
            limit = config.get("max_latency_ms")
            parts.append(f"tuned<={limit}ms" if limit else "tuned")
        else:
            parts.append(f"{key}={value}" if key in ("nireq", "nstreams") else str(value))
    return " ".join(parts) or "default"


def short_model(name: str) -> str:
    """`mobilenet-v2-1.0-224` -> `v2-1.0-224`, for chart labels."""
    return name[len("mobilenet-") :] if name.startswith("mobilenet-") else name


def cell_label(record: Record, config: bool = False, short: bool = False) -> str:
    model = short_model(str(record["model"])) if short else record["model"]
    label = f"{model} {record['precision']}"
    return f"{label} {config_label(record)}" if config else label


def machine_label(environment: dict[str, Any]) -> str:
    """Hostname, CPU, ISA and Ray node of a machine, for section titles."""
    if not environment:
        return "unknown machine"
    isa = "/".join(environment.get("isa") or []) or "no AVX2"
    label = f"{environment.get('hostname', '?')} ({environment.get('cpu_model', '?')}, {environment.get('cores', '?')} cores, {isa})"
    node = environment.get("node_id")
    return f"{label}, Ray node {str(node)[:12]}" if node else label


def is_measured(record: Record) -> bool:
    """An ok cell with both accuracy and speed, the kind a Pareto front or a pick can use."""
    return record.get("status") == "ok" and bool(record.get("accuracy")) and bool(record.get("bench"))


def top1(record: Record) -> Optional[float]:
    accuracy = record.get("accuracy")
    return float(accuracy["top1"]) if accuracy else None


def latency(record: Record, percentile: str = "median") -> Optional[float]:
    """Latency in ms at `median` or a percentile name such as `p90` or `p999`."""
    bench = record.get("bench")
    if not bench:
        return None
    value = bench.get(f"latency_{percentile}_ms")
    return None if value is None else float(value)


def throughput(record: Record) -> Optional[float]:
    bench = record.get("bench")
    return float(bench["throughput_fps"]) if bench else None


def groups(records: list[Record]) -> dict[tuple[str, str], list[Record]]:
    """Records by (device, machine), in first-seen order."""
    out: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        out.setdefault((str(record["device"]), machine_of(record)), []).append(record)
    return out


def environments(records: list[Record]) -> dict[str, dict[str, Any]]:
    """The environment block of each machine (the first record seen for it)."""
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        out.setdefault(machine_of(record), record.get("environment") or {})
    return out
