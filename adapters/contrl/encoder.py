"""Writing a CONTRL (ISO 9735-5) from a :class:`SyntaxReport`, in the sender's syntax version."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

from adapters import ack_text
from adapters.contrl import limits
from adapters.contrl.report import (
    ACTION_RECEIVED,
    ACTION_REJECTED,
    InterchangeReport,
    MessageReport,
    SyntaxReport,
)
from adapters.edifact.syntax import Delimiters, EdifactError, serialize_segment

# What a UCM says of a message whose UNH lacks its type or version (S009's four parts
# are mandatory in the CONTRL too): a placeholder, never an empty mandatory element.
_NO_TYPE = "UNKNOW"  # 0065 is an..6
_NO_PART = "0"


def _error_fields(err: EdifactError, *, with_tag: bool = True) -> list[list[str]]:
    """0085 [, 0013/0135 tag [, S011]] as trailing elements of UCI/UCF/UCM.

    The tag only when it is one (0013 is a3: a partner's odd tag is not echoed), the
    position only when 0098/0104 (n..3) can hold it.
    """
    fields = [[err.code]]
    pos = err.s011()
    tag = err.tag if len(err.tag) == 3 and err.tag.isascii() and err.tag.isalpha() else ""
    if pos is not None and max(pos[0], pos[1] or 0) > limits.ELEMENT_POSITION_MAX:
        pos = None
    if with_tag and tag:
        fields.append([tag.upper()])
        if pos:
            fields.append([str(pos[0])] + ([str(pos[1])] if pos[1] is not None else []))
    return fields


def _segment_errors(msg: MessageReport, d: Delimiters) -> tuple[list[str], EdifactError | None]:
    """UCS/UCD groups for body errors, and the first UNH/UNT error for the UCM itself.

    At most ``limits.UCS_PER_UCM`` UCS (the report keeps no more); an error beyond the
    UCS position's reach (0096, n..6) can only be the UCM's own.
    """
    out: list[str] = []
    envelope_error: EdifactError | None = None
    listed = 0
    for err in msg.errors:
        offset = None if err.segment is None else err.segment - msg.first_segment + 1
        if (
            err.tag in ("UNH", "UNT")
            or offset is None
            or not 1 <= offset <= limits.SEGMENT_POSITION_MAX
            or listed >= limits.UCS_PER_UCM
        ):
            envelope_error = envelope_error or err
            continue
        listed += 1
        position = str(offset)  # UNH is 1 (ISO 9735-5, 0096)
        pos = err.s011()
        if pos is None or max(pos[0], pos[1] or 0) > limits.ELEMENT_POSITION_MAX:
            out.append(serialize_segment("UCS", [[position], [err.code]], d))
        else:
            out.append(serialize_segment("UCS", [[position]], d))
            comp = [str(pos[1])] if pos[1] is not None else []
            out.append(serialize_segment("UCD", [[err.code], [str(pos[0]), *comp]], d))
    if envelope_error is None and msg.errors and not out:
        envelope_error = msg.errors[0]
    return out, envelope_error


def _contrl_message(
    r: InterchangeReport,
    ref: str,
    d: Delimiters,
    *,
    receipt_only: bool,
    echo: Callable[[str, int], str],
    route: Callable[[Sequence[str], int], list[str]],
) -> list[str]:
    v4 = r.syntax_version >= 4
    segs = [
        serialize_segment(
            "UNH", [[ref], ["CONTRL", "4", "1", "UN"] if v4 else ["CONTRL", "D", "3", "UN"]], d
        )
    ]
    uci: list[list[str]] = [
        [echo(r.control_reference, 14) or "0"],
        [
            echo(r.sender, 35) or "UNKNOWN",
            echo(r.sender_qualifier, 4),
            *route(r.sender_route, r.syntax_version),
        ],
        [
            echo(r.recipient, 35) or "UNKNOWN",
            echo(r.recipient_qualifier, 4),
            *route(r.recipient_route, r.syntax_version),
        ],
        [ACTION_RECEIVED if receipt_only else r.action],
    ]
    if r.errors and not receipt_only:
        uci += _error_fields(r.errors[0])
    segs.append(serialize_segment("UCI", uci, d))
    if receipt_only:
        return [*segs, serialize_segment("UNT", [[str(len(segs) + 1)], [ref]], d)]
    rejected = r.action == ACTION_REJECTED

    def ucm_block(m: MessageReport) -> list[str]:
        if rejected and not m.errors and r.errors:
            return []  # the UCI already rejects everything; nothing to add
        body, env_err = _segment_errors(m, d)
        # S009 as the UNH had it: 0051 is an..3 from syntax 4 (an..2 before), which also
        # adds 0110 and 0113 after the association assigned code (0057).
        identifier = [
            echo(m.type, 6) or _NO_TYPE,
            echo(m.version, 3) or _NO_PART,
            echo(m.release, 3) or _NO_PART,
            echo(m.agency, 3 if v4 else 2) or _NO_PART,
            echo(m.association, 6),
        ]
        if v4:
            identifier += [echo(m.directory_version, 6), echo(m.sub_function, 6)]
        while not identifier[-1]:
            identifier.pop()
        ucm: list[list[str]] = [
            [echo(m.reference, 14) or "0"],
            identifier,
            [m.action if not rejected or m.errors else ACTION_REJECTED],
        ]
        if env_err is not None:
            ucm += _error_fields(env_err)
        return [serialize_segment("UCM", ucm, d), *body]

    def party(identification: str, qualifier: str) -> list[str]:
        """A UCF's S006/S007: mandatory up to syntax 3 (a placeholder when the UNG had none),
        optional in syntax 4, where a UNG without them is answered without them."""
        found = echo(identification, 35)
        if not found and v4:
            return []
        return [found or "UNKNOWN", echo(qualifier, 4)]

    in_group: dict[str, list[MessageReport]] = {}
    for m in r.messages:
        if not m.group_reference or not r.groups:
            segs += ucm_block(m)
        else:  # (one pass: groups times messages is a hostile input's quadratic)
            in_group.setdefault(m.group_reference, []).append(m)
    for g in r.groups:
        ucf: list[list[str]] = [
            [echo(g.reference, 14) or "0"],
            party(g.sender, g.sender_qualifier),
            party(g.recipient, g.recipient_qualifier),
            [g.action if not rejected or g.errors else ACTION_REJECTED],
        ]
        if g.errors:
            ucf += _error_fields(g.errors[0])
        segs.append(serialize_segment("UCF", ucf, d))
        for m in in_group.get(g.reference, ()):
            segs += ucm_block(m)
    segs.append(serialize_segment("UNT", [[str(len(segs) + 1)], [ref]], d))
    return segs


def encode(
    report: SyntaxReport,
    *,
    our_id: str = "CUSTOMS",
    our_qualifier: str = "",
    reference: str = "1",
    now: dt.datetime | None = None,
    receipt_only: bool = False,
    newline: str = "\n",
) -> bytes:
    """The CONTRL interchange answering ``report``, from ``our_id`` to the original sender.

    One CONTRL message per received interchange (message references
    ``reference``, ``reference-2`` ...). With ``receipt_only`` the UCI says
    ``8`` (received) and no message is listed.

    ``reference`` is the interchange control reference (UNB/UNZ 0020) of this CONTRL: the
    caller gives each interchange it sends its own (unique per partner, never reused);
    the default ``1`` is for tools and tests. The UNB goes back to the partner's id with
    its identification code qualifier; ``our_qualifier`` is our own id's. Every echoed
    partner value is cut to its data element's size and written in the output set (an
    empty or unusable mandatory one gets a placeholder), so the CONTRL is valid whatever
    it answers.

    >>> from adapters.contrl.reader import acknowledge
    >>> out = encode(acknowledge(b"UNB+UNOA:4+SND+RCV+20240101:1200+42'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+42'"),
    ...              now=dt.datetime(2024, 1, 2, 3, 4), newline="")
    >>> out.decode()
    "UNB+UNOA:4+CUSTOMS+SND+20240102:0304+1'UNH+1+CONTRL:4:1:UN'UCI+42+SND+RCV+7'UCM+1+X:D:96A:UN+7'UNT+4+1'UNZ+1+1'"
    """
    now = now or dt.datetime.now(dt.UTC)
    version = report.syntax_version if 1 <= report.syntax_version <= 4 else 3
    # Without a UNA a reader takes the defaults of the UNB's syntax version: from version 4
    # ``*`` repeats, so a partner's ``*`` echoed in a version 4 CONTRL must be released.
    d = Delimiters.default(version)
    syntax_id = ack_text.output_set(report.syntax_id)
    codec = ack_text.codec(syntax_id)

    def echo(value: str, size: int) -> str:
        """A partner's value as the CONTRL may carry it: printable, in the output set, at
        most ``size`` characters (its data element's); separators are escaped when written."""
        return ack_text.fit(value, syntax_id, size)

    def route(parts: Sequence[str], syntax_version: int) -> list[str]:
        """A UNB party's routing components, as S002/S003 of ``syntax_version`` hold them."""
        return ack_text.route(parts, syntax_id, syntax_version)

    reports = report.reports or [InterchangeReport()]
    segs = [
        serialize_segment(
            "UNB",
            [
                [syntax_id, str(version)],
                [echo(our_id, 35) or "UNKNOWN", echo(our_qualifier, 4)],
                [
                    echo(report.sender, 35) or "UNKNOWN",
                    echo(report.sender_qualifier, 4),
                    *route(report.sender_route, version),
                ],
                [now.strftime("%Y%m%d" if version >= 4 else "%y%m%d"), now.strftime("%H%M")],
                [echo(reference, 14) or "1"],
                # The answer to test interchanges is a test interchange (UNB 0035 1), so that
                # a partner's test system, not its production, takes it.
                *([[""]] * 5 + [["1"]] if all(r.test for r in reports) else []),
            ],
            d,
        )
    ]
    for i, r in enumerate(reports):
        ref = reference if i == 0 else f"{reference}-{i + 1}"
        if r.syntax_version != version:
            # All CONTRL messages of one interchange share the UNB's syntax version.
            r = dataclasses.replace(r, syntax_version=version)
        segs += _contrl_message(r, ref[:14], d, receipt_only=receipt_only, echo=echo, route=route)
    segs.append(serialize_segment("UNZ", [[str(len(reports))], [echo(reference, 14) or "1"]], d))
    return newline.join(segs).encode(codec, "replace") + newline.encode()
