"""How the report and `pick` name cells, configurations and machines.

A chart labels its points only by what varies among them: when every cell was measured in the one
configuration `b1 latency f32`, the chart says so once instead of on every point.
"""

from __future__ import annotations

import json
from typing import Any

from omz_mobilenet.results.db import Record
from omz_mobilenet.results.fields import cell_id
from omz_mobilenet.results.grouping import environments
from omz_mobilenet.results.record import config_label as stored_config_label


def _config(record: Record) -> dict[str, Any]:
    return dict(record.get("config") or json.loads(record["key"]["config"]))


def config_parts(record: Record) -> dict[str, str]:
    """The configuration as named parts, e.g. {"batch": "b1", "hint": "latency", "infer_precision": "f32"},
    each worded by `record.config_label`, the one definition of how a configuration is named."""
    config = _config(record)
    parts = {}
    for key in sorted(config, key=lambda k: (k != "batch", k)):
        if key == "max_latency_ms":
            continue
        single = {key: config[key], **({"max_latency_ms": config.get("max_latency_ms")} if key == "tune" else {})}
        word = stored_config_label(single)
        if word != "default":
            parts[key] = word
    return parts


def config_label(record: Record) -> str:
    """A short label of the bench configuration, e.g. `b1 latency f32`."""
    return stored_config_label(_config(record))


def short_model(name: str) -> str:
    """`mobilenet-v2-1.0-224` -> `v2-1.0-224`, for chart labels."""
    return name[len("mobilenet-") :] if name.startswith("mobilenet-") else name


def precision_name(record: Record) -> str:
    """The cell's precision by today's names (precision.py's vocabulary, which results may not import):
    cells stored before INT8 had one meaning say `INT8-RQ` for an INT8 source's requantized IR, now
    `INT8`. A record with bench facts (`ir_precision`, `source_precision`: bench's own records) also
    names an INT8 source's FP32 folder `INT8-ASIS`; an old sweep cell of that IR keeps its stored name
    (`FP32` or `INT8`), as its block does not record the folder."""
    stored = str(record["precision"])
    bench = record.get("bench") or {}
    if stored == "INT8-RQ" or bench.get("ir_precision") == "INT8-RQ":
        return "INT8"
    if bench.get("source_precision") == "INT8" and bench.get("ir_precision") == "FP32":
        return "INT8-ASIS"
    return stored


def cell_label(record: Record, config: bool = False, short: bool = False) -> str:
    model = short_model(str(record["model"])) if short else record["model"]
    label = f"{model} {precision_name(record)}"
    return f"{label} {config_label(record)}" if config else label


def _parts(record: Record) -> dict[str, str]:
    return {"model": short_model(str(record["model"])), "precision": precision_name(record), **config_parts(record)}


def varying_labels(records: list[Record]) -> dict[str, str]:
    """Each cell's label made of only the parts that differ among `records` ('' when none differ)."""
    parts = [_parts(r) for r in records]
    names = list(dict.fromkeys(k for p in parts for k in p))
    varying = [k for k in names if len({p.get(k, "") for p in parts}) > 1]
    return {cell_id(r): " ".join(p[k] for k in varying if k in p) for r, p in zip(records, parts, strict=True)}


def common_label(records: list[Record]) -> str:
    """The configuration parts every cell shares, e.g. `b1 latency f32` ('' when none is shared)."""
    parts = [config_parts(r) for r in records]
    if not parts:
        return ""
    return " ".join(v for k, v in parts[0].items() if all(p.get(k) == v for p in parts[1:]))


def machine_label(environment: dict[str, Any]) -> str:
    """Hostname, CPU, ISA and Ray node of a machine, for section titles."""
    if not environment:
        return "unknown machine"
    isa = "/".join(environment.get("isa") or []) or "no AVX2"
    label = (
        f"{environment.get('hostname', '?')} ({environment.get('cpu_model', '?')}, "
        f"{environment.get('cores', '?')} cores, {isa})"
    )
    node = environment.get("node_id")
    return f"{label}, Ray node {str(node)[:12]}" if node else label


def host_names(records: list[Record]) -> dict[str, str]:
    """A short, unique display name per machine: its hostname, plus the machine hash when hostnames repeat."""
    envs = environments(records)
    names = {m: str(env.get("hostname") or m) for m, env in envs.items()}
    repeated = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {m: f"{n} ({m[:8]})" if n in repeated else n for m, n in names.items()}
