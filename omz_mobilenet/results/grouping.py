"""Cells grouped the way the report and `pick` compare them: by (device, machine) and by model family."""

from __future__ import annotations

import re
from typing import Any

from omz_mobilenet.results.db import Record
from omz_mobilenet.results.fields import machine_of


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


def family(model: str) -> str:
    """`mobilenet-v2-1.4-224` -> `mobilenet-v2`: the name up to its version; other names whole."""
    match = re.match(r"^(.*?-v\d+)(?:-|$)", model)
    return match.group(1) if match else model


def families(records: list[Record]) -> dict[str, list[Record]]:
    """Records by model family, in first-seen order."""
    out: dict[str, list[Record]] = {}
    for record in records:
        out.setdefault(family(str(record["model"])), []).append(record)
    return out
