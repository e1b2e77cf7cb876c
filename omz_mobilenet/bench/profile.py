"""Per-layer times from OpenVINO performance counters, summed over the inferences of a run.

The CPU plugin's counters are not per inference: each layer reports its running *average* over
every inference its stream's graph has executed since compiling (first inference and warm-up
included; measured here: the sum settles instead of following each request's latency). So the
run's totals are taken from two snapshots, before and after the run:
    run total = average_after x inferences_after - average_before x inferences_before.
That is exact with one stream (all requests share one graph). With several streams the inference
count per graph is unknown; then average_after x run inferences is used and `method` says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class LayerTotal:
    name: str
    op_type: str
    exec_type: str
    total_us: float = 0.0


def _executed(item) -> bool:
    return str(item.status).rsplit(".", 1)[-1] == "EXECUTED"


def snapshot(profiling_info) -> dict:
    """{(layer, op type, kernel): microseconds} of the executed layers."""
    return {
        (item.node_name, item.node_type, item.exec_type): item.real_time.total_seconds() * 1e6
        for item in profiling_info
        if _executed(item)
    }


@dataclass
class LayerProfile:
    inferences: int = 0
    layers: dict = field(default_factory=dict)
    method: str = "sum of per-inference counters"

    @classmethod
    def from_running_averages(cls, before: dict, after: dict, n_before: int, n_after: int, exact: bool) -> LayerProfile:
        profile = cls(inferences=n_after - n_before)
        for key, average_us in after.items():
            if exact:
                total = average_us * n_after - before.get(key, 0.0) * n_before
            else:
                total = average_us * profile.inferences
            name, layer_type, exec_type = key
            profile.layers[key] = LayerTotal(name, layer_type, exec_type, total_us=max(total, 0.0))
        profile.method = (
            "running averages before/after the run (one stream: exact)"
            if exact
            else "average since compiling x run inferences (several streams: includes warm-up)"
        )
        return profile

    def add(self, profiling_info) -> None:
        """Add one inference's counters. Layers that were optimized out or not run add nothing."""
        self.inferences += 1
        for key, us in snapshot(profiling_info).items():
            total = self.layers.get(key)
            if total is None:
                total = self.layers[key] = LayerTotal(*key)
            total.total_us += us

    def total_ms(self) -> float:
        return sum(t.total_us for t in self.layers.values()) / 1e3

    def per_inference_ms(self) -> float:
        return self.total_ms() / self.inferences if self.inferences else 0.0

    def top_layers(self, top: int) -> list[dict]:
        ranked = sorted(self.layers.values(), key=lambda t: t.total_us, reverse=True)
        return [self._row(t.name, t.op_type, t.exec_type, t.total_us) for t in ranked[:top]]

    def by_type(self) -> list[dict]:
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for t in self.layers.values():
            sums[t.op_type] += t.total_us
            counts[t.op_type] += 1
        rows = [dict(self._row(None, op, None, us), layers=counts[op]) for op, us in sums.items()]
        return sorted(rows, key=lambda r: r["total_ms"], reverse=True)

    def _row(self, name, op_type, exec_type, total_us: float) -> dict:
        everything = sum(t.total_us for t in self.layers.values()) or 1.0
        row = {"layer": name, "op_type": op_type, "exec_type": exec_type} if name is not None else {"op_type": op_type}
        row.update(
            total_ms=total_us / 1e3,
            per_inference_ms=total_us / 1e3 / max(self.inferences, 1),
            share_pct=100.0 * total_us / everything,
        )
        return row

    def summary(self, top: int) -> dict:
        return {
            "inferences": self.inferences,
            "method": self.method,
            "layers_per_inference_ms": self.per_inference_ms(),
            "top_layers": self.top_layers(top),
            "by_op_type": self.by_type(),
        }
