"""The nodes of a Ray sweep: one station started on each live node, what it reports about itself,
and the nodes left out (no answer, or a dataset that differs from the driver's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omz_mobilenet.errors import ToolError
from omz_mobilenet.sweep.context import SweepContext
from omz_mobilenet.sweep.ray.cluster import first_line, node_labels

STATION_START_TIMEOUT_S = 180.0


@dataclass(eq=False)  # a node is itself: two with equal fields are still two nodes
class Node:
    node_id: str
    actor: Any
    labels: set[str]
    info: dict[str, Any] = field(default_factory=dict)
    alive: bool = True
    busy: bool = False
    irs: dict[tuple[str, str], str] = field(default_factory=dict)  # (model, precision) -> IR sha256
    block: list[Any] = field(default_factory=list)  # the scheduler's jobs this node holds

    @property
    def name(self) -> str:
        return f"node {self.node_id[:12]}"


def start_stations(ray: Any, ctx: SweepContext, address: str, devices: list[str]) -> list[Node]:
    """A station on every live node, each described; nodes that cannot take part are marked dead."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from omz_mobilenet.sweep.ray.station import Station, context_payload

    remote = ray.remote(Station)
    payload = context_payload(ctx)
    nodes = []
    for info in ray.nodes():
        if not info.get("Alive"):
            continue
        strategy = NodeAffinitySchedulingStrategy(node_id=info["NodeID"], soft=False)
        # num_cpus=0: the station must start even on a node whose CPUs other work holds; it measures alone anyway.
        actor = remote.options(
            scheduling_strategy=strategy, num_cpus=0, max_restarts=0, max_task_retries=0, max_concurrency=1
        ).remote(payload)
        nodes.append(Node(info["NodeID"], actor, node_labels(info)))
    if not nodes:
        raise ToolError(f"the Ray cluster at {address} has no live node", 1)
    refs = {n.actor.describe.remote(devices): n for n in nodes}
    ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=STATION_START_TIMEOUT_S)
    for ref, node in refs.items():
        _describe(ray, node, ref if ref in ready else None, ctx)
    if not any(n.alive for n in nodes):
        raise ToolError(
            f"no node of the Ray cluster at {address} could run a sweep station "
            "(omz-mobilenet must be installed on every node)",
            1,
        )
    return nodes


def _describe(ray: Any, node: Node, ref: Any, ctx: SweepContext) -> None:
    problem = None
    if ref is None:
        problem = f"no answer within {STATION_START_TIMEOUT_S:.0f} s"
    else:
        try:
            node.info = ray.get(ref)
        except ray.exceptions.RayError as exc:
            problem = first_line(exc)
    if problem is None and node.info["fingerprint"] != ctx.dataset_fingerprint():
        problem = node.info["error"] or f"its copy of {ctx.dataset} differs from the driver's"
    if problem is not None:
        node.alive = False
        ray.kill(node.actor)
        ctx.log(f"[yellow]{node.name} left out of the sweep: {problem}[/]")
