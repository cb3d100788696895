"""``edigw demo``: the gateway's main job, end to end, in one command.

Starts ``edigw run`` in a child process with its own queue-name prefix, submits
the bundled samples as the port community system, waits until each one is
routed or dead-lettered, prints what became of it (including the CONTRL the
partner received and whether the signed manifest verifies), and stops the
gateway gracefully.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import click

from gateway.bootstrap import App, bootstrap
from gateway.config import INBOUND_ROLES, load
from gateway.messaging import broker
from gateway.messaging.topology import declare

FINAL = {"acknowledged"}
# The ship call of the samples (06 to 08, issue #17): once its manifest is routed, the demo
# plays customs and registers it under this MRN (a CustomsResponse on customs.responses), so
# that the CUSRES carries the MRN back before the terminal's discharge report comes.
CALL_MANIFEST = "06a-cuscar-cma-cgm-tage-algiers.edi"
MRN = "26DZALG0000421"
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "apcs"
MINISTRY_SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "ministries"
# Which ministry sends which bundled document; the last one is tampered with after signing.
MINISTRY_FILES = (
    ("agriculture", "ephyto-phyto-certificate.xml", False),
    ("commerce", "ubl-certificate-of-origin.xml", False),
    ("commerce", "national-import-licence.xml", False),
    ("industry", "national-pharma-authorisation.xml", False),
    ("industry", "national-pharma-authorisation.xml", True),
)


def _contrl_verdict(body: bytes) -> str:
    text = body.decode("latin-1")
    for seg in text.replace("\n", "").split("'"):
        if seg.startswith("UCI+"):
            action = seg.split("+")[4] if len(seg.split("+")) > 4 else "?"
            return {"7": "accepted", "4": "REJECTED", "8": "received"}.get(action[:1], action)
    return "?"


def _receipt_verdict(body: bytes) -> str:
    """'receipt accepted' / 'receipt REJECTED' from a signed ministry receipt."""
    from gateway.domain.xmlsafe import parse

    root = parse(body)
    outcome = next((el.text for el in root.iter() if str(el.tag).endswith("}Outcome")), "?")
    return f"receipt {'accepted' if outcome == 'accepted' else 'REJECTED'}"


def _signed_ministry_documents(app: App) -> list[tuple[str, str, bytes]]:
    """(partner, label, signed bytes) for the bundled ministry samples, signed with dev keys."""
    from gateway.domain.xmlsafe import parse

    pki = app.dev_pki() if MINISTRY_SAMPLES.is_dir() else None
    if pki is None:
        return []
    out = []
    for partner, name, tamper in MINISTRY_FILES:
        path = MINISTRY_SAMPLES / name
        if partner not in pki.identities or not path.exists():
            continue
        signed = pki.sign(partner, parse(path.read_bytes()))
        label = f"{partner}: {name}"
        if tamper:
            # Change one digit of the signed content: the signature must no longer verify.
            signed = _tamper(signed)
            label = f"{partner}: {name} (tampered)"
        out.append((partner, label, signed))
    return out


def _tamper(signed: bytes) -> bytes:
    """Flip the first digit inside the signed content (before the Signature element)."""
    end = signed.find(b"Signature")
    for i in range(len(signed[:end])):
        if signed[i : i + 1].isdigit() and signed[i - 1 : i] == b">":
            digit = b"1" if signed[i : i + 1] != b"1" else b"2"
            return signed[:i] + digit + signed[i + 1 :]
    return signed.replace(b"<", b"<!-- -->", 1)


# ------------------------------------------------------------ travellers (issue #18)
TRAVELLERS_SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "eservices"
# The French car on the bundled PAXLST (04): Luc Martin's Renault, ferry of 28 November.
FERRY, FERRY_DAY, CAR = "TARIQ IBN ZIYAD", dt.date(2026, 11, 28), "VF1RFA00X12345678"


def travellers(
    app: App, channel: Any, submitted: dict[str, tuple[str, str]], timeout: float
) -> list[tuple[str, str, bytes]]:
    """The customs portal pre-declares a TPD for the French car on the ferry's PAXLST (04):
    sent here (into ``submitted``) and decided before anything else (the border post's entry
    of the car, which it returns to be sent with the other samples, would be refused before
    its TPD)."""
    tpd = json.loads((TRAVELLERS_SAMPLES / "tpd-request.json").read_text("utf-8"))
    tpd.update(reference="TPD-2026-1128-00007", coTravellers=[])
    tpd["traveller"].update(
        givenNames="Luc",
        familyName="Martin",
        birthDate="1975-11-02",
        nationality="FR",
        residenceStatus="foreign_national",
        document={"type": "national_id", "number": "AK1234567", "issuingCountry": "FR"},
    )
    tpd["vehicle"].update(vin=CAR, registration="GK-421-LM", model="Clio")
    tpd["sailing"].update(vessel=FERRY, date=FERRY_DAY.isoformat())
    message_id = str(uuid.uuid4())
    broker.publish(
        channel,
        app.names.inbound("eservices"),
        "",
        json.dumps(tpd, ensure_ascii=False).encode(),
        message_id=message_id,
        content_type="application/json",
        headers={"x-edigw-filename": "tpd-request.json"},
    )
    submitted[message_id] = ("eservices", "eservices: tpd-request.json")
    click.echo(f"submitted eservices: tpd-request.json as {message_id}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(
        FINAL & {e.status for e in h.events} for h in app.journal.track(message_id)
    ):
        time.sleep(0.2)
    entry = json.loads((TRAVELLERS_SAMPLES / "border-event-entry.json").read_text("utf-8"))
    entry.update(tpd=tpd["reference"], vin=CAR, time="2026-11-30T10:32:00+01:00")
    return [("border", "border: border-event-entry.json", json.dumps(entry).encode())]


def sailing_page(app: App) -> list[str]:
    """The ferry's pre-clearance list as ``edigw travellers sailing`` prints it."""
    from gateway.domain.sailing import vessel_key
    from gateway.interfaces.cli_travellers import list_page
    from gateway.service.sailing import build_list
    from gateway.storage.travellers_retention import travellers_of

    built = build_list(travellers_of(app.journal), vessel_key(FERRY), FERRY_DAY, owner=None)
    return (
        []
        if built is None
        else ["", f"edigw travellers sailing '{FERRY}' {FERRY_DAY}:", *list_page(built)]
    )


def run_demo(config_path: str | None, samples: Path | None, timeout: float) -> int:
    samples = samples or SAMPLES
    files = sorted(p for p in samples.iterdir() if p.is_file())
    prefix = os.environ.get("EDIGW_NAME_PREFIX") or "demo."
    # The demo runs in development mode (issue #14): its signing key and the ministries'
    # anchors are generated into its own state directory; production would refuse both.
    base = load(path=config_path, env={**os.environ, "EDIGW_MODE": "development"})
    # Each demo run gets a state directory of its own: the journal would otherwise recognise
    # the bundled samples as identical resends of the previous run (answered, not re-routed).
    run_dir = base.state_dir / "demo" / time.strftime("%Y%m%dT%H%M%S")
    env = {
        **os.environ,
        "EDIGW_NAME_PREFIX": prefix,
        "EDIGW_STATE_DIR": str(run_dir),
        "EDIGW_MODE": "development",
    }
    with bootstrap(load(path=config_path, env=env)) as app:
        return _run(app, config_path, env, files, run_dir, prefix, timeout)


def _run(
    app: App,
    config_path: str | None,
    env: dict[str, str],
    files: list[Path],
    run_dir: Path,
    prefix: str,
    timeout: float,
) -> int:
    settings, names = app.settings, app.names
    click.echo(
        f"broker {settings.broker_url.split('@')[-1]}, queue prefix {prefix!r}, state in {settings.state_dir}/"
    )
    connection = app.broker.blocking(attempts=10)
    channel = broker.confirmed_channel(connection)
    declare(channel, app.topology)
    outbound = [names.outbound(p.id) for p in settings.partners_with_role(*INBOUND_ROLES)]
    for queue in (names.customs_core, names.customs_legacy, *outbound):
        channel.queue_purge(queue)  # results of earlier demo runs would confuse this one

    cmd = [sys.executable, "-m", "gateway", "--log-format", "json"]
    if config_path:
        cmd += ["--config", config_path]
    log_path = settings.state_dir / "demo-gateway.log"
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        gateway = subprocess.Popen([*cmd, "run"], env=env, stderr=log_file, stdout=log_file)
        try:
            submitted: dict[str, tuple[str, str]] = {}  # message id -> (partner, label)
            batches = [("apcs", p.name, p.read_bytes()) for p in files]
            batches += _signed_ministry_documents(app)
            batches += travellers(app, channel, submitted, timeout)
            journal = app.journal
            deadline = time.monotonic() + timeout
            # Up to the call's manifest, then its MRN from customs, then the rest (the call's
            # discharge report among them).
            split = next((i + 1 for i, b in enumerate(batches) if b[1] == CALL_MANIFEST), 0)
            for part in (batches[:split], batches[split:]):
                for partner, label, data in part:
                    message_id = str(uuid.uuid4())
                    broker.publish(
                        channel,
                        names.inbound(partner),
                        "",
                        data,
                        message_id=message_id,
                        content_type={b"<": "application/xml", b"{": "application/json"}.get(
                            data[:1], "application/edifact"
                        ),
                        headers={"x-edigw-filename": label},
                    )
                    submitted[message_id] = (partner, label)
                    click.echo(f"submitted {label} as {message_id}")
                _wait(app, set(submitted), deadline)
                manifest = next((m for m, v in submitted.items() if v[1] == CALL_MANIFEST), None)
                if manifest is not None and part and part[-1][1] == CALL_MANIFEST:
                    _register_manifest(app, channel, manifest, deadline)
            answers: dict[str, list[str]] = {}
            for partner in sorted({p for p, _ in submitted.values()}):
                while True:
                    method, props, body = channel.basic_get(names.outbound(partner), auto_ack=True)
                    if method is None:
                        break
                    kind = props.type or "?"
                    if kind == "CONTRL":
                        answer = f"CONTRL {_contrl_verdict(body)}"
                    elif kind == "CUSRES":
                        answer = "CUSRES MRN" if MRN.encode() in body else "CUSRES"
                    elif body[:1] == b"<":
                        answer = _receipt_verdict(body)
                    else:
                        answer = kind
                    answers.setdefault(props.correlation_id, []).append(answer)
            routed = 0
            reports = []
            while True:
                method, props, body = channel.basic_get(names.customs_core, auto_ack=True)
                if method is None:
                    break
                routed += 1
                if props.type == "ManifestDiscrepancyReport":
                    reports.append(body)
            click.echo("")
            click.echo(f"{'file':<56} {'outcome':<14} {'answer to the partner':<38} detail")
            failures = 0
            for mid, (_partner, label) in submitted.items():
                mine = [h for h in journal.track(mid) if h.message_id == mid]
                events = mine[0].events if mine else []
                statuses = {e.status for e in events}
                if "dead-lettered" in statuses:
                    outcome = "dead-lettered"
                    detail = next(e.detail for e in events if e.status == "rejected")
                elif "routed" in statuses:
                    outcome = "routed"
                    detail = "; ".join(e.detail for e in events if e.status == "routed")
                elif "decided" in statuses:  # a border event: answered, nothing to route
                    outcome = "answered"
                    detail = next(e.detail for e in events if e.status == "decided")
                else:
                    outcome, detail = "NO ANSWER", f"nothing after {timeout:.0f} s (see {log_path})"
                    failures += 1
                answer = " + ".join(answers.get(mid, ["-"]))
                click.echo(f"{label:<56} {outcome:<14} {answer:<38} {detail}")
            click.echo("")
            for report in reports:
                click.echo(_call_told(report))
            click.echo(
                f"{routed} signed canonical document(s) reached {names.customs_core}; "
                f"dead letters wait in {names.dead_letter(names.inbound('<partner>'))} "
                f"(`EDIGW_STATE_DIR={run_dir} edigw track <message id>` shows each history)"
            )
            for line in sailing_page(app):
                click.echo(line)
            return 1 if failures else 0
        finally:
            gateway.send_signal(signal.SIGTERM)
            try:
                gateway.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gateway.kill()
            connection.close()
            click.echo(f"gateway stopped (exit {gateway.returncode}); its log: {log_path}")


def _wait(app: App, pending: set[str], deadline: float) -> None:
    """Until each of ``pending`` (inbound message ids) was acknowledged, or ``deadline``."""
    while pending and time.monotonic() < deadline:
        for mid in list(pending):
            statuses = {
                e.status for h in app.journal.track(mid) if h.message_id == mid for e in h.events
            }
            if statuses & FINAL:
                pending.discard(mid)
        time.sleep(0.2)


def _register_manifest(app: App, channel: Any, inbound_id: str, deadline: float) -> None:
    """Play customs: register the call's routed manifest under :data:`MRN` (a CustomsResponse
    on the responses path), and wait until the gateway answered it (the CUSRES)."""
    from gateway.domain.canonical_xml import to_bytes, to_xml
    from gateway.domain.model import CustomsResponse, Header
    from gateway.storage.journal import derived_id

    response_id = str(uuid.uuid4())
    response = CustomsResponse(
        Header.new(sender="customs", document_type="CustomsResponse", business_reference=MRN),
        MRN,
        "accepted",
        derived_id(inbound_id, 0),
        "MAN-DZALG-2612-0042",
        channel="green",
    )
    broker.publish(
        channel,
        app.names.customs_exchange,
        "responses",
        to_bytes(to_xml(response)),
        message_id=response_id,
        content_type="application/xml",
        type="CustomsResponse",
    )
    click.echo(f"customs registered the call's manifest: MRN {MRN} ({response_id})")
    while time.monotonic() < deadline:
        done = app.journal.processed(response_id)
        if done is not None and done.state == "done":
            return
        time.sleep(0.2)


def _call_told(report: bytes) -> str:
    """One line per discrepancy of a ManifestDiscrepancyReport customs received."""
    from gateway.domain.calls import ManifestDiscrepancyReport
    from gateway.domain.canonical_xml import from_xml

    doc = from_xml(report)
    assert isinstance(doc, ManifestDiscrepancyReport)
    lines = [
        f"call {doc.call} reconciled ({doc.basis}): {doc.containers_declared} container(s) "
        f"declared, {doc.containers_discharged} discharged; ManifestDiscrepancyReport to customs"
    ]
    for d in doc.discrepancies:
        bills = ", ".join(
            b.transport_document + (f" (MRN {b.mrn})" if b.mrn else "") + f", APERAK to {b.sender}"
            for b in d.bills
        )
        lines.append(f"  {d.kind} {d.container}" + (f": bill {bills}" if bills else ""))
    return "\n".join(lines)
