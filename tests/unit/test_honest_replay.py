"""The pure parts of honest replay (issue #19, points 2 and 7): a dead letter's stable id and
replay history read from its headers, the foreseen and observed verdicts and their sentences,
and progress that never shares a line with a log line. The broker side is
tests/integration/test_dlq_honest_replay.py."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from gateway import logs
from gateway.bootstrap import bootstrap
from gateway.config import load
from gateway.interfaces.operators.deadletters import (
    H_DEAD_LETTER_ID,
    H_REPLAY_HISTORY,
    DeadLetter,
)
from gateway.interfaces.operators.verdicts import (
    ACCEPTED,
    NOT_CHECKED,
    REJECTED,
    UNDECIDED,
    Verdict,
    classify,
    forecast_sentence,
    foresee,
    observe,
    outcome_sentence,
)
from gateway.interfaces.progress import Progress, progress_over
from gateway.storage.records import Processed

ROOT = Path(__file__).resolve().parents[2]
BAD_COUNT = (ROOT / "samples" / "apcs" / "03-cuscar-rejected-bad-count.edi").read_bytes()
GOOD = BAD_COUNT.replace(b"UNT+99+1", b"UNT+9+1")
QUEUE = "partner.apcs.in.dlq"


def _letter(headers: dict[str, Any], body: bytes = BAD_COUNT, queue: str = QUEUE) -> DeadLetter:
    base = {
        "x-edigw-reason": "EDIFACT_SYNTAX",
        "x-edigw-stage": "decode",
        "x-edigw-first-failure": "2026-12-01T08:00:00+00:00",
    }
    return DeadLetter.from_amqp(
        queue, {"message_id": "m1~replay1", "headers": {**base, **headers}}, body
    )


def test_the_id_an_earlier_replay_gave_is_kept() -> None:
    assert _letter({H_DEAD_LETTER_ID: "0123456789ab"}).id == "0123456789ab"
    computed = _letter({}).id
    assert re.fullmatch(r"[0-9a-f]{12}", computed) and computed != "0123456789ab"
    # Not an id (any text a header may hold): the id is computed as before.
    assert _letter({H_DEAD_LETTER_ID: "../../x"}).id == computed
    assert _letter({H_DEAD_LETTER_ID: b"\x00" * 12}).id == computed


def test_a_partners_or_the_brokers_headers_never_choose_the_id() -> None:
    # A partner's x-edigw-* header is quarantined on arrival: it is no id.
    forged = _letter({"x-partner-header.x-edigw-dead-letter-id": "0123456789ab"})
    assert forged.id != "0123456789ab"
    # Dead-lettered by RabbitMQ itself: the x-edigw-* headers are whatever was published.
    by_broker = _letter(
        {H_DEAD_LETTER_ID: "0123456789ab", "x-death": [{"queue": "partner.apcs.in"}]}
    )
    assert not by_broker.gateway_written and by_broker.id != "0123456789ab"
    assert by_broker.replays == []


def test_the_replay_history_is_read_bounded_and_sent_on() -> None:
    steps = [
        {"at": f"2026-12-0{i}T00:00:00+00:00", "by": "ann", "as": f"m1~replay{i}", "edited": i == 2}
        for i in (1, 2)
    ]
    letter = _letter({H_REPLAY_HISTORY: [*steps, "junk", {"by": "\x1b[2J" * 100}]})
    assert [r["as"] for r in letter.replays[:2]] == ["m1~replay1", "m1~replay2"]
    assert [r["edited"] for r in letter.replays[:2]] == [False, True]
    # A value is bounded, escaped text, whatever it held.
    assert "\x1b" not in letter.replays[2]["by"] and "more characters" in letter.replays[2]["by"]
    assert letter.to_json()["replays"] == letter.replays
    # The history travels with the replay (the store appends the new step to it).
    assert letter.replay_headers()[H_REPLAY_HISTORY][:2] == steps
    many = _letter({H_REPLAY_HISTORY: [dict(steps[0], **{"as": str(i)}) for i in range(50)]})
    assert len(many.replays) == 20 and many.replays[-1]["as"] == "49"  # the newest kept


def test_sentences_for_people() -> None:
    verdicts = [
        Verdict("a", REJECTED, "EDIFACT_SYNTAX", "UNT counts 99"),
        Verdict("b", REJECTED, "UNKNOWN_CALL", "call 1/2 not announced"),
        Verdict("c", REJECTED, "EDIFACT_SYNTAX", "UNT counts 98"),
        Verdict("d", ACCEPTED),
        Verdict("e", NOT_CHECKED, sentence="the travellers' desk needs the journal"),
    ]
    assert forecast_sentence(verdicts) == (
        "3 of 5 will be rejected again because EDIFACT_SYNTAX (2, e.g. UNT counts 99); "
        "UNKNOWN_CALL (1, e.g. call 1/2 not announced); 1 not checked offline"
    )
    assert forecast_sentence([Verdict("d", ACCEPTED)]) == "0 of 1 will be rejected again"
    observed = [
        Verdict("a", REJECTED, "EDIFACT_SYNTAX", "UNT counts 99"),
        Verdict("d", ACCEPTED),
        Verdict("f", UNDECIDED, sentence="no gateway consumes partner.apcs.in"),
        Verdict("g", UNDECIDED, sentence="no decision recorded within 30 s"),
    ]
    assert outcome_sentence(observed, 30) == (
        "1 accepted, 1 failed again (EDIFACT_SYNTAX (1, e.g. UNT counts 99)), "
        "1 not decided (no gateway consumes partner.apcs.in), "
        "1 not decided (no decision recorded within 30 s)"
    )


@pytest.mark.parametrize(
    ("processed", "outcome", "reason"),
    [
        (None, UNDECIDED, ""),
        (Processed("m", "decided", "routed", "", "t"), UNDECIDED, ""),  # not confirmed yet
        (Processed("m", "done", "routed", "", "t"), ACCEPTED, ""),
        (Processed("m", "done", "duplicate", "", "t"), ACCEPTED, ""),
        (Processed("m", "done", "rejected", "EDIFACT_SYNTAX: UNT counts 99", "t"), REJECTED,
         "EDIFACT_SYNTAX"),
    ],
)  # fmt: skip
def test_the_journal_says_the_outcome(
    processed: Processed | None, outcome: str, reason: str
) -> None:
    verdict = classify(processed, "a")
    assert (verdict.outcome, verdict.reason) == (outcome, reason)


def test_observing_stops_when_all_are_decided_or_the_wait_is_over() -> None:
    reads: list[str] = []
    decided: dict[str, Processed] = {}

    def read(message_id: str) -> Processed | None:
        reads.append(message_id)
        if len(reads) >= 3:  # decided while we wait
            decided["m~replay1"] = Processed("m~replay1", "done", "rejected", "X: why", "t")
        return decided.get(message_id)

    now = [0.0]
    seen = observe(
        read,
        {"a": "m~replay1"},
        wait=10,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert seen["a"] == Verdict("a", REJECTED, "X", "why")
    assert len(reads) == 3  # no read after it was decided

    now[0] = 0.0
    never = observe(
        lambda _m: None,
        {"b": "n~replay1"},
        wait=1,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert never["b"].outcome == UNDECIDED and "within 1 s" in never["b"].sentence


def test_foreseen_with_the_partners_configuration(tmp_path: Path) -> None:
    app = bootstrap(load(env={"EDIGW_STATE_DIR": str(tmp_path), "EDIGW_MODE": "development"}))
    bad = foresee(app, _letter({}))
    assert (bad.outcome, bad.reason) == (REJECTED, "EDIFACT_SYNTAX")
    assert "UNT" in bad.sentence
    assert foresee(app, _letter({}, GOOD)).outcome == ACCEPTED
    assert foresee(app, _letter({}), body=GOOD).outcome == ACCEPTED  # an edit in its place
    # Only what the offline checks can say: the travellers' desk and customs' answers are not.
    assert foresee(app, _letter({}, queue="partner.border.in.dlq")).outcome == NOT_CHECKED
    assert foresee(app, _letter({}, queue="customs.responses.dlq")).outcome == NOT_CHECKED
    app.close()


def test_progress_never_shares_a_line_with_a_log_line(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    logs.configure("json")
    log = logs.get_logger()
    for item in Progress("replaying", interactive=True, clock=lambda: 0.0).over([1, 2, 3]):
        log.warning("a log line", item=item)
    assert logs._line_guard is None  # the guard goes with the bar
    out = err.getvalue()
    # Every log line starts on a line of its own as the terminal shows it: the bar is taken
    # off its line first (carriage return, erase to the end of the line).
    for line in out.split("\n"):
        if '"event"' in line:
            shown = line.rsplit("\r\x1b[K", 1)[-1]
            assert shown.startswith('{"item"') and "replaying" not in shown, repr(line)
    assert out.endswith("replaying: 3/3 (100%)\n")


def test_progress_is_shown_only_when_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert list(progress_over("exporting", False)([1, 2])) == [1, 2]
    assert list(progress_over("exporting", True)([1])) == [1]  # one item: no bar
    assert err.getvalue() == ""
    assert list(progress_over("exporting", True)([1, 2])) == [1, 2]
    assert err.getvalue().splitlines() == ["exporting: 0/2", "exporting: 2/2"]


class _Store:
    """Stands in for the dead-letter store's consumer count (the broker part is integration)."""

    def __init__(self, consumers: dict[str, int]) -> None:
        self.counts = consumers

    def consumers(self, queues: list[str]) -> dict[str, int]:
        return {q: self.counts.get(q, 0) for q in queues}


class _Unreadable:
    @property
    def journal(self) -> Any:
        raise OSError("journal down")


def test_a_replay_whose_outcome_cannot_be_read_is_undecided_not_a_failure() -> None:
    from gateway.interfaces.operators.actions import observe_replays

    consumed, idle = _letter({}), _letter({}, GOOD, queue="partner.commerce.in.dlq")
    seen = observe_replays(
        _Unreadable(),  # type: ignore[arg-type]
        _Store({"partner.apcs.in": 1}),  # type: ignore[arg-type]
        [consumed, idle],
        wait=5,
    )
    assert seen[consumed.id] == Verdict(
        consumed.id, UNDECIDED, sentence="the journal could not be read: OSError"
    )
    assert seen[idle.id].sentence == "no gateway consumes partner.commerce.in"
    not_waited = observe_replays(_Unreadable(), _Store({}), [consumed], wait=0)  # type: ignore[arg-type]
    assert not_waited[consumed.id].sentence == "not waited for"


def test_a_large_translate_says_its_progress_only_when_asked(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gateway.interfaces.cli import LARGE_TRANSLATE_BYTES, main

    big = tmp_path / "big.edi"
    big.write_bytes(b"X" * LARGE_TRANSLATE_BYTES)
    env = {"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": "development"}
    asked = CliRunner().invoke(main, ["translate", str(big), "--progress"], env=env)
    assert asked.exit_code == 1  # not a message: rejected, as without --progress
    assert "translate: big.edi (5.0 MB) ...\n" in asked.stderr
    assert "translate: big.edi done: 0 document(s)\n" in asked.stderr
    assert asked.stdout == ""
    quiet = CliRunner().invoke(main, ["translate", str(big)], env=env)
    assert quiet.exit_code == 1 and "translate:" not in quiet.stderr  # no terminal, not asked
