"""Queue depths over time for the console's chart, and the chart itself (inline SVG).

>>> svg = sparkline_svg([(0.0, 1.0), (10.0, 3.0), (20.0, 2.0)], width=100, height=20)
>>> svg.startswith("<svg") and "polyline" in svg
True
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from gateway.logs import get_logger

log = get_logger()


@dataclass(slots=True)
class Sample:
    at: float
    depths: dict[str, int]


@dataclass(slots=True)
class DepthHistory:
    """The last ``keep`` samples of every queue's depth (thread-safe)."""

    keep: int = 360
    samples: deque[Sample] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)
            while len(self.samples) > self.keep:
                self.samples.popleft()

    def latest(self) -> Sample | None:
        with self.lock:
            return self.samples[-1] if self.samples else None

    def series(self, select: Callable[[str], bool]) -> list[tuple[float, float]]:
        """(time, total depth of the selected queues) for each sample."""
        with self.lock:
            return [
                (s.at, float(sum(n for q, n in s.depths.items() if select(q))))
                for s in self.samples
            ]


class DepthSampler(threading.Thread):
    """Samples queue depths every ``interval`` seconds with ``poll`` (its own connection)."""

    def __init__(
        self, poll: Callable[[], dict[str, int]], history: DepthHistory, interval: float
    ) -> None:
        super().__init__(name="edigw-console-sampler", daemon=True)
        self.poll = poll
        self.history = history
        self.interval = interval
        self.stopping = threading.Event()

    def sample_once(self) -> None:
        try:
            self.history.add(Sample(time.time(), self.poll()))
        except Exception as exc:  # the broker may be away; the console stays up
            log.warning("console could not sample queue depths", error=repr(exc))

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample_once()
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()


def sparkline_svg(
    points: Sequence[tuple[float, float]],
    *,
    width: int = 360,
    height: int = 60,
    label: str = "",
    color: str = "#1f6feb",
) -> str:
    """A small line chart with its maximum and last value; no JavaScript, no library."""
    title = f"<title>{escape(label)}</title>" if label else ""
    if not points:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(label)}">{title}'
            f'<text x="4" y="{height // 2}" font-size="11" fill="#888">no samples yet</text></svg>'
        )
    t0, t1 = points[0][0], points[-1][0]
    top = max(max(v for _, v in points), 1.0)
    span = max(t1 - t0, 1e-9)
    pad = 14

    def xy(t: float, v: float) -> str:
        x = (t - t0) / span * (width - 2) + 1 if len(points) > 1 else width / 2
        y = height - pad - (v / top) * (height - pad - 4)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(t, v) for t, v in points)
    last = points[-1][1]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}">{title}'
        f'<line x1="0" y1="{height - pad}" x2="{width}" y2="{height - pad}" stroke="#ddd"/>'
        f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{line}"/>'
        f'<text x="2" y="{height - 2}" font-size="10" fill="#666">max {top:g}</text>'
        f'<text x="{width - 2}" y="{height - 2}" font-size="10" fill="#333" '
        f'text-anchor="end">now {last:g}</text></svg>'
    )
