"""The composition root's app of one ``edigw`` invocation, shared by every command module.

The configuration is loaded once (``edigw --config FILE``, else $EDIGW_CONFIG, else the
defaults), bootstrapped (``gateway.bootstrap``), and what the app opened is closed when the
command ends.

Exit codes of every command (:mod:`gateway.interfaces.cli`): 0 success; 1 the input or the
request was rejected; 2 usage or configuration error; 3 the broker could not be reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.interfaces.invocation import EXIT_BROKER as EXIT_BROKER
from gateway.interfaces.invocation import EXIT_OK as EXIT_OK
from gateway.interfaces.invocation import EXIT_REJECTED as EXIT_REJECTED
from gateway.interfaces.invocation import EXIT_USAGE as EXIT_USAGE
from gateway.interfaces.invocation import open_app

if TYPE_CHECKING:
    from gateway.bootstrap import App


def app_of(ctx: click.Context) -> App:
    """This invocation's app, bootstrapped on first use; a configuration the gateway refuses
    ends the command with exit 2 and one line, ``configuration refused: KEY: REASON``."""
    root = ctx.find_root()
    obj = root.ensure_object(dict)
    app: App | None = obj.get("app")
    if app is None:
        app = obj["app"] = open_app(obj.get("config"), click.echo)
        root.call_on_close(app.close)
    return app
