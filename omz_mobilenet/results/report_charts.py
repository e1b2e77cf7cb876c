"""The report's charts for one (device, machine) group of cells.

Points are labelled by what varies among them (`labels.varying_labels`); what all share is said once in
the subtitle. Speed intervals (fastest to slowest round median) are drawn as horizontal bars: cells
whose bars overlap are equal in speed. Latency CDFs come one chart per model family.
"""

from __future__ import annotations

from typing import Optional

from omz_mobilenet.results.charts import LEGEND_MAX, Chart, Series, color
from omz_mobilenet.results.db import Record
from omz_mobilenet.results.fields import (
    cell_id,
    is_measured,
    is_ok,
    is_timed,
    latency,
    scenario_runs,
    speed_interval,
    throughput,
    top1,
)
from omz_mobilenet.results.grouping import families
from omz_mobilenet.results.labels import cell_label, common_label, config_label, varying_labels
from omz_mobilenet.results.pareto import front
from omz_mobilenet.results.record import VALID

CDF_SHOWN = 8  # lines a crowded CDF shows at first; the page's legend switches on the others


def _tooltip(r: Record) -> str:
    return (
        f"{cell_label(r, config=True, short=True)}: Top-1 {top1(r) or 0:.2f} %, median {latency(r) or 0:.3f} ms, "
        f"{throughput(r) or 0:.1f} FPS"
    )


def _shared(records: list[Record]) -> str:
    common = common_label(records)
    return f"all cells {common}" if common and len({config_label(r) for r in records}) == 1 else ""


def _attrs(device: str, machine: str) -> dict[str, str]:
    return {"data-device": device, "data-machine": machine}


def _precision_colours(records: list[Record]) -> dict[str, str]:
    return {p: color(i) for i, p in enumerate(dict.fromkeys(str(r["precision"]) for r in records))}


def pareto_chart(device: str, machine: str, title_suffix: str, records: list[Record]) -> Chart:
    measured = [r for r in records if is_measured(r)]
    series = []
    for precision, colour in _precision_colours(measured).items():
        cells = [r for r in measured if r["precision"] == precision]
        series.append(
            Series(
                precision,
                [(latency(r) or 0.0, top1(r) or 0.0) for r in cells],
                colour,
                yerr=[(r["accuracy"]["top1_low"], r["accuracy"]["top1_high"]) for r in cells],
                xerr=[speed_interval(r) for r in cells],
                tooltips=[_tooltip(r) for r in cells],
            )
        )
    names = varying_labels(measured)
    best = front(measured)
    points = [(latency(r) or 0.0, top1(r) or 0.0) for r in best]
    labels = [names[cell_id(r)] for r in best]
    series.append(Series("Pareto front", points, "#222222", line=True, markers=False, labels=labels))
    shared = _shared(measured)
    return Chart(
        f"pareto-{device}-{machine}",
        f"Top-1 vs median latency, {device}{title_suffix}",
        "median latency (ms, log scale); bar: round medians, overlapping bars = equal speed",
        "Top-1 (%), 95% interval",
        series,
        "pareto-chart",
        _attrs(device, machine),
        subtitle=shared,
        x_log=True,
    )


def sweet_spot(records: list[Record], max_latency: Optional[float]) -> Optional[Record]:
    """The best throughput whose median latency is within `max_latency` (any latency when None)."""
    timed = [r for r in records if is_timed(r)]
    fits = [r for r in timed if max_latency is None or (latency(r) or 0.0) <= max_latency]
    return max(fits, key=lambda r: (throughput(r) or 0.0, -(latency(r) or 0.0)), default=None)


def _throughput_series(timed: list[Record]) -> list[Series]:
    """One line per model and precision over its configurations, coloured (and hidden) by precision."""
    colours = _precision_colours(timed)
    lines = dict.fromkeys(cell_label(r, short=True) for r in timed)
    config_varies = len({config_label(r) for r in timed}) > 1
    series = []
    for name in lines:
        cells = sorted((r for r in timed if cell_label(r, short=True) == name), key=lambda r: latency(r) or 0.0)
        labels = varying_labels(cells) if config_varies and len(lines) <= LEGEND_MAX // 2 else {}
        series.append(
            Series(
                name,
                [(latency(r) or 0.0, throughput(r) or 0.0) for r in cells],
                colours[str(cells[0]["precision"])],
                line=True,
                labels=[labels.get(cell_id(r), "") for r in cells],
                tooltips=[_tooltip(r) for r in cells],
                key=str(cells[0]["precision"]),
            )
        )
    return series


def throughput_chart(
    device: str, machine: str, title_suffix: str, records: list[Record], max_latency: Optional[float]
) -> Chart:
    timed = [r for r in records if is_timed(r)]
    chart = Chart(
        f"throughput-{device}-{machine}",
        f"Throughput vs latency over configurations, {device}{title_suffix}",
        "median latency (ms, log scale)",
        "throughput (FPS)",
        _throughput_series(timed),
        "throughput-chart",
        _attrs(device, machine),
        subtitle=_shared(timed) or "a line joins the configurations of one model and precision",
        y_floor=0.0,
        x_log=True,
    )
    if max_latency is not None:
        chart.vline = (max_latency, f"limit {max_latency:g} ms")
    best = sweet_spot(timed, max_latency)
    if best is not None:
        label = f"sweet spot: {cell_label(best, config=True, short=True)}"
        chart.star = (latency(best) or 0.0, throughput(best) or 0.0, label)
    return chart


def _cdf_order(cells: list[Record]) -> list[Record]:
    """Pareto cells first, then by median latency: the lines a crowded chart shows at first."""
    on_front = {cell_id(r) for r in front(cells)}
    return sorted(cells, key=lambda r: (cell_id(r) not in on_front, latency(r) or 0.0))


def cdf_charts(device: str, machine: str, title_suffix: str, records: list[Record]) -> list[Chart]:
    """One latency CDF per model family; a crowded one shows CDF_SHOWN lines and lists the rest."""
    timed = [r for r in records if is_timed(r) and (r.get("bench") or {}).get("cdf_ms")]
    charts = []
    for name, cells in families(timed).items():
        cells = _cdf_order(cells)
        names = varying_labels(cells)
        crowded = len(cells) > LEGEND_MAX
        series = [
            Series(
                cell_label(r, config=True, short=True),
                [(float(ms), float(q)) for q, ms in enumerate(r["bench"]["cdf_ms"])],
                color(i),
                line=True,
                markers=False,
                key=names[cell_id(r)] or cell_label(r, short=True),
                hidden=crowded and i >= CDF_SHOWN,
            )
            for i, r in enumerate(cells)
        ]
        charts.append(
            Chart(
                f"cdf-{name}-{device}-{machine}",
                f"Latency CDF, {name}, {device}{title_suffix}",
                "latency (ms, log scale)",
                "percentile",
                series,
                "cdf-chart",
                {**_attrs(device, machine), "data-family": name},
                y_range=(0.0, 100.0),
                subtitle=_shared(cells),
                x_log=True,
            )
        )
    return charts


def server_points(record: Record) -> list[tuple[float, float]]:
    """(latency bound ms, highest VALID Server QPS at it) of one cell, by bound; INVALID runs are not points."""
    best: dict[float, float] = {}
    for run in scenario_runs(record, "server"):
        if run.get("result") == VALID and run.get("qps") is not None and run.get("max_latency_ms") is not None:
            bound = float(run["max_latency_ms"])
            best[bound] = max(best.get(bound, 0.0), float(run["qps"]))
    return sorted(best.items())


def server_chart(device: str, machine: str, title_suffix: str, records: list[Record]) -> Optional[Chart]:
    """The highest VALID MLPerf Server QPS against the latency bound, one line per cell; None without any."""
    cells = [r for r in records if is_ok(r) and server_points(r)]
    if not cells:
        return None
    series = [
        Series(
            cell_label(r, config=True, short=True),
            server_points(r),
            color(i),
            line=True,
            tooltips=[
                f"{cell_label(r, config=True, short=True)}: {q:.1f} QPS VALID at p99 <= {b:g} ms"
                for b, q in server_points(r)
            ],
        )  # fmt: skip
        for i, r in enumerate(cells)
    ]
    return Chart(
        f"server-{device}-{machine}",
        f"MLPerf Server QPS vs latency bound, {device}{title_suffix}",
        "latency bound (ms, LoadGen p99)",
        "highest VALID Server QPS",
        series,
        "server-chart",
        _attrs(device, machine),
        subtitle="VALID LoadGen runs only; INVALID runs are in the table below, marked INVALID",
        y_range=(0.0, 1.1 * max(q for s in series for _b, q in s.points)),  # from 0: rates compare by ratio
    )
