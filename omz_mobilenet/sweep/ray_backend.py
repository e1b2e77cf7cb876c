"""The sweep driver on a Ray cluster: one station (actor) per node measures one cell at a time, the
driver is the single writer of the results database and stores each record the moment it arrives.

Why a station per node rather than plain tasks: timings on a node must never overlap, and a node's
converted IRs and accuracy results are reused by its later cells. Nodes share no filesystem: each
station fetches the model through the catalogue (mirror or cache, checksums verified) into its own
temporary root and converts it itself; the IR's sha256 is computed there and goes into the key.

A cell's database key names the node that measured it (`machine` is the machine key of the node's
stamp, which carries its Ray node id), so the report has one section per node. Ray node ids change
when a cluster restarts, so a stored cell is skipped when it was measured on the same host kind
(hostname, CPU, cores, ISA, OpenVINO) as a node that could run it: a re-run on a restarted cluster
resumes instead of measuring everything again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.sweep.cell import SweepContext, cell_key, unavailable_record
from omz_mobilenet.sweep.local import SweepOutcome
from omz_mobilenet.sweep.plan import Cell, Group

Record = dict[str, Any]

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray keeps 127.0.0.1 instead of the host's address
INSTALL_HINT = "pip install 'omz-mobilenet[ray]'"
NODE_ENV = "OMZ_MOBILENET_NODE_ID"  # read by omz_mobilenet.environment for the stamp
CONNECT_TIMEOUT_S = 15.0
STATION_START_TIMEOUT_S = 180.0
DEFAULT_RETRIES = 2  # a cell whose node dies is tried on at most this many other nodes
STATION_ROOT = "omz-mobilenet-ray"


# ---------------------------------------------------------------- on the node


def _absolute(path: Optional[Path | str]) -> Optional[str]:
    return str(Path(path).expanduser().resolve()) if path else None


def context_payload(ctx: SweepContext) -> dict[str, Any]:
    """What a station needs to rebuild the sweep context on its node (plain values, no callables)."""
    from omz_mobilenet.settings import mirror_location

    settings = ctx.settings
    mirror = settings.mirror
    if mirror and mirror_location(mirror)[0] == "dir" and not mirror.startswith("file://"):
        mirror = _absolute(mirror)  # a station's working folder is not the driver's
    return {
        "mirror": mirror,
        "timeout": settings.timeout,
        "retries": settings.retries,
        "backoff": settings.backoff,
        "dataset": _absolute(ctx.dataset),
        "limit": ctx.limit,
        "calibration": _absolute(ctx.calibration),
        "crop_rule": ctx.crop_rule,
        "time_s": ctx.time_s,
        "rounds": ctx.rounds,
        "command": ctx.command,
    }


def host_identity(env: dict[str, Any]) -> str:
    """The machine key of a stamp without its Ray node id: equal for every Ray node a host ever had."""
    from omz_mobilenet.environment import machine_key

    return machine_key({**env, "node_id": None})


def station_context(payload: dict[str, Any], root: Path) -> SweepContext:
    """The sweep context on a node: the driver's choices, this node's own cache and IR folders."""
    from omz_mobilenet.settings import Settings

    settings = Settings(
        cache_dir=root / "cache",
        out_dir=root / "ir",
        mirror=payload["mirror"],
        timeout=payload["timeout"],
        retries=payload["retries"],
        progress=False,
        backoff=payload["backoff"],
    )
    return SweepContext(
        settings=settings,
        dataset=Path(payload["dataset"]) if payload["dataset"] else None,
        limit=payload["limit"],
        calibration=Path(payload["calibration"]) if payload["calibration"] else None,
        crop_rule=payload["crop_rule"],
        time_s=payload["time_s"],
        rounds=payload["rounds"],
        command=payload["command"],
    )


def convert_main(request_text: str) -> int:
    """`python -m omz_mobilenet.sweep.ray_backend REQUEST`: one group's IR, answered as one JSON line."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.sweep.cell import ensure_group_ir

    request = json.loads(request_text)
    ctx = station_context(request["payload"], Path(request["root"]))
    group = Group(load_catalogue().get(request["model"]), request["precision"], ())
    try:
        print(json.dumps({"xml": str(ensure_group_ir(group, ctx))}))
    except ToolError as exc:
        print(json.dumps({"error": exc.message}))
    return 0


def _die_with_parent() -> None:
    """In the conversion process: end with its station, so a killed node leaves no converter running."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass  # not Linux: the converter finishes on its own


class Station:
    """One per Ray node; Ray runs its methods one at a time, so its measurements never overlap."""

    def __init__(self, payload: dict[str, Any]) -> None:
        import ray

        from omz_mobilenet.environment import environment

        self.node_id = ray.get_runtime_context().get_node_id()
        os.environ[NODE_ENV] = self.node_id  # before the first stamp: it names this node
        environment.cache_clear()
        # Per node, not per host: two nodes on one host must not convert into the same folder.
        self.root = Path(tempfile.gettempdir()) / STATION_ROOT / self.node_id[:16]
        self.payload = payload
        self.ctx = station_context(payload, self.root)
        self.irs: dict[tuple[str, str], Path] = {}
        self.accuracy: dict[tuple[str, str, str], dict] = {}

    def describe(self, devices: list[str]) -> dict[str, Any]:
        """This node's stamp, its devices (from OpenVINO here) and its view of the dataset."""
        from omz_mobilenet.environment import environment, machine_key
        from omz_mobilenet.sweep.local import available_devices, device_problem

        env = environment()
        present = available_devices()
        try:
            fingerprint, error = self.ctx.dataset_fingerprint(), None
        except ToolError as exc:
            fingerprint, error = None, exc.message
        return {
            "node_id": self.node_id,
            "environment": env,
            "machine": machine_key(env),
            "host": host_identity(env),
            "devices": present,
            "problems": {d: device_problem(d, present) for d in devices},
            "fingerprint": fingerprint,
            "error": error,
        }

    def prepare(self, group: Group) -> dict[str, Any]:
        """The group's IR on this node (fetched and converted once): its sha256, or the reason it failed.

        Converted in a fresh process: OpenVINO names unnamed nodes from a process-wide counter, so an
        IR converted after another one in the same process has other bytes (another sha256) than the
        same IR converted first, and the key must not depend on which cells a node happened to get.
        """
        import subprocess
        import sys

        from omz_mobilenet.convert.ir_store import ir_sha256

        request = json.dumps(
            {"payload": self.payload, "root": str(self.root), "model": group.entry.name, "precision": group.precision}
        )
        proc = subprocess.run(
            [sys.executable, "-m", "omz_mobilenet.sweep.ray_backend", request],
            capture_output=True,
            text=True,
            preexec_fn=_die_with_parent,
        )
        lines = proc.stdout.strip().splitlines()
        try:
            answer = json.loads(lines[-1]) if lines else {}
        except ValueError:
            answer = {}
        if "xml" not in answer:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {"error": answer.get("error") or f"conversion exited with {proc.returncode}: {tail}"}
        xml = Path(answer["xml"])
        try:
            sha = ir_sha256(xml)
        except ToolError as exc:
            return {"error": exc.message}
        self.irs[(group.entry.name, group.precision)] = xml
        return {"sha": sha}

    def measure(self, group: Group, cell: Cell, key: dict[str, str]) -> Record:
        from omz_mobilenet.sweep.cell import measure_cell

        xml = self.irs[(group.entry.name, group.precision)]
        cache = self.accuracy.setdefault((group.entry.name, group.precision, key["ir_sha256"]), {})
        return measure_cell(cell, group.entry, xml, key, self.ctx, cache)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- connecting


def _host_port(address: str) -> Optional[tuple[str, int]]:
    text = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def check_pins(pins: dict[str, str], groups: list[Group]) -> None:
    """Every pin names a model or a device of the sweep (checked before anything connects)."""
    names = {c.model for g in groups for c in g.cells} | {c.device for g in groups for c in g.cells}
    unknown = sorted(set(pins) - names)
    if unknown:
        raise ToolError(f"pin: {', '.join(unknown)} is neither a model nor a device of this sweep", 2)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """A quick TCP connect before ray.init, which may retry for minutes against a dead address."""
    target = _host_port(address)
    if target is None:
        raise ToolError(f"--ray {address}: expected HOST:PORT of a Ray head (e.g. 10.0.0.5:6379), `auto` or `local`", 2)
    try:
        socket.create_connection(target, timeout=timeout).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ToolError(
            f"cannot reach the Ray cluster at {address} ({reason}); start it with `ray start --head` "
            "there, check the address, or use --ray local",
            2,
        ) from None


def import_ray(address: str):
    """Ray, imported after setting the loopback variable for a cluster on this machine (read at import)."""
    target = _host_port(address)
    if address == "local":
        os.environ[LOOPBACK_ENV] = "0"  # inherited by every Ray process ray.init starts here
        os.environ.setdefault("RAY_AUTH_MODE", "token")  # Ray 2.60's default for ray.init, without its warning
    elif target is not None and _is_loopback(target[0]):
        os.environ.setdefault(LOOPBACK_ENV, "0")  # else this driver would announce the host's address
    try:
        import ray
    except ImportError:
        raise ToolError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}", 2) from None
    return ray


def connect(address: str):
    """ray, initialised: `local` starts a one-node Ray on 127.0.0.1, anything else is joined."""
    ray = import_ray(address)
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": True}
    if address != "local" and address != "auto":
        check_reachable(address)
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ToolError(f"cannot connect to the Ray cluster at {address}: {first}", 2) from None
    return ray


# ---------------------------------------------------------------- the driver


@dataclass
class Node:
    node_id: str
    actor: Any
    labels: set[str]
    info: dict[str, Any] = field(default_factory=dict)
    alive: bool = True
    busy: bool = False
    irs: dict[tuple[str, str], str] = field(default_factory=dict)  # (model, precision) -> IR sha256

    @property
    def name(self) -> str:
        return f"node {self.node_id[:12]}"


@dataclass
class Job:
    group: Group
    cell: Cell
    deaths: int = 0  # nodes that died while holding this cell
    lost_on: list[Node] = field(default_factory=list)


def node_labels(node: dict[str, Any]) -> set[str]:
    """What a pin may name: custom resources (`--resources '{"kind_avx2": 1}'`) and Ray labels (k=v or v)."""
    labels = {k for k in node.get("Resources", {}) if not k.startswith("node:")}
    for k, v in (node.get("Labels") or {}).items():
        labels |= {f"{k}={v}", str(v)}
    return labels


class RaySweep:
    def __init__(
        self,
        ctx: SweepContext,
        db,
        force: bool,
        on_cell: Callable[[Record], None],
        address: str,
        pins: Optional[dict[str, str]] = None,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.ctx, self.db, self.force, self.on_cell = ctx, db, force, on_cell
        self.address, self.pins, self.retries = address, dict(pins or {}), retries
        self.outcome = SweepOutcome()
        self.nodes: list[Node] = []
        self.queue: list[Job] = []
        self.failed_groups: set[tuple[str, str]] = set()
        self.done = self._stored_ok()

    # -- what is stored already

    def _stored_ok(self) -> dict[tuple[str, ...], set[str]]:
        """Key without machine -> host identities that measured it ok (see the module docstring)."""
        from omz_mobilenet.results.db import key_tuple

        out: dict[tuple[str, ...], set[str]] = {}
        for record in self.db.cells(status="ok"):
            identity = host_identity(record.get("environment") or {})
            out.setdefault(key_tuple(record["key"])[:-1], set()).add(identity)
        return out

    def _is_stored(self, key: dict[str, str], job: Job) -> bool:
        from omz_mobilenet.results.db import key_tuple

        if self.force:
            return False
        hosts = self.done.get(key_tuple(key)[:-1], set())
        return any(n.info["host"] in hosts for n in self.nodes if self._fits(n, job.cell))

    # -- nodes

    def _start_stations(self, ray, devices: list[str]) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = ray.remote(Station)
        payload = context_payload(self.ctx)
        for info in ray.nodes():
            if not info.get("Alive"):
                continue
            strategy = NodeAffinitySchedulingStrategy(node_id=info["NodeID"], soft=False)
            # num_cpus=0: the station must start even on a node whose CPUs other work holds; it measures alone anyway.
            actor = remote.options(
                scheduling_strategy=strategy, num_cpus=0, max_restarts=0, max_task_retries=0, max_concurrency=1
            ).remote(payload)
            self.nodes.append(Node(info["NodeID"], actor, node_labels(info)))
        if not self.nodes:
            raise ToolError(f"the Ray cluster at {self.address} has no live node", 1)
        refs = {n.actor.describe.remote(devices): n for n in self.nodes}
        ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=STATION_START_TIMEOUT_S)
        for ref, node in refs.items():
            self._describe(ray, node, ref if ref in ready else None)
        if not any(n.alive for n in self.nodes):
            raise ToolError(
                f"no node of the Ray cluster at {self.address} could run a sweep station "
                "(omz-mobilenet must be installed on every node)",
                1,
            )

    def _describe(self, ray, node: Node, ref) -> None:
        problem = None
        if ref is None:
            problem = f"no answer within {STATION_START_TIMEOUT_S:.0f} s"
        else:
            try:
                node.info = ray.get(ref)
            except ray.exceptions.RayError as exc:
                problem = _first_line(exc)
        if problem is None and node.info["fingerprint"] != self.ctx.dataset_fingerprint():
            problem = node.info["error"] or f"its copy of {self.ctx.dataset} differs from the driver's"
        if problem is not None:
            node.alive = False
            ray.kill(node.actor)
            self.ctx.log(f"[yellow]{node.name} left out of the sweep: {problem}[/]")

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

    def _check_pins(self, groups: list[Group]) -> None:
        check_pins(self.pins, groups)

    # -- the run

    def run(self, groups: list[Group]) -> SweepOutcome:
        self._check_pins(groups)
        ray = connect(self.address)
        finished = False
        try:
            devices = list(dict.fromkeys(c.device for g in groups for c in g.cells))
            self._start_stations(ray, devices)
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
                    self.outcome.unavailable.append(
                        unavailable_record(cell, key, self._unavailable_reason(cell), self.ctx)
                    )

    def _loop(self, ray) -> None:
        inflight: dict[Any, tuple[str, Node, Job]] = {}
        while True:
            for node in self.nodes:
                if node.alive and not node.busy:
                    self._dispatch(node, inflight)
            if not inflight:
                break
            ready, _ = ray.wait(list(inflight), num_returns=1)
            kind, node, job = inflight.pop(ready[0])
            node.busy = False
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayActorError as exc:
                self._node_lost(ray, node, job, exc)
                continue
            except ray.exceptions.RayTaskError as exc:  # a bug or library failure on the node: this cell only
                self._store(self._failed(job, node, f"{node.name}: {_first_line(exc)}"))
                continue
            if kind == "prepare":
                self._prepared(node, job, result, inflight)
            else:
                self._store(result)
        for job in self.queue:  # every node that could take these died
            self._store(self._failed(job, job.lost_on[-1] if job.lost_on else None, self._orphan_reason(job)))
        self.queue.clear()

    def _next_job(self, node: Node) -> Optional[Job]:
        """The queued cell this node should take next, if any fits it."""
        fits = [j for j in self.queue if self._fits(node, j.cell) and node not in j.lost_on]
        if not fits:
            return None
        # Cells only few nodes can take go first (pinned ones), then cells whose IR this node has.
        job = min(
            fits,
            key=lambda j: (
                sum(n.alive and self._fits(n, j.cell) for n in self.nodes),
                (j.group.entry.name, j.group.precision) not in node.irs,
            ),
        )
        self.queue.remove(job)
        return job

    def _dispatch(self, node: Node, inflight: dict) -> None:
        while (job := self._next_job(node)) is not None:
            group_key = (job.group.entry.name, job.group.precision)
            if group_key in self.failed_groups:
                continue
            if group_key not in node.irs:
                inflight[node.actor.prepare.remote(job.group)] = ("prepare", node, job)
                node.busy = True
                return
            if self._submit_measure(node, job, inflight):
                return

    def _submit_measure(self, node: Node, job: Job, inflight: dict) -> bool:
        """Measure the cell on the node unless it is stored; True if the node is now busy."""
        key = cell_key(job.cell, node.irs[(job.group.entry.name, job.group.precision)], self.ctx, node.info["machine"])
        if self._is_stored(key, job):
            self.outcome.skipped += 1
            return False
        inflight[node.actor.measure.remote(job.group, job.cell, key)] = ("measure", node, job)
        node.busy = True
        return True

    def _prepared(self, node: Node, job: Job, result: dict[str, Any], inflight: dict) -> None:
        group_key = (job.group.entry.name, job.group.precision)
        if "error" in result:
            if group_key not in self.failed_groups:
                self.failed_groups.add(group_key)
                self.outcome.failed_groups.append(f"{job.group.entry.name} {job.group.precision}: {result['error']}")
                self.ctx.log(f"[red]{job.group.entry.name} {job.group.precision}: {result['error']}[/]")
            self.queue = [j for j in self.queue if (j.group.entry.name, j.group.precision) != group_key]
            return
        node.irs[group_key] = result["sha"]
        self._submit_measure(node, job, inflight)

    def _node_lost(self, ray, node: Node, job: Job, exc: Exception) -> None:
        """The node (or its station) died holding the job: retry elsewhere, bounded, else record the failure."""
        node.alive = False
        ray.kill(node.actor)  # an unreachable but living station must not measure alongside the retry
        job.deaths += 1
        job.lost_on.append(node)
        self.ctx.log(f"[yellow]{node.name} lost while working on {job.cell.label}: {_first_line(exc)}[/]")
        if job.deaths > self.retries:
            self._store(self._failed(job, node, f"{job.deaths} nodes died while measuring it (last {node.name})"))
        else:
            self.queue.insert(0, job)

    def _orphan_reason(self, job: Job) -> str:
        lost = ", ".join(n.name for n in job.lost_on) or ", ".join(n.name for n in self.nodes if not n.alive)
        return f"no live node can measure it: {lost} died" if lost else "no live node can measure it"

    def _failed(self, job: Job, node: Optional[Node], reason: str) -> Record:
        node = node or next((n for n in self.nodes if n.info and self._fits(n, job.cell)), None)
        sha = node.irs.get((job.group.entry.name, job.group.precision), "unknown") if node else "unknown"
        key = cell_key(job.cell, sha, self.ctx, node.info["machine"] if node else "")
        record = unavailable_record(job.cell, key, reason, self.ctx)
        record.update(status="failed", environment=node.info["environment"] if node else record["environment"])
        return record

    def _store(self, record: Record) -> None:
        # The driver is the only writer; a failed cell replaces an older failed one (as LocalSweep does).
        self.db.put(record, force=True)
        self.outcome.stored.append(record)
        self.on_cell(record)

    def _stop(self, ray, finished: bool) -> None:
        """Remove the stations' temporary roots after a complete run, then leave (or stop) Ray."""
        try:
            live = [n for n in self.nodes if n.alive]
            if finished and live:
                ray.wait([n.actor.close.remote() for n in live], num_returns=len(live), timeout=30)
            for node in live:
                ray.kill(node.actor)
        finally:
            ray.shutdown()


def _first_line(exc: BaseException) -> str:
    """The cause of a Ray error in one line (Ray's messages run over many)."""
    cause = getattr(exc, "cause", None)
    text = str(cause if isinstance(cause, BaseException) else exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if isinstance(cause, BaseException) and lines else lines[0] if lines else type(exc).__name__)[
        :300
    ]


if __name__ == "__main__":
    import sys

    sys.exit(convert_main(sys.argv[1]))
