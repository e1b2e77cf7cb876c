"""Per-layer times from OpenVINO performance counters, summed over every inference of a run.

A request's `profiling_info` only holds its last inference, so the bench loop hands each
finished request's counters to `LayerProfile.add` before the request is started again.
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


@dataclass
class LayerProfile:
    inferences: int = 0
    layers: dict = field(default_factory=dict)

    def add(self, profiling_info) -> None:
        """Add one inference's counters. Layers that were optimized out or not run add nothing."""
        self.inferences += 1
        for item in profiling_info:
            if str(item.status).rsplit(".", 1)[-1] != "EXECUTED":
                continue
            key = (item.node_name, item.node_type, item.exec_type)
            total = self.layers.get(key)
            if total is None:
                total = self.layers[key] = LayerTotal(*key)
            total.total_us += item.real_time.total_seconds() * 1e6

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
            "layers_per_inference_ms": self.per_inference_ms(),
            "top_layers": self.top_layers(top),
            "by_op_type": self.by_type(),
        }
