"""The schema of the configuration (issue #14): every section and key, its type and its range.

A configuration is checked whole before anything starts: an unknown section or key, a value of
the wrong type or out of range is refused with its dotted key and the reason, so a typo never
runs silently on a default (``[trust] dirr`` used to run on generated development anchors).
Validation is strict: a string is not a number, a number is not a list, ``true`` is not 1.

>>> problem(GatewayConfig, {"trust": {"dirr": "/etc/edigw/trust"}})
('trust.dirr', "unknown key (did you mean 'dir'?)")
>>> problem(GatewayConfig, {"partners": {"apcs": {"role": "port", "interchange_ids": "APCS"}}})
('partners.apcs.interchange_ids', "must be a list, not 'APCS'")
>>> problem(GatewayConfig, {"broker": {"url": "amqp://u:secret@h:99999/"}})
('broker.url', "the port must be from 1 to 65535, not 'amqp://u:***@h:99999/'")

Every consumer (broker, routing, metrics, console, allocator, trust, worker) reads its typed
section from ``Settings.config``; none parses or validates a setting of its own. What the types
alone cannot say (partner ids, rule codes, a customs partner, routes naming known partners) is
:func:`structure_problem`, here too.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

NonEmpty = Annotated[str, Field(min_length=1)]
Port = Annotated[int, Field(ge=0, le=65535)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]  # a copy destination
# A partner's virtual host: no "/" (the default vhost is the gateway's, never a partner's).
VhostName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
InterchangeId = Annotated[str, Field(min_length=1, max_length=35)]  # UNB 0004 is an..35
# UNB 0007, partner identification code qualifier (an..4): "ZZZ", "14", "30" ...
IdQualifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{0,4}$")]
Mode = Literal["production", "development"]
# The business rules a partner's [partners.<id>.rules] table may name, and their severities.
# The domain's rules (gateway/domain/rules.py) implement exactly these: the configuration
# says what may be configured and imports no logic module (tests/unit/test_rules.py keeps
# the two lists equal).
RULE_CODES: tuple[str, ...] = (
    "CONTAINER_CHECK_DIGIT",
    "IMO_CHECK_DIGIT",
    "LOCODE",
    "HS_CODE",
    "MASS_TOTALS",
    "CONTROL_TOTALS",
    "BL_UNIQUE",
    "EQUIPMENT_DECLARED",
    "ARRIVAL_AFTER_DEPARTURE",
    "PASSENGER_COUNT",
)
SEVERITIES: tuple[str, ...] = ("reject", "warn", "off")


class Section(BaseModel):
    """A table of the TOML: closed (no unknown keys), strictly typed, read-only."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GatewaySection(Section):
    interchange_id: InterchangeId = "CUSTOMS"
    # The qualifier of our own id in the UNB of every CONTRL, APERAK and CUSRES (issue #16).
    interchange_id_qualifier: IdQualifier = ""
    state_dir: NonEmpty = "var"
    # "production" refuses generated keys and anchors and readable private keys (issue #14).
    mode: Mode = "production"
    # glibc refuses a threshold above HEAP_MAX_SIZE / 2 (32 MiB on 64-bit).
    malloc_mmap_threshold: Annotated[int, Field(ge=0, le=32 << 20)] = 1 << 20
    malloc_trim_min_bytes: Annotated[int, Field(ge=0, le=1 << 40)] = 1 << 20
    malloc_arena_max: Annotated[int, Field(ge=0, le=1024)] = 0


def checked_amqp_url(url: str) -> str:
    """``url`` if it is an AMQP URL the clients can use; ValueError with the reason otherwise."""
    parsed = urlparse(url)
    if parsed.scheme not in ("amqp", "amqps") or not parsed.hostname:
        raise ValueError("must be an amqp:// or amqps:// URL with a host")
    try:
        port = parsed.port  # ValueError when out of range or not a number
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("the port must be from 1 to 65535")
    return url


def checked_node_address(address: str) -> str:
    """``address`` if it is a node's ``host`` or ``host:port``; ValueError with the reason.

    >>> checked_node_address("rabbit-b:5671"), checked_node_address("[::1]:5682")
    ('rabbit-b:5671', '[::1]:5682')
    """
    parsed = urlparse(f"amqp://{address}")
    if not parsed.hostname or parsed.username is not None or parsed.path or parsed.query:
        raise ValueError("must be a node's host or host:port (no user, no path)")
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("the port must be from 1 to 65535")
    return address


NodeAddress = Annotated[str, AfterValidator(checked_node_address)]


class BrokerTlsSection(Section):
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""


def comma_list(value: object) -> object:
    """A list setting given as one string (an environment variable): its parts joined by ','.

    >>> comma_list("a:5682, b:5683,"), comma_list(["x"])
    (['a:5682', 'b:5683'], ['x'])
    """
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class BrokerSection(Section):
    url: NonEmpty = "amqp://guest:guest@127.0.0.1:5672/%2F"
    prefetch: Annotated[int, Field(ge=1, le=65535)] = 32
    name_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]*$")] = ""
    delivery_limit: Annotated[int, Field(ge=1, le=100)] = 5
    heartbeat: Annotated[int, Field(ge=0, le=600)] = 30
    retry_delays_ms: list[Annotated[int, Field(ge=10, le=86_400_000)]] = [1000, 5000, 30000]
    tls: BrokerTlsSection | None = None
    # The other nodes of a RabbitMQ cluster (issue #20), as "host:port": the clients try url's
    # own node first, then these in order, with url's user, password, virtual host and TLS,
    # and move to the next one when a node is lost. Empty: url's node alone.
    hosts: list[NodeAddress] = []

    @field_validator("url")
    @classmethod
    def _amqp_url(cls, url: str) -> str:
        return checked_amqp_url(url)

    @field_validator("hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        """EDIGW_AMQP_HOSTS (and a string in the file) is addresses joined by ','."""
        return comma_list(value)


class JournalSection(Section):
    backend: Literal["sqlite", "postgresql"] = "sqlite"
    path: str = ""


class KeysSection(Section):
    signing_key: str = ""
    signing_cert: str = ""


class TrustSection(Section):
    dir: str = ""
    crl_files: list[NonEmpty] = []


class EdifactSection(Section):
    directory_path: list[str] = []

    @field_validator("directory_path", mode="before")
    @classmethod
    def _folders(cls, value: object) -> object:
        """EDIGW_DIRECTORY_PATH (and a string in the file) is folders joined by ':'."""
        return value.split(os.pathsep) if isinstance(value, str) else value


class PartnerSection(Section):
    name: NonEmpty | None = None  # default: the partner id
    # "portal": the customs online portal (travellers' pre-declarations); "border": the
    # port's customs posts (entry and exit events). Issue #18.
    role: Literal["port", "ministry", "customs", "portal", "border"]
    formats: list[Literal["edifact", "xml", "json"]] = []
    interchange_ids: list[InterchangeId] = []
    # The gateway's own identities for this partner: the UNB recipients (S003 0010) its
    # interchanges may name (ISO 9735 error 7 otherwise). Default: [gateway.interchange_id].
    gateway_ids: list[InterchangeId] = []
    amqp_url: NonEmpty | None = None
    # The partner's own virtual host, its trust domain on the broker (issue #14, finding 8b);
    # default "<broker.name_prefix>partner.<id>". Never "/" nor the gateway's own vhost.
    vhost: VhostName | None = None
    # CODE = "reject" | "warn" | "off"; codes and severities are checked by structure_problem.
    rules: dict[str, str] = {}
    directory_validation: Literal["reject", "warn", "off"] = "reject"
    message_types: list[NonEmpty] = []
    vocabularies: list[NonEmpty] = []
    issuers: list[NonEmpty] = []
    lpco_types: list[NonEmpty] = []

    @field_validator("amqp_url")
    @classmethod
    def _amqp_url(cls, url: str | None) -> str | None:
        return None if url is None else checked_amqp_url(url)


class RouteSection(Section):
    destination: Literal["core", "legacy"]
    document_type: NonEmpty = "*"
    partner: NonEmpty = "*"
    office: NonEmpty = "*"


class CopySection(Section):
    destination: Name
    document_type: NonEmpty = "*"
    partner: NonEmpty = "*"
    office: NonEmpty = "*"


class ResponsesSection(Section):
    overdue_after_minutes: Annotated[float, Field(gt=0)] = 240
    overdue_check_seconds: Annotated[float, Field(gt=0)] = 60


class MetricsSection(Section):
    port: Port = 0
    address: NonEmpty = "127.0.0.1"
    depth_interval: Annotated[float, Field(ge=1)] = 15
    management_url: str = ""  # RabbitMQ management API (depths count unacknowledged messages)
    # More management APIs, tried in order after management_url (a cluster's other nodes when
    # they listen elsewhere than port 15672). Both empty: each broker node's host, port 15672.
    management_urls: list[str] = []

    @field_validator("management_urls", mode="before")
    @classmethod
    def _url_list(cls, value: object) -> object:
        """EDIGW_MANAGEMENT_URLS (and a string in the file) is URLs joined by ','."""
        return comma_list(value)


Role = Literal["viewer", "operator", "admin"]


def _network(text: str) -> str:
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("must be an IP address or network (127.0.0.1, 10.0.0.0/8)") from None
    return text


class ConsoleSection(Section):
    address: NonEmpty = "127.0.0.1"
    port: Port = 8465
    # The shared token of the first consoles (scripts); accounts are the way (issue #19).
    token: str = ""
    token_role: Role = "operator"
    sample_interval: Annotated[float, Field(ge=0.2)] = 10
    overdue_after_minutes: Annotated[int, Field(ge=1)] = 240
    # Seconds between two refreshes of an open page (its small JSON reading).
    live_interval: Annotated[float, Field(ge=0.5, le=600)] = 5
    # Days of chart samples kept in the journal (the 7-day chart needs 7).
    history_days: Annotated[int, Field(ge=7, le=400)] = 8
    secure_cookie: bool = False
    session_hours: Annotated[float, Field(gt=0, le=168)] = 12
    session_idle_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    signin_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    signin_window_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    # A single-sign-on reverse proxy's header naming the signed-in user ("" = none), believed
    # only from trusted_proxies; users without an account get trusted_header_role.
    trusted_header: Annotated[str, Field(pattern=r"^([A-Za-z0-9-]{1,64})?$")] = ""
    trusted_header_role: Role = "viewer"
    trusted_proxies: list[Annotated[str, AfterValidator(_network)]] = ["127.0.0.1", "::1"]
    # One JSON line per request: "" = <state_dir>/console-access.log, "-" = the gateway's log.
    access_log: str = ""
    # The file holding the key that signs the console's cookies (32 bytes or more), the same
    # for every console behind a load balancer: "" = a random key per process, refused in
    # production (issue #19).
    secret_key_file: str = ""
    # Seconds a replay from the console waits for the gateway's decisions (0: does not).
    replay_wait: Annotated[float, Field(ge=0, le=120)] = 10


ResidenceStatus = Literal["resident", "non_resident_national", "foreign_national"]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Months = Annotated[int, Field(ge=0, le=120)]
Euros = Annotated[float, Field(ge=0, le=10_000_000)]


class AdmissionTermsSection(Section):
    """How long a vehicle of one residence status may stay under a TPD (issue #18)."""

    months: Annotated[int, Field(ge=1, le=120)]
    # 0: no window; else at most ``months`` in any window of this many months.
    within_months: Months = 0
    extension_months: Months = 0
    extensions: Annotated[int, Field(ge=0, le=10)] = 0


class ThresholdSection(Section):
    """Euro equivalent above which a currency declaration is required."""

    entry: Euros
    exit: Euros


class RateTableSection(Section):
    """Units of each currency for one euro, valid from ``valid_from`` until the next table."""

    valid_from: dt.date
    units_per_euro: dict[CurrencyCode, Annotated[float, Field(gt=0)]]


class TravellersSection(Section):
    """Travellers' rules (issue #18): TPD durations, currency thresholds and rates, retention."""

    # Days a traveller's documents are kept after their TPD is discharged or their
    # declaration used; past that they may be erased.
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 365
    # The secret that keys the travellers' pseudonyms in the logs (a hash of the document
    # number): "" = <state_dir>/keys/travellers-log.key, made on first use. Instances that
    # share a journal share it.
    log_key_file: str = ""
    durations: dict[ResidenceStatus, AdmissionTermsSection] = {}
    thresholds_eur: dict[ResidenceStatus, ThresholdSection] = {}
    rates: list[RateTableSection] = []


# A port of call of this gateway: a UN/LOCODE of Algeria (gateway.domain.calls.PORT_COUNTRY;
# tests/unit/test_calls_service.py keeps the two equal).
PORT_OF_CALL = re.compile(r"^DZ[A-Z2-9]{3}$")


def _port_of_call(code: str) -> str:
    if not PORT_OF_CALL.match(code):
        raise ValueError("must be the UN/LOCODE of a port of Algeria (DZ and 3 letters or digits)")
    return code


PortOfCall = Annotated[str, AfterValidator(_port_of_call)]
UnknownCall = Literal["accept_flagged", "reject"]
Hours = Annotated[int, Field(ge=1, le=24 * 60)]


class CallPortSection(Section):
    """One port's own choices (issue #17); a key left out takes the ``[calls]`` value."""

    unknown_call: UnknownCall | None = None
    eta_window_hours: Hours | None = None


class CallsSection(Section):
    """Ship calls and manifest acquittal (issue #17, docs/calls.md)."""

    # A manifest for a call not (yet) announced: accepted and flagged, linked when the call
    # arrives ("accept_flagged"), or refused with UNKNOWN_CALL ("reject").
    unknown_call: UnknownCall = "accept_flagged"
    # A manifest is linked to a call of the same IMO number, voyage and port only when their
    # expected arrivals are at most this far apart (a voyage number comes back every year).
    eta_window_hours: Hours = 72
    # Discharge is reconciled once a terminal reports it complete, or this long after the
    # call's actual arrival.
    reconcile_after_hours: Hours = 48
    # Loading is reconciled once a terminal reports it complete, or this long after the
    # call's actual departure (a call with an outward manifest or a loading report).
    reconcile_loading_after_hours: Hours = 24
    # How often ``edigw run`` looks for calls due for either reconciliation.
    reconcile_check_seconds: Annotated[float, Field(gt=0, le=3600)] = 60
    # A discharged container whose gross mass differs from the declared one by more than this
    # (percent of the declared mass) is reported as mismatched.
    weight_tolerance_percent: Annotated[float, Field(ge=0, le=100)] = 5
    ports: dict[PortOfCall, CallPortSection] = {}


class GatewayConfig(Section):
    """The whole configuration, as ``config/gateway.toml`` documents it."""

    gateway: GatewaySection = GatewaySection()
    broker: BrokerSection = BrokerSection()
    journal: JournalSection = JournalSection()
    keys: KeysSection = KeysSection()
    trust: TrustSection = TrustSection()
    edifact: EdifactSection = EdifactSection()
    partners: dict[str, PartnerSection] = {}
    routes: list[RouteSection] = []
    copies: list[CopySection] = []
    responses: ResponsesSection = ResponsesSection()
    metrics: MetricsSection = MetricsSection()
    console: ConsoleSection = ConsoleSection()
    travellers: TravellersSection = TravellersSection()
    calls: CallsSection = CallsSection()


_PARTNER_ID = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def structure_problem(conf: GatewayConfig) -> tuple[str, str] | None:
    """The first problem the types alone cannot see, as (dotted key, reason); None when none.

    >>> structure_problem(GatewayConfig.model_validate({"partners": {"x": {"role": "port"}}}))
    ('partners', "one partner must have role 'customs'")
    >>> structure_problem(GatewayConfig.model_validate(
    ...     {"partners": {"apcs": {"role": "port", "rules": {"HS_CODE": "maybe"}}}}))
    ('partners.apcs.rules.HS_CODE', "must be one of reject, warn, off, not 'maybe'")
    """
    if not conf.partners:
        return "partners", "at least one partner must be configured"
    for pid, partner in conf.partners.items():
        key = f"partners.{pid}"
        if not _PARTNER_ID.match(pid):
            return key, "a partner id is 1-32 lower-case letters, digits, '_' or '-'"
        for code, severity in partner.rules.items():
            if code not in RULE_CODES:
                return f"{key}.rules.{code}", f"unknown rule; known: {', '.join(RULE_CODES)}"
            if severity not in SEVERITIES:
                return (
                    f"{key}.rules.{code}",
                    f"must be one of {', '.join(SEVERITIES)}, not {severity!r}",
                )
    if not any(p.role == "customs" for p in conf.partners.values()):
        return "partners", "one partner must have role 'customs'"
    # An issuer identifier belongs to one ministry: two could both issue, amend or revoke
    # under the same declared issuer (issue #14, gateway.service.authority).
    owners: dict[str, str] = {}
    for pid, partner in conf.partners.items():
        if partner.role != "ministry":
            continue
        for issuer in partner.issuers:
            first = owners.setdefault(issuer, pid)
            if first != pid:
                return (
                    f"partners.{pid}.issuers",
                    f"issuer {issuer!r} is already bound to partners.{first}; an issuer "
                    "identifier belongs to one ministry",
                )
    for i, route in enumerate(conf.routes):
        if route.partner != "*" and route.partner not in conf.partners:
            return f"routes[{i}].partner", f"unknown partner {route.partner!r}"
    if not conf.routes:
        return "routes", "at least one route is needed"
    return None


def problem(model: type[BaseModel], raw: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first problem of ``raw`` against ``model`` as (dotted key, reason); None when valid."""
    try:
        model.model_validate(raw)
    except ValidationError as exc:
        return describe(model, exc)
    return None


def describe(model: type[BaseModel], exc: ValidationError) -> tuple[str, str]:
    """(dotted key, reason) of the first error pydantic found, in our own words."""
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    if loc[-1:] == ("[key]",):  # a table's key was refused, not its value
        loc = loc[:-1]
    key = dotted(loc)
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        what = "section" if len(loc) == 1 else "key"
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
        return key, f"unknown {what}{hint}"
    if kind == "missing":
        return key, "is required"
    reason = _REASONS.get(kind, "").format(**ctx) if kind in _REASONS else _plain(error["msg"])
    value = error.get("input")
    if not isinstance(value, dict):
        shown = _shown(key, value)
        reason += f", not {shown if len(shown) <= 80 else shown[:77] + '...'}"
    return key, reason


def _shown(key: str, value: object) -> str:
    """``value`` for an error message, without the secret it may hold (a URL's password, a
    token).

    >>> _shown("broker.url", "amqp://edigw:s3cret@mq:99999/")
    "'amqp://edigw:***@mq:99999/'"
    """
    if key.endswith("token"):
        return "'***'"
    if key.endswith("url") and isinstance(value, str):
        return repr(re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", value))
    return repr(value)


_REASONS = {
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "must match {pattern}",
    "literal_error": "must be one of {expected}",
    "date_type": "must be a date (2026-01-01, not quoted)",
}


def _plain(msg: str) -> str:
    """pydantic's message without its prefix ("Value error, ...")."""
    return msg.removeprefix("Value error, ")


def dotted(loc: tuple[int | str, ...]) -> str:
    """('routes', 0, 'destination') -> 'routes[0].destination'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The known keys of the table at ``loc`` (for "did you mean")."""
    node: Any = model
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            node = field.annotation if field is not None else None
        else:  # a list or a dict of tables: the element type, whatever the index or the key
            node = _element(node)
        node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _unwrap(node: Any) -> Any:
    """``X | None`` -> X."""
    args = [a for a in typing.get_args(node) if a is not type(None)]
    return args[0] if typing.get_origin(node) in (typing.Union, _UnionType) and args else node


def _element(node: Any) -> Any:
    args = typing.get_args(node)
    return _unwrap(args[-1]) if args else None


_UnionType = type(int | None)

__all__ = ["GatewayConfig", "Mode", "describe", "dotted", "problem", "structure_problem"]
