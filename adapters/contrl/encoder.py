"""Writing a CONTRL (ISO 9735-5) from a :class:`SyntaxReport`, in the sender's syntax version."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from adapters.contrl.report import (
    ACTION_RECEIVED,
    ACTION_REJECTED,
    InterchangeReport,
    MessageReport,
    SyntaxReport,
)
from adapters.edifact.syntax import CHARSETS, Delimiters, EdifactError, serialize_segment

# Syntax identifiers a CONTRL may be written in; others fall back to UNOA (the
# CONTRL only echoes identifiers and codes).
_OUTPUT_SETS = {"UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOW", "UNOY"}


def _error_fields(err: EdifactError, *, with_tag: bool = True) -> list[list[str]]:
    """0085 [, 0013/0135 tag [, S011]] as trailing elements of UCI/UCF/UCM."""
    fields = [[err.code]]
    pos = err.s011()
    if with_tag and (err.tag or pos):
        fields.append([err.tag])
        if pos:
            fields.append([str(pos[0])] + ([str(pos[1])] if pos[1] is not None else []))
    return fields


def _segment_errors(msg: MessageReport, d: Delimiters) -> tuple[list[str], EdifactError | None]:
    """UCS/UCD groups for body errors, and the first UNH/UNT error for the UCM itself."""
    out: list[str] = []
    envelope_error: EdifactError | None = None
    for err in msg.errors:
        if err.tag in ("UNH", "UNT") or err.segment is None or err.segment < msg.first_segment:
            envelope_error = envelope_error or err
            continue
        position = str(err.segment - msg.first_segment + 1)  # UNH is 1 (ISO 9735-5, 0096)
        pos = err.s011()
        if pos is None:
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
    clean: Callable[[str], str],
) -> list[str]:
    v4 = r.syntax_version >= 4
    segs = [
        serialize_segment(
            "UNH", [[ref], ["CONTRL", "4", "1", "UN"] if v4 else ["CONTRL", "D", "3", "UN"]], d
        )
    ]
    uci: list[list[str]] = [
        [clean(r.control_reference) or "0"],
        [clean(r.sender) or "UNKNOWN", clean(r.sender_qualifier)],
        [clean(r.recipient) or "UNKNOWN", clean(r.recipient_qualifier)],
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
        ucm: list[list[str]] = [
            [clean(m.reference)],
            [clean(m.type), clean(m.version), clean(m.release), clean(m.agency)]
            + ([clean(m.association)] if m.association else []),
            [m.action if not rejected or m.errors else ACTION_REJECTED],
        ]
        if env_err is not None:
            ucm += _error_fields(env_err)
        return [serialize_segment("UCM", ucm, d), *body]

    for m in r.messages:
        if not m.group_reference or not r.groups:
            segs += ucm_block(m)
    for g in r.groups:
        ucf: list[list[str]] = [
            [clean(g.reference) or "0"],
            [clean(g.sender) or "UNKNOWN", clean(g.sender_qualifier)],
            [clean(g.recipient) or "UNKNOWN", clean(g.recipient_qualifier)],
            [g.action if not rejected or g.errors else ACTION_REJECTED],
        ]
        if g.errors:
            ucf += _error_fields(g.errors[0])
        segs.append(serialize_segment("UCF", ucf, d))
        for m in r.messages:
            if m.group_reference == g.reference:
                segs += ucm_block(m)
    segs.append(serialize_segment("UNT", [[str(len(segs) + 1)], [ref]], d))
    return segs


def encode(
    report: SyntaxReport,
    *,
    our_id: str = "CUSTOMS",
    reference: str = "1",
    now: dt.datetime | None = None,
    receipt_only: bool = False,
    newline: str = "\n",
) -> bytes:
    """The CONTRL interchange answering ``report``, from ``our_id`` to the original sender.

    One CONTRL message per received interchange (message references
    ``reference``, ``reference-2`` ...). With ``receipt_only`` the UCI says
    ``8`` (received) and no message is listed.

    >>> from adapters.contrl.reader import acknowledge
    >>> out = encode(acknowledge(b"UNB+UNOA:4+SND+RCV+20240101:1200+42'UNH+1+X:D:96A:UN'UNT+2+1'UNZ+1+42'"),
    ...              now=dt.datetime(2024, 1, 2, 3, 4), newline="")
    >>> out.decode()
    "UNB+UNOA:4+CUSTOMS+SND+20240102:0304+1'UNH+1+CONTRL:4:1:UN'UCI+42+SND+RCV+7'UCM+1+X:D:96A:UN+7'UNT+4+1'UNZ+1+1'"
    """
    now = now or dt.datetime.now(dt.UTC)
    d = Delimiters()
    version = report.syntax_version if 1 <= report.syntax_version <= 4 else 3
    syntax_id = report.syntax_id if report.syntax_id in _OUTPUT_SETS else "UNOA"
    codec = CHARSETS[syntax_id]

    def clean(value: str) -> str:
        # Echoed values must fit the output set; '?' would read as a release character.
        return value.encode(codec, "replace").decode(codec)

    reports = report.reports or [InterchangeReport()]
    segs = [
        serialize_segment(
            "UNB",
            [
                [syntax_id, str(version)],
                [clean(our_id)],
                [clean(report.sender) or "UNKNOWN", clean(report.sender_qualifier)],
                [now.strftime("%Y%m%d" if version >= 4 else "%y%m%d"), now.strftime("%H%M")],
                [clean(reference)],
            ],
            d,
        )
    ]
    for i, r in enumerate(reports):
        ref = reference if i == 0 else f"{reference}-{i + 1}"
        if r.syntax_version != version:
            # All CONTRL messages of one interchange share the UNB's syntax version.
            r = dataclasses.replace(r, syntax_version=version)
        segs += _contrl_message(r, ref[:14], d, receipt_only=receipt_only, clean=clean)
    segs.append(serialize_segment("UNZ", [[str(len(reports))], [clean(reference)]], d))
    return newline.join(segs).encode(codec, "replace") + newline.encode()
