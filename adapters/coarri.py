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

A container's own segments come before its dangerous goods (``DGS``; D00B's group DGS-FTX-MEA),
its damage (``DAM``), its on-carriage (``TDT-LOC-DTM``) and the rest of its group (``EQA``,
``PIA``, ``COD``, ``HAN``, ``NAD``): from the first of these on, a ``MEA``, ``LOC`` or ``DTM``
is the dangerous goods' or the on-carriage's, never the container's gross mass, place of
discharge or time (carried in NotMapped).

>>> data = (b"UNH+1+COARRI:D:95B:UN'BGM+44+R1+9'TDT+20+V1+1+++++9454436:146:11'"
...         b"LOC+11+DZDJE:139:6+DJT:TER:ZZZ'EQD+CN+CMAU1234567+45G1++3+5'SEL+A1'CNT+16:1'UNT+8+1'")
>>> report = decode(data)[0]
>>> report.operation, report.call.port_of_call, report.terminal, report.movements[0].seals
('discharge', 'DZDJE', 'DJT', ('A1',))
"""

from __future__ import annotations

from adapters import call_segments as cs
from adapters.common import DecodeContext, MappingError, Positions
from adapters.cuscar_segments import vessel
from adapters.edifact import Interchange, Message, Segment
from adapters.residue import NOTHING, Residue, Shape, cut
from gateway.domain.calls import CallKey, ContainerMovement, Operation, TerminalOperationsReport
from gateway.domain.model import Conveyance

MESSAGE_TYPE = "COARRI"
REPORTS: dict[str, Operation] = {"44": "discharge", "46": "load"}
GROSS_MEA = ("G", "VGM", "EGW", "AAD")
COMPLETE_DTM = "206"  # end date/time: the operation is finished for the call
# What the report keeps of its TDT: the voyage and the IMO number (with the list and agency
# that say it is one), which name the call; the rest is the call's (CUSREP), carried here.
CALL_VESSEL_SHAPE: Shape = (1, 1, 0, 0, 0, 0, 0, 3)
# The segments of a container's group that come after its own (D95B SG3, D00B SG6): from the
# first of them on, what follows is theirs (a DGS's MEA, an on-carriage's LOC and DTM).
AFTER_CONTAINER = frozenset(("DGS", "EQA", "PIA", "COD", "HAN", "DAM", "TDT", "NAD"))


def decode_message(
    message: Message,
    interchange: Interchange,
    context: DecodeContext | None = None,
    positions: Positions | None = None,
) -> TerminalOperationsReport:
    """One COARRI message as a canonical terminal operations report; what it does not map is
    carried in its NotMapped section (a field already filled keeps the first value)."""
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
    residue = cs.residue_of(message, bgm)
    conveyance = Conveyance()
    tdt = None
    port_of_call = terminal = None
    completed_at = None
    complete = False
    movements: list[ContainerMovement] = []
    past_container = False  # in the current group, past the container's own segments
    decimal_mark = interchange.delimiters.decimal
    for seg in body:
        tag = seg.tag
        move = movements[-1] if movements else None
        shape: Shape = NOTHING
        if tag == "BGM" and seg.number == bgm.number:
            shape = (1, 1, 1)  # 1001 is the operation
        elif tag == "EQD":
            found, shape = _movement(seg, operation, message.reference, residue)
            movements.append(found)
            past_container = False
            pos[f"movements[{len(movements) - 1}]"] = (seg.number, tag)
        elif move is None:
            if tag == "TDT" and tdt is None:
                tdt = seg
                vessel(seg, conveyance, residue)
                shape = CALL_VESSEL_SHAPE
            elif tag == "LOC" and seg.get(0) in ("11", "9", "60") and port_of_call is None:
                port_of_call = cs.place(seg)
                residue.implied(seg, 0, 0, "11" if operation == "discharge" else "9")
                terminal = cut(residue, seg, 2, 0, 35) or None
                pos["call.port_of_call"] = (seg.number, tag)
                shape = (*cs.place_shape(seg), 1)  # the terminal's code (C519 3223)
            elif tag == "DTM" and seg.get(0, 0) == COMPLETE_DTM and not complete:
                complete, completed_at = True, cs.when(seg)[1]
                shape = cs.DTM_SHAPE if completed_at is not None else (1,)
        elif tag in AFTER_CONTAINER or past_container:
            past_container = True  # a DGS's MEA, an on-carriage's LOC: carried
        else:
            shape = _movement_segment(seg, move, decimal_mark, residue)
        residue.segment(seg, shape)
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
        not_mapped=residue.finish(),
    )


def _movement(
    seg: Segment, operation: Operation, reference: str, residue: Residue
) -> tuple[ContainerMovement, Shape]:
    """An EQD: the container discharged or loaded, its size type and whether it is full."""
    ident = seg.get(1).replace(" ", "").upper()
    if not ident:
        raise MappingError(
            "MISSING_CONTAINER_NUMBER",
            f"COARRI {reference}: an EQD names no container (C237 8260)",
            f"segment {seg.number} EQD element 1",
            seg.number,
        )
    if len(seg.get(1)) > 35:
        residue.keep(seg, 1)
    full = seg.get(5)
    found = ContainerMovement(
        container=ident[:35],
        operation=operation,
        size_type=cut(residue, seg, 2, 0, 35) or None,
        full=True if full == "5" else False if full == "4" else None,
    )
    size = seg.element(2)
    size_width = 3 if size[1:2] in ((), ("",), ("102",)) and size[2:3] in ((), ("",), ("5",)) else 1
    # 8053 CN is the container the movement is of; 8077 and the status (8249) are carried.
    return found, (
        1 if seg.get(0) in ("", "CN") else 0,
        1,
        size_width,
        0,
        0,
        1 if full in ("", "4", "5") else 0,
    )


def _movement_segment(
    seg: Segment, move: ContainerMovement, decimal_mark: str, residue: Residue
) -> Shape:
    """A segment of a container's group (after its EQD): the shape of what it mapped."""
    tag, qualifier = seg.tag, seg.get(0, 0)
    if tag == "RFF" and qualifier == "BM" and seg.get(0, 1) and move.transport_document is None:
        move.transport_document = cut(residue, seg, 0, 1, 35)
        return (2,)
    if tag == "DTM" and qualifier == "203" and move.time is None:
        move.time = cs.when(seg)[1]
        return cs.DTM_SHAPE if move.time is not None else NOTHING
    if tag == "LOC" and seg.get(1):
        if qualifier == "147" and move.stowage_position is None:
            move.stowage_position = seg.get(1).strip()[:35]
            if len(seg.get(1).strip()) > 35:
                residue.keep(seg, 1)
            return (1, 1)
        if qualifier == "9" and move.place_of_loading is None:
            move.place_of_loading = cs.place(seg)
            return cs.place_shape(seg)
        if qualifier == "11" and move.place_of_discharge is None:
            move.place_of_discharge = cs.place(seg)
            return cs.place_shape(seg)
    elif tag == "MEA" and seg.get(1) in GROSS_MEA and move.gross_mass_kg is None:
        move.gross_mass_kg, shape = cs.gross_mass(seg, decimal_mark, residue)
        if move.gross_mass_kg is not None:
            residue.implied(seg, 1, 0, GROSS_MEA[0])
        return shape
    elif tag == "SEL" and seg.get(0):
        move.seals += (cut(residue, seg, 0, 0, 35),)
        return (1,)  # who sealed (C215) has no field here: carried
    return NOTHING


def is_coarri(message: Message) -> bool:
    return message.type == MESSAGE_TYPE


def decode(data: bytes, context: DecodeContext | None = None) -> list[TerminalOperationsReport]:
    """Every COARRI message in ``data`` as a terminal operations report."""
    return cs.decode_all(data, context, is_coarri, decode_message)
