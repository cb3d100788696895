"""What every ``edigw`` invocation does before its command, without click (issue #20, point 6).

The exit codes, the app opened from the configuration and the Python warnings turned into
log lines are shared by the click commands (:mod:`gateway.interfaces.context`,
:mod:`gateway.interfaces.cli`) and by the console script's fast way to ``edigw translate``
(:mod:`gateway.interfaces.entry`), which does not load click.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.bootstrap import App

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_BROKER = 0, 1, 2, 3

# click.echo's way of writing one line (``echo(text, err=True)`` for stderr).
Echo = Callable[..., Any]


def open_app(config_path: str | None, echo: Echo) -> App:
    """The app of ``config_path`` (None: $EDIGW_CONFIG, else the defaults), bootstrapped; a
    configuration the gateway refuses ends the command with exit 2 and one line,
    ``configuration refused: KEY: REASON``."""
    # Here, not at the top: `edigw --help` loads neither the configuration's schema nor the
    # composition root (issue #20, point 6).
    from gateway.bootstrap import bootstrap
    from gateway.config import ConfigError, cache_dir, load

    try:
        # Settings built before from the same configuration come from the cache (issue
        # #20, point 6: validating costs more than half of a small `edigw translate`).
        settings = load(path=config_path, cache=cache_dir())
    except ConfigError as exc:
        echo(f"configuration refused: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    return bootstrap(settings)


def log_warnings() -> None:
    """Python warnings become log lines (structured, JSON in production), never raw text
    between the ``CODE<TAB>sentence`` lines of stderr (issue #14)."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        from gateway.logs import get_logger

        get_logger().warning(
            "python warning",
            category=category.__name__,
            warning=str(message),
            at=f"{filename}:{lineno}",
        )

    warnings.showwarning = show
