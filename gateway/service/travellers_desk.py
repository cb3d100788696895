"""What the pipeline calls for the travellers' messages (issue #18): one call per message.

* :meth:`TravellersDesk.portal`: the customs portal's JSON (partner role ``portal``) -> the
  canonical ``VehicleTemporaryAdmission`` or ``CurrencyDeclaration``, decided by
  :class:`~gateway.service.travellers.TravellersService`, signed for customs; a signed
  ``TravellersReceipt`` for the portal; and the sailings' lists a late TPD or declaration
  changed, signed for customs.
* :meth:`TravellersDesk.border`: a border post's event (role ``border``) -> the TPD's new
  state and a signed receipt. An exit for a vehicle never entered is refused with a
  *replayable* reason: its dead letter may be replayed once the entry has arrived.
* :meth:`TravellersDesk.passenger_list`: an accepted ``PassengerVehicleList`` (PAXLST) ->
  its sailing's ``SailingClearanceList``, signed for customs.

A refusal (:attr:`DeskResult.refusal`) is to be dead-lettered with its reason and answered
with the negative receipt. Every call is idempotent per inbound message id: a redelivery
gives the same documents (the same derived ids) and changes nothing in the journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from adapters import eservices
from adapters.common import DecodeContext, MappingError
from gateway.config import Settings
from gateway.domain import sailing as sailing_xml
from gateway.domain import travellers as travellers_xml
from gateway.domain.canonical_xml import to_bytes
from gateway.domain.model import PassengerVehicleList
from gateway.domain.sailing import SailingClearanceList
from gateway.domain.travellers import CurrencyDeclaration, VehicleTemporaryAdmission
from gateway.domain.travellers_receipt import (
    RECEIPT_TYPE,
    ReceiptReason,
    TravellersReceipt,
    receipt_to_xml,
)
from gateway.domain.travellers_rules import TravellersPolicy
from gateway.domain.validation import validate
from gateway.logs import get_logger
from gateway.service import sailing
from gateway.service.travellers import Refusal, TravellersService, Verdict
from gateway.storage.records import TravellersJournal, derived_id

log = get_logger()
SCHEMA_FILE = travellers_xml.SCHEMA_FILE
Sign = Callable[[etree._Element], bytes]


@dataclass(slots=True)
class SignedList:
    """A sailing's list and its signed XML, for ``customs.core`` (message id in its header)."""

    document: SailingClearanceList
    signed_xml: bytes


@dataclass(slots=True)
class DeskResult:
    """What one travellers' message gave: what to route, what to answer, or why not."""

    receipt: bytes  # the signed TravellersReceipt for partner.<id>.out
    verdict: Verdict | None = None  # None when the message could not even be read
    refusal: Refusal | None = None  # dead-letter the message with this reason
    document: VehicleTemporaryAdmission | CurrencyDeclaration | None = None
    signed_document: bytes | None = None  # to customs (message id: document.header)
    lists: list[SignedList] = field(default_factory=list)  # to customs too

    @property
    def accepted(self) -> bool:
        return self.refusal is None


class TravellersDesk:
    """Decode, decide, sign and answer the travellers' messages."""

    def __init__(self, service: TravellersService, sign: Sign) -> None:
        self.service = service
        self.journal: TravellersJournal = service.journal
        self.sign = sign

    # ------------------------------------------------------------ the portal
    def portal(
        self, data: bytes, *, partner: str, inbound_id: str, correlation_id: str | None = None
    ) -> DeskResult:
        """A TPD request or a currency declaration from the portal."""
        try:
            doc = eservices.decode(
                data, DecodeContext(sender=partner, correlation_id=correlation_id)
            )
        except MappingError as exc:
            return self._refused(
                partner, inbound_id, Refusal(exc.reason, exc.sentence, exc.where or "/")
            )
        # Derived from the inbound message: a redelivery makes the same document id (#6).
        doc.header.message_id = derived_id(inbound_id, 0)
        with self.journal.unit_of_work():
            if isinstance(doc, VehicleTemporaryAdmission):
                verdict = self.service.request_tpd(doc, inbound_id)
            else:
                verdict = self.service.declare_currency(doc, inbound_id)
            lists = (
                sailing.lists_for(self.journal, verdict.sailings, inbound_id)
                if verdict.accepted
                else []
            )
        if verdict.refusal is not None:
            return self._refused(partner, inbound_id, verdict.refusal, verdict)
        signed = self._signed(travellers_xml.to_xml(doc))
        result = DeskResult(
            self._receipt(partner, inbound_id, verdict, doc.header.message_id),
            verdict,
            document=doc,
            signed_document=signed,
            lists=[self._signed_list(lst) for lst in lists],
        )
        return result

    # ------------------------------------------------------------ the border posts
    def border(self, data: bytes, *, partner: str, inbound_id: str) -> DeskResult:
        """An entry, extension or exit event from a border post."""
        try:
            event = eservices.decode_border_event(data)
        except MappingError as exc:
            return self._refused(
                partner, inbound_id, Refusal(exc.reason, exc.sentence, exc.where or "/")
            )
        with self.journal.unit_of_work():
            verdict = self.service.border_event(event, inbound_id)
        if verdict.refusal is not None:
            return self._refused(partner, inbound_id, verdict.refusal, verdict)
        return DeskResult(self._receipt(partner, inbound_id, verdict, None), verdict)

    # ------------------------------------------------------------ the ferry lines
    def passenger_list(self, plist: PassengerVehicleList, inbound_id: str) -> list[SignedList]:
        """The sailing's pre-clearance list, built from an accepted passenger list."""
        with self.journal.unit_of_work():
            built = sailing.passenger_list_arrived(self.journal, plist, inbound_id)
        return [] if built is None else [self._signed_list(built)]

    def refuse(self, partner: str, inbound_id: str, refusal: Refusal) -> DeskResult:
        """A message refused before the desk could read it (a format its partner may not
        send): the negative receipt, and the refusal to dead-letter it with."""
        return self._refused(partner, inbound_id, refusal)

    # ------------------------------------------------------------ helpers
    def _signed(self, element: etree._Element) -> bytes:
        problems = validate(element, schema=SCHEMA_FILE)
        if problems:  # a bug of ours: never send customs an invalid document
            raise ValueError(
                f"{etree.QName(element).localname} breaks {SCHEMA_FILE}: {problems[0].sentence}"
            )
        return self.sign(element)

    def _signed_list(self, lst: SailingClearanceList) -> SignedList:
        return SignedList(lst, self._signed(sailing_xml.to_xml(lst)))

    def _receipt(
        self, partner: str, inbound_id: str, verdict: Verdict | None, document_id: str | None
    ) -> bytes:
        refusal = verdict.refusal if verdict else None
        receipt = TravellersReceipt(
            partner=partner,
            inbound_message_id=inbound_id,
            outcome="accepted" if verdict is not None and refusal is None else "rejected",
            duplicate=bool(verdict and verdict.duplicate),
            reference=(verdict.reference or None) if verdict else None,
            gateway_reference=document_id,
            status=verdict.status if verdict and refusal is None else None,
            due_date=verdict.due_on if verdict else None,
            notes=list(verdict.notes) if verdict else [],
        )
        return self._signed(receipt_to_xml(receipt))

    def _refused(
        self, partner: str, inbound_id: str, refusal: Refusal, verdict: Verdict | None = None
    ) -> DeskResult:
        log.info(
            "travellers' message refused", reason=refusal.reason, replayable=refusal.replayable
        )
        receipt = TravellersReceipt(
            partner=partner,
            inbound_message_id=inbound_id,
            outcome="rejected",
            reference=(verdict.reference or None) if verdict else None,
            reasons=[
                ReceiptReason(refusal.reason, refusal.sentence, refusal.where, refusal.replayable)
            ],
        )
        return DeskResult(self._signed(receipt_to_xml(receipt)), verdict, refusal)


def travellers_service(settings: Settings, journal: TravellersJournal) -> TravellersService:
    """The service the configuration calls for (``[travellers]``), on ``journal``."""
    from gateway.storage.travellers_retention import pseudonym_key

    return TravellersService(
        journal,
        travellers_policy(settings),
        pseudonym_key=pseudonym_key(log_key_path(settings)),
    )


def travellers_policy(settings: Settings) -> TravellersPolicy:
    """The ``[travellers]`` rules: the keys the configuration gave, as its schema validated them."""
    return TravellersPolicy.from_mapping(settings.config.travellers.model_dump(exclude_unset=True))


def build_travellers_desk(
    settings: Settings, journal: TravellersJournal, sign: Sign
) -> TravellersDesk:
    """The desk of ``edigw run``: its journal, its signer (:func:`signer_function`)."""
    return TravellersDesk(travellers_service(settings, journal), sign)


def log_key_path(settings: Settings) -> Path:
    """``[travellers] log_key_file``, else ``<state_dir>/keys/travellers-log.key``."""
    configured = settings.config.travellers.log_key_file
    return (
        Path(configured) if configured else Path(settings.state_dir) / "keys" / "travellers-log.key"
    )


def signer_function(signer: Any) -> Sign:
    """The ``sign`` of a desk from the gateway's ``Signer``: sign in place, then write."""

    def sign(element: etree._Element) -> bytes:
        return to_bytes(signer.sign(element, in_place=True))

    return sign


__all__ = [
    "RECEIPT_TYPE",
    "DeskResult",
    "SignedList",
    "TravellersDesk",
    "build_travellers_desk",
    "travellers_service",
]
