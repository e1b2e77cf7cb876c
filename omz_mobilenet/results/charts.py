"""Chart descriptions and a small deterministic SVG renderer (no external resources).

Readable at hundreds of cells: a label is drawn only where it covers no other label (else the point's
hover title names it), each series sits in a `<g class="series" data-key>` that the legend can hide,
and a chart with more legend keys than fit beside it leaves its legend to the page (`html_legend`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Optional

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 62, 200, 34, 48
CHAR_W, LABEL_H = 6.0, 12  # a 10 px label, measured generously so that estimated boxes never undercount
LEGEND_MAX = 16  # legend entries that fit beside the plot; more go to a list on the page


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]
    color: str = PALETTE[0]
    line: bool = False
    markers: bool = True
    labels: list[str] = field(default_factory=list)
    yerr: list[tuple[float, float]] = field(default_factory=list)  # absolute (low, high) per point
    xerr: list[Optional[tuple[float, float]]] = field(default_factory=list)  # absolute (low, high) or None
    tooltips: list[str] = field(default_factory=list)
    key: str = ""  # legend entry the series belongs to (default: its name); series sharing one hide together
    hidden: bool = False  # drawn but not shown until its legend entry is switched on

    @property
    def legend_key(self) -> str:
        return self.key or self.name


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
    y_floor: Optional[float] = None  # the same for y (throughput is never negative)
    x_log: bool = False  # a log latency axis: 0.2 ms and 30 ms cells in one readable chart
    y_range: Optional[tuple[float, float]] = None  # fixed y axis, e.g. (0, 100) for percentiles
    subtitle: str = ""  # what every point shares, said once (e.g. `all cells b1 latency f32`)

    def legend(self) -> list[tuple[str, str, bool]]:
        """(key, colour, shown) per legend entry, in first-seen order."""
        out: dict[str, tuple[str, bool]] = {}
        for s in self.series:
            colour, shown = out.get(s.legend_key, (s.color, False))
            out[s.legend_key] = (colour, shown or not s.hidden)
        return [(k, c, shown) for k, (c, shown) in out.items()]

    @property
    def html_legend(self) -> bool:
        return len(self.legend()) > LEGEND_MAX


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


def log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks from the largest one at or below `low` to the smallest one at or above `high`."""
    steps = [m * 10.0**k for k in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
             for m in (1, 2, 5)]  # fmt: skip
    first = max(t for t in steps if t <= low * 0.95)
    last = min(t for t in steps if t >= high * 1.05)
    return [round(t, 12) for t in steps if first <= t <= last]


def _axis(values: list[float], floor: Optional[float] = None) -> list[float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or abs(high) * 0.1 or 1.0
    low = low - pad if floor is None else max(floor, low - pad)
    return nice_ticks(low, high + pad)


def _extent(chart: Chart) -> tuple[list[float], list[float]]:
    """Axes that fit the series shown at first; a hidden one switched on is clipped to the plot."""
    shown = [s for s in chart.series if not s.hidden]
    xs = [x for s in shown for x, _ in s.points] + [v for s in shown for e in s.xerr if e for v in e]
    ys = [y for s in shown for _, y in s.points] + [v for s in shown for e in s.yerr for v in e]
    if chart.vline:
        xs.append(chart.vline[0])
    positive = [x for x in xs if x > 0]
    xt = log_ticks(min(positive), max(positive)) if chart.x_log and positive else _axis(xs or [0.0, 1.0], chart.x_floor)
    yt = nice_ticks(*chart.y_range) if chart.y_range else _axis(ys or [0.0, 1.0], chart.y_floor)
    return xt, yt


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e5 else f"{v:.2g}"


class _Frame:
    def __init__(self, xt: list[float], yt: list[float], x_log: bool = False) -> None:
        self.xt, self.yt, self.x_log = xt, yt, x_log

    def x(self, v: float) -> float:
        if self.x_log:
            low, high = math.log10(self.xt[0]), math.log10(self.xt[-1])
            return LEFT + (math.log10(max(v, self.xt[0])) - low) / (high - low) * (WIDTH - LEFT - RIGHT)
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
    out.append(f'<text x="{LEFT}" y="16" class="title">{escape(chart.title)}</text>')
    if chart.subtitle:
        out.append(f'<text x="{LEFT}" y="29" class="subtitle">{escape(chart.subtitle)}</text>')
    return out


def _errors(s: Series, f: _Frame) -> list[str]:
    out = []
    for (x, _), (low, high) in zip(s.points, s.yerr, strict=False):
        out.append(
            f'<line x1="{f.x(x):.1f}" y1="{f.y(low):.1f}" x2="{f.x(x):.1f}" y2="{f.y(high):.1f}" '
            f'stroke="{s.color}" class="err"/>'
        )
    for (_, y), span in zip(s.points, s.xerr, strict=False):
        if span is not None:
            out.append(
                f'<line x1="{f.x(span[0]):.1f}" y1="{f.y(y):.1f}" x2="{f.x(span[1]):.1f}" y2="{f.y(y):.1f}" '
                f'stroke="{s.color}" class="err xerr"/>'
            )
    return out


def _series(s: Series, f: _Frame, clip: str) -> list[str]:
    hide = ' style="display:none"' if s.hidden else ""
    out = [f'<g class="series" data-key="{escape(s.legend_key)}" clip-path="url(#{clip})"{hide}>']
    if s.line and len(s.points) > 1:
        path = " ".join(f"{f.x(x):.1f},{f.y(y):.1f}" for x, y in s.points)
        tip = f"<title>{escape(s.name)}</title>" if not s.markers else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="1.8">{tip}</polyline>')
    out += _errors(s, f)
    for i, (x, y) in enumerate(s.points if s.markers else []):
        tip = f"<title>{escape(s.tooltips[i])}</title>" if i < len(s.tooltips) else ""
        out.append(f'<circle cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="4" fill="{s.color}">{tip}</circle>')
    return out + ["</g>"]


Box = tuple[float, float, float, float]


def _spots(px: float, py: float, w: float) -> list[tuple[float, float]]:
    """Places for a label around its point, nearest first."""
    right, left = px + 6, px - w - 6
    return [(right, py - 6), (right, py + 14), (left, py - 6), (left, py + 14),
            (right, py - 18), (right, py + 26), (left, py - 18), (left, py + 26)]  # fmt: skip


def _inside(spot: tuple[float, float], w: float) -> bool:
    x, y = spot
    return x >= LEFT + 2 and x + w <= WIDTH - RIGHT - 2 and TOP + LABEL_H <= y <= HEIGHT - BOTTOM - 2


def _corners(w: float) -> list[tuple[float, float]]:
    """Free-standing places along the top and foot of the plot, for a label that must be shown."""
    xs = (LEFT + 4, WIDTH - RIGHT - w - 4)
    return [(x, y) for y in (TOP + 28, TOP + 42, HEIGHT - BOTTOM - 6) for x in xs]


def _place(px: float, py: float, text: str, placed: list[Box], anywhere: bool = False) -> Optional[tuple[float, float]]:
    """The first free spot inside the plot for a label (with `anywhere`, also away from its point),
    or None: then the point's hover title names it."""
    w = len(text) * CHAR_W
    for spot in _spots(px, py, w) + (_corners(w) if anywhere else []):
        box = (spot[0], spot[1] - LABEL_H + 2, w, LABEL_H)
        if _inside(spot, w) and not any(_overlap(box, b) for b in placed):
            placed.append(box)
            return spot
    return None


def _markers(chart: Chart, f: _Frame) -> list[Box]:
    """The boxes of the shown points: labels keep off them."""
    shown = [s for s in chart.series if s.markers and not s.hidden]
    return [(f.x(x) - 5, f.y(y) - 5, 10, 10) for s in shown for x, y in s.points]


def _labels(chart: Chart, f: _Frame) -> list[str]:
    """The sweet spot's label first, then point labels, each only where it covers no point or other label."""
    placed: list[Box] = _markers(chart, f)
    out = []
    if chart.vline:  # its label sits at the top of the limit line, above the points
        x, text = chart.vline
        placed.append((f.x(x) + 4, TOP + 14 - LABEL_H + 2, len(text) * CHAR_W, LABEL_H))
        out.append(f'<text x="{f.x(x) + 4:.1f}" y="{TOP + 14}" class="limit-label">{escape(text)}</text>')
    if chart.star:
        x, y, text = chart.star
        spot = _place(f.x(x) + 4, f.y(y) + 10, text, placed, anywhere=True)  # red, like its ring
        if spot is not None:
            out.append(f'<text x="{spot[0]:.1f}" y="{spot[1]:.1f}" class="label sweet-label">{escape(text)}</text>')
    for s in chart.series:
        if s.hidden:
            continue
        for (x, y), text in zip(s.points, s.labels, strict=False):
            spot = _place(f.x(x), f.y(y), text, placed) if text else None
            if spot is not None:
                out.append(f'<text x="{spot[0]:.1f}" y="{spot[1]:.1f}" class="label">{escape(text)}</text>')
    return out


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _legend(chart: Chart) -> list[str]:
    if chart.html_legend:
        return []
    out = []
    for i, (key, colour, shown) in enumerate(chart.legend()):
        y = TOP + 8 + i * 16
        off = "" if shown else " off"
        out.append(
            f'<g class="legend-item{off}" data-key="{escape(key)}" role="button" tabindex="0">'
            f"<title>{escape(key)}: click to hide or show</title>"
            f'<rect x="{WIDTH - RIGHT + 10}" y="{y - 8}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{WIDTH - RIGHT + 25}" y="{y + 1}" class="legend">{escape(_clip(key, 30))}</text></g>'
        )
    return out


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "\u2026"


def _extras(chart: Chart, f: _Frame) -> list[str]:
    out = []
    if chart.vline:
        x = chart.vline[0]
        out.append(f'<line x1="{f.x(x):.1f}" y1="{TOP}" x2="{f.x(x):.1f}" y2="{HEIGHT - BOTTOM}" class="limit"/>')
    if chart.star:
        x, y, label = chart.star
        out.append(
            f'<circle cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="9" class="sweet"><title>{escape(label)}</title></circle>'
        )
    return out


def to_svg(chart: Chart) -> str:
    xt, yt = _extent(chart)
    frame = _Frame(xt, yt, chart.x_log and xt[0] > 0)
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in chart.attrs.items())
    clip = "clip-" + "".join(c if c.isalnum() else "-" for c in chart.name)
    body = [
        f'<defs><clipPath id="{clip}"><rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}"/></clipPath></defs>'
    ]
    body += _axes(chart, frame) + _extras(chart, frame)
    for s in chart.series:
        body += _series(s, frame, clip)
    body += _labels(chart, frame) + _legend(chart)
    return (
        f'<svg class="{chart.css_class}"{attrs} viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(chart.title)}">\n'
        + "\n".join(body)
        + "\n</svg>"
    )
