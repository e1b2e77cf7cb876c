"""`report --png`: the report's charts drawn with matplotlib (Agg) into PNG files.

The PNG shows what the page shows before anything is clicked: hidden series stay out, the legend
keeps at most LEGEND_MAX entries, and a point label that would cover another one is left out.
"""

from __future__ import annotations

from typing import Any

from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.charts import LEGEND_MAX, Chart, Series


def to_png(chart: Chart, path: str) -> None:
    """The same chart drawn with matplotlib (Agg) into a PNG file."""
    try:
        import matplotlib
    except ImportError:
        raise ToolError("--png needs matplotlib: pip install matplotlib", 2) from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=110)
    try:
        labels = [t for s in chart.series if not s.hidden for t in _png_series(ax, s)]
        _extras(ax, chart)
        _axes(ax, chart)
        fig.tight_layout()
        _drop_covered(fig, ax, labels)
        fig.savefig(path, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)


def _extras(ax: Any, chart: Chart) -> None:
    if chart.vline:
        ax.axvline(chart.vline[0], color="#888", linestyle="--", label=chart.vline[1])
    if chart.star:
        x, y, label = chart.star
        ax.scatter([x], [y], s=260, facecolors="none", edgecolors="#d62728", linewidths=2, label=label, zorder=5)


def _axes(ax: Any, chart: Chart) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set(title=chart.title, xlabel=chart.xlabel, ylabel=chart.ylabel)
    if chart.x_log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))  # 0.5, 1, 2 rather than 10^0
    ax.grid(True, alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    seen = dict(zip(names, handles, strict=True))  # one entry per legend key, at most LEGEND_MAX
    keys = list(seen)[:LEGEND_MAX]
    ax.legend([seen[k] for k in keys], keys, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))


def _drop_covered(fig: Any, ax: Any, labels: list[Any]) -> None:
    """Remove each label that covers an earlier one or leaves the plot."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    kept: list[Any] = []
    for label in labels:
        box = label.get_window_extent(renderer)
        inside = area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
        if inside and not any(box.overlaps(k) for k in kept):
            kept.append(box)
        else:
            label.remove()


def _png_series(ax: Any, s: Series) -> list[Any]:
    """Draw one series; returns its point labels (matplotlib texts)."""
    xs, ys = [p[0] for p in s.points], [p[1] for p in s.points]
    if s.yerr:
        errs = [
            [y - lo for y, (lo, _) in zip(ys, s.yerr, strict=False)],
            [hi - y for y, (_, hi) in zip(ys, s.yerr, strict=False)],
        ]
        ax.errorbar(xs, ys, yerr=errs, fmt="none", ecolor=s.color, alpha=0.6, capsize=2)
    line = "-" if s.line else "none"
    ax.plot(xs, ys, color=s.color, linestyle=line, marker="o" if s.markers else None, markersize=4, label=s.legend_key)
    for y, span in zip(ys, s.xerr, strict=False):
        if span is not None:
            ax.plot(span, [y, y], color=s.color, alpha=0.5, linewidth=1.2)
    offsets = ((4, 4), (4, -10), (-4, 14), (4, -22))  # staggered so neighbouring labels do not overlap
    return [
        ax.annotate(label, (x, y), textcoords="offset points", xytext=offsets[i % 4], fontsize=7)
        for i, (x, y, label) in enumerate(zip(xs, ys, s.labels, strict=False))
        if label
    ]
