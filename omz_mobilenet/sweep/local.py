"""The sweep driver on this machine: make every group's IR once, skip the cells stored ok already,
store unavailable cells with their reason, then measure each device's cells in alternating rounds
(`rounds.py`) and store each cell the moment its data is final (so Ctrl-C or SIGKILL loses at most
the block in progress; the next run measures only what is not stored ok)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.record import OK, UNAVAILABLE, CellKey, CellRecord
from omz_mobilenet.sweep.context import SweepContext, cell_key
from omz_mobilenet.sweep.measure import ensure_group_ir, new_record
from omz_mobilenet.sweep.outcome import SweepOutcome
from omz_mobilenet.sweep.plan import Cell, Group
from omz_mobilenet.sweep.rounds import Member, measure_device, measurements

NOT_MADE = "none"  # the ir_sha256 of a cell whose IR could not be made


def available_devices(core: Any) -> list[str]:
    from omz_mobilenet.runtime import device_names

    return device_names(core)


def device_problem(device: str, devices: list[str], core: Any) -> Optional[str]:
    from omz_mobilenet.runtime import check_device

    base = device.split(":", 1)[0].split(".", 1)[0]
    if base in devices:
        return None
    try:
        check_device(core, device)
    except ToolError as exc:
        return exc.message
    return None


def unavailable_record(cell: Cell, key: CellKey, reason: str, ctx: SweepContext) -> CellRecord:
    return new_record(cell, key, ctx, UNAVAILABLE, reason)


def is_done(record: dict[str, Any], ctx: SweepContext) -> bool:
    """A stored cell a re-run skips: ok, with evidence enough under this run's --min-images."""
    from omz_mobilenet.accuracy.evidence import shortfall

    if record.get("status") != OK:
        return False
    if ctx.scenarios is not None and not ctx.scenarios.stored_in(record):  # the spec now asks for LoadGen runs
        return False
    accuracy = record.get("accuracy")
    if not accuracy or ctx.min_images is None:
        return True
    evaluated, skipped = int(accuracy["images"]), int(accuracy.get("skipped", 0))
    return shortfall(evaluated, skipped, int(accuracy.get("set_size", evaluated)), ctx.min_images) is None


def stored_done(db: Any, ctx: SweepContext) -> set[tuple[str, ...]]:
    """Keys of the stored cells a re-run skips (see `is_done`)."""
    return {CellKey.from_dict(r["key"]).as_tuple() for r in db.cells(status=OK) if is_done(r, ctx)}


class LocalSweep:
    def __init__(self, ctx: SweepContext, db: Any, force: bool, on_cell: Callable[[CellRecord], None]) -> None:
        from omz_mobilenet.environment import machine_key

        self.ctx, self.db, self.force, self.on_cell = ctx, db, force, on_cell
        self.machine = machine_key()
        self.devices = available_devices(ctx.core())
        self.done = stored_done(db, ctx)
        self.outcome = SweepOutcome()

    def _store(self, record: CellRecord) -> None:
        # A failed, incomplete or unavailable cell replaces an older one of its key; an ok one is new
        # unless --force (ok cells were skipped before measuring).
        self.db.put(record, force=True)
        (self.outcome.unavailable if record.status == UNAVAILABLE else self.outcome.stored).append(record)
        self.on_cell(record)

    def _group_ir(self, group: Group) -> Optional[Path]:
        """The group's IR, or None after storing its cells as unavailable (the IR could not be made)."""
        try:
            return ensure_group_ir(group, self.ctx)
        except ToolError as exc:
            self.outcome.failed_groups.append(f"{group.entry.name} {group.precision}: {exc.message}")
            self.ctx.log(f"[red]{group.entry.name} {group.precision}: {exc.message}[/]")
            for cell in group.cells:
                key = cell_key(cell, NOT_MADE, self.ctx, self.machine)
                self._store(unavailable_record(cell, key, f"IR not made: {exc.message}", self.ctx))
            return None

    def _pending(self, group: Group, xml: Path) -> list[tuple[ModelEntry, Path, Member]]:
        """The group's cells to measure; stored ok ones are skipped, absent devices stored unavailable."""
        from omz_mobilenet.convert.ir_store import ir_sha256

        sha, out = ir_sha256(xml), []
        for cell in group.cells:
            key = cell_key(cell, sha, self.ctx, self.machine)
            if not self.force and key.as_tuple() in self.done:
                self.outcome.skipped += 1
                continue
            problem = device_problem(cell.device, self.devices, self.ctx.core())
            if problem is not None:
                self._store(unavailable_record(cell, key, problem, self.ctx))
                continue
            out.append((group.entry, xml, Member(cell, key)))
        return out

    def run(self, groups: list[Group]) -> SweepOutcome:
        by_device: dict[str, list[tuple[ModelEntry, Path, Member]]] = {}
        for group in groups:
            xml = self._group_ir(group)
            for item in self._pending(group, xml) if xml is not None else []:
                by_device.setdefault(item[2].cell.device, []).append(item)
        for items in by_device.values():
            # closing: on Ctrl-C the block's OpenVINO objects are released here, not at interpreter exit
            with closing(measure_device(measurements(items), self.ctx)) as records:
                for record in records:
                    self._store(record)
        return self.outcome
