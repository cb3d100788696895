"""CONTRL envelope checks: UNB/UNZ, UNG/UNE and UNH/UNT of one interchange (ISO 9735).

Each check returns :class:`EdifactError` values with their position; they never raise on
bad input. :mod:`adapters.contrl.reader` runs them as it reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from adapters.edifact.syntax import (
    CHARSETS,
    ERR_CHAR_TYPE,
    ERR_COUNT_MISMATCH,
    ERR_GROUPS_AND_MESSAGES_MIXED,
    ERR_INVALID_VALUE,
    ERR_LOWER_LEVEL_EMPTY,
    ERR_MISSING,
    ERR_NOT_ACTUAL_RECIPIENT,
    ERR_REF_MISMATCH,
    ERR_SYNTAX_NOT_SUPPORTED,
    ERR_TOO_LONG,
    ERR_TOO_SHORT,
    ERR_UNKNOWN_SENDER,
    EdifactError,
    Group,
    Interchange,
    Message,
    Segment,
)


def _numeric_problem(value: str, lengths: tuple[int, ...]) -> tuple[str, str] | None:
    """(0085 code, why) when ``value`` is not digits of one of ``lengths``."""
    if not value.isdigit() or not value.isascii():
        return ERR_CHAR_TYPE, "is not all digits"
    if len(value) < min(lengths):
        return ERR_TOO_SHORT, f"has {len(value)} digits, at least {min(lengths)} expected"
    if len(value) > max(lengths):
        return ERR_TOO_LONG, f"has {len(value)} digits, at most {max(lengths)} expected"
    if len(value) not in lengths:
        return (
            ERR_INVALID_VALUE,
            f"has {len(value)} digits; {' or '.join(map(str, lengths))} expected",
        )
    return None


def _trailer_errors(
    trailer: Segment, count: int, unit: str, subject: str, reference: str, opener: str
) -> list[EdifactError]:
    """UNT/UNE/UNZ: the control count (element 0) and the reference (element 1)."""
    errors: list[EdifactError] = []
    declared = trailer.get(0)
    if declared != str(count):
        errors.append(
            EdifactError(
                ERR_COUNT_MISMATCH,
                f"{trailer.tag} counts {declared or 'nothing'} {unit} but {subject} has {count}",
                segment=trailer.number,
                tag=trailer.tag,
                element=0,
            )
        )
    if trailer.get(1) != reference:
        errors.append(
            EdifactError(
                ERR_REF_MISMATCH,
                f"{trailer.tag} reference {trailer.get(1)!r} does not match {opener} reference {reference!r}",
                segment=trailer.number,
                tag=trailer.tag,
                element=1,
            )
        )
    return errors


def _is_calendar_date(digits: str) -> bool:
    """Is YYMMDD or CCYYMMDD (all digits) a real date? As ``strptime`` reads it, 15 times cheaper.

    Two-digit years are read like ``%y``: 69-99 in the 1900s, 00-68 in the 2000s
    (it only matters for 29 February).

    >>> _is_calendar_date("240229"), _is_calendar_date("230229"), _is_calendar_date("20241301")
    (True, False, False)
    """
    if len(digits) == 6:
        year = int(digits[:2])
        year += 1900 if year >= 69 else 2000
    else:
        year = int(digits[:4])
    try:
        dt.date(year, int(digits[-4:-2]), int(digits[-2:]))
    except ValueError:
        return False
    return True


def check_unb_datetime(ic: Interchange) -> tuple[list[EdifactError], list[EdifactError]]:
    """Errors and warnings about UNB S004 (date YYMMDD or CCYYMMDD, time HHMM).

    Both date lengths are accepted whatever the syntax version (ISO 9735 says n6
    up to syntax 3 and n8 in syntax 4, but partners mix them); a length that does
    not match the version is a warning only.
    """
    errors: list[EdifactError] = []
    warnings: list[EdifactError] = []
    unb = ic.header
    if unb is None:
        return errors, warnings
    n = unb.number
    date, time = ic.date, ic.time
    if not date:
        errors.append(
            EdifactError(
                ERR_MISSING,
                "UNB has no date of preparation",
                segment=n,
                tag="UNB",
                element=3,
                component=0,
            )
        )
    elif (p := _numeric_problem(date, (6, 8))) is not None:
        errors.append(
            EdifactError(
                p[0], f"UNB date {date!r} {p[1]}", segment=n, tag="UNB", element=3, component=0
            )
        )
    else:
        if not _is_calendar_date(date):
            errors.append(
                EdifactError(
                    ERR_INVALID_VALUE,
                    f"UNB date {date!r} is not a calendar date",
                    segment=n,
                    tag="UNB",
                    element=3,
                    component=0,
                )
            )
        else:
            expected = 8 if ic.syntax_version >= 4 else 6
            if len(date) != expected and ic.syntax_version:
                warnings.append(
                    EdifactError(
                        ERR_INVALID_VALUE,
                        f"UNB date {date!r} has {len(date)} digits; syntax {ic.syntax_version} defines {expected} (accepted)",
                        segment=n,
                        tag="UNB",
                        element=3,
                        component=0,
                    )
                )
    if not time:
        errors.append(
            EdifactError(
                ERR_MISSING,
                "UNB has no time of preparation",
                segment=n,
                tag="UNB",
                element=3,
                component=1,
            )
        )
    elif (p := _numeric_problem(time, (4,))) is not None:
        errors.append(
            EdifactError(
                p[0], f"UNB time {time!r} {p[1]}", segment=n, tag="UNB", element=3, component=1
            )
        )
    elif int(time[:2]) > 24 or int(time[2:]) > 59:
        errors.append(
            EdifactError(
                ERR_INVALID_VALUE,
                f"UNB time {time!r} is not a time of day",
                segment=n,
                tag="UNB",
                element=3,
                component=1,
            )
        )
    return errors, warnings


def check_interchange(ic: Interchange) -> tuple[list[EdifactError], list[EdifactError]]:
    """Interchange-level (UNB/UNZ) errors and warnings. Bare messages have none."""
    unb = ic.header
    if unb is None:
        return [], []
    n = unb.number
    errors: list[EdifactError] = []

    def missing(what: str, element: int, component: int | None = None) -> None:
        errors.append(
            EdifactError(
                ERR_MISSING,
                f"UNB has no {what}",
                segment=n,
                tag="UNB",
                element=element,
                component=component,
            )
        )

    if not ic.syntax_id:
        missing("syntax identifier (S001/0001)", 0, 0)
    elif ic.syntax_id not in CHARSETS:
        errors.append(
            EdifactError(
                ERR_SYNTAX_NOT_SUPPORTED,
                f"syntax identifier {ic.syntax_id!r} is not supported",
                segment=n,
                tag="UNB",
                element=0,
                component=0,
            )
        )
    version = unb.get(0, 1)
    if not version:
        missing("syntax version number (S001/0002)", 0, 1)
    elif version not in ("1", "2", "3", "4"):
        errors.append(
            EdifactError(
                ERR_SYNTAX_NOT_SUPPORTED,
                f"syntax version {version!r} is not supported (1 to 4)",
                segment=n,
                tag="UNB",
                element=0,
                component=1,
            )
        )
    if not ic.sender:
        missing("interchange sender (S002)", 1, 0)
    if not ic.recipient:
        missing("interchange recipient (S003)", 2, 0)
    date_errors, warnings = check_unb_datetime(ic)
    errors += date_errors
    if not ic.control_reference:
        missing("interchange control reference (0020)", 4)

    unz = ic.trailer
    if ic.groups and ic.message_count > sum(g.message_count for g in ic.groups):
        errors.append(
            EdifactError(
                ERR_GROUPS_AND_MESSAGES_MIXED,
                "the interchange mixes functional groups (UNG) and messages outside any group",
                segment=n,
                tag="UNB",
            )
        )
    if ic.message_count == 0 and not ic.groups:
        errors.append(
            EdifactError(
                ERR_LOWER_LEVEL_EMPTY, "the interchange holds no message", segment=n, tag="UNB"
            )
        )
    if unz is None:
        errors.append(
            EdifactError(
                ERR_MISSING,
                f"interchange {ic.control_reference!r} (UNB at segment {n}) has no UNZ",
                segment=n,
                tag="UNZ",
            )
        )
    else:
        expected = len(ic.groups) if ic.groups else ic.message_count
        what = "groups" if ic.groups else "messages"
        errors += _trailer_errors(
            unz, expected, what, "the interchange", ic.control_reference, "UNB"
        )
    return errors, warnings


# The reason of the error 7 below, for whoever turns it into a rejection.
REASON_NOT_RECIPIENT = "RECIPIENT_NOT_GATEWAY"


def check_recipient(ic: Interchange, recipients: Collection[str]) -> list[EdifactError]:
    """ISO 9735 error 7, "interchange recipient not actual recipient", when the UNB names a
    recipient (S003 0010) that is none of ``recipients`` (the identities of whoever reads
    it). Bare messages and an empty recipient (error 13 already) are not judged here.

    >>> from adapters.edifact import parse
    >>> ic = parse(b"UNB+UNOA:3+APCS+DOUANE+240101:1200+1'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+1'")[0]
    >>> [(e.code, e.s011()) for e in check_recipient(ic, ["CUSTOMS"])], check_recipient(ic, ["DOUANE"])
    ([('7', (4, 1))], [])
    """
    unb = ic.header
    if unb is None or not ic.recipient or ic.recipient in recipients:
        return []
    shown = ic.recipient if len(ic.recipient) <= 35 else ic.recipient[:35] + "..."
    return [
        EdifactError(
            ERR_NOT_ACTUAL_RECIPIENT,
            f"the interchange is addressed to {shown!r}, which is not this gateway "
            f"(it answers to {', '.join(sorted(recipients)) or 'no id'})",
            segment=unb.number,
            tag="UNB",
            element=2,
            component=0,
            reason=REASON_NOT_RECIPIENT,
        )
    ]


# The reason of the error 23 below (issue #14's review: partners' `interchange_ids`).
REASON_UNKNOWN_SENDER = "SENDER_NOT_PARTNER"


def check_sender(ic: Interchange, senders: Collection[str]) -> list[EdifactError]:
    """ISO 9735 error 23, "unknown interchange sender", when the UNB names a sender (S002
    0004) that is none of ``senders`` (the ids the partner whose queue it came from may
    use). Bare messages and an empty sender (error 13 already) are not judged here.

    >>> from adapters.edifact import parse
    >>> ic = parse(b"UNB+UNOA:3+TERMINAL2+CUSTOMS+240101:1200+1'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+1'")[0]
    >>> [(e.code, e.s011()) for e in check_sender(ic, ["APCS"])], check_sender(ic, ["TERMINAL2"])
    ([('23', (3, 1))], [])
    """
    unb = ic.header
    if unb is None or not ic.sender or ic.sender in senders:
        return []
    shown = ic.sender if len(ic.sender) <= 35 else ic.sender[:35] + "..."
    return [
        EdifactError(
            ERR_UNKNOWN_SENDER,
            f"the interchange says it is from {shown!r}, which is not an interchange id of "
            f"the partner it came from (its ids: {', '.join(sorted(senders)) or 'none'})",
            segment=unb.number,
            tag="UNB",
            element=1,
            component=0,
            reason=REASON_UNKNOWN_SENDER,
        )
    ]


def check_group(group: Group) -> list[EdifactError]:
    """UNG/UNE errors of one functional group."""
    errors: list[EdifactError] = []
    n = group.header.number
    if not group.reference:
        errors.append(
            EdifactError(
                ERR_MISSING, "UNG has no group reference (0048)", segment=n, tag="UNG", element=4
            )
        )
    if group.message_count == 0:
        errors.append(
            EdifactError(
                ERR_LOWER_LEVEL_EMPTY,
                f"group {group.reference!r} holds no message",
                segment=n,
                tag="UNG",
            )
        )
    une = group.trailer
    if une is None:
        errors.append(
            EdifactError(ERR_MISSING, f"group {group.reference!r} has no UNE", segment=n, tag="UNE")
        )
        return errors
    errors += _trailer_errors(
        une, group.message_count, "messages", f"group {group.reference!r}", group.reference, "UNG"
    )
    return errors


def check_message(msg: Message, count: int | None = None) -> list[EdifactError]:
    """UNH/UNT errors of one message: identifier, segment count, reference.

    ``count``: the message's segments when ``msg`` does not hold them all (a first read).
    """
    errors: list[EdifactError] = []
    unh, unt = msg.segments[0], msg.segments[-1]
    if not msg.reference:
        errors.append(
            EdifactError(
                ERR_MISSING,
                "UNH has no message reference (0062)",
                segment=unh.number,
                tag="UNH",
                element=0,
            )
        )
    for idx, (value, name) in enumerate(
        (
            (msg.type, "message type"),
            (msg.version, "version"),
            (msg.release, "release"),
            (msg.agency, "controlling agency"),
        )
    ):
        if not value:
            errors.append(
                EdifactError(
                    ERR_MISSING,
                    f"UNH of message {msg.reference!r} has no {name} (S009)",
                    segment=unh.number,
                    tag="UNH",
                    element=1,
                    component=idx,
                )
            )
    errors += _trailer_errors(
        unt,
        len(msg.segments) if count is None else count,
        "segments",
        f"message {msg.reference!r}",
        msg.reference,
        "UNH",
    )
    return errors
