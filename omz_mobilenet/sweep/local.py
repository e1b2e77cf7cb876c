"""The sweep driver on this machine: plan the cells, skip the ones stored already, measure the
rest group by group and store each cell the moment it finishes (so Ctrl-C or SIGKILL loses at
most the cell in progress; the next run redoes only that one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.sweep.cell import SweepContext, cell_key, ensure_group_ir, measure_group, unavailable_record
from omz_mobilenet.sweep.plan import Cell, Group

Record = dict[str, Any]


@dataclass
class SweepOutcome:
    stored: list[Record] = field(default_factory=list)  # measured in this run (ok or failed)
    skipped: int = 0  # already in the database with the same key
    unavailable: list[Record] = field(default_factory=list)
    failed_groups: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.stored if r["status"] == "failed"]


def available_devices() -> list[str]:
    from omz_mobilenet.runtime import device_names, new_core

    return device_names(new_core())


def device_problem(device: str, devices: list[str]) -> Optional[str]:
    from omz_mobilenet.runtime import check_device, new_core

    base = device.split(":", 1)[0].split(".", 1)[0]
    if base in devices:
        return None
    try:
        check_device(new_core(), device)
    except ToolError as exc:
        return exc.message
    return None


def stored_statuses(db) -> dict[tuple, str]:
    from omz_mobilenet.results.db import key_tuple

    return {key_tuple(r["key"]): r["status"] for r in db.cells()}


class LocalSweep:
    def __init__(self, ctx: SweepContext, db, force: bool, on_cell: Callable[[Record], None]) -> None:
        from omz_mobilenet.environment import machine_key

        self.ctx, self.db, self.force, self.on_cell = ctx, db, force, on_cell
        self.machine = machine_key()
        self.devices = available_devices()
        self.done = stored_statuses(db)
        self.outcome = SweepOutcome()

    def _pending(self, group: Group, ir_digest: str) -> tuple[list[Cell], list[dict]]:
        from omz_mobilenet.results.db import key_tuple

        cells, keys = [], []
        for cell in group.cells:
            key = cell_key(cell, ir_digest, self.ctx, self.machine)
            if not self.force and self.done.get(key_tuple(key)) == "ok":
                self.outcome.skipped += 1
                continue
            problem = device_problem(cell.device, self.devices)
            if problem is not None:
                self.outcome.unavailable.append(unavailable_record(cell, key, problem, self.ctx))
                continue
            cells.append(cell)
            keys.append(key)
        return cells, keys

    def run_group(self, group: Group) -> None:
        from omz_mobilenet.convert.ir_store import ir_sha256

        try:
            xml = ensure_group_ir(group, self.ctx)
        except ToolError as exc:
            self.outcome.failed_groups.append(f"{group.entry.name} {group.precision}: {exc.message}")
            self.ctx.log(f"[red]{group.entry.name} {group.precision}: {exc.message}[/]")
            return
        cells, keys = self._pending(group, ir_sha256(xml))
        for record in measure_group(group, cells, keys, xml, self.ctx):
            # A failed cell replaces an older failed one; an ok one is new unless --force.
            self.db.put(record, force=True)
            self.outcome.stored.append(record)
            self.on_cell(record)

    def run(self, groups: list[Group]) -> SweepOutcome:
        for group in groups:
            self.run_group(group)
        return self.outcome
