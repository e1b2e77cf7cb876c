"""The report's charts for one (device, machine) group of cells."""

from __future__ import annotations

from typing import Optional

from omz_mobilenet.results.cells import cell_label, config_label, is_measured, latency, throughput, top1
from omz_mobilenet.results.charts import Chart, Series, color
from omz_mobilenet.results.db import Record
from omz_mobilenet.results.pareto import front


def _tooltip(r: Record) -> str:
    return (
        f"{cell_label(r, config=True, short=True)}: Top-1 {top1(r) or 0:.2f} %, median {latency(r) or 0:.3f} ms, "
        f"{throughput(r) or 0:.1f} FPS"
    )


def pareto_chart(device: str, machine: str, title_suffix: str, records: list[Record]) -> Chart:
    measured = [r for r in records if is_measured(r)]
    series = []
    for i, precision in enumerate(dict.fromkeys(str(r["precision"]) for r in measured)):
        cells = [r for r in measured if r["precision"] == precision]
        series.append(
            Series(
                precision,
                [(latency(r) or 0.0, top1(r) or 0.0) for r in cells],
                color(i),
                yerr=[(r["accuracy"]["top1_low"], r["accuracy"]["top1_high"]) for r in cells],
                tooltips=[_tooltip(r) for r in cells],
            )
        )
    best = front(measured)
    series.append(
        Series(
            "Pareto front",
            [(latency(r) or 0.0, top1(r) or 0.0) for r in best],
            "#222222",
            line=True,
            markers=False,
            labels=[cell_label(r, short=True) for r in best],
        )
    )
    return Chart(
        f"pareto-{device}-{machine}",
        f"Top-1 vs median latency, {device}{title_suffix}",
        "median latency (ms)",
        "Top-1 (%), 95% interval",
        series,
        "pareto-chart",
        {"data-device": device, "data-machine": machine},
    )


def sweet_spot(records: list[Record], max_latency: Optional[float]) -> Optional[Record]:
    """The best throughput whose median latency is within `max_latency` (any latency when None)."""
    timed = [r for r in records if r.get("status") == "ok" and r.get("bench")]
    fits = [r for r in timed if max_latency is None or (latency(r) or 0.0) <= max_latency]
    return max(fits, key=lambda r: (throughput(r) or 0.0, -(latency(r) or 0.0)), default=None)


def throughput_chart(
    device: str, machine: str, title_suffix: str, records: list[Record], max_latency: Optional[float]
) -> Chart:
    timed = [r for r in records if r.get("status") == "ok" and r.get("bench")]
    series = []
    for i, name in enumerate(dict.fromkeys(cell_label(r, short=True) for r in timed)):
        cells = sorted((r for r in timed if cell_label(r, short=True) == name), key=lambda r: latency(r) or 0.0)
        series.append(
            Series(
                name,
                [(latency(r) or 0.0, throughput(r) or 0.0) for r in cells],
                color(i),
                line=True,
                labels=[config_label(r) for r in cells],
                tooltips=[_tooltip(r) for r in cells],
            )
        )
    chart = Chart(
        f"throughput-{device}-{machine}",
        f"Throughput vs latency over configurations, {device}{title_suffix}",
        "median latency (ms)",
        "throughput (FPS)",
        series,
        "throughput-chart",
        {"data-device": device, "data-machine": machine},
    )
    if max_latency is not None:
        chart.vline = (max_latency, f"limit {max_latency:g} ms")
    best = sweet_spot(timed, max_latency)
    if best is not None:
        chart.star = (
            latency(best) or 0.0,
            throughput(best) or 0.0,
            f"sweet spot: {cell_label(best, config=True, short=True)}",
        )
    return chart


def cdf_chart(device: str, machine: str, title_suffix: str, records: list[Record]) -> Chart:
    timed = [r for r in records if r.get("status") == "ok" and (r.get("bench") or {}).get("cdf_ms")]
    series = [
        Series(
            cell_label(r, config=True, short=True),
            [(float(ms), float(q)) for q, ms in enumerate(r["bench"]["cdf_ms"])],
            color(i),
            line=True,
            markers=False,
        )
        for i, r in enumerate(timed)
    ]
    return Chart(
        f"cdf-{device}-{machine}",
        f"Latency distribution (CDF), {device}{title_suffix}",
        "latency (ms)",
        "percentile",
        series,
        "cdf-chart",
        {"data-device": device, "data-machine": machine},
        y_range=(0.0, 100.0),
    )
