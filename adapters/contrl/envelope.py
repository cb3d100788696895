"""CONTRL envelope checks: UNB/UNZ, UNG/UNE and UNH/UNT of one interchange (ISO 9735).

Each check returns :class:`EdifactError` values with their position; they never raise on
bad input. :mod:`adapters.contrl.reader` runs them as it reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection

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
    ERR_TOO_MANY,
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
    """UNT/UNE/UNZ: the control count (element 0) and the reference (element 1).

    The count is a number (0074, 0060, 0036: n..6, n..10 for 0074 in syntax 4): ``000042``
    is 42 (leading zeros are a representation, not a value), an empty count is missing
    (13), one that is not digits is of the wrong type (37), and only a number that differs
    is a count that does not match (29). An empty reference is missing (13).

    >>> from adapters.edifact import Segment
    >>> def codes(*elements): return [
    ...     (e.code, e.element) for e in _trailer_errors(Segment("UNT", elements, 9), 42,
    ...     "segments", "message '1'", "1", "UNH")]
    >>> codes(("000042",), ("1",)), codes(("43",), ("1",)), codes(("4X",), ("1",))
    ([], [('29', 0)], [('37', 0)])
    >>> codes((), ()), codes(("42",), ("2",)), codes(("9" * 5000,), ("1",))
    ([('13', 0), ('13', 1)], [('28', 1)], [('29', 0)])
    """
    errors: list[EdifactError] = []

    def error(code: str, sentence: str, element: int) -> None:
        errors.append(
            EdifactError(code, sentence, segment=trailer.number, tag=trailer.tag, element=element)
        )

    declared = trailer.get(0)
    if not declared:
        error(ERR_MISSING, f"{trailer.tag} has no control count ({subject} has {count} {unit})", 0)
    elif not (declared.isascii() and declared.isdigit()):
        error(
            ERR_CHAR_TYPE,
            f"{trailer.tag}'s control count {declared!r} is not a number of {unit} "
            f"({subject} has {count})",
            0,
        )
    elif (number := declared.lstrip("0") or "0") != str(count):
        # Compared as digits: int() of a hostile count of 5,000 digits raises (PEP 651's cap).
        shown = number if len(number) <= 20 else number[:20] + "..."
        error(
            ERR_COUNT_MISMATCH, f"{trailer.tag} counts {shown} {unit} but {subject} has {count}", 0
        )
    sent = trailer.get(1)
    if not sent and reference:
        error(ERR_MISSING, f"{trailer.tag} has no reference ({opener} reference {reference!r})", 1)
    elif sent != reference:
        error(
            ERR_REF_MISMATCH,
            f"{trailer.tag} reference {sent!r} does not match {opener} reference {reference!r}",
            1,
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


def _too_long(
    seg: Segment, element: int, component: int | None, name: str, size: int, where: str = ""
) -> EdifactError | None:
    """ISO 9735 code 39 for a value of ``seg`` longer than ``size``, or None: the envelope's
    parts an answer echoes (a UNB's in the UCI, a UNG's in the UCF, a UNH's in the UCM),
    where a value cut to fit would name another party, group or message. ``where``: what the
    size depends on, said after it."""
    value = seg.get(element, component or 0)
    if len(value) <= size:
        return None
    return EdifactError(
        ERR_TOO_LONG,
        f"{seg.tag} {name} {value[:40]!r}{'...' if len(value) > 40 else ''} has "
        f"{len(value)} characters, at most {size} allowed{where}",
        segment=seg.number,
        tag=seg.tag,
        element=element,
        component=component,
    )


# UNB's data elements whose size its answers depend on (an identifier cut to fit an echo is
# another identifier): (element, component, name, size in syntax 1-3, size in syntax 4);
# size 0: no such component in that version.
_UNB_SIZES: tuple[tuple[int, int, str, int, int], ...] = (
    (1, 0, "interchange sender (S002 0004)", 35, 35),
    (1, 1, "sender's code qualifier (S002 0007)", 4, 4),
    (1, 2, "sender's routing address or internal identification (S002 0008)", 14, 35),
    (1, 3, "sender's internal sub-identification (S002 0042)", 0, 35),
    (2, 0, "interchange recipient (S003 0010)", 35, 35),
    (2, 1, "recipient's code qualifier (S003 0007)", 4, 4),
    (2, 2, "recipient's routing address or internal identification (S003 0014)", 14, 35),
    (2, 3, "recipient's internal sub-identification (S003 0046)", 0, 35),
    (4, 0, "interchange control reference (0020)", 14, 14),
)
# UNB's data elements, in every syntax version: S001 S002 S003 S004 0020 S005 0026 0029 0031
# 0032 0035.
_UNB_ELEMENTS = 11


def check_unb_sizes(ic: Interchange) -> list[EdifactError]:
    """ISO 9735 codes 39 (too long) and 16 (too many) for the UNB parts a CONTRL echoes:
    an 18-character control reference was acknowledged as its first 14, which is another
    interchange's; a 40-character sender got its answer addressed to its first 35.

    >>> from adapters.edifact import parse
    >>> ic = parse(b"UNB+UNOA:3+APCS:ZZZ:ROUTE-OF-15-CHAR+CUSTOMS+261129:0800+AP0000000000000001'"
    ...            b"UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+AP0000000000000001'")[0]
    >>> [(e.code, e.s011()) for e in check_unb_sizes(ic)]
    [('39', (3, 3)), ('39', (6, 1))]
    """
    unb = ic.header
    if unb is None:
        return []
    v4 = ic.syntax_version >= 4
    errors: list[EdifactError] = []
    for element, component, name, size3, size4 in _UNB_SIZES:
        size = size4 if v4 else size3
        if size:
            too_long = _too_long(unb, element, component, name, size)
            if too_long is not None:
                errors.append(too_long)
        elif unb.get(element, component):
            errors.append(
                EdifactError(
                    ERR_TOO_MANY,
                    f"UNB has a {name}, which syntax version {ic.syntax_version} does not define",
                    segment=unb.number,
                    tag="UNB",
                    element=element,
                    component=component,
                )
            )
    extra = next((i for i in range(_UNB_ELEMENTS, len(unb.elements)) if any(unb.elements[i])), None)
    if extra is not None:
        errors.append(
            EdifactError(
                ERR_TOO_MANY,
                f"UNB has {len(unb.elements)} data elements, ISO 9735 defines {_UNB_ELEMENTS}",
                segment=unb.number,
                tag="UNB",
                element=extra,
            )
        )
    return errors


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
    errors += check_unb_sizes(ic)

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
    return _party_unknown(
        ic,
        ic.recipient,
        recipients,
        ERR_NOT_ACTUAL_RECIPIENT,
        2,
        REASON_NOT_RECIPIENT,
        lambda shown: (
            f"the interchange is addressed to {shown!r}, which is not this gateway "
            f"(it answers to {', '.join(sorted(recipients)) or 'no id'})"
        ),
    )


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
    return _party_unknown(
        ic,
        ic.sender,
        senders,
        ERR_UNKNOWN_SENDER,
        1,
        REASON_UNKNOWN_SENDER,
        lambda shown: (
            f"the interchange says it is from {shown!r}, which is not an interchange "
            f"id of the partner it came from (its ids: {', '.join(sorted(senders)) or 'none'})"
        ),
    )


def _party_unknown(
    ic: Interchange,
    party: str,
    known: Collection[str],
    code: str,
    element: int,
    reason: str,
    sentence: Callable[[str], str],
) -> list[EdifactError]:
    """The error ``code`` at the UNB party ``element`` (S002 sender, S003 recipient) when it
    names ``party`` and that is none of ``known``; nothing for bare messages or no party."""
    unb = ic.header
    if unb is None or not party or party in known:
        return []
    shown = party if len(party) <= 35 else party[:35] + "..."
    return [
        EdifactError(
            code,
            sentence(shown),
            segment=unb.number,
            tag="UNB",
            element=element,
            component=0,
            reason=reason,
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
    # What the UCF echoes (0048 an..14, S006/S007 0040/0044 an..35, 0007 an..4) must fit it.
    for element, component, name, size in (
        (4, 0, "group reference (0048)", 14),
        (1, 0, "application sender (S006 0040)", 35),
        (1, 1, "sender's code qualifier (S006 0007)", 4),
        (2, 0, "application recipient (S007 0044)", 35),
        (2, 1, "recipient's code qualifier (S007 0007)", 4),
    ):
        too_long = _too_long(group.header, element, component, name, size)
        if too_long is not None:
            errors.append(too_long)
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


# UNH's parts a UCM echoes, with the most any CONTRL holds of each (a reference cut to fit is
# another message's): (element, component, name, size in syntax 1-3, size in syntax 4). 0051
# is an..2 before syntax 4 (a syntax 3 'UNX' was acknowledged as 'UN'), an..3 from it. 0110
# and 0113 came with syntax 4; translators send them in older interchanges too (the corpus's
# BAPLIE_edifacttypes_1), which are taken as before: a syntax 3 UCM does not echo them.
_UNH_SIZES: tuple[tuple[int, int | None, str, int, int], ...] = (
    (0, None, "message reference number (0062)", 14, 14),  # a simple data element
    (1, 0, "message type (0065)", 6, 6),
    (1, 1, "message version number (0052)", 3, 3),
    (1, 2, "message release number (0054)", 3, 3),
    (1, 3, "controlling agency (0051)", 2, 3),
    (1, 4, "association assigned code (0057)", 6, 6),
    (1, 5, "code list directory version number (0110)", 6, 6),
    (1, 6, "message type sub-function identification (0113)", 6, 6),
)


def check_unh_sizes(msg: Message, syntax_version: int = 3) -> list[EdifactError]:
    """ISO 9735 code 39 for the UNH parts a UCM echoes: a 16-character message reference
    was acknowledged as its first 14 when the partner's directory validation was off, an
    answer for a message the partner never sent (whatever the directory validation says);
    so was a syntax 3 controlling agency ``UNX`` (0051 an..2 before syntax 4) as ``UN``.

    >>> from adapters.edifact import parse
    >>> ic = parse(b"UNB+UNOA:3+APCS+CUSTOMS+261129:0800+1'UNH+REF0123456789AB+X:D:96A:UNX'"
    ...            b"UNT+2+REF0123456789AB'UNZ+1+1'")[0]
    >>> [(e.code, e.tag, e.element, e.component) for e in check_unh_sizes(ic.messages[0], 3)]
    [('39', 'UNH', 0, None), ('39', 'UNH', 1, 3)]
    >>> [e.component for e in check_unh_sizes(ic.messages[0], 4)]
    [None]
    """
    unh = msg.segments[0]
    errors: list[EdifactError] = []
    for element, component, name, size3, size4 in _UNH_SIZES:
        size = size4 if syntax_version >= 4 else size3
        too_long = _too_long(
            unh, element, component, name, size, f" in syntax version {syntax_version}"
        )
        if too_long is not None:
            errors.append(too_long)
    return errors


def check_message(
    msg: Message, count: int | None = None, syntax_version: int = 3
) -> list[EdifactError]:
    """UNH/UNT errors of one message: identifier, segment count, reference, the sizes of
    what the UCM echoes.

    ``count``: the message's segments when ``msg`` does not hold them all (a first read);
    ``syntax_version``: its interchange's (what S009 may hold depends on it).
    """
    errors: list[EdifactError] = check_unh_sizes(msg, syntax_version)
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
