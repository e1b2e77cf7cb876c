"""Writing one entry into a user catalogue file, keeping everything else in the file as it was.

The file is edited as text: the entry of the same name (found with the YAML composer's line marks) is
replaced in place, or the new entry is appended to `models:`. The header comment, the other entries and
their comments are kept byte for byte. The new text is validated by the loader (the same schema and
`file:line: model: field` errors as any catalogue) before it replaces the file, atomically (a temporary
file in the same folder, then os.replace): a refused entry never leaves a half-written catalogue.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from omz_mobilenet.catalogue.catalogues import load_catalogue
from omz_mobilenet.errors import ToolError

HEADER = (
    "# omz-mobilenet user catalogue (models.yml format; schema: omz_mobilenet/catalogue/schema.py).\n"
    "# Entries are written by `omz-mobilenet add FILE --name NAME --catalogue THIS_FILE`; edit them by hand\n"
    "# or replace one with `add --force`. `path:` sources are relative to this file.\n"
)


@dataclass(frozen=True)
class Placement:
    """Where the new entry's text goes: lines [start, end) of the file are replaced by it."""

    start: int
    end: int
    indent: int  # column of the `- ` of the `models:` items
    replaced: bool
    prefix: str = ""  # text before the entry: a `models:` key when the file has none (or an empty one)


def _content_end(node: yaml.Node) -> yaml.Mark:
    """Where the node's own text ends (a block collection's end mark lies after trailing comments)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return node.end_mark


def _models_node(text: str, path: Path) -> tuple[Optional[yaml.Node], Optional[yaml.Node]]:
    """(the `models` key node, its value node); (None, None) when the file has no `models:` yet."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ToolError(
            f"{path}: not valid YAML ({str(exc).splitlines()[0]}); fix it before `add` writes to it", 2
        ) from None
    if root is None:
        return None, None
    if not isinstance(root, yaml.MappingNode):
        raise ToolError(f"{path}: the catalogue must be a mapping with a `models:` list", 2)
    for key, value in root.value:
        if key.value == "models":
            return key, value
    return None, None


def place(text: str, name: str, path: Path) -> Placement:
    """Where entry `name` goes in the catalogue text: over its old lines, or after the last entry."""
    lines = text.splitlines(keepends=True)
    key, models = _models_node(text, path)
    if key is None or models is None:
        return Placement(len(lines), len(lines), 0, False, "models:\n")
    empty = isinstance(models, yaml.ScalarNode) and models.value in ("", "~", "null")
    if empty or (isinstance(models, yaml.SequenceNode) and not models.value):  # `models:`, `models: ~`, `[]`
        return Placement(key.start_mark.line, models.end_mark.line + 1, 0, False, "models:\n")
    if not isinstance(models, yaml.SequenceNode) or models.flow_style:
        raise ToolError(f"{path}:{key.start_mark.line + 1}: models: must be a block list (`- name: ...` items)", 2)
    indent = max(models.value[0].start_mark.column - 2, 0)
    for item in models.value:
        if isinstance(item, yaml.MappingNode) and any(k.value == "name" and v.value == name for k, v in item.value):
            end = _content_end(item)
            last = end.line + (1 if end.column > 0 else 0)
            return Placement(item.start_mark.line, last, indent, True)
    end = _content_end(models.value[-1])
    after = end.line + (1 if end.column > 0 else 0)
    return Placement(after, after, indent, False)


def entry_text(entry: dict[str, Any], indent: int) -> str:
    """The entry as one `models:` item: block style, with flow style for leaf lists and mappings."""
    dumped = yaml.safe_dump([entry], sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in dumped.splitlines(keepends=True))


def new_text(old: Optional[str], entry: dict[str, Any], path: Path) -> tuple[str, bool]:
    """The catalogue text with `entry` written in, and whether it replaced an entry of that name."""
    if old is None or not old.strip():
        return HEADER + "models:\n" + entry_text(entry, 0), False
    spot = place(old, str(entry["name"]), path)
    lines = old.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    body = [*lines[: spot.start], spot.prefix, entry_text(entry, spot.indent), *lines[spot.end :]]
    return "".join(body), spot.replaced


def write_entry(path: Path, entry: dict[str, Any], replace: bool = False) -> bool:
    """Write `entry` into the catalogue file at `path` (created when missing); True when it replaced an
    entry of the same name, which only `replace` allows. The result is loaded and checked first: a
    refusal leaves the file untouched. Two writers of one catalogue take turns (a lock on its folder,
    so no lock file is left beside it), so neither loses the other's entry."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    with _folder_lock(folder, path):
        try:
            old = path.read_text(encoding="utf-8") if path.exists() else None
        except (OSError, UnicodeDecodeError) as exc:
            raise ToolError(f"cannot read catalogue {path}: {exc}; name a readable catalogue file", 2) from None
        text, replaced = new_text(old, entry, path)
        if replaced and not replace:
            raise ToolError(f"model {entry['name']!r} is already in {path}; pass --force to replace it", 2)
        _replace(path, text, old is not None)
    return replaced


@contextmanager
def _folder_lock(folder: Path, path: Path) -> Iterator[None]:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        raise ToolError(
            f"cannot write catalogue {path}: {exc.strerror}; check the folder exists and is writable", 2
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _replace(path: Path, text: str, existed: bool) -> None:
    """`text` into a temporary file beside `path`, checked as a catalogue, then moved over `path`."""
    try:
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ToolError(
            f"cannot write catalogue {path}: {exc.strerror}; check the folder exists and is writable", 2
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        _check(tmp, path)
        os.chmod(tmp, (path.stat().st_mode & 0o777) if existed else (0o666 & ~_umask()))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _check(tmp: Path, path: Path) -> None:
    """Load the new text as a catalogue; its errors name the real file, not the temporary one."""
    try:
        load_catalogue(tmp)
    except ToolError as exc:
        raise ToolError(exc.message.replace(str(tmp.resolve()), str(path)).replace(str(tmp), str(path)), 2) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
