"""`report --markdown`: a short summary for CI job pages, and `report --png`: the charts as images."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from omz_mobilenet.results.charts_png import to_png
from omz_mobilenet.results.db import Record
from omz_mobilenet.results.fields import is_measured, latency, top1
from omz_mobilenet.results.grouping import environments, groups
from omz_mobilenet.results.labels import cell_label, config_label, host_names
from omz_mobilenet.results.pareto import front
from omz_mobilenet.results.report_charts import cdf_charts, pareto_chart, throughput_chart


def _row(r: Record) -> str:
    acc = r["accuracy"]
    return (
        f"| {r['model']} | {r['precision']} | {config_label(r)} | {acc['top1']:.2f} "
        f"[{acc['top1_low']:.1f}, {acc['top1_high']:.1f}] | {latency(r) or 0:.3f} | {latency(r, 'p90') or 0:.3f} |"
    )


def _best_under(records: list[Record], max_latency: Optional[float]) -> str:
    fits = [r for r in records if is_measured(r) and (max_latency is None or (latency(r) or 0.0) <= max_latency)]
    if not fits:
        return f"No cell has a median latency <= {max_latency:g} ms."
    best = min(fits, key=lambda r: (-(top1(r) or 0.0), latency(r) or 0.0))
    where = f"with median latency <= {max_latency:g} ms" if max_latency is not None else "overall"
    return (
        f"Best Top-1 {where}: **{cell_label(best, config=True)}**, {top1(best) or 0:.2f} %, "
        f"median {latency(best) or 0:.3f} ms."
    )


def markdown(records: list[Record], max_latency: Optional[float] = None) -> str:
    hosts = host_names(records)
    lines = [
        "# MobileNet results",
        "",
        f"{len(records)} cells ({_counts(records)}), {len(environments(records))} machine(s).",
        "",
    ]
    for (device, machine), group in groups(records).items():
        lines += [
            f"## {device} on {hosts[machine]}",
            "",
            "Pareto set (Top-1 vs median latency):",
            "",
            "| model | precision | config | Top-1 % [95%] | median ms | p90 ms |",
            "|---|---|---|---:|---:|---:|",
        ]
        lines += [_row(r) for r in front(group)] or ["| (no measured cells) | | | | | |"]
        lines += ["", _best_under(group, max_latency), ""]
    return "\n".join(lines + _not_evidence(records)).rstrip() + "\n"


def _counts(records: list[Record]) -> str:
    statuses = list(dict.fromkeys(str(r["status"]) for r in records))
    return ", ".join(f"{sum(1 for r in records if r['status'] == s)} {s}" for s in statuses) or "none"


def _not_evidence(records: list[Record], most: int = 20) -> list[str]:
    """Failed, incomplete and unavailable cells, named with their reason: never counted as a result."""
    other = [r for r in records if r["status"] != "ok"]
    if not other:
        return []
    lines = ["## Not results", ""]
    lines += [
        f"- {cell_label(r, config=True)} {r['device']}: **{r['status']}**, {r.get('reason') or 'no reason'}"
        for r in other[:most]
    ]
    return lines + (
        [f"- ... and {len(other) - most} more (`omz-mobilenet results --status ...`)"] if len(other) > most else []
    )


def write_pngs(records: list[Record], folder: Path, max_latency: Optional[float] = None) -> list[Path]:
    """Each group's Pareto and throughput charts and one CDF per model family, as
    `<kind>-<device>-<host>.png` (`cdf-<family>-<device>-<host>.png`)."""
    folder.mkdir(parents=True, exist_ok=True)
    hosts = host_names(records)
    written = []
    for (device, machine), group in groups(records).items():
        suffix = f" on {hosts[machine]}" if len(hosts) > 1 else ""
        for chart in (
            pareto_chart(device, machine, suffix, group),
            throughput_chart(device, machine, suffix, group, max_latency),
            *cdf_charts(device, machine, suffix, group),
        ):
            stem = chart.name.rsplit("-", 1)[0] + (f"-{_safe(hosts[machine])}" if len(hosts) > 1 else "")
            path = folder / f"{_safe(stem)}.png"
            to_png(chart, str(path))
            written.append(path)
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
