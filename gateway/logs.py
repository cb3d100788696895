"""Structured logs: JSON lines in production, readable lines in a terminal.

Every line carries ``message_id``, ``partner`` and ``correlation_id`` (null when
the line is not about one message), so a log search by any of them finds all.

>>> configure("json")
>>> with message_context(message_id="m1", partner="apcs", correlation_id="c1"):
...     structlog.contextvars.get_contextvars()["partner"]
'apcs'
>>> structlog.contextvars.get_contextvars()
{}
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal

import structlog

CONTEXT_KEYS = ("message_id", "partner", "correlation_id")
LogFormat = Literal["auto", "json", "console"]


def _ensure_context(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in CONTEXT_KEYS:
        event.setdefault(key, None)
    return event


def configure(fmt: LogFormat = "auto", level: int = logging.INFO) -> None:
    """Set up structlog for the process (stderr; JSON unless stderr is a terminal)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
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
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(**initial: Any) -> Any:
    return structlog.get_logger("edigw", **initial)


@contextmanager
def message_context(**values: Any) -> Iterator[None]:
    """Bind message_id/partner/correlation_id (and more) to every line logged inside."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
