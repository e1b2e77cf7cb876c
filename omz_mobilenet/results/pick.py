"""`pick`: the most accurate cell that fits a latency (and size) budget on one device.

Ranking: Top-1 first; among equal Top-1 the faster cell, unless the two are equal in speed (their
round-median ranges overlap, `fields.same_speed`): then the tie is named and the smaller IR wins.
Only `ok` cells can be picked: incomplete, unavailable and failed cells are listed as excluded.
`--metric e2e` budgets the end-to-end latency from the image file (cells swept with the spec key `e2e`)
instead of the inference alone; a cell without it is excluded, saying so.
`--scenario server` chooses by load instead: a cell fits with a VALID MLPerf LoadGen Server run whose latency
bound (LoadGen's p99) is at most the budget, and the highest such QPS wins (then Top-1); a cell without one
(no Server run, INVALID, failed, or VALID only at a looser bound) is excluded with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.db import SCHEMA_VERSION, Record
from omz_mobilenet.results.fields import (
    METRICS,
    interval_text,
    latency,
    machine_of,
    metric_latency,
    same_speed,
    server_qps,
    server_shortfall,
    size_mb,
    speed_interval,
    top1,
)
from omz_mobilenet.results.labels import cell_label, config_label

PERCENTILES = (50, 90, 95, 99)
SCENARIOS = ("server",)  # what `pick --scenario` chooses by
RUNNERS_UP = 3


@dataclass
class Budget:
    device: str
    max_latency_ms: float
    percentile: int = 90
    min_top1: Optional[float] = None
    max_size_mb: Optional[float] = None
    machine: Optional[str] = None
    metric: str = "inference"  # or "e2e": fields.METRICS
    scenario: Optional[str] = None  # "server": by the highest VALID LoadGen Server QPS within the bound

    def latency(self, record: Record) -> Optional[float]:
        """The cell's latency at the budget's percentile and metric."""
        return metric_latency(record, f"p{self.percentile}", self.metric)

    @property
    def what(self) -> str:
        if self.scenario == "server":
            return "a VALID Server QPS at p99"
        return f"p{self.percentile}" + (" end-to-end" if self.metric == "e2e" else "")

    def qps(self, record: Record) -> Optional[float]:
        run = server_qps(record, self.max_latency_ms) if self.scenario == "server" else None
        return float(run["qps"]) if run else None


@dataclass
class PickResult:
    budget: Budget
    fits: list[Record] = field(default_factory=list)
    excluded: list[tuple[Record, list[str]]] = field(default_factory=list)
    ties: list[Record] = field(default_factory=list)  # cells as accurate as the pick and equal in speed

    @property
    def best(self) -> Optional[Record]:
        return self.fits[0] if self.fits else None

    @property
    def runners_up(self) -> list[Record]:
        return self.fits[1 : 1 + RUNNERS_UP]


def _latency_reasons(record: Record, budget: Budget) -> list[str]:
    if budget.scenario == "server":
        return [] if budget.qps(record) is not None else [server_shortfall(record, budget.max_latency_ms)]
    name = budget.what
    value = budget.latency(record)
    reasons = []
    if value is None:
        hint = " (sweep with the spec key e2e: DIR)" if budget.metric == "e2e" else ""
        reasons.append(f"no {name} latency{hint}")
    elif value > budget.max_latency_ms:
        reasons.append(f"over latency ({name} {value:.3f} ms > {budget.max_latency_ms:g} ms)")
    return reasons


def _budget_reasons(record: Record, budget: Budget) -> list[str]:
    reasons = _latency_reasons(record, budget)
    accuracy = top1(record) or 0.0
    if budget.min_top1 is not None and accuracy < budget.min_top1:
        reasons.append(f"under min-top1 ({accuracy:.2f} % < {budget.min_top1:g} %)")
    size = size_mb(record)
    if budget.max_size_mb is not None and size > budget.max_size_mb:
        reasons.append(f"over size ({size:.2f} MB > {budget.max_size_mb:g} MB)")
    return reasons


def exclusion(record: Record, budget: Budget) -> list[str]:
    """Why a cell cannot be picked; empty when it fits."""
    if str(record["device"]).upper() != budget.device.upper():
        return [f"wrong device ({record['device']})"]
    if budget.machine and budget.machine not in (machine_of(record), (record.get("environment") or {}).get("hostname")):
        return ["other machine"]
    if record.get("status") != "ok":
        return [f"{record.get('status')}" + (f": {record['reason']}" if record.get("reason") else "")]
    if budget.scenario == "server":  # chosen by load: accuracy is needed only for --min-top1
        if budget.min_top1 is not None and not record.get("accuracy"):
            return ["no accuracy"]
        return _budget_reasons(record, budget)
    if not record.get("accuracy"):
        return ["no accuracy"]
    if not record.get("bench"):
        return ["no bench"]
    return _budget_reasons(record, budget)


def pick(records: list[Record], budget: Budget) -> PickResult:
    if budget.percentile not in PERCENTILES:
        raise ToolError(f"--percentile must be one of {', '.join(map(str, PERCENTILES))}", 2)
    if budget.metric not in METRICS:
        raise ToolError(f"--metric must be one of {', '.join(METRICS)}", 2)
    if budget.scenario is not None and budget.scenario not in SCENARIOS:
        raise ToolError(f"--scenario must be one of {', '.join(SCENARIOS)}", 2)
    result = PickResult(budget)
    for record in records:
        reasons = exclusion(record, budget)
        if reasons:
            result.excluded.append((record, reasons))
        else:
            result.fits.append(record)
    if budget.scenario == "server":  # the load a cell carries within the bound, then Top-1
        result.fits.sort(key=lambda r: (-(budget.qps(r) or 0.0), -(top1(r) or 0.0), size_mb(r)))
        return result
    result.fits.sort(key=lambda r: (-(top1(r) or 0.0), budget.latency(r) or 0.0))
    _settle_tie(result)
    return result


def _settle_tie(result: PickResult) -> None:
    """Among cells as accurate as the first and equal to it in speed, the smallest IR goes first."""
    if not result.fits:
        return
    first = result.fits[0]
    tied = [r for r in result.fits[1:] if top1(r) == top1(first) and same_speed(r, first)]
    if not tied:
        return
    group = sorted([first, *tied], key=lambda r: (size_mb(r), latency(r) or 0.0))
    rest = [r for r in result.fits if not any(r is g for g in group)]
    result.fits = group + rest
    result.ties = group[1:]


def tie_note(result: PickResult) -> str:
    """One line naming the tie the pick was decided by, or '' when there was none."""
    if not result.best or not result.ties:
        return ""
    cells = ", ".join(f"{cell_label(r)} ({config_label(r)}) {interval_text(r)}" for r in [result.best, *result.ties])
    return f"tie: equal Top-1 and equal in speed (round medians overlap: {cells}); picked the smallest IR"


def summary(record: Record, percentile: int, budget: Optional[Budget] = None) -> dict[str, Any]:
    accuracy = record.get("accuracy") or {}
    server = server_qps(record, budget.max_latency_ms) if budget is not None and budget.scenario else None
    return {
        "key": record["key"],
        "model": record["model"],
        "precision": record["precision"],
        "device": record["device"],
        "config": record.get("config"),
        "top1": accuracy.get("top1"),
        "top1_low": accuracy.get("top1_low"),
        "top1_high": accuracy.get("top1_high"),
        f"latency_p{percentile}_ms": latency(record, f"p{percentile}"),
        "latency_median_ms": latency(record),
        "e2e_median_ms": metric_latency(record, "median", "e2e"),
        "latency_round_range_ms": list(interval) if (interval := speed_interval(record)) else None,
        "ir_size_mb": record.get("ir_size_mb"),
        "server": server,  # with --scenario server: the VALID LoadGen run the cell fits by, else None
        "status": record.get("status"),
        "hostname": (record.get("environment") or {}).get("hostname"),
    }


def to_json(result: PickResult) -> dict[str, Any]:
    p, b = result.budget.percentile, result.budget
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "pick",
        "budget": vars(result.budget),
        "pick": summary(result.best, p, b) if result.best else None,
        "runners_up": [summary(r, p, b) for r in result.runners_up],
        "tie": {"with": [summary(r, p, b) for r in result.ties], "decided_by": "ir_size_mb"} if result.ties else None,
        "excluded": [{**summary(r, p, b), "reasons": reasons} for r, reasons in result.excluded],
    }


def _where(record: Record) -> str:
    """`CPU of ci-zen3`: the device and the machine (hostname) that measured the cell."""
    host = (record.get("environment") or {}).get("hostname") or machine_of(record)
    return f"{record['device']} of {host}"


def _server_text(run: Optional[Record]) -> str:
    if run is None:
        return ""
    note = f", {run['note']}" if run.get("note") else ""
    return f"Server {float(run['qps']):.1f} QPS VALID at p99 <= {float(run['max_latency_ms']):g} ms{note}, "


def _describe(record: Record, percentile: int, budget: Optional[Budget] = None) -> str:
    server = _server_text(server_qps(record, budget.max_latency_ms) if budget and budget.scenario else None)
    accuracy = record.get("accuracy") or {}
    interval = f" [{accuracy['top1_low']:.1f}, {accuracy['top1_high']:.1f}]" if "top1_low" in accuracy else ""
    e2e = metric_latency(record, f"p{percentile}", "e2e")
    end_to_end = f"end-to-end p{percentile} {e2e:.3f} ms, " if e2e is not None else ""
    return (
        f"{cell_label(record)} ({config_label(record)}) on {_where(record)}: {server}"
        f"Top-1 {top1(record) or 0:.2f} %{interval}, p{percentile} {latency(record, f'p{percentile}') or 0:.3f} ms, {end_to_end}"
        f"{float(record.get('ir_size_mb') or 0):.2f} MB"
    )


def to_text(result: PickResult) -> str:
    p = result.budget.percentile
    lines = []
    if result.best:
        lines.append(f"pick: {_describe(result.best, p, result.budget)}")
        if result.ties:
            lines.append(tie_note(result))
    if result.runners_up:
        lines.append("runners-up:")
        lines += [f"  {i}. {_describe(r, p, result.budget)}" for i, r in enumerate(result.runners_up, 1)]
    if result.excluded:
        lines.append("excluded:")
        lines += [
            f"  {cell_label(r)} ({config_label(r)}) on {_where(r)}: {'; '.join(why)}" for r, why in result.excluded
        ]
    return "\n".join(lines) + "\n"


def nothing_fits_message(result: PickResult, total: int) -> str:
    b = result.budget
    extra = "".join(
        [
            f", Top-1 >= {b.min_top1:g} %" if b.min_top1 is not None else "",
            f", IR <= {b.max_size_mb:g} MB" if b.max_size_mb is not None else "",
        ]
    )
    if b.scenario == "server":
        return (
            f"nothing fits: none of the {total} cells on {b.device} has a VALID Server result at a latency bound <= "
            f"{b.max_latency_ms:g} ms{extra} (see the exclusions above)"
        )
    return (
        f"nothing fits: none of the {total} cells on {b.device} has {b.what} latency <= "
        f"{b.max_latency_ms:g} ms{extra} (see the exclusions above)"
    )
