"""`results`: the stored cells as a JSON envelope, a flat CSV, or a table for people."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Optional

from omz_mobilenet.results.cells import latency, throughput, top1
from omz_mobilenet.results.db import SCHEMA_VERSION, Record


def envelope(records: list[Record], command: str = "results") -> dict[str, Any]:
    environment = records[0].get("environment") or {} if records else {}
    return {"schema_version": SCHEMA_VERSION, "command": command, "environment": environment, "records": records}


def to_json(records: list[Record]) -> str:
    return json.dumps(envelope(records), indent=2, sort_keys=False) + "\n"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """`{"accuracy": {"top1": 1}}` -> `{"accuracy_top1": 1}`; lists joined by spaces; None -> ''."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}_{k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        return {prefix: " ".join(str(v) for v in value)}
    return {prefix: "" if value is None else value}


def to_csv(records: list[Record]) -> str:
    rows = [flatten(r) for r in records]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _num(value: Optional[float], digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


TABLE_COLUMNS = (
    ("model", 32, "<"),
    ("precision", 9, "<"),
    ("device", 7, "<"),
    ("top1 %", 6, ">"),
    ("median ms", 9, ">"),
    ("p90 ms", 8, ">"),
    ("FPS", 8, ">"),
    ("status", 11, "<"),
)


def _line(values: list[str]) -> str:
    cells = [f"{v[:w]:{align}{w}}" for v, (_, w, align) in zip(values, TABLE_COLUMNS, strict=True)]
    return " ".join(cells).rstrip()


def to_table(records: list[Record]) -> str:
    """At most 100 columns: model, precision, device, top1, median ms, p90 ms, FPS, status."""
    lines = [_line([c[0] for c in TABLE_COLUMNS])]
    for r in records:
        lines.append(
            _line(
                [
                    str(r["model"]),
                    str(r["precision"]),
                    str(r["device"]),
                    _num(top1(r), 2),
                    _num(latency(r), 3),
                    _num(latency(r, "p90"), 3),
                    _num(throughput(r), 1),
                    str(r["status"]),
                ]
            )
        )
    lines.append(f"{len(records)} cells")
    return "\n".join(lines) + "\n"
