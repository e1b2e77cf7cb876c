"""One JSON shape for every command: {"schema_version", "command", "environment", "records", ...}.

Records are the typed results' dicts; `environment` says which machine and versions made them
(omz_mobilenet.environment). Extra top-level keys (e.g. "profile", "interrupted") may follow.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

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


def check_writable(*paths: Optional[str | os.PathLike[str]]) -> None:
    """Fail before any work when an output file could not be written later (-o, --json, --csv)."""
    from omz_mobilenet.output.files import check_output_file

    for path in paths:
        if path:
            check_output_file(path)
