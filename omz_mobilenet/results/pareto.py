"""Pareto fronts of Top-1 (higher is better) against median latency (lower is better).

Speed is compared with its noise: two cells whose round-median ranges overlap are equal in speed
(`fields.same_speed`), so neither dominates the other on latency; only `ok` cells with both
accuracy and speed (`fields.is_measured`) take part, never an incomplete or unavailable one.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from omz_mobilenet.results.db import Record
from omz_mobilenet.results.fields import cell_id, is_measured, is_timed, latency, overlap, speed_interval, top1
from omz_mobilenet.results.grouping import groups


class _Point(NamedTuple):
    """A cell's figures read once: fronts compare every pair of hundreds of cells."""

    record: Record
    top1: float
    latency: float
    interval: Optional[tuple[float, float]]


def _point(record: Record) -> _Point:
    return _Point(record, top1(record) or 0.0, latency(record) or 0.0, speed_interval(record))


def _equal_speed(a: _Point, b: _Point) -> bool:
    return overlap(a.interval, b.interval)


def _dominates(a: _Point, b: _Point) -> bool:
    speed = 0 if _equal_speed(a, b) else (a.latency > b.latency) - (a.latency < b.latency)
    return a.top1 >= b.top1 and speed <= 0 and (a.top1 > b.top1 or speed < 0)


def dominates(a: Record, b: Record) -> bool:
    """`a` is at least as accurate and at least as fast as `b`, and better on one of the two."""
    return _dominates(_point(a), _point(b))


def front(records: list[Record]) -> list[Record]:
    """The non-dominated measured records of one group, sorted by latency."""
    points = [_point(r) for r in records if is_measured(r)]
    best = [p for p in points if not any(_dominates(q, p) for q in points if q is not p)]
    return [p.record for p in sorted(best, key=lambda p: (p.latency, -p.top1))]


def pareto_ids(records: list[Record]) -> set[str]:
    """Cell ids on the Pareto front of their own (device, machine) group."""
    return {cell_id(r) for group in groups(records).values() for r in front(group)}


def speed_ties(records: list[Record]) -> dict[str, list[Record]]:
    """For each timed cell of a group, the other cells of that group that are equal to it in speed."""
    out: dict[str, list[Record]] = {}
    for group in groups(records).values():
        points = [_point(r) for r in group if is_timed(r)]
        for p in points:
            out[cell_id(p.record)] = [q.record for q in points if q is not p and _equal_speed(p, q)]
    return out
