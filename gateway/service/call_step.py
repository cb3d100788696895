"""The call registry's two places in a partner message's path (issue #17, docs/calls.md).

* **Before a document is signed** (``edifact_messages.translate_edifact``, before its version
  is previewed): :func:`refusal` asks the :class:`~gateway.service.calls.CallJudge`. A
  document the registry refuses (a manifest for an unknown call where the port rejects
  them, a call announced twice, a discharge report or dangerous goods notification for a
  call nobody announced) is rejected alone, like a broken business rule: it is never
  signed, files no amendment version (so its replay, once the call exists, is not taken
  for a resend), and later documents of the same interchange are judged without it.
* **In the decision's transaction**, after the duplicate checks
  (``DecisionService._plan``): :func:`file_routed` files the routed documents in the
  registry; their events go to the journal, their headers (``x-edigw-call``,
  ``x-edigw-call-flags``, ``x-edigw-dangerous-goods``) to the documents' publishes, and
  :meth:`Filed.told` plans what a reconciled call or a dangerous goods re-check tells
  (``call_report``). A document refused here (another
  instance filed a call for the same key in between) is flagged and routed: customs
  decides, as for a business key reused with other content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.service import call_report, calls
from gateway.service.call_checks import Reconciliation
from gateway.service.call_dangerous import DangerousCheck
from gateway.service.call_report import Reporter
from gateway.service.calls import CallPolicy
from gateway.service.plan import Publish
from gateway.service.translation import RoutedDocument
from gateway.storage.records import EventRow, Journal


@dataclass(slots=True)
class Filed:
    """What filing the routed documents said: journal events, and headers per document id."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # The calls a terminal's report reconciled (discharge or loading complete): each told to
    # customs and the manifests' senders (gateway.service.call_report).
    reconciled: list[Reconciliation] = field(default_factory=list)
    # The calls whose dangerous goods a document made be checked again (call_dangerous):
    # the manifests' senders told what is theirs.
    rechecked: list[DangerousCheck] = field(default_factory=list)

    def told(self, reporter: Reporter, inbound_id: str) -> tuple[list[Publish], list[EventRow]]:
        """What is published about the filed documents beyond themselves: each reconciled
        call's report and APERAKs, then each dangerous goods re-check's APERAKs."""
        publishes: list[Publish] = []
        events: list[EventRow] = []
        for reconciled in self.reconciled:
            report = call_report.plan_report(reporter, reconciled, "complete", inbound_id)
            publishes += report.publishes
            events += report.events
        for check in self.rechecked:
            more, said = call_report.plan_recheck(reporter, check)
            publishes += more
            events += said
        return publishes, events


def file_routed(
    journal: Journal, policy: CallPolicy, routed: Sequence[RoutedDocument], inbound_id: str
) -> Filed:
    """File the routed documents of one inbound message in the call registry, in order."""
    filed = Filed()
    docs = [r.document for r in routed]
    for doc, filing in zip(docs, calls.file_all(journal, policy, docs, inbound_id), strict=True):
        if filing is None:
            continue
        did = doc.header.message_id
        headers = filing.headers()
        if filing.problem is not None:
            code, sentence = filing.problem
            filed.events.append((did, "flagged", f"{code}: {sentence} (routed: customs decides)"))
            flags = headers.get("x-edigw-call-flags", "")
            headers["x-edigw-call-flags"] = f"{flags},{code}" if flags else code
        filed.events.extend((did, status, detail) for status, detail in filing.events())
        if filing.reconciliation is not None:
            filed.reconciled.append(filing.reconciliation)
        if filing.dangerous_check is not None:
            filed.rechecked.append(filing.dangerous_check)
        if headers:
            filed.headers[did] = headers
    return filed
