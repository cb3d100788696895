"""One CLI convention for every ``edigw`` command (issue #19, points 7 and 8): ``-h``
everywhere, ``--log-level``/``EDIGW_LOG_LEVEL``, ``--json`` on ``topology``."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from gateway.interfaces.cli import main
from gateway.logs import configure, get_logger
from tests.unit.test_trust_cli import edigw


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": "development"}


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path, the lazily loaded ones too (asked of the group as click does)."""
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        out.append((*path, name))
        if isinstance(command, click.Group):
            out.extend(_commands(command, (*path, name)))
    return out


def test_dash_h_is_help_on_edigw_and_every_subcommand(env: dict[str, str]) -> None:
    code, out, _ = edigw(env, "-h")
    assert code == 0 and "Usage:" in out and "--log-level" in out
    commands = _commands(main)
    assert ("track",) in commands and ("dlq", "replay") in commands
    for path in commands:
        code, out, err = edigw(env, *path, "-h")
        assert code == 0, (path, err)
        assert "Usage:" in out, path


def test_log_level_from_the_option_or_the_environment(env: dict[str, str]) -> None:
    code, _, err = edigw({**env, "EDIGW_LOG_LEVEL": "loud"}, "topology", "--dry-run")
    assert code == 2 and "EDIGW_LOG_LEVEL" in err
    code, _, _ = edigw({**env, "EDIGW_LOG_LEVEL": "WARNING"}, "topology", "--dry-run")
    assert code == 0
    code, _, _ = edigw(env, "--log-level", "error", "topology", "--dry-run")
    assert code == 0


def test_lines_below_the_level_are_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure("json", "warning")
        get_logger().info("not wanted")
        get_logger().warning("wanted", partner="apcs")
        [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
        assert line["event"] == "wanted" and line["level"] == "warning"
        # The four keys of a message's story are on every line, null when not about one.
        assert {"message_id", "partner", "correlation_id", "business_reference"} <= set(line)
        assert line["business_reference"] is None
    finally:
        configure("json")


def test_topology_json_is_one_object_per_line(env: dict[str, str]) -> None:
    code, out, _ = edigw(env, "topology", "--dry-run", "--json")
    assert code == 0
    objects = [json.loads(line) for line in out.splitlines()]
    kinds = {o["kind"] for o in objects}
    assert kinds == {"exchange", "queue"}
    dlqs = [o for o in objects if o["kind"] == "queue" and o["name"].endswith(".dlq")]
    assert dlqs and all("x-delivery-limit" not in o["arguments"] for o in dlqs)


# The commands that print no table of their own: what they print is the document asked for
# (XML, EDIFACT, a signed file), the demo's fixed report, or log lines only.
PRINTS_A_DOCUMENT_OR_LOGS = {
    ("run",): "log lines only",
    ("console",): "serves the web console; log lines only",
    ("demo",): "the demonstration's report (it is not for scripts)",
    ("translate",): "the canonical XML itself; problems as CODE<TAB>where<TAB>sentence",
    ("contrl",): "the CONTRL itself (EDIFACT)",
    ("keys", "dev-sign"): "the signed XML itself",
}


def test_every_command_that_prints_something_takes_json() -> None:
    """Issue #19, point 7: ``--json`` on every command that prints something; a new command
    without it fails here unless it is listed above, with why."""
    missing = []
    for path in _commands(main):
        command: click.Command | None = main
        for name in path:
            assert isinstance(command, click.Group)
            command = command.get_command(click.Context(command), name)
        assert command is not None
        if isinstance(command, click.Group) and not command.invoke_without_command:
            continue  # a group prints only its help
        options = {o for p in command.params if isinstance(p, click.Option) for o in p.opts}
        if "--json" not in options and path not in PRINTS_A_DOCUMENT_OR_LOGS:
            missing.append(" ".join(path))
    assert missing == []
    assert set(PRINTS_A_DOCUMENT_OR_LOGS) <= set(_commands(main))  # no stale exception
