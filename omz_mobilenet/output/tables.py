"""Results out: rich tables on the terminal, JSON and CSV files with the same records."""

from __future__ import annotations

import csv
import sys
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Optional, Sequence

from omz_mobilenet.errors import ToolError


def print_table(title: str, rows: Sequence[dict], columns: Optional[Sequence[str]] = None) -> None:
    from rich.console import Console
    from rich.table import Table

    columns = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ToolError(f"cannot write {path}: {exc.strerror}; choose a writable path", 2) from None
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, payload: object) -> None:
    _atomic_write(path, lambda fh: json.dump(payload, fh, indent=2, sort_keys=False, default=str))


def write_csv(path: Path, rows: Iterable[dict]) -> None:
    rows = list(rows)
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]

    def write(handle):
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})

    _atomic_write(path, write)
