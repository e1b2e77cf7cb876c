"""One station (a Ray actor) per node: it converts the IRs its cells need and measures the cells the
driver gives it in alternating rounds (`sweep.rounds`, as the local driver does). Ray runs an
actor's methods one at a time, so a node's measurements never overlap.

Nodes share no filesystem: each station fetches the model through the catalogue (mirror or cache,
checksums verified) into its own temporary root and converts it itself; the IR's sha256 is computed
there and goes into the key. The stamp of every record names the node (its Ray node id).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.record import CellKey, CellRecord
from omz_mobilenet.sweep.context import SweepContext
from omz_mobilenet.sweep.plan import Cell, Group

NODE_ENV = "OMZ_MOBILENET_NODE_ID"  # read by omz_mobilenet.environment for the stamp
STATION_ROOT = "omz-mobilenet-ray"


def _absolute(path: Optional[Path | str]) -> Optional[str]:
    return str(Path(path).expanduser().resolve()) if path else None


def context_payload(ctx: SweepContext) -> dict[str, Any]:
    """What a station needs to rebuild the sweep context on its node (JSON values, no callables)."""
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
        "annotations": _absolute(ctx.annotations),
        "limit": ctx.limit,
        "calibration": _absolute(ctx.calibration),
        "crop_rule": ctx.crop_rule,
        "time_s": ctx.time_s,
        "rounds": ctx.rounds,
        "command": ctx.command,
        "min_images": str(ctx.min_images),
        "skip_bad": ctx.skip_bad,
        "allow_overlap": ctx.allow_overlap,
        "calibration_overlap": [[m, p, n] for (m, p), n in ctx.calibration_overlap.items()],
    }


def station_context(payload: dict[str, Any], root: Path) -> SweepContext:
    """The sweep context on a node: the driver's choices, this node's own cache and IR folders."""
    from omz_mobilenet.accuracy.evidence import MinImages
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
    path = {k: Path(payload[k]) if payload[k] else None for k in ("dataset", "annotations", "calibration")}
    return SweepContext(
        settings=settings,
        dataset=path["dataset"],
        annotations=path["annotations"],
        calibration=path["calibration"],
        limit=payload["limit"],
        crop_rule=payload["crop_rule"],
        time_s=payload["time_s"],
        rounds=payload["rounds"],
        command=payload["command"],
        min_images=MinImages.parse(payload["min_images"]),
        skip_bad=payload["skip_bad"],
        allow_overlap=payload["allow_overlap"],
        calibration_overlap={(m, p): n for m, p, n in payload["calibration_overlap"]},
    )


def host_identity(env: dict[str, Any]) -> str:
    """The machine key of a stamp without its Ray node id: equal for every Ray node a host ever had."""
    from omz_mobilenet.environment import machine_key

    return machine_key({**env, "node_id": None})


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
        self.ctx = station_context(payload, self.root)  # its accuracy cache serves the node's later cells
        self.irs: dict[tuple[str, str], Path] = {}

    def describe(self, devices: list[str]) -> dict[str, Any]:
        """This node's stamp, its devices (from OpenVINO here) and its view of the dataset."""
        from omz_mobilenet.environment import environment, machine_key
        from omz_mobilenet.sweep.local import available_devices, device_problem

        env = environment()
        present = available_devices(self.ctx.core())
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
            "problems": {d: device_problem(d, present, self.ctx.core()) for d in devices},
            "fingerprint": fingerprint,
            "error": error,
        }

    def prepare(self, group: Group) -> dict[str, Any]:
        """The group's IR on this node (fetched and converted once): its sha256, or the reason it failed."""
        from omz_mobilenet.convert.ir_store import ir_sha256
        from omz_mobilenet.sweep.ray.convert_worker import convert_in_process

        answer = convert_in_process(self.payload, self.root, group)
        if "error" in answer:
            return answer
        xml = Path(answer["xml"])
        try:
            sha = ir_sha256(xml)
        except ToolError as exc:
            return {"error": exc.message}
        self.irs[(group.entry.name, group.precision)] = xml
        return {"sha": sha}

    def measure(self, jobs: list[tuple[Group, Cell, CellKey]]) -> list[CellRecord]:
        """The driver's block of cells for this node, measured in alternating rounds, one record each."""
        from omz_mobilenet.sweep.rounds import Member, measure_device, measurements

        items = [(g.entry, self.irs[(g.entry.name, g.precision)], Member(cell, key)) for g, cell, key in jobs]
        by_device: dict[str, list[Any]] = {}
        for item in items:
            by_device.setdefault(item[2].cell.device, []).append(item)
        return [r for device_items in by_device.values() for r in measure_device(measurements(device_items), self.ctx)]

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
