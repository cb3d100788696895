"""The canonical customs model: plain dataclasses, no I/O.

Each document maps to and from the XML of ``xsd/customs-1.xsd`` without losing
anything (see ``gateway.domain.canonical_xml``). Adapters build these objects from
partner formats; the rest of the gateway only ever sees them.

>>> header = Header.new(sender="apcs", document_type="CargoManifest", business_reference="BL1")
>>> header.function
'original'
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

NAMESPACE = "urn:port-edi-gateway:customs:1"
SCHEMA_VERSION = "1.0"

MessageFunction = Literal["original", "replace", "change", "cancel"]
PartyRole = Literal["shipper", "consignee", "notify", "carrier", "agent", "other"]


def new_message_id() -> str:
    """A random message id, as ``str(uuid.uuid4())`` writes it (RFC 4122 version 4), without
    loading ``uuid`` (which loads ``platform``: issue #20, point 6).

    >>> import uuid
    >>> new = new_message_id()
    >>> read = uuid.UUID(new)
    >>> str(read) == new and read.version == 4 and read.variant == uuid.RFC_4122
    True
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(slots=True)
class Source:
    """Where a canonical document came from (format and the references inside it)."""

    format: str
    message_type: str = ""
    directory: str = ""
    syntax_version: str = ""
    interchange_reference: str = ""
    message_reference: str = ""


@dataclass(slots=True)
class Header:
    """The envelope every canonical document carries."""

    message_id: str
    correlation_id: str
    function: MessageFunction
    sender: str
    receiver: str
    document_type: str
    document_version: int
    business_reference: str
    test: bool
    created_at: dt.datetime
    payload_hash: str
    source: Source
    previous_message_id: str | None = None

    @classmethod
    def new(
        cls,
        *,
        sender: str,
        document_type: str,
        business_reference: str,
        receiver: str = "customs",
        correlation_id: str | None = None,
        function: MessageFunction = "original",
        document_version: int = 1,
        test: bool = False,
        payload_hash: str = "",
        source: Source | None = None,
        created_at: dt.datetime | None = None,
    ) -> Header:
        message_id = new_message_id()
        return cls(
            message_id=message_id,
            correlation_id=correlation_id or message_id,
            function=function,
            sender=sender,
            receiver=receiver,
            document_type=document_type,
            document_version=document_version,
            business_reference=business_reference,
            test=test,
            created_at=(created_at or dt.datetime.now(dt.UTC)).replace(microsecond=0),
            payload_hash=payload_hash,
            source=source or Source(format="unknown"),
        )


@dataclass(frozen=True, slots=True)
class NotMappedElement:
    """One data element of the partner's message that no canonical field holds, as it was sent.

    Every data element of an accepted EDIFACT message is either mapped into a canonical field
    or carried as one of these, in the document's ``not_mapped`` (issue #16): nothing is lost
    silently. Positions count as ``Pointer`` does: ``segment`` in the message (UNH = 1),
    ``element`` and ``component`` from 0 after the tag.
    """

    tag: str  # the segment's tag, e.g. FTX
    segment: int
    element: int
    component: int
    value: str  # verbatim: release characters resolved, nothing trimmed or cut
    repetition: int = 0  # syntax 4: which occurrence of a repeated data element (0: the first)
    qualifier: str | None = None  # the segment's first value (FTX+AAI: AAI), to read it by

    @property
    def position(self) -> str:
        """``segment:element:component``, e.g. ``12:3:0``."""
        return f"{self.segment}:{self.element}:{self.component}"


@dataclass(slots=True)
class Conveyance:
    imo_number: str | None = None
    name: str | None = None
    call_sign: str | None = None
    nationality: str | None = None
    voyage_number: str | None = None
    carrier: str | None = None
    mode_of_transport: str | None = None
    # The carrier's code (EDIFACT C040 3127; ``carrier`` is its name 3128 when sent, else the
    # code) and the code's scheme (code list 1131, agency 3055), e.g. 172 carrier code / 20 BIC.
    carrier_code: str | None = None
    carrier_scheme: str | None = None
    carrier_scheme_agency: str | None = None


@dataclass(slots=True)
class Address:
    lines: list[str] = field(default_factory=list)
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    # A state or province (EDIFACT C819 3229), e.g. VA in a US address: not a country.
    subdivision: str | None = None


@dataclass(slots=True)
class Communication:
    """One way to reach a contact (EDIFACT COM): the number or address and its channel."""

    number: str
    channel: str | None = None  # EDIFACT 3155: TE telephone, EM e-mail, FX telefax ...


@dataclass(slots=True)
class Contact:
    """A contact person or department of a party (EDIFACT CTA with its COM)."""

    function: str | None = None  # EDIFACT 3139, e.g. IC information contact
    department: str | None = None  # C056 3413
    name: str | None = None  # C056 3412
    communications: list[Communication] = field(default_factory=list)


@dataclass(slots=True)
class Party:
    role: PartyRole
    code: str | None = None  # the partner's own qualifier (EDIFACT 3035), kept for traceability
    identifier: str | None = None
    # The scheme of the identifier (EDIFACT C082): code list (1131) and its agency (3055),
    # e.g. 172:20 (carrier code, BIC), 160:ZZZ (mutually defined), 167 (tax number).
    identifier_scheme: str | None = None
    identifier_scheme_agency: str | None = None
    tax_id: str | None = None
    name: str | None = None
    address: Address | None = None
    to_order: bool = False  # a consignee "to order" (negotiable bill): the name says so
    # Tuples where most documents have none or one: an empty tuple costs nothing, an empty
    # list 56 bytes, per party of a 10,000-bill manifest (issue #8's memory target).
    contacts: tuple[Contact, ...] = ()


@dataclass(slots=True)
class DangerousGoods:
    """One dangerous-goods declaration of a goods item (EDIFACT DGS)."""

    un_number: str | None = None  # UNDG number (C234 7124), four digits
    hazard_class: str | None = None  # C205 8351, e.g. 3 or 2.1
    packing_group: str | None = None  # 8339: 1 great, 2 medium, 3 minor danger
    flashpoint: Decimal | None = None  # C223 7106, in flashpoint_unit
    flashpoint_unit: str | None = None  # C223 6411: CEL or FAH
    ems: str | None = None  # 8364, the IMDG emergency schedule (e.g. F-E,S-E)
    regulation: str | None = None  # 8273, e.g. IMD (IMDG code), ADR, RID


@dataclass(slots=True)
class GoodsItem:
    sequence: int
    hs_code: str | None = None
    description: str | None = None
    package_count: int | None = None
    package_type: str | None = None
    gross_mass_kg: Decimal | None = None
    net_mass_kg: Decimal | None = None
    # MEA 6313 AAB / AAA: the mass of one unit (one package), never a total.
    unit_gross_mass_kg: Decimal | None = None
    unit_net_mass_kg: Decimal | None = None
    volume_m3: Decimal | None = None
    marks: tuple[str, ...] = ()  # marks and numbers (PCI C210), line by line
    marking_instruction: str | None = None  # PCI 4233, e.g. 24 shipper assigned; None: 28 free text
    dangerous_goods: tuple[DangerousGoods, ...] = ()
    equipment_references: list[str] = field(default_factory=list)
    # SGP 7224, by position in equipment_references: how many of the item's packages are in
    # that container (None: not said); empty when no SGP said it.
    packages_per_equipment: tuple[int | None, ...] = ()


@dataclass(slots=True)
class Seal:
    """A seal on a piece of equipment (EDIFACT SEL) and who put it there (C215)."""

    number: str
    issuer: str | None = None  # C215 9303: CA carrier, SH shipper, CU customs ...
    issuer_name: str | None = None  # C215 9302


@dataclass(slots=True)
class TransportEquipment:
    identifier: str
    size_type: str | None = None
    type_code: str | None = None  # EQD 8053: TE trailer, BL bulk ...; None: CN, a container
    status: str | None = None  # EQD 8249 as sent: 2 export, 3 import, 6 transhipment ...
    seals: list[Seal] = field(default_factory=list)
    fullness: Literal["full", "empty", "unknown"] | None = None
    gross_mass_kg: Decimal | None = None
    tare_mass_kg: Decimal | None = None  # MEA 6313 T
    verified_gross_mass_kg: Decimal | None = None  # MEA 6313 VGM (SOLAS VGM)
    # Reefer set temperature (TMP C239), in temperature_unit (CEL or FAH) as sent.
    temperature: Decimal | None = None
    temperature_unit: str | None = None


@dataclass(slots=True)
class ControlTotals:
    """Totals the sender declares (EDIFACT CNT), checked against the content by the rules."""

    consignments: int | None = None
    packages: int | None = None
    gross_mass_kg: Decimal | None = None
    equipment: int | None = None


@dataclass(slots=True)
class Consignment:
    sequence: int
    transport_document: str
    transport_document_kind: Literal["master", "house"] = "master"
    master_reference: str | None = None
    # The master/house hierarchy, flat in document order: a consolidation is its master
    # (consolidated=True) followed by its houses, all with the master's sequence number
    # (MSN, the CNI's consolidation item number), each house with its own (HSN, 1, 2 ...).
    master_sequence_number: int | None = None
    house_sequence_number: int | None = None
    consolidated: bool = False
    place_of_receipt: str | None = None  # LOC+88
    place_of_original_loading: str | None = None  # LOC+76
    place_of_loading: str | None = None
    places_of_transhipment: tuple[str, ...] = ()  # LOC+13
    place_of_discharge: str | None = None
    place_of_delivery: str | None = None  # LOC+7
    place_of_destination: str | None = None  # LOC+8
    parties: list[Party] = field(default_factory=list)
    goods_items: list[GoodsItem] = field(default_factory=list)
    equipment: list[TransportEquipment] = field(default_factory=list)
    gross_mass_kg: Decimal | None = None
    control_totals: ControlTotals | None = None  # CNT inside the consignment group


@dataclass(slots=True)
class CargoManifest:
    """A cargo report for one call of one conveyance (WCO Data Model: cargo report)."""

    header: Header
    document_number: str
    conveyance: Conveyance = field(default_factory=Conveyance)
    port_of_call: str | None = None
    customs_office: str | None = None
    issue_time: dt.datetime | None = None  # when the partner issued the document (DTM 137)
    place_of_departure: str | None = None  # the call's place of departure (LOC+5, header)
    arrival_time: dt.datetime | None = None  # estimated (DTM 132) or scheduled (232) arrival
    actual_arrival_time: dt.datetime | None = None  # DTM 178
    departure_time: dt.datetime | None = None
    parties: list[Party] = field(default_factory=list)
    equipment: list[TransportEquipment] = field(default_factory=list)
    consignments: list[Consignment] = field(default_factory=list)
    control_totals: ControlTotals | None = None
    not_mapped: list[NotMappedElement] = field(default_factory=list)

    DOCUMENT_TYPE = "CargoManifest"

    def references(self) -> list[str]:
        """Business references an operator may search for: document, BLs, containers."""
        refs = [self.document_number]
        refs.extend(e.identifier for e in self.equipment)
        for c in self.consignments:
            refs.append(c.transport_document)
            if c.master_reference:
                refs.append(c.master_reference)
            refs.extend(e.identifier for e in c.equipment)
        return list(dict.fromkeys(refs))


# ------------------------------------------------------------ passengers and vehicles

TravellerRole = Literal["passenger", "crew", "driver", "other"]


@dataclass(slots=True)
class TravelDocument:
    """WCO: IdentityDocument (passport, identity card, visa, driving licence ...)."""

    kind: str  # the partner's document code (EDIFACT 1001), e.g. P passport, I identity card
    number: str
    issuing_country: str | None = None
    expiry_date: dt.date | None = None


@dataclass(slots=True)
class Vehicle:
    """A traveller's own vehicle: what customs needs for a temporary-admission document."""

    registration_number: str | None = None  # the plate
    registration_country: str | None = None
    vin: str | None = None
    make: str | None = None
    model: str | None = None


@dataclass(slots=True)
class DocumentReference:
    """A reference as sent (EDIFACT RFF C506): its qualifier (1153) and number (1154)."""

    qualifier: str
    number: str


@dataclass(slots=True)
class Employment:
    """A traveller's employment (EDIFACT EMP), e.g. a crew member's rank: the codes as sent."""

    qualifier: str  # 9003
    category: str | None = None  # C948 9005
    occupation: str | None = None  # C951 9009
    occupation_text: str | None = None  # C951 9008
    qualification: str | None = None  # C950 9007
    job_title: str | None = None  # 3494
    applicability: str | None = None  # 9035


@dataclass(slots=True)
class Traveller:
    """WCO: Person on a conveyance (passenger or crew), with their documents and vehicle."""

    sequence: int
    role: TravellerRole
    family_name: str
    given_names: str | None = None
    gender: str | None = None  # M, F or X (ICAO 9303)
    birth_date: dt.date | None = None
    birth_place: str | None = None
    nationality: str | None = None
    documents: list[TravelDocument] = field(default_factory=list)
    place_of_embarkation: str | None = None
    place_of_disembarkation: str | None = None
    vehicle: Vehicle | None = None
    # The partner's role code (EDIFACT NAD 3035) as sent: a role the gateway does not know
    # is kept as "other" with its code, never merged into the traveller before it.
    role_code: str | None = None
    identifier: str | None = None  # NAD C082 3039, e.g. a CBP traveller id
    identifier_scheme: str | None = None  # C082 1131 code list
    identifier_scheme_agency: str | None = None  # C082 3055
    address: Address | None = None
    # Tuples: nearly every traveller has none, and () is one object for all of them where an
    # empty list each was 56 bytes (1,500 travellers: a third of the PAXLST, issue #18).
    employment: tuple[Employment, ...] = ()
    references: tuple[DocumentReference, ...] = ()  # RFF but the vehicle's


@dataclass(slots=True)
class PassengerVehicleList:
    """Travellers and their vehicles on one voyage (from PAXLST): the ferry traffic."""

    header: Header
    document_number: str
    conveyance: Conveyance = field(default_factory=Conveyance)
    port_of_departure: str | None = None
    port_of_call: str | None = None  # where the voyage arrives and customs handles it
    departure_time: dt.datetime | None = None
    arrival_time: dt.datetime | None = None
    travellers: list[Traveller] = field(default_factory=list)
    document_references: list[DocumentReference] = field(default_factory=list)  # header RFF
    parties: list[Party] = field(default_factory=list)  # SG1: the reporting party, its contacts
    passenger_total: int | None = None  # CNT+42, checked by the PASSENGER_COUNT rule
    crew_total: int | None = None  # CNT+41
    not_mapped: list[NotMappedElement] = field(default_factory=list)

    DOCUMENT_TYPE = "PassengerVehicleList"

    def references(self) -> list[str]:
        """Document number, voyage, travel documents and plates an operator may search for."""
        refs = [self.document_number]
        if self.conveyance.voyage_number:
            refs.append(self.conveyance.voyage_number)
        for t in self.travellers:
            refs.extend(d.number for d in t.documents)
            if t.vehicle is not None:
                refs.extend(x for x in (t.vehicle.registration_number, t.vehicle.vin) if x)
        return list(dict.fromkeys(refs))


# ------------------------------------------------------------ customs response

Decision = Literal["accepted", "rejected", "released", "held"]
InspectionChannel = Literal["green", "orange", "red"]


@dataclass(slots=True)
class Pointer:
    """WCO: Error/Pointer: where in the original message the error is.

    ``location`` is human-readable ("segment 12 MEA, element 2"); ``segment`` and
    ``element`` are numbers (1-based segment, 0-based element like ``Segment.get``).
    """

    location: str
    segment: int | None = None
    tag: str | None = None
    element: int | None = None
    component: int | None = None


@dataclass(slots=True)
class ResponseError:
    """WCO: Error: a validation code, a sentence and a pointer into the original."""

    code: str
    description: str
    pointer: Pointer | None = None


@dataclass(slots=True)
class CustomsResponse:
    """WCO: Response: what customs decided about a document (becomes CUSRES)."""

    header: Header
    registration_number: str | None  # customs' own number for the declaration
    decision: Decision
    original_message_id: str  # the canonical document (or inbound message) this answers
    original_reference: str  # the partner's document number
    channel: InspectionChannel | None = None
    errors: list[ResponseError] = field(default_factory=list)
    issued_at: dt.datetime | None = None

    DOCUMENT_TYPE = "CustomsResponse"

    def references(self) -> list[str]:
        refs = [self.original_reference, self.original_message_id]
        if self.registration_number:
            refs.append(self.registration_number)
        return list(dict.fromkeys(refs))


AckStatus = Literal["received", "accepted", "rejected"]


@dataclass(slots=True)
class Acknowledgement:
    """The gateway's receipt for a partner message: which syntax, which verdict, which errors."""

    header: Header
    acknowledged_message_id: str
    status: AckStatus
    acknowledgement_type: str  # CONTRL, APERAK ...
    errors: list[ResponseError] = field(default_factory=list)

    DOCUMENT_TYPE = "Acknowledgement"

    def references(self) -> list[str]:
        return [self.acknowledged_message_id]


@runtime_checkable
class Document(Protocol):
    """What every canonical document offers, including those of other modules (e.g. LPCO).

    >>> isinstance(CargoManifest(Header.new(sender="a", document_type="CargoManifest",
    ...            business_reference="M"), document_number="M"), Document)
    True
    """

    header: Header

    def references(self) -> list[str]: ...


CanonicalDocument = CargoManifest | PassengerVehicleList | CustomsResponse | Acknowledgement
"""The documents of ``customs-1.xsd``; other modules add theirs through :class:`Document`."""
