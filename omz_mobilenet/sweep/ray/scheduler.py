"""The sweep driver on a Ray cluster: it starts one station per node, gives each free node a block of
cells (its fair share of the cells it can take; pinned cells first), lets the node convert the IRs
they need and measure them in alternating rounds, and stores each record the moment it arrives: the
driver is the single writer of the results database.

A cell's database key names the node that measured it (`machine` is the machine key of the node's
stamp, which carries its Ray node id), so the report has one section per node. Ray node ids change
when a cluster restarts, so a stored cell is skipped when it was measured on the same host kind
(hostname, CPU, cores, ISA, OpenVINO) as a node that could run it: a re-run on a restarted cluster
resumes instead of measuring everything again. A node that dies loses its block: each of its cells is
tried on at most `retries` other nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from omz_mobilenet.results.record import FAILED, UNAVAILABLE, CellKey, CellRecord
from omz_mobilenet.sweep.context import SweepContext, cell_key
from omz_mobilenet.sweep.measure import new_record
from omz_mobilenet.sweep.outcome import SweepOutcome
from omz_mobilenet.sweep.plan import Cell, Group
from omz_mobilenet.sweep.ray.cluster import check_pins, connect, first_line
from omz_mobilenet.sweep.ray.nodes import Node, start_stations

DEFAULT_RETRIES = 2  # a cell whose node dies is tried on at most this many other nodes
NOT_MADE = "none"  # the ir_sha256 of a cell whose IR could not be made


@dataclass(frozen=True)
class ClusterOptions:
    address: str  # HOST:PORT of a Ray head, `auto`, or `local`
    pins: dict[str, str] = field(default_factory=dict)  # model or device -> node label
    retries: int = DEFAULT_RETRIES


@dataclass
class Job:
    group: Group
    cell: Cell
    deaths: int = 0  # nodes that died while holding this cell
    lost_on: list[Node] = field(default_factory=list)

    @property
    def group_key(self) -> tuple[str, str]:
        return self.group.entry.name, self.group.precision


class RaySweep:
    def __init__(
        self, ctx: SweepContext, db: Any, force: bool, on_cell: Callable[[CellRecord], None], cluster: ClusterOptions
    ) -> None:
        self.ctx, self.db, self.force, self.on_cell, self.cluster = ctx, db, force, on_cell, cluster
        self.pins = dict(cluster.pins)
        self.outcome = SweepOutcome()
        self.nodes: list[Node] = []
        self.queue: list[Job] = []
        self.failed_groups: set[tuple[str, str]] = set()
        self.done = self._stored_ok()

    # -- what is stored already

    def _stored_ok(self) -> dict[tuple[str, ...], set[str]]:
        """Key without machine -> host identities that measured it ok (see the module docstring)."""
        from omz_mobilenet.sweep.local import is_done
        from omz_mobilenet.sweep.ray.station import host_identity

        out: dict[tuple[str, ...], set[str]] = {}
        for record in self.db.cells(status="ok"):
            if not is_done(record, self.ctx):
                continue
            identity = host_identity(record.get("environment") or {})
            out.setdefault(CellKey.from_dict(record["key"]).as_tuple()[:-1], set()).add(identity)
        return out

    def _is_stored(self, key: CellKey, job: Job) -> bool:
        if self.force:
            return False
        hosts = self.done.get(key.as_tuple()[:-1], set())
        return any(n.info["host"] in hosts for n in self.nodes if self._fits(n, job.cell))

    # -- nodes

    def _fits(self, node: Node, cell: Cell) -> bool:
        """The node has the cell's device and every label the spec pins the cell's model or device to."""
        if not node.info or node.info["problems"].get(cell.device) is not None:
            return False
        return all(self.pins[k] in node.labels for k in (cell.model, cell.device) if k in self.pins)

    def _unavailable_reason(self, cell: Cell) -> str:
        started = [n for n in self.nodes if n.info]
        pinned = [f"{k} -> {self.pins[k]}" for k in (cell.model, cell.device) if k in self.pins]
        if not any(n.info["problems"].get(cell.device) is None for n in started):
            problems = {n.info["problems"][cell.device] for n in started if n.info["problems"].get(cell.device)}
            return f"no node of the cluster has {cell.device}" + (
                f" ({'; '.join(sorted(problems))})" if problems else ""
            )
        return f"no node with {cell.device} carries the pinned label ({', '.join(pinned)})"

    # -- the run

    def run(self, groups: list[Group]) -> SweepOutcome:
        check_pins(self.pins, groups)
        ray = connect(self.cluster.address)
        finished = False
        try:
            devices = list(dict.fromkeys(c.device for g in groups for c in g.cells))
            self.nodes = start_stations(ray, self.ctx, self.cluster.address, devices)
            self._plan(groups)
            self._loop(ray)
            finished = True
        finally:
            self._stop(ray, finished)
        return self.outcome

    def _plan(self, groups: list[Group]) -> None:
        for group in groups:
            for cell in group.cells:
                if any(n.alive and self._fits(n, cell) for n in self.nodes):
                    self.queue.append(Job(group, cell))
                else:
                    key = cell_key(cell, "", self.ctx, "")
                    self._store(new_record(cell, key, self.ctx, UNAVAILABLE, self._unavailable_reason(cell)))

    def _loop(self, ray: Any) -> None:
        inflight: dict[Any, tuple[str, Node, Optional[tuple[str, str]]]] = {}
        while True:
            for node in self.nodes:
                if node.alive and not node.busy:
                    self._dispatch(node, inflight)
            if not inflight:
                break
            ready, _ = ray.wait(list(inflight), num_returns=1)
            kind, node, group_key = inflight.pop(ready[0])
            node.busy = False
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayActorError as exc:
                self._node_lost(ray, node, exc)
                continue
            except ray.exceptions.RayTaskError as exc:  # a bug or library failure on the node: this block only
                for job in node.block:
                    self._store(self._failed(job, node, f"{node.name}: {first_line(exc)}"))
                node.block = []
                continue
            if group_key is not None:  # a prepare
                self._prepared(node, group_key, result)
            else:
                for record in result:
                    self._store(record)
                node.block = []
        for job in self.queue:  # every node that could take these died
            self._store(self._failed(job, job.lost_on[-1] if job.lost_on else None, self._orphan_reason(job)))
        self.queue.clear()

    def _take_block(self, node: Node) -> list[Job]:
        """The node's fair share of the queued cells it can take: cells only few nodes can take first
        (pinned ones), then cells whose IR the node has; as many as the queue divided among the free
        nodes that could take them."""
        fits = [j for j in self.queue if self._fits(node, j.cell) and node not in j.lost_on]
        if not fits:
            return []
        free = [n for n in self.nodes if n.alive and not n.block and any(self._fits(n, j.cell) for j in fits)]
        share = math.ceil(len(fits) / max(1, len(free)))
        fits.sort(
            key=lambda j: (sum(n.alive and self._fits(n, j.cell) for n in self.nodes), j.group_key not in node.irs)
        )
        block = fits[:share]
        self.queue = [j for j in self.queue if j not in block]
        return block

    def _dispatch(self, node: Node, inflight: dict[Any, Any]) -> None:
        """Give the node its next step: convert an IR its block needs, or measure the block."""
        while True:
            if not node.block:
                node.block = self._take_block(node)
                if not node.block:
                    return
            node.block = [j for j in node.block if j.group_key not in self.failed_groups]
            missing = next((j for j in node.block if j.group_key not in node.irs), None)
            if missing is not None:
                inflight[node.actor.prepare.remote(missing.group)] = ("prepare", node, missing.group_key)
                node.busy = True
                return
            jobs = self._unstored(node)
            if jobs:
                inflight[node.actor.measure.remote(jobs)] = ("measure", node, None)
                node.busy = True
                return
            node.block = []  # every cell of it was stored already: take the next block

    def _unstored(self, node: Node) -> list[tuple[Group, Cell, CellKey]]:
        """The block's cells with their keys on this node, without those stored already."""
        out, kept = [], []
        for job in node.block:
            key = cell_key(job.cell, node.irs[job.group_key], self.ctx, node.info["machine"])
            if self._is_stored(key, job):
                self.outcome.skipped += 1
                continue
            out.append((job.group, job.cell, key))
            kept.append(job)
        node.block = kept
        return out

    def _prepared(self, node: Node, group_key: tuple[str, str], result: dict[str, Any]) -> None:
        if "error" not in result:
            node.irs[group_key] = result["sha"]
            return
        if group_key in self.failed_groups:
            return
        name, precision = group_key
        self.failed_groups.add(group_key)
        self.outcome.failed_groups.append(f"{name} {precision}: {result['error']}")
        self.ctx.log(f"[red]{name} {precision}: {result['error']}[/]")
        dropped = [j for j in self.queue + [j for n in self.nodes for j in n.block] if j.group_key == group_key]
        self.queue = [j for j in self.queue if j.group_key != group_key]
        for other in self.nodes:
            other.block = [j for j in other.block if j.group_key != group_key]
        for lost in dropped:
            key = cell_key(lost.cell, NOT_MADE, self.ctx, node.info["machine"])
            self._store(new_record(lost.cell, key, self.ctx, UNAVAILABLE, f"IR not made: {result['error']}"))

    def _node_lost(self, ray: Any, node: Node, exc: Exception) -> None:
        """The node (or its station) died holding a block: retry its cells elsewhere, bounded."""
        node.alive = False
        ray.kill(node.actor)  # an unreachable but living station must not measure alongside the retry
        block, node.block = node.block, []
        labels = ", ".join(j.cell.label for j in block)
        self.ctx.log(f"[yellow]{node.name} lost while working on {labels}: {first_line(exc)}[/]")
        for job in reversed(block):
            job.deaths += 1
            job.lost_on.append(node)
            if job.deaths > self.cluster.retries:
                self._store(self._failed(job, node, f"{job.deaths} nodes died while measuring it (last {node.name})"))
            else:
                self.queue.insert(0, job)

    def _orphan_reason(self, job: Job) -> str:
        lost = ", ".join(n.name for n in job.lost_on) or ", ".join(n.name for n in self.nodes if not n.alive)
        return f"no live node can measure it: {lost} died" if lost else "no live node can measure it"

    def _failed(self, job: Job, node: Optional[Node], reason: str) -> CellRecord:
        node = node or next((n for n in self.nodes if n.info and self._fits(n, job.cell)), None)
        sha = node.irs.get(job.group_key, "unknown") if node else "unknown"
        key = cell_key(job.cell, sha, self.ctx, node.info["machine"] if node else "")
        record = new_record(job.cell, key, self.ctx, FAILED, reason)
        if node is not None:
            record.environment = node.info["environment"]
        return record

    def _store(self, record: CellRecord) -> None:
        # The driver is the only writer; a cell not ok replaces an older one of its key (as LocalSweep does).
        self.db.put(record, force=True)
        (self.outcome.unavailable if record.status == UNAVAILABLE else self.outcome.stored).append(record)
        self.on_cell(record)

    def _stop(self, ray: Any, finished: bool) -> None:
        """Remove the stations' temporary roots after a complete run, then leave (or stop) Ray."""
        try:
            live = [n for n in self.nodes if n.alive]
            if finished and live:
                ray.wait([n.actor.close.remote() for n in live], num_returns=len(live), timeout=30)
            for node in live:
                ray.kill(node.actor)
        finally:
            ray.shutdown()
