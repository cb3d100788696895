"""Operators' pure logic: dead letters from headers, selection, grouping, audit, console guards."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.bootstrap import bootstrap
from gateway.config import ConfigError, load
from gateway.config_schema import ConsoleSection
from gateway.interfaces.console import ConsoleConfigError, create_app
from gateway.interfaces.console.charts import time_chart_svg
from gateway.interfaces.operators.deadletters import (
    DELIVERY_LIMIT,
    DeadLetter,
    Selector,
    encode_text,
    group_dead_letters,
    jsonable,
    parse_since,
)
from gateway.interfaces.operators.store import next_replay_id, replay_id
from gateway.messaging.metrics import REGISTRY
from gateway.storage.audit import AuditTrail

ROOT = Path(__file__).resolve().parents[2]
BODY = b"UNA:+.? 'UNB+UNOC:3+APCS+CUSTOMS+261129:0830+AP3'UNH+1+CUSCAR:D:95B:UN'BGM+85+MAN-1+9'"


def gateway_letter(**over: object) -> DeadLetter:
    headers: dict[str, object] = {
        "x-edigw-reason": "EDIFACT_SYNTAX",
        "x-edigw-sentence": "UNT says 99 segments",
        "x-edigw-stage": "decode",
        "x-edigw-partner": "apcs",
        "x-edigw-original-exchange": "partner.apcs.in",
        "x-edigw-original-routing-key": "",
        "x-edigw-original-queue": "partner.apcs.in",
        "x-edigw-attempts": 2,
        "x-edigw-first-failure": "2026-11-01T10:00:00+00:00",
        "x-edigw-problems": [b"EDIFACT_29\tsegment 9\tUNT says 99 segments"],
        "x-edigw-filename": "x.edi",
    }
    headers.update(over)  # type: ignore[arg-type]
    return DeadLetter.from_amqp(
        "partner.apcs.in.dlq",
        {"message_id": "m1", "timestamp": 1795996800, "headers": headers},
        BODY,
    )


def broker_letter() -> DeadLetter:
    """What RabbitMQ makes of a quorum message over its delivery limit (pika-decoded)."""
    return DeadLetter.from_amqp(
        "t1.partner.commerce.in.dlq",
        {
            "message_id": "p1",
            "headers": {
                "x-delivery-count": 5,
                "x-death": [
                    {
                        "count": 1,
                        "reason": b"delivery_limit",
                        "queue": "t1.partner.commerce.in",
                        "time": dt.datetime(2026, 11, 2, 8, 30),
                        "exchange": "t1.partner.commerce.in",
                        "routing-keys": [""],
                    }
                ],
                "x-first-death-reason": "delivery_limit",
            },
        },
        b"<x/>",
    )


def test_gateway_dead_letter_fields() -> None:
    dl = gateway_letter()
    assert (dl.reason, dl.stage, dl.partner, dl.attempts) == ("EDIFACT_SYNTAX", "decode", "apcs", 2)
    assert dl.first_failure == "2026-11-01T10:00:00+00:00"
    assert dl.last_failure == "2026-11-30T00:00:00+00:00"  # the dead letter's timestamp
    assert (dl.original_exchange, dl.original_routing_key) == ("partner.apcs.in", "")
    assert dl.has_route
    assert dl.problems == ["EDIFACT_29\tsegment 9\tUNT says 99 segments"]
    assert dl.type == "CUSCAR"
    assert dl.business_reference == "MAN-1"
    assert dl.group_key == "EDIFACT_SYNTAX/decode"
    assert set(dl.summary()) == {
        "id", "message_id", "queue", "reason", "sentence", "stage", "partner", "type",
        "business_reference", "first_failure", "last_failure", "attempts",
    }  # fmt: skip


def test_broker_dead_letter_is_delivery_limit_with_route_from_x_death() -> None:
    dl = broker_letter()
    assert dl.reason == DELIVERY_LIMIT
    assert dl.stage == "broker"
    assert dl.partner == "commerce"  # from the queue name, prefix and all
    assert (dl.original_exchange, dl.original_routing_key) == ("t1.partner.commerce.in", "")
    assert dl.original_queue == "t1.partner.commerce.in"
    assert dl.first_failure == dl.last_failure == "2026-11-02T08:30:00+00:00"
    assert "after 5 redeliveries" in dl.sentence
    assert dl.type == "xml"


def test_ids_are_stable_and_tell_messages_apart() -> None:
    assert gateway_letter().id == gateway_letter().id
    assert gateway_letter().id != gateway_letter(**{"x-edigw-reason": "OTHER"}).id
    assert re.fullmatch(r"[0-9a-f]{12}", gateway_letter().id)


def test_replay_headers_drop_the_failure_and_keep_the_history() -> None:
    headers = broker_letter().replay_headers()
    assert "x-death" not in headers and "x-delivery-count" not in headers
    headers = gateway_letter().replay_headers()
    assert headers["x-edigw-attempts"] == 2
    assert headers["x-edigw-first-failure"] == "2026-11-01T10:00:00+00:00"
    assert headers["x-edigw-filename"] == "x.edi"
    for gone in (
        "x-edigw-reason",
        "x-edigw-stage",
        "x-edigw-original-exchange",
        "x-edigw-problems",
    ):
        assert gone not in headers


def test_replay_ids_are_derived_so_a_duplicate_replay_is_recognisable() -> None:
    dl = gateway_letter()
    assert next_replay_id(dl) == "m1~replay1" == next_replay_id(gateway_letter())
    again = gateway_letter(**{"x-edigw-replays": 1, "x-edigw-replay-of": "m1"})
    assert next_replay_id(again) == replay_id("m1", 2) == "m1~replay2"


def test_selector() -> None:
    dl = gateway_letter()
    assert Selector().matches(dl) and Selector().is_everything
    assert Selector(ids=(dl.id,)).matches(dl)
    assert Selector(ids=("m1",)).matches(dl)  # the AMQP message id works too
    assert not Selector(ids=("other",)).matches(dl)
    assert Selector(type="CUSCAR").matches(dl) and not Selector(type="CUSRES").matches(dl)
    assert Selector(group="EDIFACT_SYNTAX/decode").matches(dl)
    assert Selector(group="EDIFACT_SYNTAX").matches(dl)
    assert not Selector(group="EDIFACT_SYNTAX/map").matches(dl)
    assert Selector(text="man-1").matches(dl)  # body, any case
    assert Selector(text="x.edi").matches(dl)  # a header value
    assert not Selector(text="absent").matches(dl)
    assert Selector(partner="apcs", reason="EDIFACT_SYNTAX").matches(dl)
    assert not Selector(partner="apcs", reason="X").matches(dl)
    since = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    assert Selector(since=since).matches(dl)
    assert not Selector(since=since + dt.timedelta(days=2)).matches(dl)


def test_groups_count_and_span() -> None:
    old = gateway_letter(**{"x-edigw-first-failure": "2026-10-01T00:00:00+00:00"})
    groups = group_dead_letters([gateway_letter(), old, broker_letter()])
    assert [(g.key, g.count) for g in groups] == [
        ("EDIFACT_SYNTAX/decode", 2),
        ("DELIVERY_LIMIT/broker", 1),
    ]
    assert groups[0].oldest == "2026-10-01T00:00:00+00:00"
    assert groups[0].newest == "2026-11-30T00:00:00+00:00"
    assert groups[0].to_json()["partners"] == ["apcs"]


def test_parse_since() -> None:
    now = dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC)
    assert parse_since("30m", now) == now - dt.timedelta(minutes=30)
    assert parse_since("7d", now) == now - dt.timedelta(days=7)
    assert parse_since("2026-01-01T06:00:00+02:00", now).utcoffset() == dt.timedelta(hours=2)
    with pytest.raises(ValueError, match="duration"):
        parse_since("yesterday", now)


def test_jsonable_and_text_round_trip() -> None:
    value = {"t": dt.datetime(2026, 1, 1), "b": b"\xff", "d": Decimal("1.5"), "l": [b"x"]}
    assert jsonable(value) == {
        "t": "2026-01-01T00:00:00+00:00",
        "b": {"base64": "/w=="},
        "d": 1.5,
        "l": ["x"],
    }
    latin = "ÄÖ'".encode("latin-1")
    dl = DeadLetter.from_amqp("q.dlq", {"headers": {}}, latin)
    assert encode_text(dl.body_text(), latin) == latin
    utf = "Ä'".encode()
    assert encode_text(DeadLetter.from_amqp("q.dlq", {}, utf).body_text(), utf) == utf


def test_audit_trail_is_newest_first_and_filterable(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "j.sqlite3")
    trail.record("alice", "replay", message_ids=["m1", "m2"], detail="two")
    trail.record("bob", "purge", message_ids=["m2"], data={"messages": [{"id": "x"}]})
    trail.close()
    trail = AuditTrail(tmp_path / "j.sqlite3")  # it is on disk
    assert [e.action for e in trail.entries()] == ["purge", "replay"]
    assert [e.actor for e in trail.entries(message_id="m1")] == ["alice"]
    assert [e.actor for e in trail.entries(action="purge")] == ["bob"]
    assert [e.actor for e in trail.entries(actor="alice")] == ["alice"]
    assert trail.entries(action="purge")[0].data == {"messages": [{"id": "x"}]}
    assert len(trail.entries(limit=1)) == 1


def test_a_trail_from_before_the_position_column_keeps_its_order(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "j.sqlite3")
    old.executescript(
        "CREATE TABLE operator_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, "
        "actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, data TEXT NOT NULL);"
        "CREATE TABLE operator_audit_messages (audit_id INTEGER NOT NULL, "
        "message_id TEXT NOT NULL, PRIMARY KEY (audit_id, message_id));"
        "INSERT INTO operator_audit VALUES (1, 't1', 'alice', 'replay', '', '{}');"
        "INSERT INTO operator_audit_messages VALUES (1, 'z9'), (1, 'a1');"
    )
    old.commit()
    old.close()
    trail = AuditTrail(tmp_path / "j.sqlite3")
    trail.record("bob", "purge", message_ids=["b", "a"])
    assert [e.message_ids for e in trail.entries()] == [("b", "a"), ("z9", "a1")]
    trail.close()


def test_chart_has_axes_escapes_its_title_and_breaks_at_gaps() -> None:
    assert "no samples in this range" in time_chart_svg([], start=0, end=3600, bucket=15, title="t")
    svg = time_chart_svg(
        [(0, 0.0), (15, 4.0), (3000, 7.0)], start=0, end=3600, bucket=15, title="a<b"
    )
    assert "a&lt;b" in svg and "a<b" not in svg
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1  # a gap: no line across
    assert ">8<" in svg and "now 7" in svg  # the y axis reaches a round tick above the maximum
    assert ">00:00<" in svg and ">01:00<" in svg  # the x axis: times in UTC


def test_metrics_and_console_settings_are_the_configuration_s(tmp_path: Path) -> None:
    """Their values are checked where every setting is, when the configuration is loaded."""
    assert load(env={}).config.metrics.port == 0
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load({"metrics": {"port": 70000}}, env={})
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load(env={"EDIGW_METRICS_PORT": "x"})
    assert load(env={}).config.console.token == ""
    assert load(env={"EDIGW_CONSOLE_TOKEN": "s3"}).config.console.token == "s3"
    with pytest.raises(ConfigError, match=r"console\.port"):
        load({"console": {"port": "80"}}, env={})
    with pytest.raises(ConsoleConfigError, match="token"):
        create_app(
            bootstrap(load(env={"EDIGW_STATE_DIR": str(tmp_path)})), ConsoleSection(token="")
        )


def test_alert_rules_only_use_metrics_that_exist() -> None:
    text = (ROOT / "config" / "alerts.yml").read_text()
    used = set(re.findall(r"\b(edigw_[a-z_]+)", text))
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
    known = {m.name + suffix for m in REGISTRY.collect() for suffix in suffixes.get(m.type, [""])}
    assert used, "no metric in the alert rules?"
    assert used <= known, used - known
    for name in ("EdigwDeadLetterQueueGrowing", "EdigwNoTrafficFromPartner",
                 "EdigwOverdueCustomsResponses"):  # fmt: skip
        assert f"alert: {name}" in text


# ---------------------------------------------------------------------- console guards
@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load(env={"EDIGW_STATE_DIR": str(tmp_path)})
    app = create_app(bootstrap(settings), ConsoleSection(token="s3cret"))
    return app.test_client()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_console_needs_sign_in_and_csrf(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/dlq/abc").status_code == 302
    assert client.post("/replay", data={"group": "X"}).status_code == 400  # no CSRF token
    page = client.get("/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    token = _csrf(page.text)
    # Signed out, even with a valid CSRF token, nothing changes: back to the sign-in page.
    r = client.post("/replay", data={"group": "X", "csrf": token})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = client.post("/login", data={"operator": "eve", "token": "wrong", "csrf": token})
    assert r.status_code == 401 and "Wrong name or password" in r.text
    r = client.post("/login", data={"operator": "", "token": "s3cret", "csrf": token})
    assert r.status_code == 401
    r = client.post("/login", data={"operator": "eve", "token": "s3cret"})
    assert r.status_code == 400  # sign-in needs the CSRF token too


def test_console_sign_in_does_not_redirect_elsewhere(client) -> None:  # type: ignore[no-untyped-def]
    token = _csrf(client.get("/login").text)
    r = client.post(
        "/login?next=//evil.example/x",
        data={"operator": "eve", "token": "s3cret", "csrf": token},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # Signed in now: a POST with a wrong CSRF token is still refused.
    assert client.post("/purge", data={"group": "X", "csrf": "nope"}).status_code == 400
