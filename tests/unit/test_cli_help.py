"""``edigw --help`` without click (issue #20, point 6) prints what click prints.

The console script prints :data:`gateway.interfaces.help_text.EDIGW_HELP`, written by
``scripts/help_text.py``; these tests render it again with click, run both ways in fresh
interpreters under the environments that change click's help (terminal width, shell
completion), and check that the script's own way loads neither click nor the gateway's
heavy libraries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from gateway.interfaces import cli, entry
from gateway.interfaces.help_text import EDIGW_HELP

ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter whose program name is `edigw`, as the console script's is.
SCRIPT = (
    "import atexit, os, sys\nsys.argv[0] = 'edigw'\n"
    "if 'LOADED' in os.environ:\n"
    "    atexit.register(lambda: print(sorted({m.split('.')[0] for m in sys.modules}"
    " & {'click', 'lxml', 'structlog'}), file=sys.stderr))\n"
    "from gateway.interfaces.entry import main\nsys.exit(main())"
)
CLICK = "import sys\nfrom gateway.interfaces.cli import main\nsys.exit(main(prog_name='edigw'))"


def _run(code: str, argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout, done.stderr


def _env(**changes: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "LINES") and not k.endswith("_COMPLETE")
    }
    return {**env, **changes}


def test_the_written_help_is_click_s_help_today() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "help_text.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--help"], {}),
        (["-h"], {}),
        (["--help"], {"COLUMNS": "200", "LINES": "50"}),
        (["--help"], {"COLUMNS": "80"}),
        (["--help"], {"COLUMNS": "not a number"}),
        (["--help"], {"EDIGW_LOG_LEVEL": "bavard"}),  # help is eager: click never reads it
        # Left to click: a narrower terminal wraps otherwise, completion prints no help.
        (["--help"], {"COLUMNS": "79"}),
        (["--help"], {"COLUMNS": "60", "LINES": "20"}),
        (["--help"], {"_EDIGW_COMPLETE": "bash_source"}),
        (["--help", "--help"], {}),
        (["--help", "translate"], {}),
    ],
    ids=lambda v: (
        " ".join(v) if isinstance(v, list) else ",".join(f"{k}={x}" for k, x in v.items())
    ),
)
def test_the_script_prints_what_click_prints(argv: list[str], env: dict[str, str]) -> None:
    via_script = _run(SCRIPT, argv, _env(**env))
    via_click = _run(CLICK, argv, _env(**env))
    assert via_script == via_click
    assert via_script[1]  # something to compare


def test_the_script_s_help_loads_neither_click_nor_the_gateway_s_libraries() -> None:
    code, out, err = _run(SCRIPT, ["--help"], _env(LOADED="1"))
    assert code == 0 and out == (EDIGW_HELP + "\n").encode()
    assert err.strip() == b"[]"
    # The proof that the other cases did go through click: a narrow terminal loads it.
    code, out, err = _run(SCRIPT, ["--help"], _env(LOADED="1", COLUMNS="60"))
    assert code == 0 and out != (EDIGW_HELP + "\n").encode() and b"'click'" in err


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"COLUMNS": "120"},
        {"COLUMNS": "120", "LINES": "40"},
        {"COLUMNS": "0"},
        {"COLUMNS": "-5", "LINES": "10"},
        {"COLUMNS": " 90 "},
        {"COLUMNS": "1_00"},
        {"COLUMNS": "eighty"},
        {"LINES": "30"},
    ],
)
def test_the_width_is_read_as_shutil_reads_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert entry.terminal_columns(os.environ) == shutil.get_terminal_size().columns


def test_help_is_taken_only_when_click_would_print_the_written_text() -> None:
    wide = {"COLUMNS": "100"}
    assert entry.plain_help(["/usr/local/bin/edigw", "--help"], wide)
    assert entry.plain_help(["edigw", "-h"], wide)
    assert not entry.plain_help(["python -m gateway", "--help"], wide)  # another usage line
    assert not entry.plain_help(["edigw-old", "--help"], wide)
    assert not entry.plain_help(["edigw", "--help"], {"COLUMNS": "79"})
    assert not entry.plain_help(["edigw", "--help"], {**wide, "_EDIGW_COMPLETE": "zsh_source"})
    assert not entry.plain_help(["edigw", "--help", "run"], wide)
    assert not entry.plain_help(["edigw"], wide)


def test_the_help_options_are_click_s() -> None:
    assert tuple(cli.main.context_settings["help_option_names"]) == entry.HELP_OPTIONS
    ctx = click.Context(cli.main, info_name="edigw", **cli.main.context_settings)
    assert ctx.help_option_names == list(entry.HELP_OPTIONS)
