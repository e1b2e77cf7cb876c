"""`results`: the stored cells as a JSON envelope, a flat CSV, or a table for people."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any, Optional

from omz_mobilenet.results.db import SCHEMA_VERSION, Record
from omz_mobilenet.results.fields import is_ok, latency, machine_of, throughput, top1
from omz_mobilenet.results.labels import config_label


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


def _top1(r: Record) -> str:
    """Top-1 of an ok cell; an incomplete or failed cell's figure is not evidence, so it shows '-'."""
    return _num(top1(r), 2) if is_ok(r) else "-"


def _spread(r: Record) -> str:
    bench = r.get("bench") or {}
    if "spread" not in bench:
        return "-"
    return f"{100 * float(bench['spread']):.1f}%" + (" noisy" if bench.get("noisy") else "")


# (header, width, alignment, value): the figures the command exists for first, the rest under --wide.
Column = tuple[str, int, str, Callable[[Record], str]]
TABLE_COLUMNS: tuple[Column, ...] = (
    ("model", 30, "<", lambda r: str(r["model"])),
    ("precision", 9, "<", lambda r: str(r["precision"])),
    ("device", 6, "<", lambda r: str(r["device"])),
    ("status", 11, "<", lambda r: str(r["status"])),
    ("median ms", 9, ">", lambda r: _num(latency(r), 3)),
    ("FPS", 8, ">", lambda r: _num(throughput(r), 1)),
    ("Top-1 %", 7, ">", _top1),
)
WIDE_COLUMNS: tuple[Column, ...] = (
    ("config", 22, "<", config_label),
    ("p90 ms", 8, ">", lambda r: _num(latency(r, "p90"), 3)),
    ("p99 ms", 8, ">", lambda r: _num(latency(r, "p99"), 3)),
    ("spread", 12, "<", _spread),
    ("IR MB", 6, ">", lambda r: _num(r.get("ir_size_mb"), 2)),
    ("machine", 16, "<", lambda r: str((r.get("environment") or {}).get("hostname") or machine_of(r))),
    ("reason", 0, "<", lambda r: str(r.get("reason") or "")),
)


def _line(values: list[str], columns: tuple[Column, ...], wide: bool) -> str:
    # Under --wide nothing is cut: a column is as wide as its longest value.
    cells = [
        f"{v if wide or not w else v[:w]:{align}{w}}" for v, (_, w, align, _f) in zip(values, columns, strict=True)
    ]
    return " ".join(cells).rstrip()


def to_table(records: list[Record], wide: bool = False) -> str:
    """At most 100 columns: model, precision, device, status, median ms, FPS, Top-1; `wide` adds the rest."""
    columns = TABLE_COLUMNS + (WIDE_COLUMNS if wide else ())
    rows = [[c[3](r) for c in columns] for r in records]
    if wide:
        sized = [max([len(c[0])] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
        columns = tuple((c[0], w, c[2], c[3]) for c, w in zip(columns, sized, strict=True))
    lines = [_line([c[0] for c in columns], columns, wide)]
    lines += [_line(row, columns, wide) for row in rows]
    by_status = {
        s: sum(1 for r in records if r.get("status") == s) for s in dict.fromkeys(str(r.get("status")) for r in records)
    }
    counts = ", ".join(f"{n} {s}" for s, n in by_status.items())
    hint = "" if wide else "; --wide adds config, p90, p99, spread, IR size, machine, reason"
    lines.append(f"{len(records)} cells" + (f" ({counts})" if counts else "") + hint)
    return "\n".join(lines) + "\n"
