"""The console's pages on the real broker (issue #19, point 4): edit-and-retry as in the CLI,
the live reading with unacknowledged counts, charts kept in the journal, a partner's page.

Flask's test client against an application wired to this test's vhost and journal; the
sampler thread is driven by hand (``sample_once``), so nothing waits on a timer.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from flask.testing import FlaskClient

from gateway.bootstrap import App, bootstrap
from gateway.config import Settings
from gateway.interfaces.console import Backend, console_journal, create_app
from gateway.interfaces.console.identity import hash_password
from gateway.interfaces.console.live import LiveState, StatsSampler
from gateway.interfaces.operators.deadletters import Selector
from gateway.interfaces.operators.drafts import DRAFTS_DIR, DraftBox
from gateway.interfaces.operators.store import DeadLetterStore
from gateway.messaging.naming import Names
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    GOOD,
    channel_for,
    dead_letter,
    drain,
    settings_for,
    wait_depth,
)

PASSWORD = "correct horse battery staple"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _console(gateway: App, role: str = "operator") -> tuple[FlaskClient, LiveState, Backend]:
    journal = console_journal(gateway)
    journal.create_account("alice", hash_password(PASSWORD), role, now=int(time.time()))
    live = LiveState()
    app = create_app(gateway, gateway.settings.config.console, live=live)
    client = app.test_client()
    r = client.post(
        "/login",
        data={"operator": "alice", "password": PASSWORD, "csrf": _csrf(client.get("/login").text)},
    )
    assert r.status_code == 302
    return client, live, app.extensions["edigw"]["backend"]


def _apcs_console(env: dict[str, str]) -> tuple[Settings, str, str, App, FlaskClient]:
    """The test's settings, apcs's inbound queue and its DLQ, the app and a signed-in operator."""
    settings = settings_for(env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    gateway = bootstrap(settings)
    client, _live, _backend = _console(gateway)
    return settings, inbound, names.dead_letter(inbound), gateway, client


def test_edit_and_retry_in_the_browser_checks_keeps_a_refused_edit_and_audits(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    settings, inbound, dlq, gateway, client = _apcs_console(gateway_env)
    with channel_for(settings) as ch:
        message_id = dead_letter(ch, settings, BAD_COUNT)
        assert wait_depth(ch, dlq, 1) == 1
        with DeadLetterStore.open(gateway) as store:
            [dl] = store.browse(Selector(ids=(message_id,)))
        page = client.get(f"/dlq/{dl.id}/edit")
        assert page.status_code == 200 and "UNT+99+1" in page.text
        csrf = _csrf(page.text)
        text = BAD_COUNT.decode()

        # Still wrong (another bad count): refused, nothing replayed, the edit kept in the form.
        still_bad = text.replace("UNT+99+1", "UNT+98+1")
        r = client.post(
            f"/dlq/{dl.id}/edit", data={"csrf": csrf, "text": still_bad, "do": "replay"}
        )
        assert r.status_code == 422
        assert "would still reject" in r.text and "UNT+98+1" in r.text
        assert wait_depth(ch, dlq, 1) == 1
        # Kept as the dead letter's draft, the same the CLI offers: the next edit starts there.
        again = client.get(f"/dlq/{dl.id}/edit")
        assert "draft of a refused edit" in again.text and "UNT+98+1" in again.text
        assert "UNT+99+1" in client.get(f"/dlq/{dl.id}/edit?from=original").text
        [draft] = DraftBox(settings.state_dir / DRAFTS_DIR).list()
        assert (draft.id, draft.actor) == (dl.id, "alice (console)")

        # Fixed, with the CRLF line ends a browser sends: replayed as the original's bytes.
        fixed = text.replace("UNT+99+1", "UNT+9+1").replace("\n", "\r\n")
        r = client.post(f"/dlq/{dl.id}/edit", data={"csrf": csrf, "text": fixed, "do": "check"})
        assert r.status_code == 200 and "would accept" in r.text
        assert wait_depth(ch, dlq, 1) == 1  # checking changes nothing
        r = client.post(f"/dlq/{dl.id}/edit", data={"csrf": csrf, "text": fixed, "do": "replay"})
        assert r.status_code == 302
        assert wait_depth(ch, inbound, 1) == 1
        [(props, body)] = drain(ch, inbound)
        assert body == BAD_COUNT.replace(b"UNT+99+1", b"UNT+9+1")
        assert props.message_id == f"{message_id}~replay1"
        assert wait_depth(ch, dlq, 0) == 0
        assert DraftBox(settings.state_dir / DRAFTS_DIR).list() == []  # replayed: gone
    [entry] = gateway.audit.entries(action="edit")
    gateway.close()
    assert entry.actor == "alice (console)"  # the account, authenticated
    assert "-UNT+99+1" in entry.data["diff"] and "+UNT+9+1" in entry.data["diff"]
    assert "via console" in entry.detail


def test_the_replay_confirmation_foresees_and_the_result_counts(
    gateway_env: dict[str, str],
) -> None:
    settings, inbound, dlq, gateway, client = _apcs_console(gateway_env)
    with channel_for(settings) as ch:
        bad = dead_letter(ch, settings, BAD_COUNT)
        good = dead_letter(ch, settings, GOOD, reason="UNROUTABLE", stage="route")
        assert wait_depth(ch, dlq, 2) == 2
        page = client.get(f"/confirm/replay?id={bad}&id={good}")
        assert page.status_code == 200
        assert "1 of 2 will be rejected again because EDIFACT_SYNTAX" in page.text
        assert page.text.count("rejected: EDIFACT_SYNTAX") == 1
        assert wait_depth(ch, dlq, 2) == 2  # foreseeing changes nothing

        # Replayed: the flash says what became of them (no gateway runs here: undecided).
        r = client.post(
            "/replay",
            data={"csrf": _csrf(page.text), "id": [bad, good]},
            follow_redirects=True,
        )
        assert r.status_code == 200
        assert "Replayed 2 message(s)" in r.text
        assert "0 accepted, 0 failed again, 2 not decided (no gateway consumes" in r.text
        assert wait_depth(ch, inbound, 2) == 2
    gateway.close()


def test_a_draft_is_discarded_from_the_edit_page(gateway_env: dict[str, str]) -> None:
    settings, _inbound, dlq, gateway, client = _apcs_console(gateway_env)
    box = DraftBox(settings.state_dir / DRAFTS_DIR)
    with channel_for(settings) as ch:
        message_id = dead_letter(ch, settings, BAD_COUNT)
        assert wait_depth(ch, dlq, 1) == 1
        with DeadLetterStore.open(gateway) as store:
            [dl] = store.browse(Selector(ids=(message_id,)))
        box.save(dl.id, message_id, "UNA:+.? 'UNB+KEPT'", "bob", "EDIFACT_SYNTAX: kept")
        page = client.get(f"/dlq/{dl.id}/edit")
        assert "UNB+KEPT" in page.text and "kept" in page.text and "bob" in page.text
        r = client.post(f"/dlq/{dl.id}/edit", data={"csrf": _csrf(page.text), "do": "discard"})
        assert r.status_code == 302
        assert box.list() == []
        assert "UNT+99+1" in client.get(f"/dlq/{dl.id}/edit").text
        assert wait_depth(ch, dlq, 1) == 1  # the dead letter is untouched
    gateway.close()


def test_live_reading_charts_and_partner_page(gateway_env: dict[str, str]) -> None:
    settings = settings_for(gateway_env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    gateway = bootstrap(settings)
    client, live, backend = _console(gateway, role="viewer")
    journal = client.application.extensions["edigw"]["journal"]
    sampler = StatsSampler(backend.queue_stats, live, journal, interval=60)
    with channel_for(settings) as ch:
        for _ in range(2):
            dead_letter(ch, settings, BAD_COUNT)
        assert wait_depth(ch, dlq, 2) == 2
        # The management API refreshes its figures every few seconds: read until it has them.
        deadline = time.monotonic() + 30
        while True:
            sampler.sample_once()
            reading = client.get("/live.json").get_json()
            if reading["totals"]["dead"] == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert reading["totals"]["dead"] == 2 and reading["broker_error"] == ""
    [row] = [q for q in reading["queues"] if q["name"] == dlq]
    assert row["messages"] == 2 and row["counted_unacked"] is True
    assert {"ready", "unacked", "in_rate", "out_rate"} <= set(row)

    # The reading went to the journal: a chart of the last hour draws it, and survives the app.
    svg = client.get("/charts/dead.svg?range=1h")
    assert svg.mimetype == "image/svg+xml" and "now 2" in svg.text
    assert "Dead letters, last 1 hour" in svg.text
    assert "Dead letters, last 7 days" in client.get("/charts/dead.svg?range=7d").text
    again, _live2, _b = _console_again(bootstrap(settings))
    assert "now 2" in again.get("/charts/dead.svg?range=24h").text

    # Overview and partner pages are complete without script: figures, links, ranges.
    overview = client.get("/?range=24h").text
    assert f'data-queue="{dlq}"' in overview and 'href="/partners/apcs"' in overview
    assert 'src="/charts/dead.svg?range=24h"' in overview
    partner = client.get("/partners/apcs").text
    assert "EDIFACT_SYNTAX/decode" in partner and f'data-queue="{dlq}"' in partner
    assert "Received from apcs" in partner
    assert client.get("/partners/nobody").status_code == 404
    # A viewer sees dead letters but no button to act on them.
    assert "Replay group" not in overview
    gateway.close()


def _console_again(gateway: App) -> tuple[FlaskClient, LiveState, Backend]:
    """A second console on the same journal (a restart, or another instance)."""
    live = LiveState()
    app = create_app(gateway, gateway.settings.config.console, live=live)
    client = app.test_client()
    client.post(
        "/login",
        data={"operator": "alice", "password": PASSWORD, "csrf": _csrf(client.get("/login").text)},
    )
    return client, live, app.extensions["edigw"]["backend"]
