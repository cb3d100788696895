"""The composition root's app of one ``edigw`` invocation, shared by every command module.

The configuration is loaded once (``edigw --config FILE``, else $EDIGW_CONFIG, else the
defaults), bootstrapped (``gateway.bootstrap``), and what the app opened is closed when the
command ends.

Exit codes of every command (:mod:`gateway.interfaces.cli`): 0 success; 1 the input or the
request was rejected; 2 usage or configuration error; 3 the broker could not be reached.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gateway.bootstrap import App

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_BROKER = 0, 1, 2, 3


def app_of(ctx: click.Context) -> App:
    """This invocation's app, bootstrapped on first use; a configuration the gateway refuses
    ends the command with exit 2 and one line, ``configuration refused: KEY: REASON``."""
    # Here, not at the top: `edigw --help` loads neither the configuration's schema nor the
    # composition root (issue #20, point 6).
    from gateway.bootstrap import bootstrap
    from gateway.config import ConfigError, cache_dir, load

    root = ctx.find_root()
    obj = root.ensure_object(dict)
    app: App | None = obj.get("app")
    if app is None:
        try:
            # Settings built before from the same configuration come from the cache (issue
            # #20, point 6: validating costs more than half of a small `edigw translate`).
            settings = load(path=obj.get("config"), cache=cache_dir())
        except ConfigError as exc:
            click.echo(f"configuration refused: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        app = obj["app"] = bootstrap(settings)
        root.call_on_close(app.close)
    return app
