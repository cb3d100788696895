"""The console's ship-call and sailing pages (issue #17 point 6, issue #18 point 3).

Flask's test client on an application with its real journal (SQLite, in tmp_path) and no
broker (these pages read the journal only), filled by the calls and travellers' services as
``edigw run`` fills it: content, role checks, escaping of partner text, the live figures, and
travellers' personal data shown to the roles allowed and never logged.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gateway.bootstrap import bootstrap
from gateway.config import Settings, load
from gateway.domain.calls import CallKey
from gateway.interfaces.console import create_app
from gateway.interfaces.console.identity import hash_password
from gateway.logs import configure
from gateway.service import calls, sailing
from gateway.service.calls import CallPolicy
from gateway.service.travellers_desk import travellers_service
from gateway.storage.call_records import CallReportRecord
from gateway.storage.journal import SqliteJournal
from tests.travellers_data import currency, one_of_each_group, passenger_list, tpd, vin
from tests.unit.test_calls_service import ROOT, SAMPLES, decoded, manifest, vessel_call

PASSWORD = "correct horse battery staple"
MRN = "26DZALG0000421"
CALL = "/calls/9454436/0MA1RN1MA"
SAILING = "/travellers/sailings/TARIQ%20IBN%20ZIYAD/2026-07-14"
HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="alert(1)">'
# What the sailing's travellers are, and must not be anywhere a viewer or a log sees.
PERSONAL = (
    "BENAISSA",
    "Benaïssa",
    "KARIM",
    "197845612",
    "ZEDDAM",
    "PZ3000333",
    "AMRANI",
    "PA2000222",
)
CALL_DOCUMENTS = (
    SAMPLES / "06-cusrep-cma-cgm-marseille-algiers.edi",
    ROOT / "tests" / "data" / "calls" / "cuscar-cma-cgm-tage-algiers.edi",
    SAMPLES / "07-iftdgn-cma-cgm-paints.edi",
)
DISCHARGE = SAMPLES / "08-coarri-discharge-algiers.edi"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = load(
        {"console": {"access_log": "-"}},
        env={"EDIGW_STATE_DIR": str(tmp_path / "state"), "EDIGW_MODE": "development"},
    )
    journal = SqliteJournal(s.journal_path)
    try:
        for name, role in (("victor", "viewer"), ("olga", "operator"), ("ada", "admin")):
            assert journal.create_account(name, hash_password(PASSWORD), role, now=int(time.time()))
    finally:
        journal.close()
    return s


def fill(settings: Settings, *docs: Path) -> None:
    """File these call documents in the registry, as the decision service does."""
    journal = SqliteJournal(settings.journal_path)
    try:
        for path in docs:
            filing = calls.file(journal, CallPolicy(), decoded(path), "in-1")
            assert filing is not None and filing.problem is None
    finally:
        journal.close()


@pytest.fixture
def a_call(settings: Settings) -> Settings:
    """The samples' call: arrival, one manifest of three bills with an MRN, dangerous goods,
    a complete discharge with one container short."""
    fill(settings, *CALL_DOCUMENTS, DISCHARGE)
    journal = SqliteJournal(settings.journal_path)
    try:
        calls.register_mrn(journal, "apcs", "MAN-DZALG-2612-0042", MRN)
    finally:
        journal.close()
    return settings


@pytest.fixture
def a_sailing(settings: Settings) -> Settings:
    file_sailing(settings)
    return settings


def file_sailing(settings: Settings) -> None:
    """The Tariq Ibn Ziyad's sailing of 2026-07-14: one vehicle to see (another plate), one
    missing (no TPD), one ready; Karim's currency declaration."""
    journal = SqliteJournal(settings.journal_path)
    try:
        service = travellers_service(settings, journal)
        one_of_each_group(service)
        service.declare_currency(currency("CD-1", amounts=[("EUR", "4000")]), "c1")
    finally:
        journal.close()


def console(settings: Settings, name: str | None = "victor") -> FlaskClient:
    """A client signed in as ``name`` (a viewer by default; None: nobody)."""
    app = create_app(bootstrap(settings), settings.config.console)
    client = app.test_client()
    if name is not None:
        r = client.post(
            "/login",
            data={"operator": name, "password": PASSWORD, "csrf": _csrf(client.get("/login").text)},
        )
        assert r.status_code == 302, r.text
    return client


def rows(html: str, css_class: str) -> list[str]:
    """The text of each ``<tr class="css_class">``, tags removed."""
    found = re.findall(rf'<tr class="{css_class}"[^>]*>(.*?)</tr>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in found]


# ---------------------------------------------------------------- ship calls


def test_the_calls_list_filters_by_port_and_day_and_refuses_what_is_not_one(
    a_call: Settings,
) -> None:
    client = console(a_call)
    page = client.get("/calls").text
    assert rows(page, "call") == [
        "9454436/0MA1RN1MA/DZALG CMA CGM TAGE CALL-DZALG-2612-0042 2026-12-01 07:00 — active 1"
    ]
    assert f'href="{CALL}/DZALG"' in page
    assert rows(client.get("/calls?port=DZALG&from=2026-12-01").text, "call")
    assert rows(client.get("/calls?port=DZORN").text, "call") == []
    assert "No call at DZORN" in client.get("/calls?port=DZORN").text
    assert rows(client.get("/calls?from=2027-01-01").text, "call") == []
    for bad in ("port=ESVLC", "from=01/12/2026", "port=%3Cb%3E"):
        r = client.get(f"/calls?{bad}")
        assert r.status_code == 400, bad
        assert "<b>" not in r.text


def test_a_viewer_reads_one_call_with_everything_that_hangs_on_it(a_call: Settings) -> None:
    client = console(a_call, "victor")
    r = client.get(CALL)
    assert r.status_code == 200
    page = r.text
    assert "CMA CGM TAGE" in page and "call 9454436/0MA1RN1MA/DZALG" in page
    [m] = rows(page, "manifest")
    assert m.startswith("MAN-DZALG-2612-0042 apcs v1 original active linked 26DZALG0000421 3 3")
    assert [b.split()[0] for b in rows(page, "bill")] == [
        "CMDUMRS0421",
        "CMDUMRS0422",
        "CMDUMRS0423",
    ]
    assert f"{MRN}/3" in rows(page, "bill")[2]
    # Discharge progress, discharged of declared, and the reconciliation's state.
    assert '<progress data-live-progress="discharged/declared" max="3" value="2">' in page
    assert '<span data-live="discharged">2</span> discharged' in page
    assert '<strong data-live="state">final</strong>' in page
    [short] = rows(page, "discrepancy")
    assert short.startswith("short-landed CMAU3000020 CMDUMRS0423")
    assert '<span data-live="short_landed">1</span> short-landed' in page
    assert '<span data-live="over_landed">0</span> over-landed' in page
    assert len(rows(page, "container")) == 2
    # Dangerous goods: notified, and agreeing with the manifests.
    [dg] = rows(page, "dangerous")
    assert dg.startswith("1263 3")
    assert "The notified and the declared dangerous goods agree." in page
    # ... checked once the notification was filed after the manifest (issue #17, point 4).
    [check] = rows(page, "dangerous-check")
    assert check.endswith("DangerousGoodsNotification DG-DZALG-2612-0042 from apcs 1 1 0")
    # Bills and containers lead to their story.
    for ref in ("CMAU3000020", "CMDUMRS0423", f"{MRN}/3", "MAN-DZALG-2612-0042"):
        assert f'href="/track?ref={ref}"' in page, ref
    # Nothing on this page changes anything: no form but the header's search and sign-out.
    assert page.count("<form") == 2


def test_the_call_page_shows_the_loading_against_the_export_manifest(settings: Settings) -> None:
    """Issue #17, point 5: the export manifest (outward) and the loading report (complete):
    loaded of declared for loading, one short-shipped, one loaded and not declared."""
    data = ROOT / "tests" / "data" / "calls"
    fill(settings, *CALL_DOCUMENTS, data / "cuscar-cma-cgm-tage-export-algiers.edi")
    client = console(settings)
    before = client.get(f"{CALL}/DZALG/live.json").get_json()["totals"]
    assert (before["loading_declared"], before["loaded"], before["loading_state"]) == (
        2,
        0,
        "provisional",
    )
    fill(settings, data / "coarri-loading-algiers.edi")
    page = client.get(CALL).text
    export = [m for m in rows(page, "manifest") if m.startswith("EXP-DZALG-2612-0042")]
    assert export and " outward, linked " in export[0]
    assert '<progress data-live-progress="loaded/loading_declared" max="2" value="2">' in page
    assert '<strong data-live="loading_state">final</strong>' in page
    assert '<span data-live="short_shipped">1</span> short-shipped' in page
    assert '<span data-live="loaded_not_declared">1</span> loaded, not declared' in page
    assert [r.split()[0:2] for r in rows(page, "loading-discrepancy")] == [
        ["short-shipped", "CMAU3000040"],
        ["loaded,", "not"],
    ]
    assert "TGHU7000015" in rows(page, "loading-discrepancy")[1]
    # The discharge is the inward manifest's alone.
    assert '<span data-live="declared">3</span> declared for discharge here' in page
    after = client.get(f"{CALL}/DZALG/live.json").get_json()["totals"]
    assert (after["short_shipped"], after["loaded_not_declared"], after["loading_mismatched"]) == (
        1,
        1,
        0,
    )


def test_the_call_page_lists_the_reports_told_to_customs_and_its_answers(
    a_call: Settings,
) -> None:
    assert "No discrepancy report told to customs yet." in console(a_call).get(CALL).text
    key = CallKey("9454436", "0MA1RN1MA", "DZALG")
    journal = SqliteJournal(a_call.journal_path)
    try:
        for report in ("r-after-hours", "r-final"):
            journal.put_call_report(
                CallReportRecord(
                    report,
                    key,
                    "after_hours" if report == "r-after-hours" else "discharge_complete",
                    "t",
                    "1 short-landed",
                    "2026-12-07T03:40:00.000+00:00",
                )
            )
        assert journal.answer_call_report(
            "r-final", "accepted", "26DZALGMDR01", "resp-1", "2026-12-07T03:52:00.000+00:00"
        )
    finally:
        journal.close()
    told = rows(console(a_call).get(CALL).text, "report")
    assert told == [
        "2026-12-07 03:40 after_hours r-after-hours 1 short-landed none yet",
        "2026-12-07 03:40 discharge_complete r-final 1 short-landed accepted 26DZALGMDR01 "
        "(2026-12-07 03:52)",
    ]


def test_a_call_page_caps_long_lists_until_asked_for_all(settings: Settings) -> None:
    key = CallKey("9074729", "V60", "DZORN")
    journal = SqliteJournal(settings.journal_path)
    try:
        calls.file(journal, CallPolicy(), vessel_call("CALL-60", key), "in-3")
        containers = {f"TGHU{100000 + i:06d}": (f"BL-{i:03d}", None) for i in range(230)}
        calls.file(journal, CallPolicy(), manifest("MAN-60", key, containers=containers), "in-3")
    finally:
        journal.close()
    client = console(settings)
    page = client.get("/calls/9074729/V60").text
    assert len(rows(page, "bill")) == 200 and "The first 200 of 230." in page
    # Nothing discharged: every container short, provisionally (no terminal report yet).
    assert len(rows(page, "discrepancy")) == 200
    assert '<strong data-live="state">provisional</strong>' in page
    page = client.get("/calls/9074729/V60?all=1").text
    assert len(rows(page, "bill")) == 230 and "The first 200" not in page


def test_unknown_calls_and_a_voyage_at_two_ports(a_call: Settings) -> None:
    client = console(a_call)
    assert client.get("/calls/9454436/NOVOYAGE").status_code == 404
    assert client.get("/calls/9454436/0MA1RN1MA/DZORN").status_code == 404
    journal = SqliteJournal(a_call.journal_path)
    try:
        key = CallKey("9454436", "0MA1RN1MA", "DZORN")
        calls.file(journal, CallPolicy(), vessel_call("CALL-ORN", key), "in-2")
    finally:
        journal.close()
    page = client.get(CALL).text
    assert "called at 2 ports" in page
    assert f'href="{CALL}/DZALG"' in page and f'href="{CALL}/DZORN"' in page
    assert client.get(f"{CALL}/DZORN").status_code == 200


def test_partner_text_on_the_call_pages_is_shown_as_text(settings: Settings) -> None:
    key = CallKey("9074729", "V61", "DZALG")
    journal = SqliteJournal(settings.journal_path)
    try:
        call = vessel_call("CALL-61", key)
        call.conveyance.name = HOSTILE
        calls.file(journal, CallPolicy(), call, "in-4")
        containers = {"TGHU1000003": ('BL-<b onmouseover="x">', None)}
        calls.file(journal, CallPolicy(), manifest("MAN-61", key, containers=containers), "in-4")
    finally:
        journal.close()
    client = console(settings)
    for page in (client.get("/calls").text, client.get("/calls/9074729/V61").text):
        assert "<script>window.__xss" not in page and "<img src=x" not in page
        assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page
    page = client.get("/calls/9074729/V61").text
    assert "<b onmouseover" not in page and "BL-&lt;b onmouseover=&#34;x&#34;&gt;" in page


def test_the_call_page_keeps_its_figures_current(settings: Settings) -> None:
    fill(settings, *CALL_DOCUMENTS)
    client = console(settings)
    page = client.get(CALL).text
    assert f'data-live-url="{CALL}/DZALG/live.json"' in page
    served = re.search(r'data-live-fingerprint="([0-9a-f]+)"', page)
    assert served
    before = client.get(f"{CALL}/DZALG/live.json").get_json()
    assert before["fingerprint"] == served.group(1)
    assert before["totals"]["discharged"] == 0 and before["totals"]["declared"] == 3
    fill(settings, DISCHARGE)  # the terminal reports while the page is open
    after = client.get(f"{CALL}/DZALG/live.json").get_json()
    assert after["totals"]["discharged"] == 2 and after["totals"]["state"] == "final"
    assert after["totals"]["short_landed"] == 1
    assert after["fingerprint"] != before["fingerprint"]
    # A stranger gets neither the page nor its figures.
    stranger = console(settings, None)
    assert stranger.get(f"{CALL}/DZALG/live.json").status_code == 401
    r = stranger.get(CALL)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# ---------------------------------------------------------------- sailings


def test_the_sailings_list_links_each_sailing(a_sailing: Settings) -> None:
    client = console(a_sailing)
    page = client.get("/travellers/sailings").text
    assert rows(page, "sailing") == ["TARIQ IBN ZIYAD 2026-07-14 FRMRS DZALG PAX-1"]
    assert f'href="{SAILING}"' in page
    assert rows(client.get("/travellers/sailings?from=2026-07-15").text, "sailing") == []
    assert client.get("/travellers/sailings?from=14/07/2026").status_code == 400


def test_the_list_shows_totals_then_exceptions_first_then_currency(a_sailing: Settings) -> None:
    page = console(a_sailing, "olga").get(SAILING).text
    assert '<span data-live="to_see">1</span> to see' in page
    assert '<span data-live="missing">1</span> missing' in page
    assert '<span data-live="ready">1</span> ready' in page
    assert '<span data-live="travellers">3</span> travellers' in page
    assert page.index('id="group-to_see"') < page.index('id="group-missing"')
    assert page.index('id="group-missing"') < page.index('id="group-ready"')
    assert page.index('id="group-ready"') < page.index('id="currency"')
    [to_see] = rows(page, 'vehicle" data-group="to_see')
    assert "AMRANI" in to_see and "PLATE_MISMATCH" in to_see and "TPD-2 requested" in to_see
    [missing] = rows(page, 'vehicle" data-group="missing')
    assert "ZEDDAM" in missing and "NO_TPD" in missing and "no TPD" in missing
    [ready] = rows(page, 'vehicle" data-group="ready')
    assert "BENAISSA KARIM" in ready and "197845612" in ready and "TPD-1" in ready
    [declared] = rows(page, "declaration")
    assert "CD-1" in declared and "required" in declared and "BENAISSA" in declared
    for ref in ("TPD-1", vin(1), "CD-1"):
        assert f'href="/track?ref={ref}"' in page


def test_a_viewer_reads_the_list_without_names_or_documents(a_sailing: Settings) -> None:
    client = console(a_sailing, "victor")
    r = client.get(SAILING)
    assert r.status_code == 200
    page = r.text
    assert "PLATE_MISMATCH" in page and "TPD-1" in page and vin(3) in page  # the vehicles
    assert "shown to operators and admins only" in page
    for personal in PERSONAL:
        assert personal not in page, personal
    live = json.dumps(client.get(f"{SAILING}/live.json").get_json())
    for personal in PERSONAL:
        assert personal not in live, personal


def test_operators_and_admins_see_names_and_the_live_figures_carry_none(
    a_sailing: Settings,
) -> None:
    for name in ("olga", "ada"):
        client = console(a_sailing, name)
        page = client.get(SAILING).text
        assert "BENAISSA KARIM" in page and "shown to operators and admins only" not in page
        live = client.get(f"{SAILING}/live.json").get_json()
        assert live["totals"]["to_see"] == 1 and live["totals"]["declarations"] == 1
        assert not any(p in json.dumps(live) for p in PERSONAL)


def test_the_list_follows_a_late_tpd(a_sailing: Settings) -> None:
    client = console(a_sailing)
    served = re.search(r'data-live-fingerprint="([0-9a-f]+)"', client.get(SAILING).text)
    assert served
    journal = SqliteJournal(a_sailing.journal_path)
    try:  # ZEDDAM's TPD arrives late: the vehicle is ready, no longer missing
        service = travellers_service(a_sailing, journal)
        late = tpd("TPD-3", vehicle_vin=vin(3), plate="B-3", country="BE", passport="PZ3000333",
                   family="ZEDDAM", given="A")  # fmt: skip
        service.request_tpd(late, "t3")
    finally:
        journal.close()
    live = client.get(f"{SAILING}/live.json").get_json()
    assert live["totals"]["missing"] == 0 and live["totals"]["ready"] == 2
    assert live["fingerprint"] != served.group(1)


def test_unknown_sailings_and_what_is_not_a_day(a_sailing: Settings) -> None:
    client = console(a_sailing)
    assert client.get("/travellers/sailings/TARIQ%20IBN%20ZIYAD/2026-07-15").status_code == 404
    r = client.get("/travellers/sailings/TARIQ%20IBN%20ZIYAD/%3Cscript%3E")
    assert r.status_code == 404 and "<script>" not in r.text
    assert client.get("/travellers/sailings/NOBODY/2026-07-14").status_code == 404


def test_a_ferry_line_s_text_on_the_sailing_pages_is_shown_as_text(settings: Settings) -> None:
    journal = SqliteJournal(settings.journal_path)
    try:
        plist = passenger_list(
            [{"family": "<script>window.__xss = 1</script>", "passport": "P9",
              "vehicle": {"vin": vin(9), "plate": "<b>9", "country": "BE"}}],
            vessel="<img src=x onerror=alert(1)> TARIQ",
        )  # fmt: skip
        assert sailing.passenger_list_arrived(journal, plist, "pax-9") is not None
    finally:
        journal.close()
    client = console(settings, "olga")  # names shown: the family name is on the page
    listing = client.get("/travellers/sailings").text
    assert "<img src=x" not in listing and "&lt;img src=x onerror=alert(1)&gt; TARIQ" in listing
    page = client.get("/travellers/sailings/IMG%20SRC%20X%20ONERROR%20ALERT%201%20TARIQ/2026-07-14")
    assert page.status_code == 200
    assert "<script>window" not in page.text and "<b>9" not in page.text
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page.text
    assert "&lt;b&gt;9" in page.text


def test_the_pages_log_no_traveller_s_name_or_document(
    a_sailing: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("json")
    capsys.readouterr()
    for name in ("victor", "olga"):
        client = console(a_sailing, name)
        assert client.get(SAILING).status_code == 200
        assert client.get(f"{SAILING}/live.json").status_code == 200
        assert client.get("/travellers/sailings").status_code == 200
    logged = capsys.readouterr()
    lines = [json.loads(line) for line in logged.err.splitlines() + logged.out.splitlines()]
    paths = [entry.get("path") for entry in lines if entry.get("event") == "console access"]
    assert f"{SAILING.replace('%20', ' ')}" in paths or SAILING in paths  # the log is read
    text = logged.err + logged.out
    for personal in PERSONAL:
        assert personal not in text, personal


def test_the_navigation_leads_to_both_pages(settings: Settings) -> None:
    page = console(settings).get("/calls").text
    assert '<a href="/calls">Ship calls</a>' in page
    assert '<a href="/travellers/sailings">Sailings</a>' in page
