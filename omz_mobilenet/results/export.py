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
    ("model", 0, "<", lambda r: str(r["model"])),  # width 0: as wide as the longest name, never cut
    ("precision", 9, "<", lambda r: str(r["precision"])),
    ("device", 6, "<", lambda r: str(r["device"])),
    ("status", 11, "<", lambda r: str(r["status"])),
    ("median ms", 9, ">", lambda r: _num(latency(r), 3)),
    ("FPS", 8, ">", lambda r: _num(throughput(r), 1)),
    ("Top-1 %", 7, ">", _top1),
)
WIDE_COLUMNS: tuple[Column, ...] = (
    ("config", 0, "<", config_label),
    ("p90 ms", 8, ">", lambda r: _num(latency(r, "p90"), 3)),
    ("p99 ms", 8, ">", lambda r: _num(latency(r, "p99"), 3)),
    ("spread", 0, "<", _spread),
    ("IR MB", 6, ">", lambda r: _num(r.get("ir_size_mb"), 2)),
    ("machine", 0, "<", lambda r: str((r.get("environment") or {}).get("hostname") or machine_of(r))),
)
# Why a cell is not ok: always shown, cut to the table's width unless --wide.
REASON: Column = ("reason", 0, "<", lambda r: str(r.get("reason") or ""))
WIDTH = 100


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "\u2026"


def _sized(columns: tuple[Column, ...], rows: list[list[str]], wide: bool) -> list[int]:
    """Each column's width: fixed ones as given, width-0 ones to their longest value; the reason
    gets what is left of WIDTH (all it needs under --wide)."""
    natural = [max([len(c[0])] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    sizes = [n if wide or not c[1] else c[1] for c, n in zip(columns, natural, strict=True)]
    if not wide:
        sizes[-1] = max(len(REASON[0]), WIDTH - sum(sizes[:-1]) - len(sizes) + 1)
    return sizes


def _line(values: list[str], columns: tuple[Column, ...], sizes: list[int]) -> str:
    cells = [f"{_clip(v, w):{c[2]}{w}}" for v, c, w in zip(values, columns, sizes, strict=True)]
    return " ".join(cells).rstrip()


def to_table(records: list[Record], wide: bool = False) -> str:
    """Model, precision, device, status, median ms, FPS, Top-1 and the reason of a cell that is not ok,
    in 100 columns; `wide` adds config, p90, p99, spread, IR size and machine, nothing cut."""
    columns = TABLE_COLUMNS + (WIDE_COLUMNS if wide else ()) + (REASON,)
    rows = [[c[3](r) for c in columns] for r in records]
    sizes = _sized(columns, rows, wide)
    lines = [_line([c[0] for c in columns], columns, sizes)] + [_line(row, columns, sizes) for row in rows]
    statuses = dict.fromkeys(str(r.get("status")) for r in records)
    counts = ", ".join(f"{sum(1 for r in records if r.get('status') == s)} {s}" for s in statuses)
    hint = "" if wide else "; --wide adds config, p90, p99, spread, IR size, machine"
    lines.append(f"{len(records)} cells" + (f" ({counts})" if counts else "") + hint)
    return "\n".join(lines) + "\n"
