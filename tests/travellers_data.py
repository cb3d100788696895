"""Travellers' test data (issue #18): portal JSON, border events and PAXLSTs, made to order.

The JSON starts from the samples in ``samples/eservices/`` and changes what a test needs; the
PAXLST is the ferry profile ``adapters/paxlst.py`` reads (RFF+ABZ plate, ZVC country, ZVI VIN).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

from adapters import eservices, paxlst
from gateway.domain.model import PassengerVehicleList
from gateway.domain.travellers import BorderEvent, CurrencyDeclaration, VehicleTemporaryAdmission
from gateway.domain.travellers_rules import vin_check_digit
from gateway.service import sailing
from gateway.service.travellers import TravellersService

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "eservices"
VESSEL = "Tariq Ibn Ziyad"
SAILING = dt.date(2026, 7, 14)


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text("utf-8"))
    return loaded


def encoded(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def vin(n: int) -> str:
    """A distinct European VIN (no check digit required) per ``n``."""
    return f"VF1RFB00{n:09d}"


def us_vin(n: int) -> str:
    """A North American VIN with its right check digit."""
    body = f"1M8GDM9A0KP{n:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def tpd_json(
    reference: str = "TPD-1",
    *,
    vehicle_vin: str | None = None,
    plate: str = "GH-123-JK",
    country: str = "FR",
    passport: str = "197845612",
    family: str = "Benaïssa",
    given: str = "Karim Jean-François",
    birth: str = "1984-03-21",
    status: str = "non_resident_national",
    vessel: str = VESSEL,
    day: dt.date = SAILING,
) -> dict[str, Any]:
    doc = copy.deepcopy(sample("tpd-request.json"))
    doc["reference"] = reference
    t = doc["traveller"]
    t["familyName"], t["givenNames"], t["birthDate"] = family, given, birth
    t["document"]["number"], t["residenceStatus"] = passport, status
    doc["vehicle"]["vin"] = vehicle_vin or vin(1)
    doc["vehicle"]["registration"], doc["vehicle"]["registrationCountry"] = plate, country
    doc["sailing"]["vessel"], doc["sailing"]["date"] = vessel, day.isoformat()
    return doc


def tpd(reference: str = "TPD-1", **kw: Any) -> VehicleTemporaryAdmission:
    decoded = eservices.decode(encoded(tpd_json(reference, **kw)))
    assert isinstance(decoded, VehicleTemporaryAdmission)
    return decoded


def currency_json(
    reference: str = "CD-1",
    *,
    direction: str = "entry",
    amounts: list[tuple[str, str]] | None = None,
    passport: str = "197845612",
    status: str = "non_resident_national",
    family: str = "Benaïssa",
    given: str = "Karim Jean-François",
    birth: str = "1984-03-21",
    submitted: str = "2026-07-10T21:20:45+02:00",
    entry_reference: str | None = None,
    vessel: str = VESSEL,
    day: dt.date = SAILING,
) -> dict[str, Any]:
    doc = copy.deepcopy(sample("currency-declaration-entry.json"))
    doc["reference"], doc["direction"], doc["submittedAt"] = reference, direction, submitted
    d = doc["declarant"]
    d["document"]["number"], d["residenceStatus"] = passport, status
    d["familyName"], d["givenNames"], d["birthDate"] = family, given, birth
    doc["amounts"] = [
        {"currency": c, "amount": a, "form": "cash"} for c, a in (amounts or [("EUR", "500.00")])
    ]
    doc["itinerary"]["sailing"]["vessel"] = vessel
    doc["itinerary"]["sailing"]["date"] = day.isoformat()
    if direction == "exit":
        doc["itinerary"] = {"fromCountry": "DZ", "toCountry": "FR"}
    if entry_reference:
        doc["entryDeclarationReference"] = entry_reference
    return doc


def currency(reference: str = "CD-1", **kw: Any) -> CurrencyDeclaration:
    decoded = eservices.decode(encoded(currency_json(reference, **kw)))
    assert isinstance(decoded, CurrencyDeclaration)
    return decoded


def border_json(
    event: str,
    *,
    tpd_ref: str | None = None,
    vehicle_vin: str | None = None,
    time: str = "2026-07-15T07:42:10+01:00",
    until: dt.date | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "documentType": "border-event",
        "schemaVersion": "1.0",
        "event": event,
        "place": "DZALG",
        "time": time,
        "officer": "DGD-16-04417",
    }
    if tpd_ref:
        doc["tpd"] = tpd_ref
    if vehicle_vin:
        doc["vin"] = vehicle_vin
    if until:
        doc["extendedUntil"] = until.isoformat()
    return doc


def border(event: str, **kw: Any) -> BorderEvent:
    return eservices.decode_border_event(encoded(border_json(event, **kw)))


def paxlst_bytes(
    travellers: list[dict[str, Any]],
    *,
    number: str = "PAX-1",
    function: str = "9",
    vessel: str = "TARIQ IBN ZIYAD",
    departure: dt.date = SAILING,
    ports: tuple[str, str] = ("FRMRS", "DZALG"),
) -> bytes:
    """A ferry PAXLST: one NAD group per traveller, with ``vehicle`` (vin, plate, country),
    in the order the UN/EDIFACT directory wants (the gateway checks it: a vehicle's RFFs
    after the traveller's document). ``ports``: from (LOC+125), to (LOC+87); a departure
    from Algiers is ``("DZALG", "FRMRS")``."""
    segs = [
        "UNH+1+PAXLST:D:05B:UN:IATA",
        f"BGM+250+{number}+{function}",
        f"TDT+20+AF2612+1++AF:172:20+++9287039:146:11:{vessel}",
        f"DTM+132:{(departure + dt.timedelta(days=1)).strftime('%Y%m%d')}0700:203",
        f"LOC+125+{ports[0]}",
        f"DTM+189:{departure.strftime('%Y%m%d')}1800:203",
        f"LOC+87+{ports[1]}",
        f"DTM+232:{(departure + dt.timedelta(days=1)).strftime('%Y%m%d')}0700:203",
    ]
    for t in travellers:
        segs.append(f"NAD+{t.get('role', 'FL')}+++{t['family']}:{t.get('given', '')}")
        if t.get("birth"):
            segs.append(f"DTM+329:{t['birth'].replace('-', '')}:102")
        segs.append("NAT+2+DZ")
        if t.get("passport"):
            segs.append(f"DOC+P:110:111+{t['passport']}")
        v = t.get("vehicle")
        if v:
            if v.get("plate"):
                segs.append(f"RFF+ABZ:{v['plate']}")
            if v.get("country"):
                segs.append(f"RFF+ZVC:{v['country']}")
            if v.get("vin"):
                segs.append(f"RFF+ZVI:{v['vin']}")
    segs.append(f"CNT+42:{len(travellers)}")
    segs.append(f"UNT+{len(segs) + 1}+1")
    body = "'".join(segs)
    head = "UNA:+.? 'UNB+UNOC:3+AFERRIES+CUSTOMS+260714:1800+IC1'"
    return f"{head}{body}'UNZ+1+IC1'".encode()


def passenger_list(travellers: list[dict[str, Any]], **kw: Any) -> PassengerVehicleList:
    return paxlst.decode(paxlst_bytes(travellers, **kw))[0]


def karim(vehicle: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    """The samples' traveller, with the samples' vehicle unless told otherwise."""
    t: dict[str, Any] = {
        "family": "BENAISSA",
        "given": "KARIM",
        "birth": "1984-03-21",
        "passport": "197845612",
        "role": "VW",
        "vehicle": vehicle
        if vehicle is not None
        else {"vin": vin(1), "plate": "GH-123-JK", "country": "FR"},
    }
    t.update(kw)
    return t


def one_of_each_group(service: TravellersService) -> None:
    """The sailing of 2026-07-14 with a vehicle in each group: AMRANI's to see (the TPD's
    plate is another), ZEDDAM's missing (no TPD), Karim's ready."""
    service.request_tpd(tpd("TPD-1"), "t1")
    service.request_tpd(tpd("TPD-2", vehicle_vin=vin(2), plate="AA-1", passport="PA2000222"), "t2")
    plist = passenger_list(
        [
            karim(),
            {
                "family": "ZEDDAM",
                "passport": "PZ3000333",
                "vehicle": {"vin": vin(3), "plate": "B-3", "country": "BE"},
            },
            {
                "family": "AMRANI",
                "passport": "PA2000222",
                "vehicle": {"vin": vin(2), "plate": "ZZ-9", "country": "FR"},
            },
        ]
    )
    assert sailing.passenger_list_arrived(service.journal, plist, "pax-1") is not None
