"""``edigw dlq`` and ``edigw audit`` follow one convention (issue #19, items 7 and 8), on the
real broker: --json one object per line, exit 1 when nothing matched, purge --dry-run prints
the count, id prefixes, progress on stderr, a partner's control characters escaped."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.messaging.naming import Names
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    channel_for,
    cli,
    dead_letter,
    drain,
    settings_for,
    wait_depth,
)

pytestmark = pytest.mark.broker

# Terminal escapes a partner could hide in a message: retitle the window, clear the screen,
# a C1 CSI, a right-to-left override, a carriage return that overwrites the line.
ESCAPES = ("\x1b", "\x9b", "\u202e", "\r", "\x07")
HOSTILE_BODY = BAD_COUNT.replace(b"MAN-DZALG", "MAN\x1b]0;owned\x07\x1b[2J\x9b1m\u202e\rX".encode())
assert HOSTILE_BODY != BAD_COUNT  # the sample still holds what is replaced


@pytest.fixture
def env(gateway_env: dict[str, str]) -> dict[str, str]:
    return {**gateway_env, "EDIGW_OPERATOR": "alice"}


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_nothing_matched_is_exit_1_everywhere(env: dict[str, str]) -> None:
    settings = settings_for(env)
    with channel_for(settings):  # the topology exists, the DLQs are empty
        pass
    for args in (
        ["dlq", "list"],
        ["dlq", "list", "--json"],
        ["dlq", "groups", "--json"],
        ["dlq", "export"],
        ["dlq", "show", "no-such-id"],
        ["dlq", "replay", "--all", "--json"],
        ["dlq", "purge", "--all", "--yes", "--json"],
        ["dlq", "purge", "--all", "--dry-run"],
        ["dlq", "purge", "--all", "--dry-run", "--json"],
        ["dlq", "drafts", "--json"],
        ["audit", "--json"],
    ):
        result = cli(env, *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stdout == "", args  # the sentence is on stderr
        assert result.stderr.strip(), args


def test_prefixes_dry_run_json_and_progress(env: dict[str, str]) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        m1 = dead_letter(ch, settings, BAD_COUNT, message_id="batch-0001-a")
        m2 = dead_letter(ch, settings, BAD_COUNT, message_id="batch-0001-b")
        m3 = dead_letter(ch, settings, BAD_COUNT, message_id="single-0002")
        assert wait_depth(ch, dlq, 3) == 3
        ids = {d["message_id"]: d["id"] for d in _lines(cli(env, "dlq", "list", "--json").stdout)}

        # Prefixes: of an id, of a message id; an ambiguous one is a usage error.
        shown = cli(env, "dlq", "show", str(ids[m3])[:8], "--json")
        assert shown.exit_code == 0, shown.output
        assert len(shown.stdout.splitlines()) == 1
        assert json.loads(shown.stdout)["message_id"] == m3
        assert json.loads(cli(env, "dlq", "show", "single", "--json").stdout)["id"] == ids[m3]
        ambiguous = cli(env, "dlq", "show", "batch-0001")
        assert ambiguous.exit_code == 2
        assert ids[m1] in ambiguous.stderr and ids[m2] in ambiguous.stderr

        # purge --dry-run prints the count and removes nothing.
        dry = cli(env, "dlq", "purge", "--all", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert dry.stdout.strip() == "3 dead letter(s) would be purged"
        dry_json = cli(env, "dlq", "purge", "batch-0001-a", "--dry-run", "--json")
        assert json.loads(dry_json.stdout) == {"would_purge": 1, "ids": [ids[m1]]}
        assert wait_depth(ch, dlq, 3) == 3

        # groups: one object per line.
        groups = _lines(cli(env, "dlq", "groups", "--json").stdout)
        assert [(g["group"], g["count"]) for g in groups] == [("EDIFACT_SYNTAX/decode", 3)]

        # export: progress on stderr when asked (stderr is no terminal here), only JSON on stdout.
        exported = cli(env, "dlq", "export", "--progress")
        assert exported.exit_code == 0
        assert {d["message_id"] for d in _lines(exported.stdout)} == {m1, m2, m3}
        assert "exporting: 3/3" in exported.stderr
        assert "3 dead letter(s) exported" in exported.stderr
        quiet = cli(env, "dlq", "export")
        assert "exporting" not in quiet.stderr  # not asked, not a terminal: no progress
        # --json is accepted as on every command: the same JSON lines (the order and each
        # browse's x-delivery-count aside, see docs/operators.md).
        bodies = {d["id"]: d["body_base64"] for d in _lines(quiet.stdout)}
        as_json = _lines(cli(env, "dlq", "export", "--json").stdout)
        assert {d["id"]: d["body_base64"] for d in as_json} == bodies and len(as_json) == 3

        # replay by prefix, --json: one object per message.
        replayed = cli(env, "dlq", "replay", str(ids[m3])[:6], "--json")
        assert replayed.exit_code == 0, replayed.output
        [line, summary] = _lines(replayed.stdout)
        assert line["outcome"] == "replayed" and line["id"] == ids[m3]
        assert line["replay_id"] == f"{m3}~replay1"
        assert summary["summary"] == "replay" and summary["replayed"] == 1
        assert wait_depth(ch, inbound, 1) == 1
        assert [p.message_id for p, _b in drain(ch, inbound)] == [f"{m3}~replay1"]

        # purge --json, by message-id prefix.
        purged = cli(env, "dlq", "purge", "batch-0001-b", "--yes", "--json")
        assert purged.exit_code == 0, purged.output
        assert [(d["id"], d["outcome"]) for d in _lines(purged.stdout)] == [(ids[m2], "purged")]
        assert wait_depth(ch, dlq, 1) == 1
        # A batch shows its progress on stderr when asked (stderr is no terminal here), never
        # on stdout (a batch of one shows none).
        m4 = dead_letter(ch, settings, BAD_COUNT, message_id="batch-0003")
        assert wait_depth(ch, dlq, 2) == 2
        batch = cli(env, "dlq", "purge", "--all", "--yes", "--json", "--progress")
        assert batch.exit_code == 0, batch.output
        assert {d["message_id"] for d in _lines(batch.stdout)} == {m1, m4}
        assert "purging: 2/2" in batch.stderr
        assert wait_depth(ch, dlq, 0) == 0

        audit = _lines(cli(env, "audit", "--json").stdout)
        assert {a["action"] for a in audit} == {"replay", "purge"}


def test_a_partners_terminal_escapes_never_reach_the_terminal(env: dict[str, str]) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        message = dead_letter(ch, settings, HOSTILE_BODY, message_id="evil\x1b[2J-1")
        assert wait_depth(ch, dlq, 1) == 1
        outputs = {
            "list": cli(env, "dlq", "list"),
            "list --json": cli(env, "dlq", "list", "--json"),
            "groups": cli(env, "dlq", "groups"),
            "show": cli(env, "dlq", "show", "evil"),
            "show --json": cli(env, "dlq", "show", "evil", "--json"),
            "export": cli(env, "dlq", "export"),
            "purge --dry-run --json": cli(env, "dlq", "purge", "--all", "--dry-run", "--json"),
        }
        for name, result in outputs.items():
            assert result.exit_code == 0, (name, result.output)
            for escape in ESCAPES:
                assert escape not in result.stdout, (name, escape)
                assert escape not in result.stderr, (name, escape)
        # Escaped, not dropped: the operator still sees that something was there.
        assert "\\x1b[2J" in outputs["show"].stdout
        assert "\\u202e" in outputs["show"].stdout
        # JSON keeps the data exact.
        [exported] = _lines(outputs["export"].stdout)
        assert exported["message_id"] == message.replace("\x1b", "\\x1b")  # read escaped
        assert base64.b64decode(exported["body_base64"]) == HOSTILE_BODY
        purged = cli(env, "dlq", "purge", "--all", "--yes")
        assert purged.exit_code == 0
        assert not any(e in purged.stdout + purged.stderr for e in ESCAPES)
