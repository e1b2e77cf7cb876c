"""Pareto fronts of Top-1 (higher is better) against median latency (lower is better).

Speed is compared with its noise: two cells whose round-median ranges overlap are equal in speed
(`fields.same_speed`), so neither dominates the other on latency; only `ok` cells with both
accuracy and speed (`fields.is_measured`) take part, never an incomplete or unavailable one.
"""

from __future__ import annotations

from omz_mobilenet.results.db import Record
from omz_mobilenet.results.fields import cell_id, is_measured, is_timed, latency, same_speed, speed_order, top1
from omz_mobilenet.results.grouping import groups


def dominates(a: Record, b: Record) -> bool:
    """`a` is at least as accurate and at least as fast as `b`, and better on one of the two."""
    ta, tb = top1(a) or 0.0, top1(b) or 0.0
    speed = speed_order(a, b)
    return ta >= tb and speed <= 0 and (ta > tb or speed < 0)


def front(records: list[Record]) -> list[Record]:
    """The non-dominated measured records of one group, sorted by latency."""
    measured = [r for r in records if is_measured(r)]
    best = [r for r in measured if not any(dominates(q, r) for q in measured if q is not r)]
    return sorted(best, key=lambda r: (latency(r) or 0.0, -(top1(r) or 0.0)))


def pareto_ids(records: list[Record]) -> set[str]:
    """Cell ids on the Pareto front of their own (device, machine) group."""
    return {cell_id(r) for group in groups(records).values() for r in front(group)}


def speed_ties(records: list[Record]) -> dict[str, list[Record]]:
    """For each timed cell of a group, the other cells of that group that are equal to it in speed."""
    out: dict[str, list[Record]] = {}
    for group in groups(records).values():
        timed = [r for r in group if is_timed(r)]
        for r in timed:
            out[cell_id(r)] = [q for q in timed if q is not r and same_speed(r, q)]
    return out
