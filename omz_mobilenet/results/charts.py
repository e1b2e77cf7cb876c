"""Chart descriptions and a small deterministic SVG renderer (no external resources)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Optional

from omz_mobilenet.errors import ToolError

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 62, 200, 34, 48
CHAR_W, LABEL_H = 5.6, 11


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]
    color: str = PALETTE[0]
    line: bool = False
    markers: bool = True
    labels: list[str] = field(default_factory=list)
    yerr: list[tuple[float, float]] = field(default_factory=list)  # absolute (low, high) per point
    tooltips: list[str] = field(default_factory=list)


@dataclass
class Chart:
    name: str  # file stem for --png
    title: str
    xlabel: str
    ylabel: str
    series: list[Series]
    css_class: str = "chart"
    attrs: dict[str, str] = field(default_factory=dict)
    vline: Optional[tuple[float, str]] = None  # (x, label): e.g. the latency limit
    star: Optional[tuple[float, float, str]] = None  # (x, y, label): e.g. the sweet spot
    x_floor: Optional[float] = 0.0  # the x axis starts no lower than this (latency is never negative)
    y_range: Optional[tuple[float, float]] = None  # fixed y axis, e.g. (0, 100) for percentiles


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    return [round(start + i * step, 10) for i in range(int(math.ceil((high - start) / step)) + 1)]


def _axis(values: list[float], floor: Optional[float] = None) -> list[float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or abs(high) * 0.1 or 1.0
    low = low - pad if floor is None else max(floor, low - pad)
    return nice_ticks(low, high + pad)


def _extent(chart: Chart) -> tuple[list[float], list[float]]:
    xs = [x for s in chart.series for x, _ in s.points]
    ys = [y for s in chart.series for _, y in s.points] + [v for s in chart.series for e in s.yerr for v in e]
    if chart.vline:
        xs.append(chart.vline[0])
    xt = _axis(xs or [0.0, 1.0], chart.x_floor)
    yt = nice_ticks(*chart.y_range) if chart.y_range else _axis(ys or [0.0, 1.0])
    return xt, yt


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e5 else f"{v:.2g}"


class _Frame:
    def __init__(self, xt: list[float], yt: list[float]) -> None:
        self.xt, self.yt = xt, yt

    def x(self, v: float) -> float:
        return LEFT + (v - self.xt[0]) / (self.xt[-1] - self.xt[0]) * (WIDTH - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return HEIGHT - BOTTOM - (v - self.yt[0]) / (self.yt[-1] - self.yt[0]) * (HEIGHT - TOP - BOTTOM)


def _axes(chart: Chart, f: _Frame) -> list[str]:
    out = []
    for t in f.xt:
        out.append(f'<line x1="{f.x(t):.1f}" y1="{TOP}" x2="{f.x(t):.1f}" y2="{HEIGHT - BOTTOM}" class="grid"/>')
        out.append(f'<text x="{f.x(t):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{_fmt(t)}</text>')
    for t in f.yt:
        out.append(f'<line x1="{LEFT}" y1="{f.y(t):.1f}" x2="{WIDTH - RIGHT}" y2="{f.y(t):.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{f.y(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" class="frame"/>'
    )
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 10}" text-anchor="middle">{escape(chart.xlabel)}</text>'
    )
    out.append(
        f'<text transform="translate(16 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(chart.ylabel)}</text>"
    )
    out.append(f'<text x="{LEFT}" y="20" class="title">{escape(chart.title)}</text>')
    return out


def _series(s: Series, f: _Frame) -> list[str]:
    out = []
    if s.line and len(s.points) > 1:
        path = " ".join(f"{f.x(x):.1f},{f.y(y):.1f}" for x, y in s.points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="1.8"/>')
    for (x, _), (low, high) in zip(s.points, s.yerr, strict=False):
        out.append(
            f'<line x1="{f.x(x):.1f}" y1="{f.y(low):.1f}" x2="{f.x(x):.1f}" y2="{f.y(high):.1f}" '
            f'stroke="{s.color}" class="err"/>'
        )
    for i, (x, y) in enumerate(s.points if s.markers else []):
        tip = f"<title>{escape(s.tooltips[i])}</title>" if i < len(s.tooltips) else ""
        out.append(f'<circle cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="4" fill="{s.color}">{tip}</circle>')
    return out


def _labels(chart: Chart, f: _Frame) -> list[str]:
    """Point labels, each moved to the first nearby spot where it does not cover an earlier one."""
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for s in chart.series:
        for (x, y), label in zip(s.points, s.labels, strict=False):
            px, py, w = f.x(x), f.y(y), len(label) * CHAR_W
            spots = [
                (px + 6, py - 6),
                (px + 6, py + 14),
                (px - w - 6, py - 6),
                (px - w - 6, py + 14),
                (px + 6, py - 18),
                (px + 6, py + 26),
                (px - w - 6, py - 18),
                (px - w - 6, py + 26),
            ]
            tx, ty = next((p for p in spots if not any(_overlap(p, w, b) for b in placed)), spots[0])
            tx = min(max(tx, LEFT + 2), WIDTH - RIGHT - w - 2)
            placed.append((tx, ty - LABEL_H + 2, w, LABEL_H))
            out.append(f'<text x="{tx:.1f}" y="{ty:.1f}" class="label">{escape(label)}</text>')
    return out


def _overlap(spot: tuple[float, float], w: float, box: tuple[float, float, float, float]) -> bool:
    x, y = spot[0], spot[1] - LABEL_H + 2
    bx, by, bw, bh = box
    return x < bx + bw and bx < x + w and y < by + bh and by < y + LABEL_H


def _legend(chart: Chart) -> list[str]:
    out = []
    for i, s in enumerate(chart.series[:16]):
        y = TOP + 8 + i * 16
        out.append(f'<rect x="{WIDTH - RIGHT + 10}" y="{y - 8}" width="10" height="10" fill="{s.color}"/>')
        out.append(f'<text x="{WIDTH - RIGHT + 25}" y="{y + 1}" class="legend">{escape(_clip(s.name, 30))}</text>')
    return out


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "\u2026"


def _extras(chart: Chart, f: _Frame) -> list[str]:
    out = []
    if chart.vline:
        x, label = chart.vline
        out.append(f'<line x1="{f.x(x):.1f}" y1="{TOP}" x2="{f.x(x):.1f}" y2="{HEIGHT - BOTTOM}" class="limit"/>')
        out.append(f'<text x="{f.x(x) + 4:.1f}" y="{TOP + 12}" class="label">{escape(label)}</text>')
    if chart.star:
        x, y, label = chart.star
        out.append(
            f'<circle cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="9" class="sweet"><title>{escape(label)}</title></circle>'
        )
        out.append(f'<text x="{f.x(x) - 8:.1f}" y="{f.y(y) + 22:.1f}" class="label sweet-label">{escape(label)}</text>')
    return out


def to_svg(chart: Chart) -> str:
    xt, yt = _extent(chart)
    frame = _Frame(xt, yt)
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in chart.attrs.items())
    body = _axes(chart, frame) + _extras(chart, frame)
    for s in chart.series:
        body += _series(s, frame)
    body += _labels(chart, frame) + _legend(chart)
    return (
        f'<svg class="{chart.css_class}"{attrs} viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(chart.title)}">\n'
        + "\n".join(body)
        + "\n</svg>"
    )


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
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
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
        label=s.name,
    )
    offsets = ((4, 4), (4, -10), (-4, 14), (4, -22))  # staggered so neighbouring labels do not overlap
    for i, (x, y, label) in enumerate(zip(xs, ys, s.labels, strict=False)):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=offsets[i % 4], fontsize=7)
