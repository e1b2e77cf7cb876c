"""One JSON shape for every command: {"schema_version", "command", "environment", "records", ...}.

Records are the typed results' dicts; `environment` says which machine and versions made them
(omz_mobilenet.environment). Extra top-level keys (e.g. "profile", "interrupted") may follow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.errors import ToolError

SCHEMA_VERSION = 1


def envelope(command: str, records: list, **extra: Any) -> dict:
    from omz_mobilenet.environment import environment

    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "environment": environment(),
        "records": records,
        **extra,
    }


def dumps(command: str, records: list, **extra: Any) -> str:
    return json.dumps(envelope(command, records, **extra), indent=2, default=str)


def check_writable(*paths: Optional[str]) -> None:
    """Fail before any work when an output file could not be written later (-o, --json, --csv)."""
    for text in paths:
        if not text:
            continue
        path = Path(text)
        if path.is_dir():
            raise ToolError(f"output path {path} is a directory; name a file", 2)
        parent = path.parent if str(path.parent) else Path(".")
        existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
        if not existing.is_dir():
            raise ToolError(f"cannot write {path}: {existing} is not a directory; choose another path", 2)
        if not os.access(existing, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise ToolError(f"cannot write {path}: permission denied; choose a writable path", 2)
