"""Authority of ministries (issue #14): the verified signer, not the declared issuer, decides.

The decision (``gateway.service.authority.refusals``) and the desk's use of it (``MinistryDesk.finish``)
with fakes; the registry scoped by the signing partner, and its migration, on SQLite files.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pytest
from lxml import etree

from gateway.config import ConfigError, Partner, load
from gateway.domain.lpco import Issuer, Lpco, SignerInfo
from gateway.domain.model import Header
from gateway.service.authority import refusals
from gateway.service.pipeline import Outcome, RoutedDocument, Translation
from gateway.service.receipts import Decision, LpcoRegistry, MinistryDesk, receipt_from_xml
from gateway.storage.lpco_records import SqliteLpcoRecords


def ministry(partner: str, issuers: tuple[str, ...], lpco_types: tuple[str, ...]) -> Partner:
    return Partner(
        id=partner,
        name=partner,
        role="ministry",
        formats=("xml",),
        issuers=issuers,
        lpco_types=lpco_types,
    )


COMMERCE = ministry("commerce", ("MOC-ITD", "TR-ITO"), ("IL-*", "COO-*"))
AGRICULTURE = ministry(
    "agriculture",
    ("MADR-DSV", "Servicio Nacional de Sanidad y Calidad Agroalimentaria"),
    ("SPS-*",),
)


def lpco(
    signed_by: str | None = "commerce",
    *,
    issuer: Issuer | None = None,
    type_code: str = "IL-STEEL",
    number: str = "IL-1",
    version: int = 1,
    status: str = "issued",
    content: str = "a",
) -> Lpco:
    signer = (
        None
        if signed_by is None
        else SignerInfo(
            signed_by, "CN=s", "CN=ca", "1", "00", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        )
    )
    header = Header.new(sender=signed_by or "x", document_type="Lpco", business_reference=number)
    header.payload_hash = content * 64
    return Lpco(
        header,
        kind="licence",
        type_code=type_code,
        issuer=issuer or Issuer(name="Ministry of Commerce", id="MOC-ITD"),
        number=number,
        version=version,
        status=cast(Any, status),
        issue_date=dt.date(2026, 1, 5),
        signer=signer,
    )


# ---------------------------------------------------------------- the decision


def test_the_signers_own_issuer_and_type_pass() -> None:
    assert refusals(lpco(), COMMERCE) == []
    origin = lpco(issuer=Issuer("Istanbul Chamber of Commerce", "TR-ITO"), type_code="COO-X")
    assert refusals(origin, COMMERCE) == []


def test_another_ministrys_issuer_is_refused_whatever_the_type() -> None:
    revocation = lpco("agriculture", type_code="SPS-851", version=2, status="revoked")
    [refusal] = refusals(revocation, AGRICULTURE)
    assert refusal.code == "ISSUER_NOT_SIGNER" and refusal.where == "Issuer"
    assert "'MOC-ITD'" in refusal.sentence and "agriculture" in refusal.sentence


def test_the_issuer_is_its_id_when_it_has_one_else_its_name() -> None:
    # A name Agriculture may use does not lend its authority to another id ...
    borrowed = lpco(
        "agriculture",
        issuer=Issuer("Servicio Nacional de Sanidad y Calidad Agroalimentaria", "MOC-ITD"),
        type_code="SPS-851",
    )
    assert [r.code for r in refusals(borrowed, AGRICULTURE)] == ["ISSUER_NOT_SIGNER"]
    # ... and without an id the name is what is bound.
    by_name = lpco(
        "agriculture",
        issuer=Issuer("Servicio Nacional de Sanidad y Calidad Agroalimentaria"),
        type_code="SPS-851",
    )
    assert refusals(by_name, AGRICULTURE) == []
    # Exact match: no case folding, no trimming.
    near = lpco("agriculture", issuer=Issuer("x", "madr-dsv"), type_code="SPS-851")
    assert [r.code for r in refusals(near, AGRICULTURE)] == ["ISSUER_NOT_SIGNER"]


def test_a_type_outside_the_patterns_is_refused() -> None:
    [refusal] = refusals(lpco(type_code="PIA"), COMMERCE)
    assert (refusal.code, refusal.where) == ("LPCO_TYPE_NOT_ALLOWED", "TypeCode")
    # fnmatch patterns, case-sensitive: "IL-*" does not cover "il-steel" nor "XIL-1".
    assert [r.code for r in refusals(lpco(type_code="il-steel"), COMMERCE)] == [
        "LPCO_TYPE_NOT_ALLOWED"
    ]
    assert [r.code for r in refusals(lpco(type_code="XIL-1"), COMMERCE)] == [
        "LPCO_TYPE_NOT_ALLOWED"
    ]


def test_empty_bindings_allow_nothing() -> None:
    unbound = replace(COMMERCE, issuers=(), lpco_types=())
    assert [r.code for r in refusals(lpco(), unbound)] == [
        "ISSUER_NOT_SIGNER",
        "LPCO_TYPE_NOT_ALLOWED",
    ]


def test_a_document_not_verified_as_the_senders_is_refused() -> None:
    assert [r.code for r in refusals(lpco(None), COMMERCE)] == ["SIGNER_NOT_PARTNER"]
    assert [r.code for r in refusals(lpco("agriculture"), COMMERCE)] == ["SIGNER_NOT_PARTNER"]


def test_a_huge_declared_issuer_is_quoted_short() -> None:
    [refusal] = refusals(lpco(issuer=Issuer("n", "X" * 100_000)), COMMERCE)
    assert refusal.code == "ISSUER_NOT_SIGNER" and len(refusal.sentence) < 300


def test_an_issuer_bound_to_two_ministries_refuses_the_configuration(tmp_path: Path) -> None:
    load(env={"EDIGW_STATE_DIR": str(tmp_path)})  # the defaults bind each issuer once
    overlapping = {"partners": {"agriculture": {"issuers": ["MADR-DSV", "MOC-ITD"]}}}
    with pytest.raises(ConfigError) as info:
        load(overlapping, env={"EDIGW_STATE_DIR": str(tmp_path)})
    assert info.value.key == "partners.agriculture.issuers" and "commerce" in info.value.reason
    # Refused with the configuration, before anything is made.
    assert not tmp_path.joinpath("keys").exists()


# ---------------------------------------------------------------- the desk, with fakes


@dataclass
class FakeRegistry:
    """Answers "accept" and remembers what the desk asked and recorded. With ``beaten``, the
    first keep is refused as if another instance had kept the version first, and the next
    decision is that instance's: a duplicate with its receipt."""

    decided: list[Lpco] = field(default_factory=list)
    recorded: list[Lpco] = field(default_factory=list)
    beaten: bool = False

    def decide(self, doc: Lpco) -> Decision:
        self.decided.append(doc)
        if self.beaten and self.recorded:
            return Decision("duplicate", b"<their-receipt/>", inbound_message_id="in-theirs")
        return Decision("accept")

    def record(self, doc: Lpco, inbound_message_id: str, receipt: bytes) -> bool:
        self.recorded.append(doc)
        return not self.beaten


class FakeSigner:
    """Leaves the receipt unsigned: the receipt's content is what these tests read."""

    def sign(self, element: etree._Element, *, in_place: bool = False) -> etree._Element:
        return element


def finish(
    doc: Lpco, sender: Partner, registry: FakeRegistry | None = None
) -> tuple[Outcome, FakeRegistry]:
    registry = registry or FakeRegistry()
    desk = MinistryDesk(cast(Any, None), cast(Any, registry), cast(Any, FakeSigner()), set())
    translation = Translation(format="xml")
    translation.documents.append(cast(Any, doc))
    outcome = Outcome(translation)
    outcome.routed.append(RoutedDocument(cast(Any, doc), b"<signed/>", "core"))
    desk.finish(outcome, sender, f"in-{uuid.uuid4()}")
    return outcome, registry


def test_the_desk_refuses_before_the_registry_is_asked() -> None:
    outcome, registry = finish(lpco("agriculture", version=2, status="revoked"), AGRICULTURE)
    assert registry.decided == [] and registry.recorded == []
    assert outcome.routed == []
    rejection = outcome.rejection
    assert rejection is not None
    assert (rejection.reason, rejection.stage) == ("ISSUER_NOT_SIGNER", "authority")
    receipt = receipt_from_xml(etree.fromstring(outcome.acknowledgement))
    assert (receipt.partner, receipt.outcome, receipt.duplicate) == (
        "agriculture",
        "rejected",
        False,
    )
    assert [(r.code, r.where) for r in receipt.reasons] == [
        ("ISSUER_NOT_SIGNER", "Issuer"),
        ("LPCO_TYPE_NOT_ALLOWED", "TypeCode"),
    ]


def test_the_desk_passes_the_signers_own_document_to_the_registry() -> None:
    doc = lpco()
    outcome, registry = finish(doc, COMMERCE)
    assert outcome.rejection is None and len(outcome.routed) == 1
    assert registry.decided == [doc] and registry.recorded == [doc]
    assert receipt_from_xml(etree.fromstring(outcome.acknowledgement)).outcome == "accepted"


def test_a_version_another_instance_kept_first_is_answered_as_its_duplicate() -> None:
    doc = lpco()
    outcome, registry = finish(doc, COMMERCE, FakeRegistry(beaten=True))
    # Decided twice, kept once (refused): not routed, answered with the receipt kept first.
    assert registry.decided == [doc, doc] and registry.recorded == [doc]
    assert outcome.routed == [] and outcome.acknowledgement == b"<their-receipt/>"
    assert outcome.events[0][0] == "duplicate"


# ---------------------------------------------------------------- the registry


def accept(registry: LpcoRegistry, doc: Lpco) -> Decision:
    decision = registry.decide(doc)
    if decision.verdict == "accept":
        registry.record(doc, f"in-{doc.signer and doc.signer.partner}-{doc.version}", b"r")
    return decision


def test_the_registry_is_scoped_by_the_signing_partner() -> None:
    # Should two partners ever declare the same issuer, neither meets the other's documents.
    registry = LpcoRegistry(SqliteLpcoRecords(":memory:"))
    assert accept(registry, lpco("commerce")).verdict == "accept"
    assert registry.decide(lpco("commerce")).verdict == "duplicate"
    # Same (issuer, number, version, content) from another partner: not its duplicate ...
    assert registry.decide(lpco("agriculture")).verdict == "accept"
    # ... and it cannot revoke what it never issued.
    revoke = registry.decide(lpco("agriculture", version=2, status="revoked"))
    assert revoke.reason is not None and revoke.reason.code == "LPCO_UNKNOWN"
    amend = lpco("commerce", version=2, status="amended", content="b")
    assert accept(registry, amend).verdict == "accept"
    assert [h["partner"] for h in registry.history("IL-1")] == ["commerce", "commerce"]


def test_an_lpco_without_a_verified_signer_has_no_registry_key() -> None:
    with pytest.raises(ValueError, match="no verified signer"):
        LpcoRegistry(SqliteLpcoRecords(":memory:")).decide(lpco(None))


_V1_TABLE = """
CREATE TABLE lpco (
    issuer TEXT NOT NULL, number TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL,
    partner TEXT NOT NULL, content_sha256 TEXT NOT NULL, gateway_reference TEXT NOT NULL,
    inbound_message_id TEXT NOT NULL, receipt BLOB NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (issuer, number, version)
);
"""


def test_a_version_1_registry_file_is_migrated_and_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "lpco.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(_V1_TABLE)
    rows = [
        ("MOC-ITD", "IL-1", 1, "issued", "commerce", "a" * 64, "g1", "in-1", b"receipt-1", "t1"),
        # What the finding did under version 1: Agriculture revoked Commerce's licence.
        ("MOC-ITD", "IL-1", 2, "revoked", "agriculture", "c" * 64, "g2", "in-2", b"r-2", "t2"),
    ]
    old.executemany("INSERT INTO lpco VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    old.commit()
    old.close()

    registry = LpcoRegistry(SqliteLpcoRecords(str(path)))
    # Every row kept, each under the partner that really sent it.
    assert [(h["partner"], h["version"], h["status"]) for h in registry.history("IL-1")] == [
        ("agriculture", 2, "revoked"),
        ("commerce", 1, "issued"),
    ]
    # Commerce's stored receipt still answers its duplicate; its licence is not revoked.
    again = registry.decide(lpco("commerce"))
    assert (again.verdict, again.receipt, again.inbound_message_id) == (
        "duplicate",
        b"receipt-1",
        "in-1",
    )
    assert accept(registry, lpco("commerce", version=2, status="amended", content="b")).verdict == (
        "accept"
    )
    registry.close()

    # Opened again: nothing to migrate, nothing lost.
    reopened = LpcoRegistry(SqliteLpcoRecords(str(path)))
    assert len(reopened.history("IL-1")) == 3
    reopened.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 2
    key = [
        r[1] for r in sorted(check.execute("PRAGMA table_info(lpco)"), key=lambda r: r[5]) if r[5]
    ]
    assert key == ["partner", "issuer", "number", "version"]
    check.close()
