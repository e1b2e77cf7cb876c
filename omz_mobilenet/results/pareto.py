"""Pareto fronts of Top-1 (higher is better) against median latency (lower is better)."""

from __future__ import annotations

from omz_mobilenet.results.cells import cell_id, groups, is_measured, latency, top1
from omz_mobilenet.results.db import Record


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """(top1, latency) `a` is at least as good as `b` on both and better on one."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def front(records: list[Record]) -> list[Record]:
    """The non-dominated measured records of one group, sorted by latency."""
    points = [(r, (top1(r) or 0.0, latency(r) or 0.0)) for r in records if is_measured(r)]
    best = [r for r, p in points if not any(dominates(q, p) for _, q in points)]
    return sorted(best, key=lambda r: (latency(r) or 0.0, -(top1(r) or 0.0)))


def pareto_ids(records: list[Record]) -> set[str]:
    """Cell ids on the Pareto front of their own (device, machine) group."""
    return {cell_id(r) for group in groups(records).values() for r in front(group)}
