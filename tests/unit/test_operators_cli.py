"""The operators' CLI convention without a broker (issue #19, items 7 and 8): --json one
object per line, -h, escaping of control characters, id prefixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.interfaces.operators.conventions import (
    AmbiguousId,
    IdNotFound,
    json_line,
    resolve_ids,
    terminal_line,
    terminal_safe,
)
from gateway.interfaces.operators.deadletters import DeadLetter
from tests.unit.test_trust_cli import edigw

HOSTILE = "MAN\x1b]0;owned\x07\x1b[2J\r\x9b31m\u202eFDP\u200b-1\x7f"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": "development"}


def _letter(message_id: str, body: bytes = b"UNA:+.? 'UNB'") -> DeadLetter:
    return DeadLetter.from_amqp(
        "partner.apcs.in.dlq",
        {"message_id": message_id, "headers": {"x-edigw-reason": "EDIFACT_SYNTAX"}},
        body,
    )


def test_no_control_character_survives_the_terminal_escaping() -> None:
    for shown in (terminal_safe(HOSTILE), terminal_line(HOSTILE), json_line({"r": HOSTILE})):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown), shown
        assert "\u202e" not in shown and "\u200b" not in shown
    assert json.loads(json_line({"r": HOSTILE})) == {"r": HOSTILE}  # the data, unchanged
    # A body's layout stays readable.
    assert terminal_safe("UNH+1'\nBGM+785'\tx") == "UNH+1'\nBGM+785'\tx"
    assert "\n" not in terminal_line("one\nline")


def test_ids_are_found_by_unambiguous_prefixes() -> None:
    a, b, c = _letter("order-aaaa-1"), _letter("order-aaaa-2"), _letter("other-3")
    letters = [a, b, c]
    assert resolve_ids(letters, [a.id]) == (a.id,)
    others = [b.id, c.id, a.message_id, b.message_id, c.message_id]
    prefix = next(a.id[:n] for n in range(4, 13) if not any(x.startswith(a.id[:n]) for x in others))
    assert resolve_ids(letters, [prefix]) == (a.id,)
    assert resolve_ids(letters, ["order-aaaa-1"]) == (a.id,)  # message id, exactly
    assert resolve_ids(letters, ["other"]) == (c.id,)  # message id prefix
    with pytest.raises(AmbiguousId) as ambiguous:
        resolve_ids(letters, ["order-aaaa"])
    assert set(ambiguous.value.candidates) == {a.id, b.id}
    with pytest.raises(IdNotFound):
        resolve_ids(letters, ["nothing-like-it"])
    with pytest.raises(IdNotFound):  # too short to be taken as a prefix
        resolve_ids(letters, ["oth"])


@pytest.mark.parametrize(
    "command",
    [
        ["dlq", "-h"],
        ["dlq", "list", "-h"],
        ["dlq", "purge", "-h"],
        ["audit", "-h"],
        ["keys", "-h"],
        ["keys", "list", "-h"],
        ["verify", "-h"],
        ["routes", "show", "-h"],
        ["overdue", "-h"],
        ["partners", "provision", "-h"],
    ],
)
def test_dash_h_is_help(env: dict[str, str], command: list[str]) -> None:
    code, out, _err = edigw(env, *command)
    assert code == 0
    assert "Usage:" in out


def test_keys_print_json_lines(env: dict[str, str]) -> None:
    code, out, _ = edigw(env, "keys", "list", "--json")
    assert code == 1 and out == ""  # nothing matched: no key yet
    code, out, _ = edigw(env, "keys", "generate", "--json")
    assert code == 0
    generated = json.loads(out)
    assert generated["state"] == "generated"
    code, out, _ = edigw(env, "keys", "rotate", "--json")
    assert code == 0
    rotated = json.loads(out)
    assert rotated["retired"] == generated["key_id"] != rotated["current"]
    code, out, _ = edigw(env, "keys", "list", "--json")
    assert code == 0
    listed = [json.loads(line) for line in out.splitlines()]
    assert [(k["key_id"], k["status"]) for k in listed] == [
        (rotated["current"], "current"),
        (rotated["retired"], "retired"),
    ]


def test_routes_show_prints_json_lines(env: dict[str, str]) -> None:
    code, text, _ = edigw(env, "routes", "show")
    assert code == 0
    code, out, _ = edigw(env, "routes", "show", "--json")
    assert code == 0
    rules = [json.loads(line) for line in out.splitlines()]
    assert len(rules) == len(text.splitlines()) > 0
    assert {r["kind"] for r in rules} <= {"route", "copy"}
    assert all(r["destination"] for r in rules)


def test_a_draft_is_discarded_by_an_unambiguous_prefix(env: dict[str, str]) -> None:
    """Issue #19, point 7: ``dlq drafts --discard`` takes ids as every command does."""
    from gateway.interfaces.operators.drafts import DRAFTS_DIR, DraftBox

    box = DraftBox(Path(env["EDIGW_STATE_DIR"]) / DRAFTS_DIR)
    box.save("abcd00000001", "order-1", "UNA", "alice", "EDIFACT_SYNTAX")
    box.save("abcd00000002", "order-2", "UNA", "alice", "EDIFACT_SYNTAX")
    box.save("ef0100000003", "other-3", "UNA", "alice", "EDIFACT_SYNTAX")

    code, out, err = edigw(env, "dlq", "drafts", "--discard", "abcd")
    assert code == 2 and out == ""  # ambiguous: both candidates named
    assert "abcd00000001" in err and "abcd00000002" in err
    code, out, _ = edigw(env, "dlq", "drafts", "--discard", "ef01", "--json")
    assert code == 0 and json.loads(out) == {"id": "ef0100000003", "outcome": "discarded"}
    code, out, _ = edigw(env, "dlq", "drafts", "--discard", "order-2")  # a message id
    assert code == 0 and out == "draft of abcd00000002 discarded\n"
    code, out, err = edigw(env, "dlq", "drafts", "--discard", "ef01")
    assert code == 1 and out == "" and "no draft of a dead letter" in err
    assert [d.id for d in box.list()] == ["abcd00000001"]
