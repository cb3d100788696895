"""Progress of long operations (replay, purge, export, a large translate) on stderr (issue #19).

Shown only when stderr is a terminal or when asked (``--progress``): never on stdout, so never
in what ``--json`` prints, and never in a script's stderr unless it asked. On a terminal the
line is redrawn in place; a log line written meanwhile first clears it
(:func:`gateway.logs.set_line_guard`), so a log line never starts in the middle of a bar.
Asked for without a terminal, it writes whole lines (``replaying: 3/40``), at most one a
second and the last one always, which a log collector keeps apart from the log lines.

>>> import io
>>> out = io.StringIO()
>>> list(Progress("exporting", out, interactive=False).over([1, 2, 3]))
[1, 2, 3]
>>> out.getvalue().splitlines()
['exporting: 0/3', 'exporting: 3/3']
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TypeVar

from gateway import logs

T = TypeVar("T")
_CLEAR = "\r\x1b[K"


def wanted(asked: bool) -> bool:
    """Whether to show progress: asked for, or stderr is a terminal."""
    return asked or sys.stderr.isatty()


class Progress:
    """One operation's progress on ``stream`` (stderr)."""

    def __init__(
        self,
        label: str,
        stream: IO[str] | None = None,
        *,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.clock = clock
        self._drawn = False
        self._lock = threading.Lock()
        self._last = -1.0

    def over(self, items: Sequence[T]) -> Iterator[T]:
        """Yield each item, saying how far along the batch is."""
        total = len(items)
        self._show(0, total, force=True)
        if self.interactive:
            logs.set_line_guard(self._clear)
        try:
            for done, item in enumerate(items, 1):
                yield item
                self._show(done, total, force=done == total)
        finally:
            if self.interactive:
                logs.set_line_guard(None)
                with self._lock:
                    if self._drawn:
                        self.stream.write("\n")
                        self.stream.flush()
                        self._drawn = False

    def say(self, text: str) -> None:
        """One line of its own (start and end of an operation without steps)."""
        with self._lock:
            self.stream.write(f"{_CLEAR if self._drawn else ''}{self.label}: {text}\n")
            self.stream.flush()
            self._drawn = False

    def _show(self, done: int, total: int, *, force: bool) -> None:
        now = self.clock()
        every = 0.1 if self.interactive else 1.0
        if not force and now - self._last < every:
            return
        self._last = now
        percent = f" ({done * 100 // total}%)" if total else ""
        with self._lock:
            if self.interactive:
                self.stream.write(f"{_CLEAR}{self.label}: {done}/{total}{percent}")
                self._drawn = True
            else:
                self.stream.write(f"{self.label}: {done}/{total}\n")
            self.stream.flush()

    def _clear(self) -> None:
        """Called before a log line: take the bar off its line (it is drawn again next step)."""
        with self._lock:
            if self._drawn:
                self.stream.write(_CLEAR)
                self._drawn = False
                self._last = -1.0


def progress_over(label: str, shown: bool) -> Callable[[Sequence[T]], Iterator[T]]:
    """A wrapper for a batch (what the dead-letter store's ``progress`` takes): the items back,
    with progress on stderr when ``shown``; a batch of one shows none."""

    def wrap(items: Sequence[T]) -> Iterator[T]:
        if not shown or len(items) <= 1:
            return iter(items)
        return Progress(label).over(items)

    return wrap
