"""CONTRL: the UN/EDIFACT syntax and service report (ISO 9735-5).

``acknowledge(data)`` reads interchanges and never raises on bad input: it
returns a :class:`SyntaxReport` saying what was accepted or rejected and why.
``encode(report)`` turns that report into CONTRL bytes in the sender's syntax
version (``CONTRL:D:3:UN`` for syntax 1-3, ``CONTRL:4:1:UN`` for syntax 4).

>>> report = acknowledge(b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+3+1'UNZ+1+42'")
>>> report.accepted, report.action
(True, '7')
>>> bad = acknowledge(b"UNB+UNOA:3+SND+RCV+240101:1200+42'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+9+1'UNZ+1+42'")
>>> bad.accepted, bad.action, [(e.code, e.tag) for e in bad.all_errors()]
(False, '4', [('29', 'UNT')])

What is checked here (the envelope; the directory validator checks message
content and can be plugged in with ``message_checks``):

* UNB: syntax identifier and version present and supported, sender, recipient,
  control reference present, date in 6 (YYMMDD) or 8 (CCYYMMDD) digits and a
  real calendar date, time HHMM.
* UNZ present, its count (groups if any, else messages) and reference.
* UNG/UNE: present, count, reference; groups and bare messages not mixed.
* UNH/UNT: message identifier present, UNT count (UNH..UNT inclusive) and
  reference, message references unique in the interchange.

Action codes (0083): ``7`` acknowledged, ``4`` rejected, ``8`` received only
(``encode(..., receipt_only=True)``). By default a report is all-or-nothing: any
error rejects the interchange (UCI ``4``) and names the faulty parts; with
``acknowledge(..., partial=True)`` only the faulty messages are rejected (UCM

The package, along its seams (issue #15): :mod:`~adapters.contrl.report` the report model,
:mod:`~adapters.contrl.envelope` the envelope checks, :mod:`~adapters.contrl.reader` reading an
input into its report, :mod:`~adapters.contrl.encoder` writing the CONTRL. The names below are
the public interface; import them from here.
"""

from __future__ import annotations

from adapters.contrl.encoder import encode
from adapters.contrl.envelope import (
    REASON_NOT_RECIPIENT,
    REASON_UNKNOWN_SENDER,
    check_group,
    check_interchange,
    check_message,
    check_recipient,
    check_sender,
    check_unb_datetime,
)
from adapters.contrl.limits import (
    INTERCHANGES_PER_INPUT,
    PROBLEMS_PER_INPUT,
    PROBLEMS_PER_MESSAGE,
    REASON_TOO_MANY,
)
from adapters.contrl.reader import (
    FedCheck,
    FedCheckFactory,
    ReportBuilder,
    StreamingAcknowledgement,
    acknowledge,
    check_envelope,
    failure_report,
    report_interchange,
)
from adapters.contrl.received import ReceivedContrl, read_received
from adapters.contrl.report import (
    ACTION_ACKNOWLEDGED,
    ACTION_RECEIVED,
    ACTION_REJECTED,
    Findings,
    GroupReport,
    InterchangeReport,
    MessageCheck,
    MessageReport,
    SyntaxReport,
)

__all__ = [
    "ACTION_ACKNOWLEDGED",
    "ACTION_RECEIVED",
    "ACTION_REJECTED",
    "INTERCHANGES_PER_INPUT",
    "PROBLEMS_PER_INPUT",
    "PROBLEMS_PER_MESSAGE",
    "REASON_NOT_RECIPIENT",
    "REASON_TOO_MANY",
    "REASON_UNKNOWN_SENDER",
    "FedCheck",
    "FedCheckFactory",
    "Findings",
    "GroupReport",
    "InterchangeReport",
    "MessageCheck",
    "MessageReport",
    "ReceivedContrl",
    "ReportBuilder",
    "StreamingAcknowledgement",
    "SyntaxReport",
    "acknowledge",
    "check_envelope",
    "check_group",
    "check_interchange",
    "check_message",
    "check_recipient",
    "check_sender",
    "check_unb_datetime",
    "encode",
    "failure_report",
    "read_received",
    "report_interchange",
]
