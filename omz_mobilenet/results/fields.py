"""Reading the figures of one stored cell: its id, Top-1, latency, throughput, and its speed interval.

Two cells are equal in speed when the ranges of their round medians overlap: a sweep measures each
cell in several rounds, and a difference smaller than the spread between rounds is machine noise.
A cell with fewer than two rounds has no interval; it is never called a tie, and says so.
"""

from __future__ import annotations

from typing import Optional

from omz_mobilenet.results.db import Record, key_tuple
from omz_mobilenet.results.record import OK, VALID


def cell_id(record: Record) -> str:
    """A stable identifier of a cell: its full key joined by '|'."""
    return "|".join(key_tuple(record["key"]))


def machine_of(record: Record) -> str:
    return str(record["key"]["machine"])


def is_ok(record: Record) -> bool:
    return record.get("status") == OK


def is_measured(record: Record) -> bool:
    """An ok cell with both accuracy and speed, the kind a Pareto front or a pick can use."""
    return is_ok(record) and bool(record.get("accuracy")) and bool(record.get("bench"))


def is_timed(record: Record) -> bool:
    """An ok cell with a speed measurement (charts of latency and throughput)."""
    return is_ok(record) and bool(record.get("bench"))


def top1(record: Record) -> Optional[float]:
    accuracy = record.get("accuracy")
    return float(accuracy["top1"]) if accuracy else None


def latency(record: Optional[Record], percentile: str = "median") -> Optional[float]:
    """Latency in ms at `median` or a percentile name such as `p90` or `p999`."""
    bench = (record or {}).get("bench")
    if not bench:
        return None
    value = bench.get(f"latency_{percentile}_ms")
    return None if value is None else float(value)


def e2e_latency(record: Optional[Record], percentile: str = "median") -> Optional[float]:
    """End-to-end latency per image in ms (from the file to the top-k; the spec key `e2e`), or None."""
    total = ((record or {}).get("e2e") or {}).get("total")
    if not total:
        return None
    value = total.get("median_ms" if percentile in ("median", "p50") else f"{percentile}_ms")
    return None if value is None else float(value)


#: What `pick --metric` budgets: OpenVINO's inference alone, or the whole path from the image file.
METRICS = {"inference": latency, "e2e": e2e_latency}


def metric_latency(record: Optional[Record], percentile: str = "median", metric: str = "inference") -> Optional[float]:
    return METRICS[metric](record, percentile)


def throughput(record: Optional[Record]) -> Optional[float]:
    bench = (record or {}).get("bench")
    return float(bench["throughput_fps"]) if bench else None


def size_mb(record: Record) -> float:
    return float(record.get("ir_size_mb") or 0.0)


def round_medians(record: Record) -> list[float]:
    """The median latency of each bench round: from `rounds` (the sweep's per-round record), else
    from the bench block's `round_medians_ms` (older databases)."""
    rounds = [r.get("median_ms") for r in record.get("rounds") or [] if isinstance(r, dict)]
    medians = rounds if any(m is not None for m in rounds) else (record.get("bench") or {}).get("round_medians_ms")
    return [float(m) for m in medians or [] if m is not None]


def speed_interval(record: Record) -> Optional[tuple[float, float]]:
    """(fastest, slowest) round median in ms, or None when the cell has fewer than two rounds."""
    values = round_medians(record)
    return (min(values), max(values)) if len(values) >= 2 else None


def overlap(a: Optional[tuple[float, float]], b: Optional[tuple[float, float]]) -> bool:
    """Two speed intervals overlap; a missing interval overlaps nothing."""
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def same_speed(a: Record, b: Record) -> bool:
    """True when the round-median ranges of two cells overlap: neither is measurably faster."""
    return overlap(speed_interval(a), speed_interval(b))


def interval_text(record: Record) -> str:
    """`[5.78, 6.08] ms` or `no interval (1 round)`, for messages and hovers."""
    interval = speed_interval(record)
    if interval is None:
        rounds = len(round_medians(record))
        return f"no interval ({rounds} round{'s' if rounds != 1 else ''})"
    return f"[{interval[0]:.3f}, {interval[1]:.3f}] ms"


def scenario_runs(record: Optional[Record], scenario: str) -> list[Record]:
    """The cell's stored LoadGen runs of one scenario (the spec key `scenarios:`), in the order measured."""
    return [s for s in (record or {}).get("scenarios") or [] if isinstance(s, dict) and s.get("scenario") == scenario]


def server_qps(record: Optional[Record], max_latency_ms: Optional[float] = None) -> Optional[Record]:
    """The cell's VALID Server run with the highest QPS whose latency bound is at most `max_latency_ms`
    (any bound when None), or None. INVALID and failed runs never count."""
    fits = [
        s
        for s in scenario_runs(record, "server")
        if s.get("result") == VALID
        and s.get("qps") is not None
        and s.get("max_latency_ms") is not None
        and (max_latency_ms is None or float(s["max_latency_ms"]) <= max_latency_ms)
    ]
    return max(fits, key=lambda s: (float(s["qps"]), -float(s["max_latency_ms"])), default=None)


def server_shortfall(record: Record, max_latency_ms: float) -> str:
    """Why the cell has no VALID Server QPS within `max_latency_ms`: each run's result and reasons."""
    runs = scenario_runs(record, "server")
    if not runs:
        return "no Server result (sweep with the spec key scenarios: [server])"
    parts = []
    for s in runs:
        bound = s.get("max_latency_ms")
        at = f"{float(bound):g} ms" if bound is not None else "no bound"
        reasons = "; ".join(s.get("reasons") or [])
        if s.get("result") == VALID:
            parts.append(f"VALID only at a bound of {at} > {max_latency_ms:g} ms")
        else:
            parts.append(f"Server {s.get('result')} at {at}" + (f" ({reasons})" if reasons else ""))
    return "no VALID Server result within the bound: " + ", ".join(parts)
