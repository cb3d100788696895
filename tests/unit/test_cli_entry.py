"""The console script's way to `edigw translate` without click (issue #20, point 6) prints what
click's way prints: the same bytes on stdout and stderr, the same exit code, for command lines
it takes and for those it leaves to click.

Each command line runs twice in a fresh interpreter, once through the console script's
``gateway.interfaces.entry.main`` and once through the click group
``gateway.interfaces.cli.main`` (what the script called before).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from bench.common import small_cuscar
from gateway.interfaces import cli, entry

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "apcs"
ENTRY = "import sys\nfrom gateway.interfaces.entry import main\nsys.exit(main())"
CLICK = "import sys\nfrom gateway.interfaces.cli import main\nsys.exit(main())"
# What differs from one run to the next: message ids and the time of writing.
VARYING = re.compile(
    rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rb"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)"
)


def _run(code: str, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, bytes, bytes]:
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, env=env, cwd=cwd, timeout=120
    )
    return done.returncode, VARYING.sub(b"*", done.stdout), VARYING.sub(b"*", done.stderr)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "one.edi").write_bytes(small_cuscar(1))
    # A partner's text with terminal escapes: click strips them from what it echoes to a pipe.
    (tmp_path / "ansi.edi").write_bytes(
        b"UNA:+.? 'UNB+UNOC:3+\x1b[31mSONATRACH\x1b[0m+DZORN+261207:1200+1'"
        b"UNH+1+CUSCAR:D:95B:UN'BGM+85+\x1b[2JX+9'UNT+3+1'UNZ+1+1'"
    )
    (tmp_path / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "bad.toml").write_text("[broker\nprefetch = ")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    return tmp_path


CASES = [
    ["translate", "one.edi"],
    ["translate", "ansi.edi"],
    ["translate", "garbage.bin"],
    ["translate", "--partner=apcs", str(SAMPLES / "02-cuscar-ferry-two-messages.edi")],
    ["--log-level", "WARNING", "translate", str(SAMPLES / "08-coarri-discharge-algiers.edi")],
    ["--log-format", "json", "translate", str(SAMPLES / "03-cuscar-rejected-bad-count.edi")],
    [
        "translate",
        "--partner",
        "apcs",
        str(SAMPLES / "05-cuscar-rejected-container-check-digit.edi"),
    ],
    ["translate", "one.edi", "--out", "written", "--progress"],
    ["--config", "bad.toml", "translate", "one.edi"],
    # Left to click: its usage errors and help.
    ["translate", "missing.edi"],
    ["translate", "a-folder"],
    ["translate", "one.edi", "--out", "a-file"],
    ["--config", "a-folder", "translate", "one.edi"],
    ["--log-format", "JSON", "translate", "one.edi"],
    ["translate", "one.edi", "--partner"],
    ["translate", "one.edi", "one.edi"],
    ["translate", "--help"],
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(a)[-60:] for a in CASES])
def test_the_script_prints_what_click_prints(files: Path, argv: list[str]) -> None:
    results = []
    for code in (ENTRY, CLICK):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EDIGW_")},
            "EDIGW_MODE": "development",
            "EDIGW_STATE_DIR": str(files / "state"),
            "XDG_CACHE_HOME": str(files / "cache"),
        }
        results.append(_run(code, argv, env, files))
        written = files / "written"
        if written.exists():
            results.append(
                (
                    0,
                    b"".join(sorted(VARYING.sub(b"*", p.read_bytes()) for p in written.iterdir())),
                    b"",
                )
            )
            for p in written.iterdir():
                p.unlink()
            written.rmdir()
    assert results[0][1] or results[0][2]  # it printed something to compare
    assert results[: len(results) // 2] == results[len(results) // 2 :]


def test_an_unknown_log_level_in_the_environment_is_click_s_to_refuse(files: Path) -> None:
    env = {**os.environ, "EDIGW_LOG_LEVEL": "bavard", "EDIGW_STATE_DIR": str(files / "state")}
    via_script = _run(ENTRY, ["translate", "one.edi"], env, files)
    assert via_script == _run(CLICK, ["translate", "one.edi"], env, files)
    assert via_script[0] == 2 and b"bavard" in via_script[2]


@pytest.mark.parametrize(
    ("argv", "read"),
    [
        (["translate", "F"], ("F", None, "offline", False, None, "auto", "info")),
        (
            ["--config=c.toml", "--log-level", "Debug", "translate", "--progress", "F", "--out=o"],
            ("F", "o", "offline", True, "c.toml", "auto", "debug"),
        ),
        (
            ["--log-format", "console", "translate", "--partner", "apcs", "F"],
            ("F", None, "apcs", False, None, "console", "info"),
        ),
    ],
)
def test_a_plain_translate_is_read_as_click_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], read: tuple[object, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "F").write_bytes(b"UNA")
    got = entry.plain_translate(argv, {})
    assert got is not None
    file, out, partner, progress, config, log_format, log_level = read
    assert got.file == Path(str(file)) and got.partner == partner and got.progress is progress
    assert got.out_dir == (None if out is None else Path(str(out)))
    assert (got.config, got.log_format, got.log_level) == (config, log_format, log_level)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["--version"],
        ["contrl", "F"],
        ["translate"],
        ["translate", "F", "F"],
        ["translate", "-h", "F"],
        ["translate", "--", "F"],
        ["translate", "-", "F"],
        ["translate", "F", "--partner"],
        ["translate", "F", "--partner", "--progress"],
        ["translate", "F", "--partner="],
        ["translate", "F", "--partner", "a", "--partner", "b"],
        ["translate", "F", "--progress=yes"],
        ["translate", "F", "--bogus"],
        ["translate", "absent"],
        ["translate", "."],
        ["translate", "F", "--out", "F"],
        ["--config", ".", "translate", "F"],
        ["--log-level", "loud", "translate", "F"],
        ["--log-format", "JSON", "translate", "F"],
        ["--log-level", "info", "--log-level", "info", "translate", "F"],
        ["F", "translate"],
        ["--partner", "apcs", "translate", "F"],
    ],
)
def test_anything_else_is_left_to_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "F").write_bytes(b"UNA")
    assert entry.plain_translate(argv, {}) is None


def test_shell_completion_and_a_bad_log_level_variable_are_left_to_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "F").write_bytes(b"UNA")
    assert entry.plain_translate(["translate", "F"], {"_EDIGW_COMPLETE": "bash_complete"}) is None
    assert entry.plain_translate(["translate", "F"], {"EDIGW_LOG_LEVEL": "loud"}) is None
    read = entry.plain_translate(["translate", "F"], {"EDIGW_LOG_LEVEL": "ERROR"})
    assert read is not None and read.log_level == "error"
    read = entry.plain_translate(["translate", "F"], {"EDIGW_LOG_LEVEL": ""})
    assert read is not None and read.log_level == "info"


def test_the_script_s_copies_of_click_s_options_are_equal() -> None:
    params = {p.name: p for p in cli.main.params}
    assert tuple(params["log_format"].type.choices) == entry.LOG_FORMATS  # type: ignore[attr-defined]
    assert tuple(params["log_level"].type.choices) == entry.LOG_LEVELS  # type: ignore[attr-defined]
    assert params["log_level"].envvar == entry.LOG_LEVEL_ENVVAR
    command = cli.main.get_command(click.Context(cli.main), "translate")
    assert command is not None
    translate = {p.name: p for p in command.params}
    assert translate["partner_id"].default == entry.DEFAULT_PARTNER
    assert sorted(translate) == ["file", "out_dir", "partner_id", "progress"]
    assert sorted(set(params) - {"help", "version"}) == ["config_path", "log_format", "log_level"]
    from click import _compat

    assert _compat._ansi_re.pattern == entry.ANSI


def test_the_installed_script_is_the_entry() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["edigw"] == "gateway.interfaces.entry:main"


def test_a_reader_that_stops_early_ends_both_ways_alike(tmp_path: Path) -> None:
    """stdout closed by its reader (`edigw translate big.edi | head`): click's ending, exit 1
    and nothing more on stderr, whichever way the command ran."""
    from bench.common import valid_cuscar

    (tmp_path / "big.edi").write_bytes(valid_cuscar(400, seed=7))  # 0.5 MB of XML out
    env = {
        # Unbuffered, stdout's binary layer is the raw file, whose write stops short without
        # an error when the reader goes: buffered, as a user's shell runs it, it fails (EPIPE).
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("EDIGW_") and k != "PYTHONUNBUFFERED"
        },
        "EDIGW_MODE": "development",
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    ends = []
    for code in (ENTRY, CLICK):
        child = subprocess.Popen(
            [sys.executable, "-c", code, "translate", "big.edi"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.read(10) == b"<?xml vers"
        child.stdout.close()
        err = child.stderr.read()
        ends.append((child.wait(timeout=120), VARYING.sub(b"*", err)))
    assert ends[0] == ends[1]
    assert ends[0][0] == 1
