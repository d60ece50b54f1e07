"""An accessible SVG line chart of a weekly trend: title, description, labelled axes, interval band, target."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 640, 320
XScale = Callable[[int], float]  # week index -> x
YScale = Callable[[float], float]  # value -> y
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 48


@dataclass(frozen=True)
class ChartPoint:
    """One week: its value (None below the minimum sample), answers, and the 95 % interval."""

    week: dt.date
    value: float | None
    n: int | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class TrendChart:
    """A metric's weekly points on a scope, with the target and the metric's possible range."""

    metric: str
    label: str
    scope: str
    points: list[ChartPoint]
    target: float | None
    bounds: tuple[float, float]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _y_range(chart: TrendChart) -> tuple[float, float, float]:
    """A rounded y range covering every value, interval and the target (within the metric's bounds), and a step."""
    seen = [v for p in chart.points for v in (p.value, p.low, p.high) if v is not None]
    seen += [chart.target] if chart.target is not None else []
    low, high = (min(seen), max(seen)) if seen else chart.bounds
    span = max(high - low, (chart.bounds[1] - chart.bounds[0]) / 10)
    step = 10 ** math.floor(math.log10(span / 2))
    step *= 2 if span / step > 10 else 1
    step *= 2.5 if span / step > 10 else 1
    bottom = max(chart.bounds[0], math.floor((low - span * 0.1) / step) * step)
    top = min(chart.bounds[1], math.ceil((high + span * 0.1) / step) * step)
    return bottom, top, step


def describe(chart: TrendChart) -> str:
    """The chart in words, for screen readers (the <desc>)."""
    shown = [p for p in chart.points if p.value is not None]
    first, last = chart.points[0].week, chart.points[-1].week
    text = f"{chart.label} per week for {chart.scope}, {len(chart.points)} weeks from {first} to {last}. "
    if not shown:
        return text + "No week has enough answers to show a value."
    latest = shown[-1]
    text += f"Latest: {_fmt(latest.value or 0)} in the week of {latest.week} (n = {latest.n}"
    if latest.low is not None and latest.high is not None:
        text += f", 95 % interval {_fmt(latest.low)} to {_fmt(latest.high)}"
    text += "). "
    values = [p.value for p in shown if p.value is not None]
    text += f"Lowest {_fmt(min(values))}, highest {_fmt(max(values))}. "
    if chart.target is not None:
        text += f"Target: {_fmt(chart.target)}."
    return text.strip()


def render_svg(chart: TrendChart) -> str:
    """The chart as a small standalone SVG document (no script, no external reference)."""
    bottom, top, step = _y_range(chart)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(chart.points)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / count)

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / (top - bottom)

    title = f"{chart.label} per week, {chart.scope}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="chart-title chart-desc" font-family="sans-serif" font-size="11" '
        f'data-metric="{chart.metric}">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(describe(chart))}</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    parts += _y_axis(chart, bottom, top, step, y)
    parts += _x_axis(chart, x)
    parts += _band(chart, x, y)
    parts += _line(chart, x, y)
    if chart.target is not None and bottom <= chart.target <= top:
        ty = y(chart.target)
        parts.append(
            f'<g class="target" data-value="{_fmt(chart.target)}"><line x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{ty:.1f}" y2="{ty:.1f}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{WIDTH - RIGHT - 4}" y="{ty - 4:.1f}" text-anchor="end" fill="#c0392b">'
            f"target {_fmt(chart.target)}</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _y_axis(chart: TrendChart, bottom: float, top: float, step: float, y: YScale) -> list[str]:
    parts = [
        f'<g class="y-axis" aria-hidden="true" stroke="#999">'
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/></g>'
    ]
    tick = bottom
    while tick <= top + step / 1000:
        ty = y(tick)
        parts.append(
            f'<g class="y-tick" data-value="{_fmt(tick)}"><line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" '
            f'y2="{ty:.1f}" stroke="#eee"/><text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="#555">'
            f"{_fmt(tick)}</text></g>"
        )
        tick += step
    mid = TOP + (HEIGHT - TOP - BOTTOM) / 2
    parts.append(
        f'<text class="y-label" transform="translate(14 {mid:.1f}) rotate(-90)" text-anchor="middle" fill="#333">'
        f"{escape(chart.label)}</text>"
    )
    return parts


def _x_axis(chart: TrendChart, x: XScale) -> list[str]:
    base = HEIGHT - BOTTOM
    parts = [f'<line class="x-axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="#999"/>']
    every = max(1, math.ceil(len(chart.points) / 8))
    for i, point in enumerate(chart.points):
        if i % every == 0 or i == len(chart.points) - 1:
            parts.append(
                f'<text class="x-tick" x="{x(i):.1f}" y="{base + 16}" text-anchor="middle" fill="#555" '
                f'data-week="{point.week}">{point.week.strftime("%d %b")}</text>'
            )
    parts.append(
        f'<text class="x-label" x="{LEFT + (WIDTH - LEFT - RIGHT) / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'fill="#333">Week starting (Monday)</text>'
    )
    return parts


def _runs(chart: TrendChart) -> list[list[int]]:
    """Consecutive weeks with a value: the line and band break where a week has too few answers."""
    runs: list[list[int]] = [[]]
    for i, point in enumerate(chart.points):
        if point.value is None:
            runs.append([])
        else:
            runs[-1].append(i)
    return [run for run in runs if run]


def _band(chart: TrendChart, x: XScale, y: YScale) -> list[str]:
    parts = []
    for run in _runs(chart):
        spans = [(i, p.low, p.high) for i in run if (p := chart.points[i]).low is not None and p.high is not None]
        edges = [(x(i), low, high) for i, low, high in spans if low is not None and high is not None]
        if len(edges) == 1:  # one week alone: a bar as wide as a point stands for its interval
            middle, low, high = edges[0]
            edges = [(middle - 6, low, high), (middle + 6, low, high)]
        if not edges:
            continue
        upper = [f"{px:.1f},{y(high):.1f}" for px, _, high in edges]
        lower = [f"{px:.1f},{y(low):.1f}" for px, low, _ in reversed(edges)]
        parts.append(
            f'<polygon class="ci-band" points="{" ".join(upper + lower)}" fill="#2e86de" fill-opacity="0.18">'
            f"<title>95 % interval</title></polygon>"
        )
    return parts


def _line(chart: TrendChart, x: XScale, y: YScale) -> list[str]:
    parts = []
    for run in _runs(chart):
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i in run if (v := chart.points[i].value) is not None)
        parts.append(f'<polyline class="trend" points="{path}" fill="none" stroke="#2e86de" stroke-width="2"/>')
    for i, point in enumerate(chart.points):
        if point.value is None:
            continue
        interval, attrs = "", ""
        if point.low is not None and point.high is not None:
            interval = f", 95 % interval {_fmt(point.low)} to {_fmt(point.high)}"
            attrs = f' data-low="{point.low}" data-high="{point.high}"'
        label = f"Week of {point.week}: {_fmt(point.value)} (n = {point.n}{interval})"
        parts.append(
            f'<circle class="point" cx="{x(i):.1f}" cy="{y(point.value):.1f}" r="3.5" fill="#2e86de" '
            f'data-week="{point.week}" data-value="{point.value}" data-n="{point.n}"{attrs}>'
            f"<title>{escape(label)}</title></circle>"
        )
    return parts
