"""Time-series charts with axes, drawn on the server as SVG (no script, no library, no CDN).

A chart covers one range (1 h, 24 h, 7 d) ending now: the y axis has round ticks from 0,
the x axis times in UTC, and a gap where there was no sample (the console was stopped)
breaks the line instead of drawing across it. Everything shown is escaped.

>>> svg = time_chart_svg([(0, 1.0), (60, 4.0)], start=0, end=3600, bucket=60, title="t")
>>> svg.startswith("<svg") and "polyline" in svg and ">4<" in svg
True
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True, slots=True)
class Range:
    key: str
    seconds: int
    bucket: int  # seconds per point
    label: str


RANGES: dict[str, Range] = {
    r.key: r
    for r in (
        Range("1h", 3600, 15, "1 hour"),
        Range("24h", 86400, 300, "24 hours"),
        Range("7d", 7 * 86400, 1800, "7 days"),
    )
}
DEFAULT_RANGE = "1h"


def chosen_range(key: str | None) -> Range:
    return RANGES.get(key or DEFAULT_RANGE, RANGES[DEFAULT_RANGE])


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``.

    >>> nice_ticks(7)
    [0.0, 2.0, 4.0, 6.0, 8.0]
    >>> nice_ticks(0)
    [0.0, 1.0]
    """
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step - 1e-9)
    return [float(round(i * step, 10)) for i in range(n + 1)]


def _number(v: float) -> str:
    if v >= 10_000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def _time_label(at: float, span: int) -> str:
    when = dt.datetime.fromtimestamp(at, dt.UTC)
    return when.strftime("%a %d") if span > 2 * 86400 else when.strftime("%H:%M")


def time_chart_svg(
    points: Sequence[tuple[float, float]],
    *,
    start: float,
    end: float,
    bucket: int,
    title: str,
    unit: str = "",
    color: str = "#1f6feb",
    width: int = 600,
    height: int = 200,
) -> str:
    """A line chart of ``points`` (time, value) between ``start`` and ``end``."""
    left, right, top_pad, bottom = 44, 10, 22, 24
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    span = max(end - start, 1.0)
    values = [v for _, v in points]
    ticks = nice_ticks(max(values, default=0.0))
    y_max = ticks[-1]

    def x(t: float) -> float:
        return left + (t - start) / span * plot_w

    def y(v: float) -> float:
        return top_pad + plot_h - v / y_max * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" fill="#1f2328" font-size="12">{escape(title)}'
        + (f' <tspan fill="#59636e">({escape(unit)})</tspan>' if unit else "")
        + "</text>",
    ]
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            f'stroke="{"#8c959f" if tick == 0 else "#e6e9ed"}"/>'
            f'<text x="{left - 4}" y="{ty + 4:.1f}" text-anchor="end" fill="#59636e">'
            f"{_number(tick)}</text>"
        )
    for i in range(5):
        at = start + span * i / 4
        tx = x(at)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top_pad + plot_h}" x2="{tx:.1f}" '
            f'y2="{top_pad + plot_h + 4}" stroke="#8c959f"/>'
            f'<text x="{tx:.1f}" y="{height - 6}" text-anchor="{anchor}" fill="#59636e">'
            f"{_time_label(at, int(span))}</text>"
        )
    if not points:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top_pad + plot_h / 2}" text-anchor="middle" '
            f'fill="#8c959f">no samples in this range</text>'
        )
    for run in _runs(points, gap=3 * bucket):
        if len(run) == 1:
            t, v = run[0]
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2" fill="{color}"/>')
            continue
        line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{line}"/>')
    if points:
        parts.append(
            f'<text x="{width - right}" y="14" text-anchor="end" fill="#1f2328">'
            f"now {_number(points[-1][1])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _runs(points: Sequence[tuple[float, float]], gap: float) -> list[list[tuple[float, float]]]:
    """The points split where two neighbours are more than ``gap`` seconds apart."""
    runs: list[list[tuple[float, float]]] = []
    for point in points:
        if runs and point[0] - runs[-1][-1][0] <= gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs
