"""The cross-cell round logic of a sweep, used by the local driver and by each Ray station.

Cells that name the same IR (by sha256), device and bench configuration are one *measurement*:
measured once, the result stored with each of them (`shared_measurement` names them all). For
example INT8 and FP32-INT8 of a float source are the same IR.

The measurements of one device are measured together, as `bench` measures several models: each is
prepared first (compiled, its accuracy evaluated, warmed up), then all of them run `rounds`
alternating rounds, the order rotated by one each round, so drift of the machine (heat, other
load) spreads over every cell instead of showing up as a difference between cells. Each cell keeps
the per-round medians, their spread and its position in every round (`rounds`).

A cell's data is final when the last round of its block ends; the block's cells are stored then,
so a killed sweep loses at most the block in progress and a re-run measures only that. A block is
the device's measurements up to `BLOCK_BATCH` images of batch in all (each keeps compiled models and
an input pool in memory); a sweep of more than that alternates within each block.
A tuned configuration (`bench --tune`) runs its own alternating rounds over what it explores, alone.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.record import CellKey, CellRecord
from omz_mobilenet.sweep import measure
from omz_mobilenet.sweep.context import SweepContext
from omz_mobilenet.sweep.plan import Cell

BLOCK_BATCH = 64  # images of batch over a block's measurements (a batch-64 configuration is a block alone)


@dataclass(frozen=True)
class Member:
    """A cell of a measurement, with its key (which names the IR's sha256)."""

    cell: Cell
    key: CellKey


@dataclass
class Measurement:
    """One IR on one device with one bench configuration, and every cell that names it."""

    entry: ModelEntry
    xml: Path
    members: list[Member]

    @property
    def cell(self) -> Cell:
        return self.members[0].cell

    @property
    def label(self) -> str:
        return " + ".join(f"{m.cell.model} {m.cell.precision}" for m in self.members) + f" {self.cell.device}"


@dataclass
class _Running:
    """A measurement being measured: its records (one per member), bench target and rounds so far."""

    measurement: Measurement
    records: list[CellRecord]
    opts: Any = None
    prepared: Any = None
    accuracy: Optional[dict[str, Any]] = None
    runs: list[Any] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    error: Optional[str] = None


def measurements(items: list[tuple[ModelEntry, Path, Member]]) -> list[Measurement]:
    """Members grouped by what is measured (IR sha256, device, configuration), in first-seen order."""
    out: dict[tuple[str, str, str], Measurement] = {}
    for entry, xml, member in items:
        what = (member.key.ir_sha256, member.cell.device, member.key.config)
        if what in out:
            out[what].members.append(member)
        else:
            out[what] = Measurement(entry, xml, [member])
    return list(out.values())


def blocks(device_measurements: list[Measurement]) -> list[list[Measurement]]:
    """The device's measurements in blocks of at most BLOCK_BATCH images of batch (at least one each)."""
    out: list[list[Measurement]] = []
    weight = 0
    for m in device_measurements:
        if not out or weight + m.cell.config.batch > BLOCK_BATCH:
            out.append([])
            weight = 0
        out[-1].append(m)
        weight += m.cell.config.batch
    return out


def rotated(items: list[Any], round_index: int) -> list[Any]:
    """The round's order: shifted by one each round, so every item takes every position."""
    from omz_mobilenet.bench.session import rotated as bench_rotated

    return bench_rotated(items, round_index)


def measure_device(device_measurements: list[Measurement], ctx: SweepContext) -> Generator[CellRecord, None, None]:
    """Records of one device's measurements, each the moment it is final (see the module docstring)."""
    for block in blocks(device_measurements):
        yield from _measure_block(block, ctx)


def _measure_block(block: list[Measurement], ctx: SweepContext) -> Iterator[CellRecord]:
    running: list[_Running] = []
    try:
        yield from _run_block(block, running, ctx)
    finally:
        _release(running)


def _release(running: list[_Running]) -> None:
    """Free each measurement's OpenVINO objects now and in order (requests, then the compiled model,
    then the inputs they read) rather than whenever the interpreter gets to them: a block cut short
    by Ctrl-C would otherwise keep them until the process exits."""
    for run in running:
        prepared, run.prepared = run.prepared, None
        if prepared is None:
            continue
        prepared.queue.wait_all()
        prepared.queue = None
        prepared.compiled = None
        prepared.pool = []


def _run_block(block: list[Measurement], running: list[_Running], ctx: SweepContext) -> Iterator[CellRecord]:
    for m in block:
        run = _Running(m, [measure.new_record(x.cell, x.key, ctx, "ok", None) for x in m.members])
        for record in run.records:
            record.ir_size_mb = measure.ir_size_mb(m.xml)
            record.shared_measurement = [f"{x.cell.model} {x.cell.precision}" for x in m.members]
        if m.cell.config.tune:
            yield from _tuned(run, ctx)
            continue
        try:
            _prepare(run, ctx)
        except ToolError as exc:
            yield from (measure.failed(r, exc.message, m.entry) for r in run.records)
            continue
        running.append(run)
    _alternate(running, ctx)
    for run in running:
        yield from _finish(run, ctx)


def _target(m: Measurement) -> Any:
    from omz_mobilenet.bench.compiled import BenchTarget

    return BenchTarget(m.cell.model, m.cell.precision, m.xml.parent.name, m.xml, m.entry)


def _prepare(run: _Running, ctx: SweepContext) -> None:
    """Compile once, evaluate accuracy on that compiled model, then warm it up for the rounds."""
    from omz_mobilenet.bench.compiled import compile_target
    from omz_mobilenet.bench.loop import prepare_compiled

    m = run.measurement
    run.opts = measure.bench_options(m.cell.config, m.cell.device, ctx)
    compiled = compile_target(ctx.core(), _target(m), run.opts)
    run.accuracy = measure.accuracy_of(compiled.compiled, m.entry, m.members[0].key.ir_sha256, run.opts, ctx)
    run.prepared = prepare_compiled(_target(m), compiled, run.opts, ctx.log)


def _alternate(running: list[_Running], ctx: SweepContext) -> None:
    """`ctx.rounds` rounds over every prepared measurement, the order rotated each round."""
    from omz_mobilenet.bench.loop import measure as measure_round
    from omz_mobilenet.bench.options import round_options
    from omz_mobilenet.bench.stats import median

    for index in range(ctx.rounds):
        live = [r for r in running if r.error is None]
        if live:
            which = f"{len(live)} measurements" if len(live) > 1 else "1 measurement"
            ctx.log(f"round {index + 1}/{ctx.rounds} over {which} on {live[0].opts.device}")
        for position, run in enumerate(rotated(live, index)):
            started = time.time()
            try:
                result = measure_round(run.prepared, round_options(run.opts, ctx.rounds, index))
            except ToolError as exc:
                run.error = exc.message
                continue
            if result.interrupted:
                raise KeyboardInterrupt  # the block's cells are not final: none is stored
            run.runs.append(result)
            run.rounds.append(
                {
                    "round": index + 1,
                    "position": position + 1,
                    "of": len(live),
                    "started_at": started,
                    "finished_at": time.time(),
                    "median_ms": round(median(result.latencies_ms), 4) if result.latencies_ms else None,
                }
            )


def _finish(run: _Running, ctx: SweepContext) -> Iterator[CellRecord]:
    from omz_mobilenet.bench.record import make_record

    m = run.measurement
    if run.error is not None:
        yield from (measure.failed(r, run.error, m.entry) for r in run.records)
        return
    bench, _profile = make_record(run.prepared, run.runs, run.opts, len(run.runs))
    try:
        e2e = measure.e2e_of(run.prepared.target, run.opts, ctx)
    except ToolError as exc:
        yield from (measure.failed(r, f"end-to-end: {exc.message}", m.entry) for r in run.records)
        return
    scenarios = measure.scenarios_of(run.prepared.target, run.opts, ctx)  # a failed LoadGen run is stored FAILED
    for record in run.records:
        record.rounds = list(run.rounds)
        record.e2e = e2e
        record.scenarios = scenarios
        yield measure.measured(record, run.accuracy, bench.as_dict(), m.entry, ctx)


def _tuned(run: _Running, ctx: SweepContext) -> Iterator[CellRecord]:
    from omz_mobilenet.bench.compiled import compile_target

    m = run.measurement
    try:
        opts = measure.bench_options(m.cell.config, m.cell.device, ctx)
        compiled = compile_target(ctx.core(), _target(m), opts)
        accuracy = measure.accuracy_of(compiled.compiled, m.entry, m.members[0].key.ir_sha256, opts, ctx)
        del compiled
        bench, chosen = measure.tuned_bench(_target(m), opts, ctx)
        scenarios = measure.scenarios_of(_target(m), opts, ctx)
    except ToolError as exc:
        yield from (measure.failed(r, exc.message, m.entry) for r in run.records)
        return
    for record in run.records:
        record.tuned = chosen
        record.scenarios = scenarios
        yield measure.measured(record, accuracy, bench, m.entry, ctx)
