"""``edigw contrl FILE`` prints exactly the CONTRL the running gateway sends (issue #16, item 6).

The corpus, the test data, the samples and hypothesis inputs (mutated interchanges: other
recipients, message types, bare messages, a partner's CONTRL, flipped bytes, cut files) go
through both paths: the command (click's runner, the default configuration, partner apcs)
and the gateway's decision (``DecisionService.decide`` with a journal of its own for each
input, so that no input is a resend of another). The CONTRLs are compared byte for byte
once the two things that must differ are normalised, explicitly: the UNB date and time of
preparation (S004) and the interchange control reference (UNB/UNZ 0020, and the CONTRL
messages' UNH/UNT 0062 made of it: ``ref``, ``ref-2`` ...). Where the gateway sends no
CONTRL the command prints nothing. Every CONTRL passes our validator and pydifact.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.edifact import Interchange, Segment, parse, serialize
from gateway.config import Settings, load
from gateway.interfaces.cli import main
from gateway.messaging.naming import Names
from gateway.security.signing import Signer, ensure_dev_keys
from gateway.service.plan import Delivery
from gateway.storage.journal import SqliteJournal
from gateway.storage.spool import content
from tests.corpus import CORPUS
from tests.decisions import decision_service
from tests.edifact_builders import VALID, interchange, message
from tests.helpers import ROOT, assert_valid_contrl

NAMES = Names("t.")
QUEUE = NAMES.inbound("apcs")
FILES = sorted(
    p
    for d in (ROOT / "tests" / "data", ROOT / "samples", CORPUS / "edifact")
    if d.is_dir()
    for p in d.rglob("*.edi")
)


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    keys = tmp_path_factory.mktemp("keys")
    ensure_dev_keys(keys / "k.pem", keys / "c.pem")
    return Signer.from_files(keys / "k.pem", keys / "c.pem")


@pytest.fixture(scope="module")
def gateway_settings() -> Settings:
    return load(env={})


def gateway_contrl(signer: Signer, settings: Settings, data: bytes, spool: Path) -> bytes | None:
    """The CONTRL the decision service plans for ``data`` from apcs (a journal of its own)."""
    journal = SqliteJournal(":memory:")
    try:
        service = decision_service(settings, journal, signer, spool, NAMES, QUEUE)
        partner = settings.partners["apcs"]
        d = Delivery(data, "in-diff", None, {}, QUEUE, "", False)
        early = service.receive(partner, QUEUE, d, "in-diff", "in-diff")
        plan = service.decide(partner, QUEUE, d, "in-diff", "in-diff", lambda: early)
    finally:
        journal.close()
    found = [content(p.body) for p in plan.publishes if p.type == "CONTRL"]
    assert len(found) <= 1
    return found[0] if found else None


def command_contrl(data: bytes, tmp: Path) -> tuple[bytes | None, int]:
    """What ``edigw contrl FILE --partner apcs`` prints (None: nothing), and its exit."""
    path = tmp / "input.edi"
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["contrl", str(path), "--partner", "apcs"])
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return result.stdout_bytes or None, result.exit_code


def normalised(contrl: bytes) -> bytes:
    """``contrl`` with its date and time of preparation and its control reference replaced
    by fixed values: the only things the command and the gateway write differently."""
    [ic] = parse(contrl)
    assert ic.header is not None and ic.trailer is not None
    reference = ic.control_reference

    def fixed(segment: Segment, values: dict[int, tuple[str, ...]]) -> Segment:
        elements = tuple(values.get(i, e) for i, e in enumerate(segment.elements))
        return Segment(segment.tag, elements, segment.number, segment.repeats)

    def renamed(value: str) -> str:
        assert value == reference or value.startswith(reference + "-"), value
        return "REF" + value[len(reference) :]

    messages = []
    for m in ic.messages:
        unh, *body, unt = m.segments
        ref = renamed(m.reference)
        segments = [fixed(unh, {0: (ref,)}), *body, fixed(unt, {1: (ref,)})]
        messages.append(dataclasses.replace(m, reference=ref, segments=segments))
    header = fixed(ic.header, {3: ("000000", "0000"), 4: ("REF",)})
    trailer = fixed(ic.trailer, {1: ("REF",)})
    same: Interchange = dataclasses.replace(
        ic, header=header, trailer=trailer, messages=messages, control_reference="REF"
    )
    return serialize(same, recount=False, newline="\n")


def same_answer(
    signer: Signer, settings: Settings, data: bytes, tmp: Path
) -> tuple[bytes | None, int]:
    sent = gateway_contrl(signer, settings, data, tmp / "spool")
    printed, status = command_contrl(data, tmp)
    assert (printed is None) == (sent is None), (printed, sent)
    if sent is not None and printed is not None:
        assert_valid_contrl(sent)
        assert normalised(printed) == normalised(sent)
    return printed, status


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_command_prints_the_gateways_contrl_for_every_file(
    path: Path, signer: Signer, gateway_settings: Settings, tmp_path: Path
) -> None:
    same_answer(signer, gateway_settings, path.read_bytes(), tmp_path)


def test_the_files_are_there() -> None:
    assert len(FILES) >= 40


# --- fuzz: interchanges mutated the ways partners get them wrong

HEAD = VALID[: VALID.index("UNH+")]
INVOIC = "UNH+9+INVOIC:D:96A:UN'BGM+380+INV-1+9'DTM+137:20261207:102'UNT+4+9'"
THEIR_CONTRL = "UNH+1+CONTRL:D:3:UN'UCI+7+CUSTOMS:ZZZ+APCS:ZZZ+7'UNT+3+1'"
TYPES = ["CUSCAR", "INVOIC", "CONTRL", "APERAK", "CUSRES", "PAXLST", "", "cuscar"]


@st.composite
def inputs(draw: st.DrawFn) -> bytes:
    parts = draw(
        st.lists(
            st.sampled_from(["cuscar", "bad-cuscar", "invoic", "their-contrl"]),
            min_size=1,
            max_size=3,
        )
    )
    bodies = []
    for i, part in enumerate(parts, start=1):
        if part == "invoic":
            bodies.append(INVOIC.replace("+9+", f"+{i}+").replace("+4+9'", f"+4+{i}'"))
        elif part == "their-contrl":
            bodies.append(THEIR_CONTRL.replace("UNH+1+", f"UNH+{i}+").replace("+3+1'", f"+3+{i}'"))
        else:
            container = "MSCU1234565" if part == "bad-cuscar" else "MSCU1234566"
            bodies.append(message(str(i), f"MAN-DZALG-{i:04d}", container=container))
    data = interchange(*bodies, reference=draw(st.sampled_from(["R1", "R0001", "", "A" * 20])))
    text = data.decode("latin-1")
    recipient = draw(st.sampled_from(["CUSTOMS", "CUSTOMS", "PORTAUTH", "", "customs"]))
    text = text.replace("+CUSTOMS:ZZZ+", f"+{recipient}:ZZZ+", 1)
    if draw(st.booleans()):
        kind = draw(st.sampled_from(TYPES))
        text = text.replace("UNH+1+CUSCAR:", f"UNH+1+{kind}:", 1)
    if draw(st.integers(0, 9)) == 0:  # bare messages
        text = text[len(HEAD) : text.rindex("UNZ+")]
    data = text.encode("latin-1")
    if draw(st.integers(0, 3)) == 0:  # a flipped byte
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if draw(st.integers(0, 5)) == 0:  # cut short
        data = data[: draw(st.integers(0, len(data)))]
    return data


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=inputs())
def test_property_the_command_prints_the_gateways_contrl(
    data: bytes, signer: Signer, gateway_settings: Settings, tmp_path: Path
) -> None:
    same_answer(signer, gateway_settings, data, tmp_path)


# --- what the command says when the gateway sends no CONTRL


def test_no_contrl_for_a_partners_contrl_and_none_for_bare_messages(tmp_path: Path) -> None:
    contrl = f"{HEAD}{THEIR_CONTRL}UNZ+1+R0001'".encode("latin-1")
    printed, status = command_contrl(contrl, tmp_path)
    assert (printed, status) == (None, 0)  # recorded by the gateway, not refused
    bare = message("1", "MAN-DZALG-0001").encode("latin-1")
    printed, status = command_contrl(bare, tmp_path)
    assert (printed, status) == (None, 1)  # dead-lettered
    path = tmp_path / "bare.edi"
    path.write_bytes(bare)
    result = CliRunner().invoke(main, ["contrl", str(path)])
    assert "NO_CONTRL\tbare.edi\tbare messages" in result.stderr
    assert "MISSING_UNB\tbare.edi\t" in result.stderr


def test_an_unknown_partner_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.edi"
    path.write_bytes(interchange(message("1", "MAN-1")))
    for partner in ("nobody", "commerce"):  # commerce: a ministry, answered by receipts
        result = CliRunner().invoke(main, ["contrl", str(path), "--partner", partner])
        assert result.exit_code == 2 and "answered by CONTRL: apcs, terminal-djendjen" in (
            result.stderr
        )
