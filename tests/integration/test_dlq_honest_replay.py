"""Honest replay on the real broker (issue #19, point 2): the dry run says what the gateway would
make of each message, a replay counts what the real worker accepted and what failed again, a
dead letter keeps one id across replays with its history, and a refused edit is kept as a draft.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import bootstrap
from gateway.messaging import broker
from gateway.messaging.naming import Names
from tests.integration.test_console_pages import _console
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    GOOD,
    channel_for,
    cli,
    dead_letter,
    depth,
    gateway_running,
    settings_for,
    wait_depth,
)

pytestmark = pytest.mark.broker


@pytest.fixture
def env(gateway_env: dict[str, str]) -> dict[str, str]:
    return {**gateway_env, "EDIGW_OPERATOR": "alice"}


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _editor(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_dry_run_says_how_many_will_be_rejected_again_and_why(env: dict[str, str]) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        bad = dead_letter(ch, settings, BAD_COUNT, message_id="still-bad")
        good = dead_letter(ch, settings, GOOD, reason="UNROUTABLE", stage="route", message_id="ok")
        assert wait_depth(ch, dlq, 2) == 2

        dry = cli(env, "dlq", "replay", "--all", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "1 of 2 will be rejected again because EDIFACT_SYNTAX (1, e.g. " in dry.stderr
        assert "UNT" in dry.stderr  # the gateway's own sentence about the segment count
        lines = dry.stdout.splitlines()
        assert any("rejected: EDIFACT_SYNTAX" in line for line in lines)
        assert any(line.endswith(": accepted") for line in lines)

        as_json = _lines(cli(env, "dlq", "replay", "--all", "--dry-run", "--json").stdout)
        *letters, summary = as_json
        verdicts = {str(d["message_id"]): d["verdict"] for d in letters}
        assert verdicts[bad]["outcome"] == "rejected"  # type: ignore[index]
        assert verdicts[bad]["reason"] == "EDIFACT_SYNTAX"  # type: ignore[index]
        assert verdicts[good]["outcome"] == "accepted"  # type: ignore[index]
        assert summary == {
            "summary": "dry-run",
            "selected": 2,
            "accepted": 1,
            "rejected_again": 1,
            "not_checked": 0,
        }
        # Nothing moved.
        assert wait_depth(ch, dlq, 2) == 2 and depth(ch, inbound) == 0


@pytest.fixture
def running(env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    with gateway_running(env, tmp_path / "gateway.log"):
        yield env


def _wait_letters(env: dict[str, str], n: int, timeout: float = 30) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    letters = _lines(cli(env, "dlq", "list", "--json").stdout)
    while len(letters) != n and time.monotonic() < deadline:
        time.sleep(0.3)
        letters = _lines(cli(env, "dlq", "list", "--json").stdout)
    return letters


def test_a_replay_counts_accepted_and_failed_again_and_the_id_stays(
    running: dict[str, str],
) -> None:
    env = running
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    with channel_for(settings) as ch:
        # One the worker itself refuses, one put there as if a route had been missing.
        broker.publish(ch, names.inbound("apcs"), "", BAD_COUNT, message_id="bad-1")
        [first] = _wait_letters(env, 1)
        # Its own interchange reference: the same one would be refused as a reuse (the worker's
        # check, which the offline forecast does not make and the observed outcome shows).
        other = GOOD.replace(b"AP000003", b"AP000903")
        dead_letter(ch, settings, other, reason="UNROUTABLE", stage="route", message_id="fixed-1")
        assert len(_wait_letters(env, 2)) == 2

        replayed = cli(env, "dlq", "replay", "--all", "--json", "--wait", "60")
        assert replayed.exit_code == 0, replayed.output
        *letters, summary = _lines(replayed.stdout)
        observed = {str(d["message_id"]): d["observed"] for d in letters}
        assert observed["bad-1"]["outcome"] == "rejected"  # type: ignore[index]
        assert observed["bad-1"]["reason"] == "EDIFACT_SYNTAX"  # type: ignore[index]
        assert observed["fixed-1"]["outcome"] == "accepted"  # type: ignore[index]
        assert summary == {
            "summary": "replay",
            "replayed": 2,
            "accepted": 1,
            "failed_again": 1,
            "undecided": 0,
            "not_replayed": 0,
        }
        assert wait_depth(ch, names.customs_core, 1, timeout=30) == 1

        # The message that came back keeps its dead-letter id, and says its replay.
        [back] = _wait_letters(env, 1)
        assert back["id"] == first["id"]
        assert back["message_id"] == "bad-1~replay1" and back["attempts"] == 2
        shown = json.loads(cli(env, "dlq", "show", str(first["id"]), "--json").stdout)
        assert [(r["by"], r["as"]) for r in shown["replays"]] == [("alice", "bad-1~replay1")]

        # Again, in text: the same id, two replays in its history, the count said on stderr.
        again = cli(env, "dlq", "replay", str(first["id"]), "--wait", "60")
        assert again.exit_code == 0, again.output
        assert "replayed 1: 0 accepted, 1 failed again (EDIFACT_SYNTAX" in again.stderr
        [back] = _wait_letters(env, 1)
        assert back["id"] == first["id"] and back["message_id"] == "bad-1~replay2"
        text = cli(env, "dlq", "show", str(first["id"]))
        assert "replays (2, oldest first" in text.stdout
        assert "by alice as bad-1~replay1" in text.stdout
        assert "by alice as bad-1~replay2" in text.stdout

    # The console's page of that dead letter shows the same history.
    gateway = bootstrap(settings)
    client, _live, _backend = _console(gateway, role="viewer")
    page = client.get(f"/dlq/{first['id']}")
    assert page.status_code == 200
    assert "Replays (2, oldest first" in page.text and "bad-1~replay2" in page.text
    gateway.close()


def test_a_refused_edit_is_kept_as_a_draft_and_offered_again(
    env: dict[str, str], tmp_path: Path
) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        dead_letter(ch, settings, BAD_COUNT, message_id="draft-1")
        assert wait_depth(ch, dlq, 1) == 1
        [letter] = _lines(cli(env, "dlq", "list", "--json").stdout)
        letter_id = str(letter["id"])
        assert cli(env, "dlq", "drafts").exit_code == 1  # none yet

        # Another wrong count: refused, nothing replayed, the edit kept.
        still_bad = _editor(tmp_path, "bad.sh", "sed -i 's/UNT+99+1/UNT+98+1/' \"$1\"\n")
        refused = cli({**env, "EDITOR": still_bad}, "dlq", "edit", letter_id)
        assert refused.exit_code == 1
        assert "kept as a draft" in refused.stderr
        [draft] = _lines(cli(env, "dlq", "drafts", "--json").stdout)
        assert draft["id"] == letter_id and draft["actor"] == "alice"
        assert str(draft["verdict"]).startswith("EDIFACT_SYNTAX")
        assert wait_depth(ch, dlq, 1) == 1 and depth(ch, inbound) == 0

        # The next edit offers the draft (on a terminal it asks; here --from-draft says yes):
        # the editor gets the draft, not the message; fixed, it is replayed and the draft goes.
        fixer = _editor(
            tmp_path,
            "fix.sh",
            "grep -q 'UNT+98+1' \"$1\" || exit 1\nsed -i 's/UNT+98+1/UNT+9+1/' \"$1\"\n",
        )
        fixed = cli({**env, "EDITOR": fixer}, "dlq", "edit", letter_id, "--from-draft", "--json")
        assert fixed.exit_code == 0, fixed.output
        [edited] = _lines(fixed.stdout)  # --json: one object, on one line (issue #19, point 7)
        assert (edited["id"], edited["outcome"], edited["edited"]) == (letter_id, "replayed", True)
        assert "+UNT+9+1'" in str(edited["diff"]) and edited["forced"] is False
        assert wait_depth(ch, inbound, 1) == 1
        assert cli(env, "dlq", "drafts").exit_code == 1


def test_a_draft_can_be_left_aside_or_discarded(env: dict[str, str], tmp_path: Path) -> None:
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    with channel_for(settings) as ch:
        dead_letter(ch, settings, BAD_COUNT, message_id="draft-2")
        assert wait_depth(ch, dlq, 1) == 1
        [letter] = _lines(cli(env, "dlq", "list", "--json").stdout)
        letter_id = str(letter["id"])
        still_bad = _editor(tmp_path, "bad.sh", "sed -i 's/UNT+99+1/UNT+98+1/' \"$1\"\n")
        assert cli({**env, "EDITOR": still_bad}, "dlq", "edit", letter_id).exit_code == 1

        # --from-original (and, without a terminal, no flag): the editor gets the message as
        # it is in the DLQ, and the draft is mentioned.
        original_only = _editor(tmp_path, "orig.sh", "grep -q 'UNT+99+1' \"$1\" || exit 1\n")
        unchanged = cli(
            {**env, "EDITOR": original_only}, "dlq", "edit", letter_id, "--from-original"
        )
        assert unchanged.exit_code == 1 and "no change" in unchanged.stderr
        unasked = cli({**env, "EDITOR": original_only}, "dlq", "edit", letter_id)
        assert unasked.exit_code == 1 and "no change" in unasked.stderr
        assert f"a refused edit of {letter_id} is kept: --from-draft" in unasked.stderr
        assert len(_lines(cli(env, "dlq", "drafts", "--json").stdout)) == 1  # still kept

        discarded = cli(env, "dlq", "drafts", "--discard", letter_id, "--json")
        assert discarded.exit_code == 0, discarded.output
        assert _lines(discarded.stdout) == [{"id": letter_id, "outcome": "discarded"}]
        assert cli(env, "dlq", "drafts").exit_code == 1
        assert cli(env, "dlq", "drafts", "--discard", letter_id).exit_code == 1
        assert wait_depth(ch, dlq, 1) == 1  # the dead letter itself is untouched


def test_a_replay_whose_id_another_message_took_reports_its_own_outcome(
    running: dict[str, str],
) -> None:
    """A message that arrived first with the replay's id (``took-1~replay1``: a partner that
    guessed it, or numbers its ids so) does not lend the replay its outcome: the gateway
    decides the replay under an id of its own (docs/security.md, "Message ids") and the
    replay reads its outcome there."""
    env = running
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    with channel_for(settings) as ch:
        fixed = GOOD.replace(b"AP000003", b"AP000913")
        dead_letter(ch, settings, fixed, reason="UNROUTABLE", stage="route", message_id="took-1")
        [letter] = _wait_letters(env, 1)
        # The replay's id, taken first by a message the gateway refuses.
        broker.publish(ch, names.inbound("apcs"), "", BAD_COUNT, message_id="took-1~replay1")
        assert len(_wait_letters(env, 2)) == 2

        replayed = cli(env, "dlq", "replay", str(letter["id"]), "--json", "--wait", "60")
        assert replayed.exit_code == 0, replayed.output
        *letters, summary = _lines(replayed.stdout)
        [observed] = [d["observed"] for d in letters]
        assert observed["outcome"] == "accepted", observed  # type: ignore[index]
        assert summary["accepted"] == 1 and summary["failed_again"] == 0  # type: ignore[index]
        assert wait_depth(ch, names.customs_core, 1, timeout=30) == 1
