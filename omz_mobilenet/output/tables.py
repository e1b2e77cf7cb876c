"""Results out: rich tables on the terminal, JSON and CSV files with the same records."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Optional

from omz_mobilenet.errors import ToolError

# Columns whose cells are never cut or folded: a model name is read whole or not at all.
KEEP_WHOLE = ("model", "name")
DEFAULT_WIDTH = 100  # when stdout is not a terminal and COLUMNS is not set
MAX_CELL = 28  # a long free-text cell (note, path) is cut to this many characters, with an ellipsis
_wide = False


def set_wide(wide: bool) -> None:
    """`--wide`: every column, every cell whole, however wide the table gets."""
    global _wide
    _wide = wide


def table_width() -> int:
    """The terminal's width (COLUMNS first, as shutil reads it), else DEFAULT_WIDTH."""
    return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def fit_columns(
    rows: Sequence[dict], columns: Sequence[str], width: int, wide: bool = False
) -> tuple[list[str], dict[str, int]]:
    """The columns that fit `width` (first ones first, model names always kept) and each one's
    cell width (long text cut to MAX_CELL); with `wide` all of them, whole."""
    natural = {c: max([len(c)] + [len(_cell(r.get(c))) for r in rows]) for c in columns}
    if wide:
        return list(columns), natural
    if _table_width(columns, natural) <= width:
        return list(columns), natural
    sizes = {c: w if c in KEEP_WHOLE else min(w, max(MAX_CELL, len(c))) for c, w in natural.items()}
    # Left to right, a column is shown when it still fits: the first columns matter most, and a wide
    # column that does not fit leaves room for narrower ones after it.
    kept = [c for c in columns if c in KEEP_WHOLE]
    for column in columns:
        if column not in kept and _table_width(kept + [column], sizes) <= width:
            kept.append(column)
    kept = [c for c in columns if c in kept]
    spare = width - _table_width(kept, sizes)
    for column in kept:  # room left over goes back to the cut cells, first columns first
        grow = min(spare, natural[column] - sizes[column])
        sizes[column] += grow
        spare -= grow
    return kept, sizes


def _table_width(columns: Sequence[str], sizes: dict[str, int]) -> int:
    return sum(sizes[c] for c in columns) + 3 * len(columns) + 1  # "│ a │ b │": padding and borders


def print_table(title: str, rows: Sequence[dict], columns: Optional[Sequence[str]] = None) -> None:
    from rich.console import Console
    from rich.table import Table

    columns = list(columns or (rows[0].keys() if rows else []))
    width = table_width()
    kept, sizes = fit_columns(rows, columns, width, _wide)
    hidden = [c for c in columns if c not in kept]
    caption = f"hidden: {', '.join(hidden)} (--wide shows all)" if hidden else None
    # The title is its own line, never folded (a log keeps it greppable), not squeezed into a narrow table.
    table = Table(caption=caption, show_lines=False)
    for column in kept:
        table.add_column(column, width=sizes[column], no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in kept])
    console_width = max(width, _table_width(kept, sizes)) if _wide else width
    console = Console(width=console_width, soft_wrap=False)
    console.print(title, style="italic", highlight=False, markup=False, soft_wrap=True)
    console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _atomic_write(path: Path, write) -> None:
    """`write(handle)` into a temporary file beside `path`, renamed into place when complete."""
    from omz_mobilenet.output.files import write_text

    buffer = io.StringIO(newline="")
    write(buffer)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, buffer.getvalue())
    except OSError as exc:
        raise ToolError(f"cannot write {path}: {exc.strerror}; choose a writable path", 2) from None


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
