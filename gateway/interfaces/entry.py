"""The ``edigw`` console script: ``edigw --help`` and ``edigw translate`` without loading click
(issue #20, point 6).

``edigw --help`` (or ``-h``, alone) prints :data:`gateway.interfaces.help_text.EDIGW_HELP`, the
group's help as click writes it at its widest (a terminal of 80 columns or more, or no terminal),
when the program is called ``edigw`` and no shell completion is asked for; anything else (a
narrower terminal, ``python -m gateway``) goes to click. ``scripts/help_text.py --write`` renders
the text with click; ``tests/unit/test_cli_help.py`` renders it again and compares, and runs both
ways in fresh interpreters.

Importing click costs more than a bare Python start (its core, its types, ``inspect``,
``gettext``, ``uuid``). A command line that is plainly ``edigw [--config FILE]
[--log-format F] [--log-level L] translate FILE [--out DIR] [--partner ID] [--progress]``,
each option at most once, every value valid as click would find it, is run here with the
same steps as the click command (:func:`gateway.interfaces.cli.main`, then
:func:`gateway.interfaces.cli.translate`): logs configured, warnings logged, the app opened,
:func:`gateway.interfaces.translating.translate_file`. Anything else (help, version, another
command, an option this does not know, a value click would refuse, a missing FILE, shell
completion, an ASCII-only stdout or stderr) goes to click as before, which prints what it
always printed. ``tests/unit/test_cli_entry.py`` runs both ways on the same command lines.
"""

from __future__ import annotations

import os
import stat
import sys

# Nothing here is imported at module level but what a bare interpreter has loaded already:
# ``edigw --help`` must stay a small multiple of a bare start (re and pathlib are imported
# where used; typing only by the type checker, which takes any TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

# gateway.interfaces.cli's option values (tests/unit/test_cli_entry.py keeps them equal).
LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_LEVEL_ENVVAR = "EDIGW_LOG_LEVEL"
DEFAULT_PARTNER = "offline"
# click's pattern of the ANSI escapes it strips from what it echoes to a non-terminal
# (click._compat._ansi_re; the test keeps them equal), compiled on the first line echoed.
ANSI = r"\033\[[0-?]*[ -/]*[@-~]"
HELP_OPTIONS = ("-h", "--help")
# click wraps help at min(columns, 80) - 2 (click.formatting.HelpFormatter): EDIGW_HELP is the
# text at 78, what every terminal of 80 columns or more (and every pipe) gets.
HELP_COLUMNS = 80
PROGRAM = "edigw"


class Translate:
    """An ``edigw translate`` command line as click would read it (a plain class: a named
    tuple's or a dataclass's making would cost ``edigw --help`` time)."""

    __slots__ = ("config", "file", "log_format", "log_level", "out_dir", "partner", "progress")

    def __init__(
        self,
        *,
        config: str | None,
        log_format: str,
        log_level: str,
        file: Path,
        out_dir: Path | None,
        partner: str,
        progress: bool,
    ) -> None:
        self.config = config
        self.log_format = log_format
        self.log_level = log_level
        self.file = file
        self.out_dir = out_dir
        self.partner = partner
        self.progress = progress


def main() -> Any:
    """The console script: ``edigw --help`` and ``edigw translate`` here when
    :func:`plain_help` and :func:`plain_translate` read them, every other command line
    through click."""
    if plain_help(sys.argv, os.environ):
        return print_help()
    wanted = plain_translate(sys.argv[1:], os.environ)
    if wanted is None:
        from gateway.interfaces.cli import main as click_main

        return click_main()
    return run(wanted)


def plain_help(argv: list[str], env: Any) -> bool:
    """``argv`` (with the program's name) is ``edigw --help`` and click would print
    :data:`~gateway.interfaces.help_text.EDIGW_HELP` for it."""
    return (
        len(argv) == 2
        and argv[1] in HELP_OPTIONS
        and os.path.basename(argv[0]) == PROGRAM  # click's program name (usage line)
        and not _completion(env)
        and terminal_columns(env) >= HELP_COLUMNS
        and _text_stream_as_click_wants(sys.stdout)
    )


def terminal_columns(env: Any) -> int:
    """``shutil.get_terminal_size().columns`` (click's help width) without importing shutil
    (its import loads bz2, lzma and fnmatch); the test compares the two."""
    try:
        columns = int(env["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    try:
        lines = int(env["LINES"])
    except (KeyError, ValueError):
        lines = 0
    if columns <= 0 or lines <= 0:  # shutil asks the terminal only then
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        if columns <= 0:
            columns = size.columns or 80
    return columns


def print_help() -> None:
    """click's ``--help`` of the group: the text, echoed (flushed), exit 0; a closed pipe:
    exit 1 quietly, as :func:`run`."""
    from gateway.interfaces.help_text import EDIGW_HELP

    _standalone(lambda: echo(EDIGW_HELP))


def _completion(env: Any) -> bool:
    """click's shell completion is asked for (``_EDIGW_COMPLETE`` or any ``_*_COMPLETE``)."""
    return any(k.startswith("_") and k.endswith("_COMPLETE") and env[k] for k in env)


def _options(
    args: list[str], names: dict[str, bool], seen: dict[str, str | None]
) -> list[str] | None:
    """Take the options ``names`` (name -> takes a value) out of ``args`` into ``seen``;
    the other arguments in order, or None when click might read them otherwise."""
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            rest.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name not in names or name in seen:
            return None  # unknown (click's usage error or help), or given twice
        if not names[name]:
            if eq:
                return None
            seen[name] = None
            continue
        if not eq:
            if i == len(args):
                return None
            value = args[i]
            i += 1
        if not value or value.startswith("-"):
            return None
        seen[name] = value
    return rest


def plain_translate(argv: list[str], env: Any) -> Translate | None:
    """``argv`` (without the program's name) as click would read it, when it is a plain
    ``edigw translate`` that click would run; None for anything else."""
    if _completion(env):
        return None  # click's shell completion
    if "translate" not in argv or "--" in argv:
        return None
    at = argv.index("translate")
    group: dict[str, str | None] = {}
    before = _options(
        argv[:at], {"--config": True, "--log-format": True, "--log-level": True}, group
    )
    command: dict[str, str | None] = {}
    files = _options(
        argv[at + 1 :], {"--out": True, "--partner": True, "--progress": False}, command
    )
    if before != [] or files is None or len(files) != 1:
        return None
    log_format = group.get("--log-format") or "auto"
    level = group.get("--log-level") or env.get(LOG_LEVEL_ENVVAR) or "info"
    if log_format not in LOG_FORMATS or not level.isascii() or level.lower() not in LOG_LEVELS:
        return None
    if not all(_text_stream_as_click_wants(s) for s in (sys.stdout, sys.stderr)):
        return None
    from pathlib import Path

    config, out = group.get("--config"), command.get("--out")
    if not (
        _readable_file(files[0])
        and (config is None or not _is(config, stat.S_ISDIR))
        and (out is None or not _is(out, stat.S_ISREG))
    ):
        return None
    return Translate(
        config=config,
        log_format=log_format,
        log_level=level.lower(),
        file=Path(files[0]),
        out_dir=None if out is None else Path(out),
        partner=command.get("--partner") or DEFAULT_PARTNER,
        progress="--progress" in command,
    )


def _is(path: str, kind: Any) -> bool:
    try:
        return bool(kind(os.stat(path).st_mode))
    except OSError:
        return False


def _readable_file(path: str) -> bool:
    """click.Path(exists=True, dir_okay=False) would take it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISDIR(mode) and os.access(path, os.R_OK)


def _text_stream_as_click_wants(stream: Any) -> bool:
    """click writes to the stream itself (it wraps one whose encoding is ASCII, or that has
    no encoding or errors)."""
    import codecs

    encoding = getattr(stream, "encoding", None)
    if stream is None or not encoding or getattr(stream, "errors", None) is None:
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True


def echo(message: str, err: bool = False) -> None:
    """click.echo of one line of text: ANSI escapes stripped when the stream is not a
    terminal, flushed."""
    stream = sys.stderr if err else sys.stdout
    out = message + "\n"
    try:
        terminal = stream.isatty()
    except Exception:
        terminal = False
    if not terminal:
        import re

        out = re.sub(ANSI, "", out)
    stream.write(out)
    stream.flush()


def run(wanted: Translate) -> None:
    """What click does for ``edigw ... translate ...``: the group's steps, the command, and
    click's standalone ending."""
    _standalone(lambda: _translate(wanted))


def _standalone(command: Callable[[], None]) -> None:
    """``command`` ended as click's standalone mode ends one (Ctrl-C: "Aborted!", exit 1; a
    closed pipe: exit 1, quietly)."""
    try:
        command()
    except (EOFError, KeyboardInterrupt):
        echo("", err=True)
        echo("Aborted!", err=True)
        sys.exit(1)
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        from click import utils

        # click >= 8.2 names it _PacifyFlushWrapper, 8.1 PacifyFlushWrapper.
        pacify: Any = getattr(utils, "_PacifyFlushWrapper", None) or utils.PacifyFlushWrapper
        sys.stdout = pacify(sys.stdout)
        sys.stderr = pacify(sys.stderr)
        sys.exit(1)


def _translate(wanted: Translate) -> None:
    from gateway.config_errors import ConfigError
    from gateway.interfaces.invocation import EXIT_USAGE, log_warnings, open_app
    from gateway.interfaces.translating import translate_file
    from gateway.logs import configure

    app = None
    try:
        try:
            configure(wanted.log_format, wanted.log_level)  # type: ignore[arg-type]
            log_warnings()
            app = open_app(wanted.config, echo)
            translate_file(app, wanted.file, wanted.out_dir, wanted.partner, wanted.progress, echo)
        except ConfigError as exc:  # as gateway.interfaces.cli._Edigw.invoke
            echo(f"configuration refused: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    finally:
        if app is not None:
            app.close()
