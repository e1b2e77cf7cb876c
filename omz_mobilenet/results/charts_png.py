"""`report --png`: the report's charts drawn with matplotlib (Agg) into PNG files."""

from __future__ import annotations

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
        for s in chart.series:
            if not s.hidden:  # what the page shows before a legend entry is switched on
                _png_series(ax, s)
        if chart.vline:
            ax.axvline(chart.vline[0], color="#888", linestyle="--", label=chart.vline[1])
        if chart.star:
            ax.scatter(
                [chart.star[0]],
                [chart.star[1]],
                s=260,
                facecolors="none",
                edgecolors="#d62728",
                linewidths=2,
                label=chart.star[2],
                zorder=5,
            )
        ax.set(title=chart.title, xlabel=chart.xlabel, ylabel=chart.ylabel)
        ax.grid(True, alpha=0.3)
        handles, names = ax.get_legend_handles_labels()
        seen = dict(zip(names, handles, strict=True))  # one entry per legend key, at most LEGEND_MAX
        ax.legend(
            list(seen.values())[:LEGEND_MAX],
            list(seen)[:LEGEND_MAX],
            fontsize=7,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
        )
        fig.tight_layout()
        fig.savefig(path, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)


def _png_series(ax, s: Series) -> None:  # type: ignore[no-untyped-def]
    xs, ys = [p[0] for p in s.points], [p[1] for p in s.points]
    if s.yerr:
        errs = [
            [y - lo for y, (lo, _) in zip(ys, s.yerr, strict=False)],
            [hi - y for y, (_, hi) in zip(ys, s.yerr, strict=False)],
        ]
        ax.errorbar(xs, ys, yerr=errs, fmt="none", ecolor=s.color, alpha=0.6, capsize=2)
    ax.plot(
        xs,
        ys,
        color=s.color,
        linestyle="-" if s.line else "none",
        marker="o" if s.markers else None,
        markersize=4,
        label=s.legend_key,
    )
    for y, span in zip(ys, s.xerr, strict=False):
        if span is not None:
            ax.plot(span, [y, y], color=s.color, alpha=0.5, linewidth=1.2)
    offsets = ((4, 4), (4, -10), (-4, 14), (4, -22))  # staggered so neighbouring labels do not overlap
    for i, (x, y, label) in enumerate(zip(xs, ys, s.labels, strict=False)):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=offsets[i % 4], fontsize=7)
