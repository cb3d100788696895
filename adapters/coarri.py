"""COARRI (container discharge/loading report, D95B onwards) -> :class:`TerminalOperationsReport`.

Read in the structure of the directory tables (D95B: BGM, SG1 TDT-RFF-LOC-DTM, SG2 NAD-CTA,
SG3 EQD-RFF-TMD-DTM-LOC-MEA-...-SEL-FTX-DGS-SG5(TDT-LOC-DTM)-NAD, CNT; D00B onwards add a
LOC-DTM group under TDT, read the same way):

==========================================  ================================================
``BGM+44`` / ``BGM+46``                     discharge report / loading report
``TDT+20+<voyage>+...+<IMO>:146:11:<name>``  the vessel: its IMO number names the call
``LOC+11`` / ``LOC+9`` (before any EQD)     port of call (discharge / loading) and terminal
                                            (C519 3223)
``DTM+206`` (before any EQD)                operation complete, and when
``EQD+CN+<id>+<size type>++<status>+<F/E>``  one container: 8169 5 full, 4 empty
``RFF+BM``                                  its bill of lading
``DTM+203``                                 when it was discharged or loaded
``LOC+147`` / ``LOC+9`` / ``LOC+11``        stowage cell, port of loading, port of discharge
``MEA+AAE+G|VGM|EGW+KGM:<mass>``            gross mass (EGW as the corpus's terminal writes it)
``SEL+<seal>``                              seals
==========================================  ================================================

>>> data = (b"UNH+1+COARRI:D:95B:UN'BGM+44+R1+9'TDT+20+V1+1+++++9454436:146:11'"
...         b"LOC+11+DZDJE:139:6+DJT:TER:ZZZ'EQD+CN+CMAU1234567+45G1++3+5'SEL+A1'CNT+16:1'UNT+8+1'")
>>> report = decode(data)[0]
>>> report.operation, report.call.port_of_call, report.terminal, report.movements[0].seals
('discharge', 'DZDJE', 'DJT', ('A1',))
"""

from __future__ import annotations

from adapters import call_segments as cs
from adapters.common import DecodeContext, MappingError, Positions, to_kg
from adapters.edifact import Interchange, Message
from gateway.domain.calls import CallKey, ContainerMovement, Operation, TerminalOperationsReport
from gateway.domain.model import Conveyance

MESSAGE_TYPE = "COARRI"
REPORTS: dict[str, Operation] = {"44": "discharge", "46": "load"}
GROSS_MEA = ("G", "VGM", "EGW", "AAD")
COMPLETE_DTM = "206"  # end date/time: the operation is finished for the call


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> TerminalOperationsReport:
    """One COARRI message as a canonical terminal operations report."""
    context = context or DecodeContext()
    pos: Positions = positions if positions is not None else {}
    body, bgm, number = cs.begin(message, MESSAGE_TYPE)
    pos["document_number"] = (bgm.number, "BGM")
    operation = REPORTS.get(bgm.get(0, 0))
    if operation is None:
        raise MappingError(
            "UNKNOWN_REPORT_TYPE",
            f"COARRI {message.reference} BGM document name {bgm.get(0, 0)!r} is neither "
            "44 (discharge report) nor 46 (loading report)",
            f"segment {bgm.number} BGM element 0",
            bgm.number,
        )
    conveyance = Conveyance()
    tdt = None
    port_of_call = terminal = None
    completed_at = None
    complete = False
    movements: list[ContainerMovement] = []
    decimal_mark = interchange.delimiters.decimal
    for seg in body:
        tag = seg.tag
        move = movements[-1] if movements else None
        if tag == "EQD":
            ident = seg.get(1).replace(" ", "").upper()
            if not ident:
                raise MappingError(
                    "MISSING_CONTAINER_NUMBER",
                    f"COARRI {message.reference}: an EQD names no container (C237 8260)",
                    f"segment {seg.number} EQD element 1",
                    seg.number,
                )
            full = seg.get(5)
            movements.append(
                ContainerMovement(
                    container=ident[:35],
                    operation=operation,
                    size_type=seg.get(2)[:35] or None,
                    full=True if full == "5" else False if full == "4" else None,
                )
            )
            pos[f"movements[{len(movements) - 1}]"] = (seg.number, tag)
        elif move is None:
            if tag == "TDT" and tdt is None:
                tdt = seg
                cs.vessel(seg, conveyance)
            elif tag == "LOC" and seg.get(0) in ("11", "9", "60") and port_of_call is None:
                port_of_call = cs.place(seg)
                terminal = seg.get(2)[:35] or None
                pos["call.port_of_call"] = (seg.number, tag)
            elif tag == "DTM" and seg.get(0, 0) == COMPLETE_DTM:
                complete, completed_at = True, cs.when(seg)[1]
        elif tag == "RFF" and seg.get(0, 0) == "BM" and seg.get(0, 1):
            move.transport_document = seg.get(0, 1)[:35]
        elif tag == "DTM" and seg.get(0, 0) == "203":
            move.time = cs.when(seg)[1]
        elif tag == "LOC" and seg.get(1):
            qualifier = seg.get(0)
            if qualifier == "147":
                move.stowage_position = seg.get(1).strip()[:35]
            elif qualifier == "9":
                move.place_of_loading = cs.place(seg)
            elif qualifier == "11":
                move.place_of_discharge = cs.place(seg)
        elif tag == "MEA" and seg.get(1) in GROSS_MEA:
            move.gross_mass_kg = to_kg(seg.get(2, 1), seg.get(2, 0), decimal_mark)
        elif tag == "SEL" and seg.get(0):
            move.seals += (seg.get(0)[:35],)
    where = f"COARRI {message.reference}"
    imo = cs.require_imo(conveyance, tdt, where)
    voyage = cs.require_voyage(conveyance, tdt, where)
    port = cs.require_port_of_call(port_of_call, message, "LOC+11 or LOC+9 before the first EQD")
    return TerminalOperationsReport(
        header=cs.header(
            message, interchange, context, bgm, TerminalOperationsReport.DOCUMENT_TYPE, number
        ),
        document_number=number,
        call=CallKey(imo, voyage, port),
        operation=operation,
        terminal=terminal,
        complete=complete,
        completed_at=completed_at,
        movements=movements,
    )


def is_coarri(message: Message) -> bool:
    return message.type == MESSAGE_TYPE


def decode(data: bytes, context: DecodeContext | None = None) -> list[TerminalOperationsReport]:
    """Every COARRI message in ``data`` as a terminal operations report."""
    return cs.decode_all(data, context, is_coarri, decode_message)
