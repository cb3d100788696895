"""Structured logs: JSON lines in production, readable lines in a terminal.

Every line carries ``message_id``, ``partner``, ``correlation_id`` and
``business_reference`` (null when the line is not about one message, and the business
reference until the message is decoded), so a log search by any of them finds all of a
message's story (issue #19).

structlog, and what it imports (rich, asyncio, attrs), is loaded when the first line is
written or a message's context is bound, not when a module takes its logger: `edigw translate`
of a clean file writes no line and loads none of it (issue #20, point 6).

>>> import structlog
>>> configure("json")
>>> with message_context(message_id="m1", partner="apcs", correlation_id="c1"):
...     structlog.contextvars.get_contextvars()["partner"]
'apcs'
>>> structlog.contextvars.get_contextvars()
{}
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Literal

CONTEXT_KEYS = ("message_id", "partner", "correlation_id", "business_reference")
LEVELS = ("debug", "info", "warning", "error")
LogFormat = Literal["auto", "json", "console"]
# logging.getLevelNamesMapping(), written here so that `edigw translate` does not load logging
# (issue #20, point 6; tests/unit/test_cli_startup.py keeps the two equal).
LEVEL_NUMBERS = {
    "CRITICAL": 50,
    "FATAL": 50,
    "ERROR": 40,
    "WARN": 30,
    "WARNING": 30,
    "INFO": 20,
    "DEBUG": 10,
    "NOTSET": 0,
}


def _unsafe(char: str, keep: str) -> bool:
    if char in keep:
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def terminal_safe(text: str, keep: str = "\n\t") -> str:
    r"""``text`` with every control or invisible format character written as ``\xNN`` /
    ``\uNNNN``; the characters in ``keep`` (newline and tab: a body's layout) stay.

    >>> terminal_safe("UNH+1\x1b[2J\r\nBGM\u202e+1")
    'UNH+1\\x1b[2J\\x0d\nBGM\\u202e+1'
    >>> terminal_safe("a\nb", keep="")
    'a\\x0ab'
    >>> terminal_safe("مرحبا MAN-001")
    'مرحبا MAN-001'
    """
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if _unsafe(c, keep) else c
        for c in text
    )


def _terminal_safe_values(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Readable lines go to a terminal, and a partner's text (a message id, a reference, a
    sentence quoting it) is data there: its control characters escaped (issue #19, point 8).
    A traceback keeps its line breaks."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = terminal_safe(value, keep="\n" if key == "exception" else "")
    return event


def _ensure_context(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in CONTEXT_KEYS:
        event.setdefault(key, None)
    return event


# Called before each log line (a progress bar drawn on the terminal takes itself off its line
# first, gateway.interfaces.progress); None when nothing is drawn.
_line_guard: Callable[[], None] | None = None


def set_line_guard(guard: Callable[[], None] | None) -> None:
    """Have ``guard`` called before every log line from now on (None: no longer)."""
    global _line_guard
    _line_guard = guard


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing.

    structlog's print logger keeps the file it was given; when that is a stream that
    is later replaced or closed (a test's capture, a daemon's redirection), later lines
    would fail. Looking ``sys.stderr`` up per line keeps logging working.
    """

    def write(self, text: str) -> int:
        guard = _line_guard
        if guard is not None:
            guard()
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(fmt: LogFormat = "auto", level: int | str = LEVEL_NUMBERS["INFO"]) -> None:
    """Set up structlog for the process (stderr; JSON unless stderr is a terminal).

    ``level``: a ``logging`` level or one of :data:`LEVELS` (``--log-level``,
    ``EDIGW_LOG_LEVEL``); lines below it are not written. Applied at once when structlog is
    loaded already (a test's own configuration after this one stays), else when it is first
    used.
    """
    global _pending
    if isinstance(level, str):
        level = LEVEL_NUMBERS[level.upper()]
    # Decided now: the terminal is the one of the time of configuring.
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    _pending = (use_json, level)
    if "structlog" in sys.modules:
        _structlog()


# The configuration asked for and not yet given to structlog: (JSON lines?, level).
_pending: tuple[bool, int] | None = None


def _structlog() -> ModuleType:
    """structlog, loaded, with the pending configuration applied."""
    global _pending
    import structlog

    if _pending is not None:
        use_json, level = _pending
        _pending = None
        renderer: Any = (
            structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
        )
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _ensure_context,
                structlog.processors.format_exc_info,
                # JSON escapes them itself (ASCII only); a readable line needs it done.
                *([] if use_json else [_terminal_safe_values]),
                renderer,
            ],
            wrapper_class=structlog.make_filtering_bound_logger(level),
            logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
            cache_logger_on_first_use=False,
        )
    return structlog


class _Logger:
    """The ``edigw`` logger, as structlog's ``get_logger`` gives it, made on first use.

    Modules take theirs at import (``log = get_logger()``); structlog loads when one of them
    first logs or binds.
    """

    __slots__ = ("_initial", "_logger")

    def __init__(self, initial: dict[str, Any]) -> None:
        self._initial = initial
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        structlog = _structlog()
        if self._logger is None:
            self._logger = structlog.get_logger("edigw", **self._initial)
        return getattr(self._logger, name)


def get_logger(**initial: Any) -> Any:
    return _Logger(initial)


def bind_reference(business_reference: str | None) -> None:
    """Bind the business reference of the message being handled, once it is known, to the
    lines that follow, inside a :func:`message_context` that bound it (to None), which
    unbinds it at its end; outside one, nothing (it would stay bound for good).

    >>> import structlog
    >>> configure("json")
    >>> bind_reference("MAN-1")
    >>> structlog.contextvars.get_contextvars()
    {}
    >>> with message_context(message_id="m1", business_reference=None):
    ...     bind_reference("MAN-1")
    ...     structlog.contextvars.get_contextvars()["business_reference"]
    'MAN-1'
    >>> structlog.contextvars.get_contextvars()
    {}
    """
    structlog = _structlog()
    if "business_reference" in structlog.contextvars.get_contextvars():
        structlog.contextvars.bind_contextvars(business_reference=business_reference or None)


@contextmanager
def message_context(**values: Any) -> Iterator[None]:
    """Bind message_id/partner/correlation_id (and more) to every line logged inside."""
    structlog = _structlog()
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
