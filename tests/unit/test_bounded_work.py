"""Bounded work on hostile input (issue #14, finding 7 and 8c).

A partner can make one interchange break a rule as often as it has segments. What the
gateway keeps and writes about it is capped (``adapters.contrl.limits``): the CONTRL stays
within its directory's limits, the problem lists and ``edigw translate``'s stderr end with
a count of the rest, and a hostile UNA never garbles the CONTRL's UNB. (Memory and time are
measured by ``bench/run.py --parts hostile``, not asserted here.)
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import contrl
from adapters.contrl import limits
from adapters.edifact import EdifactError, Message, directory
from adapters.edifact.policy import ReadPolicy
from gateway.service.pipeline import CappedProblems, Problem, translate
from tests.helpers import assert_valid_contrl

NOW = dt.datetime(2026, 12, 1, 8, 0)
HEAD = b"UNB+UNOC:3+APCS:ZZZ+CUSTOMS:ZZZ+261129:0800+R0001'"


def ftx_message(reference: str, count: int) -> bytes:
    """A CUSCAR whose ``count`` FTX break D95B's repeat limit (9) each past the ninth."""
    body = b"BGM+85+DOC-" + reference.encode() + b"+9'" + b"FTX+AAA+++LAPTOPS'" * count
    return b"UNH+%s+CUSCAR:D:95B:UN'%sUNT+%d+%s'" % (
        reference.encode(),
        body,
        count + 3,
        reference.encode(),
    )


def interchange(*messages: bytes) -> bytes:
    return HEAD + b"".join(messages) + b"UNZ+%d+R0001'" % len(messages)


def directory_check(message: Message) -> list[EdifactError]:
    return [
        directory.to_edifact_error(i)
        for i in directory.validate_message(message, message_type="CUSCAR")
        if i.severity == "error"
    ]


def segments(out: bytes, tag: str) -> list[str]:
    return [s for s in out.decode("latin-1").split("'") if s.strip().startswith(tag + "+")]


# ---------------------------------------------------------------------------- the CONTRL


@pytest.mark.parametrize("partial", [False, True])
def test_a_message_with_more_errors_than_a_ucm_holds_rejects_the_interchange(
    partial: bool,
) -> None:
    data = interchange(ftx_message("1", 1_500))
    report = contrl.acknowledge(data, message_checks=[directory_check], partial=partial)
    (message,) = report.messages
    assert len(message.errors) == limits.PROBLEMS_PER_MESSAGE
    assert message.omitted == 1_500 - 9 - limits.PROBLEMS_PER_MESSAGE
    # Rejected as a whole, partial or not, with a summary at interchange level.
    assert report.action == contrl.ACTION_REJECTED and not report.accepted
    (summary,) = report.reports[0].errors
    assert (summary.code, summary.reason) == ("18", limits.REASON_TOO_MANY)
    assert f"{message.omitted} more than are listed" in summary.sentence
    out = contrl.encode(report, now=NOW)
    assert len(segments(out, "UCS")) == limits.UCS_PER_UCM
    (uci,) = segments(out, "UCI")
    assert uci.endswith("+4+18")
    assert_valid_contrl(out)


def test_findings_of_one_input_are_capped_in_all() -> None:
    # 12 messages of 1,009 errors each: 999 kept a message until 9,999 are kept in all.
    data = interchange(*(ftx_message(str(i), 1_018) for i in range(1, 13)))
    report = contrl.StreamingAcknowledgement(
        data, message_checks=[directory_check], partial=True
    ).report()
    kept = [len(m.errors) for m in report.messages]
    assert kept == [limits.PROBLEMS_PER_MESSAGE] * 10 + [9, 0]
    assert sum(kept) == limits.PROBLEMS_PER_INPUT
    assert report.omitted == 12 * 1_009 - limits.PROBLEMS_PER_INPUT
    assert report.messages[-1].action == contrl.ACTION_REJECTED
    out = contrl.encode(report, now=NOW)
    assert len(segments(out, "UCS")) == limits.PROBLEMS_PER_INPUT
    # The message whose errors were all left out is covered by the UCI, not listed.
    assert len(segments(out, "UCM")) == 11
    assert_valid_contrl(out)


def test_more_interchanges_than_a_contrl_answers_reject_the_input() -> None:
    one = b"UNB+UNOA:3+SND+RCV+240101:1200+%d'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+%d'"
    data = b"".join(one % (i, i) for i in range(limits.INTERCHANGES_PER_INPUT + 1))
    for report in (contrl.acknowledge(data), contrl.StreamingAcknowledgement(data).report()):
        assert not report.accepted and len(report.reports) == 1
        (error,) = report.errors
        assert error.reason == limits.REASON_TOO_MANY
        assert f"more than {limits.INTERCHANGES_PER_INPUT} interchanges" in error.sentence
        assert_valid_contrl(contrl.encode(report, now=NOW))


def test_positions_and_tags_a_contrl_cannot_carry_are_left_out() -> None:
    report = contrl.acknowledge(interchange(ftx_message("1", 1)))
    message = report.messages[0]
    message.errors += [
        EdifactError("35", "far away", segment=message.first_segment + 1_000_000, tag="FTX"),
        EdifactError("16", "element 1500", segment=3, tag="FTX", element=1_500),
        EdifactError("12", "odd tag", segment=4, tag="F1"),
    ]
    out = contrl.encode(report, now=NOW)
    ucm = segments(out, "UCM")[0]
    assert ucm.endswith("+4+35+FTX")  # the far error is the UCM's own, without position
    assert "UCS+2+16'" in out.decode() and "UCS+3+12'" in out.decode()  # UNH is 1
    assert_valid_contrl(out)


# ---------------------------------------------------------------------------- the UNB


@pytest.mark.parametrize(
    "una",
    [
        "UNA::.? '",  # component and element separator the same
        "UNA++.? '",
        "UNA:+.+ '",  # release character equal to the element separator
        "UNA:+.: '",  # ... to the component separator
        "UNA:+.??'",  # repetition equal to the release character
        "UNA:'.? '",  # element separator equal to the terminator
        "UNA:+.? +",  # terminator equal to the element separator
        "UNA'''''''",  # one character for everything
    ],
)
def test_the_unb_of_a_contrl_is_valid_whatever_the_una(una: str) -> None:
    text = "UNB+UNOA:3+SND:ZZ+RCV:ZZ+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+42'"
    comp, elem, term = una[3], una[4], una[8]
    body = text.replace(":", "\0").replace("+", "\1").replace("'", "\2")
    body = body.replace("\0", comp).replace("\1", elem).replace("\2", term)
    out = contrl.encode(contrl.acknowledge((una + body).encode()), now=NOW)
    assert out.startswith(b"UNB+UNOA:3+CUSTOMS+")  # our own separators
    (ic,) = assert_valid_contrl(out)
    # The partner's id, or UNKNOWN when the UNA makes it unreadable: never a piece of it.
    assert (ic.recipient, ic.recipient_qualifier) in (("SND", "ZZ"), ("UNKNOWN", ""))


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        (b"S" * 80, "S" * 35),  # S002 0004 is an..35
        (b"snd\x01x", "SNDX"),  # control characters dropped; level A is upper case
        (b"A?:B", "A:B"),  # a released separator, escaped again when written
        ("SÉN".encode("latin-1"), "S?N"),  # not in level A
        (b"\x7f", "UNKNOWN"),
    ],
)
def test_echoed_sender_is_sanitised(sender: bytes, expected: str) -> None:
    data = (
        b"UNB+UNOA:3+" + sender + b":ZZZZZZ+RCV+240101:1200+42'"
        b"UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+42'"
    )
    out = contrl.encode(contrl.acknowledge(data), now=NOW)
    (ic,) = assert_valid_contrl(out)
    assert ic.recipient == expected
    assert ic.recipient_qualifier == "ZZZZ"  # S002 0007 is an..4


# ---------------------------------------------------------------------------- the pipeline


def test_capped_problems_keep_so_many_a_message_and_count_the_rest() -> None:
    problems = CappedProblems()
    for i in range(limits.PROBLEMS_PER_MESSAGE + 5):
        problems.add(Problem("R", f"segment {i}", "broken", message_reference="1"))
    for reference in range(2, 13):
        for i in range(limits.PROBLEMS_PER_MESSAGE):
            problems.add(Problem("R", f"segment {i}", "broken", message_reference=str(reference)))
    assert len(problems) == limits.PROBLEMS_PER_INPUT
    assert problems.per_message["1"] == limits.PROBLEMS_PER_MESSAGE
    assert problems.omitted == 5 + 11 * limits.PROBLEMS_PER_MESSAGE - (
        limits.PROBLEMS_PER_INPUT - limits.PROBLEMS_PER_MESSAGE
    )
    listed = problems.listed("broken rules")
    assert listed[-1].code == "TOO_MANY_PROBLEMS"
    assert f"and {problems.omitted} more broken rules" in listed[-1].sentence


@pytest.mark.parametrize("thin", [False, True])
def test_translate_rejects_with_a_capped_problem_list(
    thin: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.service import pipeline

    if thin:  # the large-input path: read thin first, checks fed a segment at a time
        monkeypatch.setattr(pipeline, "READ_POLICY", pipeline.READ_POLICY.replace(thin_min_bytes=0))
    result = translate(interchange(ftx_message("1", 2_000)))
    rejection = result.rejection
    assert rejection is not None and rejection.reason == "EDIFACT_DIRECTORY"
    assert rejection.omitted == 2_000 - 9 - limits.PROBLEMS_PER_MESSAGE
    assert len(rejection.problems) == limits.PROBLEMS_PER_MESSAGE + 1  # + the summary
    assert rejection.problems[-1].code == "EDIFACT_18"
    assert result.syntax_report is not None
    assert_valid_contrl(contrl.encode(result.syntax_report, now=NOW))


def test_directory_warnings_are_capped_too() -> None:
    warn = ReadPolicy(directory_validation="warn")
    result = translate(interchange(ftx_message("1", 2_000)), policy=warn)
    assert len(result.warnings) == limits.PROBLEMS_PER_MESSAGE
    assert result.warnings.omitted == 2_000 - 9 - limits.PROBLEMS_PER_MESSAGE


def test_translate_stderr_is_capped_with_a_count_of_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "ftx.edi"
    path.write_bytes(interchange(ftx_message("1", 3_000)))
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "translate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if not line.startswith(" ")]
    problems = [line for line in lines if line.startswith("EDIFACT_")]
    assert len(problems) == limits.PROBLEMS_PER_MESSAGE
    # 2,991 errors: 999 shown, 1,992 counted, and the line of the CONTRL's summary (code 18).
    assert lines[-1] == "TOO_MANY_PROBLEMS\tftx.edi\tand 1993 more problems not shown"
