"""CUSREP, IFTDGN, COARRI and the APCS XML forms -> the call documents (issue #17)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from adapters import apcs_calls, coarri, cusrep, iftdgn
from adapters.common import DecodeContext, MappingError
from adapters.edifact import parse
from adapters.registry import codec_for
from gateway.config import load
from gateway.domain.calls import CallKey, TerminalOperationsReport, VesselCall, from_xml
from gateway.domain.canonical_xml import to_bytes, to_xml
from gateway.domain.validation import validate
from gateway.service.pipeline import translate
from tests.helpers import SAMPLES

UTC = dt.UTC
CUSREP_SAMPLE = (SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi").read_bytes()
IFTDGN_SAMPLE = (SAMPLES / "07-iftdgn-cma-cgm-paints.edi").read_bytes()
COARRI_SAMPLE = (SAMPLES / "08-coarri-discharge-algiers.edi").read_bytes()
XML = SAMPLES / "xml"
KEY = CallKey("9454436", "0MA1RN1MA", "DZALG")


def _refused(decode: object, data: bytes) -> MappingError:
    with pytest.raises(MappingError) as refused:
        decode(data)  # type: ignore[operator]
    return refused.value


# --------------------------------------------------------------------- CUSREP


def test_cusrep_sample_is_the_arrival_of_one_call() -> None:
    (call,) = cusrep.decode(CUSREP_SAMPLE, DecodeContext(sender="apcs"))
    assert call.key == KEY
    cv = call.conveyance
    assert (cv.name, cv.call_sign, cv.nationality, cv.carrier) == (
        "CMA CGM TAGE",
        "9HA2431",
        "MT",
        "CMA CGM",
    )
    assert (call.call_reference, call.berth) == ("CALL-DZALG-2612-0042", "QUAI 12 EPAL")
    assert (call.last_port, call.next_port) == ("FRMRS", "ESVLC")
    assert call.eta == dt.datetime(2026, 12, 1, 7, tzinfo=UTC) and call.ata is None
    assert (call.crew_count, call.passenger_count) == (22, 0)
    assert call.cargo is not None
    assert (call.cargo.containers_to_discharge, call.cargo.containers_to_load) == (3, 2)
    assert call.cargo.gross_mass_kg == Decimal("46400.000")
    assert call.header.function == "original" and call.header.sender == "apcs"
    assert validate(to_xml(call)) == [] and from_xml(to_bytes(call)) == call


@pytest.mark.parametrize(
    ("code", "function"), [("9", "original"), ("5", "replace"), ("1", "cancel")]
)
def test_cusrep_amendment_and_cancellation_follow_the_manifest_functions(
    code: str, function: str
) -> None:
    data = CUSREP_SAMPLE.replace(
        b"+CALL-DZALG-2612-0042+9'", b"+CALL-DZALG-2612-0042+%b'" % code.encode()
    )
    assert cusrep.decode(data)[0].header.function == function


def test_cusrep_with_a_wrong_imo_check_digit_is_refused() -> None:
    error = _refused(cusrep.decode, CUSREP_SAMPLE.replace(b"9454436:146", b"9454437:146"))
    assert error.reason == "INVALID_IMO_NUMBER"
    assert "9454437 has a wrong check digit" in error.sentence
    assert error.where == "segment 5 TDT element 7"  # UNB is segment 1


def test_cusrep_without_an_imo_number_is_refused() -> None:
    error = _refused(cusrep.decode, CUSREP_SAMPLE.replace(b"9454436:146:11", b"9HA2431:103:ZZZ"))
    assert error.reason == "MISSING_IMO_NUMBER"


def test_cusrep_for_a_port_outside_algeria_or_an_unknown_place_is_refused() -> None:
    foreign = _refused(cusrep.decode, CUSREP_SAMPLE.replace(b"LOC+60+DZALG", b"LOC+60+ESVLC"))
    assert (foreign.reason, foreign.segment) == ("UNKNOWN_PORT", 7)
    assert "ESVLC is not a port of DZ" in foreign.sentence
    unknown = _refused(cusrep.decode, CUSREP_SAMPLE.replace(b"LOC+125+FRMRS", b"LOC+125+XXMRS"))
    assert (unknown.reason, unknown.segment) == ("INVALID_LOCODE", 8)
    missing = _refused(cusrep.decode, CUSREP_SAMPLE.replace(b"LOC+60+", b"LOC+92+"))
    assert missing.reason == "MISSING_PORT_OF_CALL"


def test_cusrep_bad_count_and_unknown_function_are_refused() -> None:
    assert _refused(cusrep.decode, CUSREP_SAMPLE.replace(b"QTY+ZCR:22", b"QTY+ZCR:2X")).reason == (
        "INVALID_QUANTITY"
    )
    data = CUSREP_SAMPLE.replace(b"2612-0042+9'", b"2612-0042+77'")
    assert _refused(cusrep.decode, data).reason == "UNKNOWN_MESSAGE_FUNCTION"


# --------------------------------------------------------------------- IFTDGN


def test_iftdgn_sample_is_the_dangerous_cargo_of_the_same_call() -> None:
    (dgn,) = iftdgn.decode(IFTDGN_SAMPLE)
    assert dgn.call == KEY and dgn.vessel_name == "CMA CGM TAGE"
    (item,) = dgn.items
    assert (item.un_number, item.hazard_class, item.packing_group) == ("1263", "3", "2")
    assert (item.flashpoint, item.flashpoint_unit, item.ems) == (Decimal("23"), "CEL", "F-E,S-E")
    assert (item.proper_shipping_name, item.container, item.stowage_position) == (
        "PAINT",
        "CMAU3000009",
        "0120482",
    )
    assert item.gross_mass_kg == Decimal("8200.000")
    assert validate(to_xml(dgn)) == [] and from_xml(to_bytes(dgn)) == dgn


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"+1263+", b"+126+", "INVALID_UN_NUMBER"),
        (b"DGS+IMD+3+", b"DGS+IMD+X+", "INVALID_HAZARD_CLASS"),
        (b":CEL+2+", b":CEL+IV+", "INVALID_PACKING_GROUP"),
        (b"9454436:146", b"9454430:146", "INVALID_IMO_NUMBER"),
        (b"DGS+IMD+3+1263+023:CEL+2+F-E,S-E'", b"", "MISSING_DANGEROUS_GOODS"),
    ],
)
def test_iftdgn_bad_input_is_refused(old: bytes, new: bytes, reason: str) -> None:
    assert _refused(iftdgn.decode, IFTDGN_SAMPLE.replace(old, new)).reason == reason


def test_iftdgn_packing_group_in_roman_numerals_is_read() -> None:
    (dgn,) = iftdgn.decode(IFTDGN_SAMPLE.replace(b":CEL+2+", b":CEL+III+"))
    assert dgn.items[0].packing_group == "3"


# --------------------------------------------------------------------- COARRI


def test_coarri_sample_is_the_discharge_of_the_same_call() -> None:
    (report,) = coarri.decode(COARRI_SAMPLE)
    assert report.call == KEY
    assert (report.operation, report.terminal, report.complete) == ("discharge", "DPWD", True)
    assert report.completed_at == dt.datetime(2026, 12, 2, 3, tzinfo=UTC)
    first, second = report.movements
    assert (first.container, first.transport_document, first.seals) == (
        "CMAU3000009",
        "CMDUMRS0421",
        ("FR0042117",),
    )
    assert (first.time, first.gross_mass_kg, first.stowage_position, first.place_of_loading) == (
        dt.datetime(2026, 12, 1, 9, 15, tzinfo=UTC),
        Decimal("8200.000"),
        "0120482",
        "FRMRS",
    )
    assert (second.size_type, second.full, second.gross_mass_kg) == (
        "45G1",
        True,
        Decimal("21350.000"),
    )
    assert validate(to_xml(report)) == [] and from_xml(to_bytes(report)) == report


def test_coarri_of_the_corpus_is_read_in_its_structure(corpus: Path) -> None:
    data = (corpus / "edifact" / "COARRI_phpedifact_1.edi").read_bytes()
    # The terminal names the vessel by its call sign only: no call can be known from it.
    error = _refused(coarri.decode, data)
    assert (error.reason, error.where) == ("MISSING_IMO_NUMBER", "segment 4 TDT element 7")
    # With an IMO number in the TDT (C222), every container of both messages is read.
    reports = coarri.decode(data.replace(b"3ERX3:103::", b"9454436:146:11:"))
    assert [(r.operation, r.call.voyage_number, r.call.port_of_call) for r in reports] == [
        ("discharge", "031W", "ITGOA"),
        ("load", "032E", "ITGOA"),
    ]
    assert reports[0].terminal == "VTE" and not reports[0].complete
    assert [m.container for m in reports[0].movements] == ["FCIU9908030", "MAGU5591240"]
    first = reports[0].movements[0]
    assert (first.time, first.stowage_position, first.place_of_loading, first.full) == (
        dt.datetime(2016, 2, 3, 9, 13, tzinfo=UTC),
        "380886",
        "TRKMX",
        True,
    )
    assert first.gross_mass_kg == Decimal("8914.000") and first.seals == ("SI",)
    loaded = reports[1].movements[0]
    # RFF+BN is a booking number, not a bill of lading: not taken for one.
    assert (loaded.transport_document, loaded.place_of_discharge) == (None, "GRPIR")
    for report in reports:
        assert validate(to_xml(report)) == []


@pytest.mark.parametrize("version", [b"00B", b"16A", b"21A"])
def test_coarri_of_later_directories_is_read_the_same_way(version: bytes) -> None:
    """D95B onwards (issue #17): D00B added a LOC-DTM group under the TDT (here the last port
    and its departure), read beside the port of call, through the whole translation."""
    data = COARRI_SAMPLE.replace(b"COARRI:D:95B", b"COARRI:D:" + version).replace(
        b"LOC+11+DZALG", b"LOC+153+FRMRS:139:6'DTM+136:202611281800:203'LOC+11+DZALG", 1
    )
    assert b"LOC+153+FRMRS" in data
    count = int(data.split(b"UNT+")[1].split(b"+")[0])
    data = data.replace(b"UNT+%d+" % count, b"UNT+%d+" % (count + 2))
    result = translate(data, DecodeContext(sender="terminal-djendjen"))
    assert result.rejection is None, result.rejection
    [report] = result.documents
    assert isinstance(report, TerminalOperationsReport)
    assert (report.call, report.complete) == (KEY, True)
    assert [m.container for m in report.movements] == ["CMAU3000009", "CMAU3000014"]


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"BGM+44+", b"BGM+45+", "UNKNOWN_REPORT_TYPE"),
        (b"9454436:146", b"9454431:146", "INVALID_IMO_NUMBER"),
        (b"LOC+11+DZALG", b"LOC+11+QQALG", "INVALID_LOCODE"),
        (b"LOC+11+DZALG:139:6+DPWD:TER:ZZZ'", b"", "MISSING_PORT_OF_CALL"),
        (b"EQD+CN+CMAU3000014", b"EQD+CN+", "MISSING_CONTAINER_NUMBER"),
        (b"TDT+20+0MA1RN1MA+", b"TDT+20++", "MISSING_VOYAGE_NUMBER"),
    ],
)
def test_coarri_bad_input_is_refused(old: bytes, new: bytes, reason: str) -> None:
    assert old in COARRI_SAMPLE
    assert _refused(coarri.decode, COARRI_SAMPLE.replace(old, new)).reason == reason


# ------------------------------------------------------------ the codec registry


def test_the_registry_finds_the_call_codecs_and_translate_decodes_them() -> None:
    for data, message_type, document in (
        (CUSREP_SAMPLE, "CUSREP", VesselCall),
        (IFTDGN_SAMPLE, "IFTDGN", None),
        (COARRI_SAMPLE, "COARRI", TerminalOperationsReport),
    ):
        (ic,) = parse(data)
        codec = codec_for(ic.messages[0])
        assert codec is not None and codec.message_type == message_type
        result = translate(data, DecodeContext(sender="apcs"))
        assert result.rejection is None, result.rejection
        assert [d.header.document_type for d in result.documents] == [
            (document or type(result.documents[0])).__name__
        ]
        assert result.documents[0].header.source.message_type == message_type


def test_apcs_and_the_djendjen_terminal_may_send_the_call_messages() -> None:
    partners = load(env={}).partners
    assert {"CUSREP", "IFTDGN", "COARRI"} <= set(partners["apcs"].message_types)
    terminal = partners["terminal-djendjen"]
    assert (terminal.role, terminal.formats, terminal.message_types) == (
        "port",
        ("edifact",),
        ("COARRI",),
    )


# ----------------------------------------------------------------- APCS XML


def test_apcs_xml_arrival_is_a_vessel_call() -> None:
    data = (XML / "arrival-msc-valencia-oran.xml").read_bytes()
    call = apcs_calls.decode(data, DecodeContext(sender="apcs"))
    assert isinstance(call, VesselCall)
    assert call.key == CallKey("9703291", "611E", "DZORN")
    assert (call.berth, call.last_port, call.next_port, call.crew_count) == (
        "M4",
        "ESVLC",
        "DZMOS",
        24,
    )
    assert call.conveyance.carrier == "MSC Méditerranée Algérie"
    assert call.cargo is not None and "أرز" in (call.cargo.description or "")
    assert call.eta == dt.datetime(2026, 12, 3, 5, tzinfo=UTC)
    assert call.header.source.format == "XML"
    assert validate(to_xml(call)) == [] and from_xml(to_bytes(call)) == call


def test_apcs_xml_terminal_report_is_a_discharge_report() -> None:
    data = (XML / "discharge-msc-oran.xml").read_bytes()
    report = apcs_calls.decode(data)
    assert isinstance(report, TerminalOperationsReport)
    assert (report.call, report.terminal, report.complete) == (
        CallKey("9703291", "611E", "DZORN"),
        "EPO-TC",
        True,
    )
    assert [(m.container, m.seals, m.transport_document) for m in report.movements] == [
        ("MSCU1234566", ("SL0012345",), "MEDUAB123456"),
        ("TGHU7654320", ("SL0012346",), "MEDUAB123457"),
    ]
    assert validate(to_xml(report)) == [] and from_xml(to_bytes(report)) == report


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b'imo="9703291"', b'imo="9703292"', "INVALID_IMO_NUMBER"),
        (b'">DZORN</PortOfCall>', b'">ESVLC</PortOfCall>', "UNKNOWN_PORT"),
        (b"<LastPort>ESVLC", b"<LastPort>XXVLC", "INVALID_LOCODE"),
        (b"<Voyage>611E</Voyage>", b"", "SCHEMA_INVALID"),
        (b"ArrivalNotification", b"Arrival", "UNSUPPORTED_DOCUMENT"),
        (b'<?xml version="1.0" encoding="UTF-8"?>', b"<!DOCTYPE a [<!ENTITY x 'y'>]>", "XML"),
    ],
)
def test_apcs_xml_bad_input_is_refused(old: bytes, new: bytes, reason: str) -> None:
    data = (XML / "arrival-msc-valencia-oran.xml").read_bytes()
    assert old in data
    error = _refused(apcs_calls.decode, data.replace(old, new))
    assert reason in error.reason


def test_the_apcs_xml_schema_refuses_an_unknown_operation() -> None:
    data = (XML / "discharge-msc-oran.xml").read_bytes().replace(b'"discharge"', b'"shift"')
    assert _refused(apcs_calls.decode, data).reason == "SCHEMA_INVALID"
