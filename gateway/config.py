"""Configuration: the default TOML, an optional file of your own, then environment variables.

A bad configuration is refused at start with the key and the reason:

>>> load({"broker": {"prefetch": 0}}, env={})
Traceback (most recent call last):
...
gateway.config.ConfigError: broker.prefetch: must be a whole number from 1 to 65535, not 0

Environment variables (each overrides one key):

========================  =====================
EDIGW_CONFIG              path of a TOML file merged over the defaults
EDIGW_AMQP_URL            broker.url
EDIGW_NAME_PREFIX         broker.name_prefix
EDIGW_STATE_DIR           gateway.state_dir
EDIGW_JOURNAL_BACKEND     journal.backend
EDIGW_JOURNAL_PATH        journal.path (a file for sqlite, a DSN for postgresql)
EDIGW_SIGNING_KEY         keys.signing_key
EDIGW_SIGNING_CERT        keys.signing_cert
EDIGW_DIRECTORY_PATH      edifact.directory_path (folders joined by ``os.pathsep``)
========================  =====================
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from gateway.messaging import malloc

ROLES = {"port", "ministry", "customs"}
DESTINATIONS = {"core", "legacy"}
ENV_KEYS = {
    "EDIGW_AMQP_URL": ("broker", "url"),
    "EDIGW_NAME_PREFIX": ("broker", "name_prefix"),
    "EDIGW_STATE_DIR": ("gateway", "state_dir"),
    "EDIGW_JOURNAL_BACKEND": ("journal", "backend"),
    "EDIGW_JOURNAL_PATH": ("journal", "path"),
    "EDIGW_SIGNING_KEY": ("keys", "signing_key"),
    "EDIGW_SIGNING_CERT": ("keys", "signing_cert"),
    "EDIGW_DIRECTORY_PATH": ("edifact", "directory_path"),
}
_PARTNER_ID = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class ConfigError(ValueError):
    """A configuration value the gateway refuses, with its key."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    role: str
    formats: tuple[str, ...]
    interchange_ids: tuple[str, ...] = ()
    amqp_url: str | None = None  # the partner's own credentials, for `edigw submit`
    # Business-rule severities of this partner, [partners.<id>.rules] CODE = "reject"|"warn"|"off"
    rules: tuple[tuple[str, str], ...] = ()
    # UN/EDIFACT directory validation (segment groups, repetitions, lengths, code lists):
    # "reject" answers structure errors with a rejecting CONTRL, "warn" only logs them.
    directory_validation: str = "reject"
    # Issue #14, formats per partner: the EDIFACT message types (UNH 0065) and the XML
    # vocabularies ("ephyto", "ubl-origin", "national-lpco") this partner may send; anything
    # else is refused before it is decoded. Empty: none of that format.
    message_types: tuple[str, ...] = ()
    vocabularies: tuple[str, ...] = ()
    # Issue #14, authority: the issuer identifiers (Issuer id, else name) a ministry may issue
    # for, and the LPCO type codes it may send (fnmatch patterns, e.g. "IL-*"). Empty: none.
    issuers: tuple[str, ...] = ()
    lpco_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    destination: str
    document_type: str = "*"
    partner: str = "*"
    office: str = "*"

    def matches(self, document_type: str, partner: str, office: str | None) -> bool:
        return (
            self.document_type in ("*", document_type)
            and self.partner in ("*", partner)
            and (self.office == "*" or self.office == (office or ""))
        )


@dataclass(frozen=True, slots=True)
class Settings:
    broker_url: str
    prefetch: int
    name_prefix: str
    delivery_limit: int
    interchange_id: str
    state_dir: Path
    journal_backend: str
    journal_path: str
    signing_key: Path
    signing_cert: Path
    partners: Mapping[str, Partner]
    routes: tuple[Route, ...]
    source: str = "defaults"
    # Folders of locally generated UN/EDIFACT directory tables; empty: the adapter's default.
    directory_path: tuple[Path, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def partners_with_role(self, *roles: str) -> list[Partner]:
        return [p for p in self.partners.values() if p.role in roles]


def _defaults() -> dict[str, Any]:
    text = resources.files("gateway.default_config").joinpath("gateway.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _get(raw: Mapping[str, Any], section: str, key: str, kind: type, default: Any = None) -> Any:
    value = raw.get(section, {}).get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{section}.{key}", f"must be a {kind.__name__}, not {value!r}")
    return value


def load(
    overrides: Mapping[str, Any] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: defaults, then ``path`` (or $EDIGW_CONFIG), then ``overrides``, then env."""
    env = os.environ if env is None else env
    raw = _defaults()
    source = "defaults"
    path = path or env.get("EDIGW_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                raw = _merge(raw, tomllib.load(fh))
        except FileNotFoundError:
            raise ConfigError("EDIGW_CONFIG", f"no such file: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("EDIGW_CONFIG", f"{path} is not valid TOML: {exc}") from None
        source = str(path)
    if overrides:
        raw = _merge(raw, overrides)
    for var, (section, key) in ENV_KEYS.items():
        if var in env:
            raw.setdefault(section, {})[key] = env[var]
    return _build(raw, source)


def _rule_severities(key_name: str, table: Any) -> tuple[tuple[str, str], ...]:
    """Validate a partner's ``rules`` table (issue #4): known rule codes, known severities."""
    from gateway.domain.rules import (  # pure module; imported late to stay light
        RULE_CODES,
        SEVERITIES,
    )

    if not isinstance(table, Mapping):
        raise ConfigError(f"{key_name}.rules", "must be a table of RULE_CODE = severity")
    for code, severity in table.items():
        if code not in RULE_CODES:
            raise ConfigError(
                f"{key_name}.rules.{code}", f"unknown rule; known: {', '.join(RULE_CODES)}"
            )
        if severity not in SEVERITIES:
            raise ConfigError(
                f"{key_name}.rules.{code}",
                f"must be one of {', '.join(SEVERITIES)}, not {severity!r}",
            )
    return tuple((str(k), str(v)) for k, v in table.items())


def _names(key_name: str, value: object) -> tuple[str, ...]:
    """A list of non-empty strings (message types, vocabularies, issuers, LPCO type patterns)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(key_name, f"must be a list of non-empty strings, not {value!r}")
    return tuple(value)


def _directory_policy(key_name: str, value: object) -> str:
    if value not in ("reject", "warn", "off"):
        raise ConfigError(
            f"{key_name}.directory_validation", f"must be 'reject', 'warn' or 'off', not {value!r}"
        )
    return str(value)


def _directory_path(raw: Mapping[str, Any]) -> tuple[Path, ...]:
    """``edifact.directory_path``: a list of folders, or one string of them joined by ':'.

    >>> _directory_path({"edifact": {"directory_path": "/a:/b"}})
    (PosixPath('/a'), PosixPath('/b'))
    >>> _directory_path({})
    ()
    """
    value = raw.get("edifact", {}).get("directory_path", [])
    if isinstance(value, str):
        value = value.split(os.pathsep)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("edifact.directory_path", f"must be a list of folders, not {value!r}")
    return tuple(Path(v).expanduser() for v in value if v)


def _build(raw: dict[str, Any], source: str) -> Settings:
    url = _get(raw, "broker", "url", str)
    parsed = urlparse(url)
    if parsed.scheme not in ("amqp", "amqps") or not parsed.hostname:
        raise ConfigError(
            "broker.url", f"must be an amqp:// or amqps:// URL with a host, not {url!r}"
        )
    prefetch = _get(raw, "broker", "prefetch", int, 32)
    if not 1 <= prefetch <= 65535:
        raise ConfigError(
            "broker.prefetch", f"must be a whole number from 1 to 65535, not {prefetch}"
        )
    delivery_limit = _get(raw, "broker", "delivery_limit", int, 5)
    if not 1 <= delivery_limit <= 100:
        raise ConfigError("broker.delivery_limit", f"must be from 1 to 100, not {delivery_limit}")
    prefix = _get(raw, "broker", "name_prefix", str, "")
    if prefix and not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix):
        raise ConfigError("broker.name_prefix", "may hold only letters, digits, '.', '_' and '-'")
    interchange_id = _get(raw, "gateway", "interchange_id", str, "CUSTOMS")
    if not 1 <= len(interchange_id) <= 35:
        raise ConfigError("gateway.interchange_id", "must be 1 to 35 characters")
    state_dir = Path(_get(raw, "gateway", "state_dir", str, "var")).expanduser()
    backend = _get(raw, "journal", "backend", str, "sqlite")
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError("journal.backend", f"must be 'sqlite' or 'postgresql', not {backend!r}")
    journal_path = _get(raw, "journal", "path", str, "") or str(state_dir / "journal.sqlite3")
    key = _get(raw, "keys", "signing_key", str, "") or str(
        state_dir / "keys" / "gateway-signing-key.pem"
    )
    cert = _get(raw, "keys", "signing_cert", str, "") or str(
        state_dir / "keys" / "gateway-signing-cert.pem"
    )

    partners: dict[str, Partner] = {}
    raw_partners = raw.get("partners", {})
    if not isinstance(raw_partners, Mapping) or not raw_partners:
        raise ConfigError("partners", "at least one partner must be configured")
    for pid, p in raw_partners.items():
        key_name = f"partners.{pid}"
        if not _PARTNER_ID.match(pid):
            raise ConfigError(
                key_name, "a partner id is 1-32 lower-case letters, digits, '_' or '-'"
            )
        if not isinstance(p, Mapping):
            raise ConfigError(key_name, "must be a table")
        role = p.get("role")
        if role not in ROLES:
            raise ConfigError(f"{key_name}.role", f"must be one of {sorted(ROLES)}, not {role!r}")
        formats = p.get("formats", [])
        if not isinstance(formats, list) or not all(f in ("edifact", "xml") for f in formats):
            raise ConfigError(f"{key_name}.formats", "must be a list of 'edifact' and/or 'xml'")
        partners[pid] = Partner(
            id=pid,
            name=str(p.get("name", pid)),
            role=role,
            formats=tuple(formats),
            interchange_ids=tuple(p.get("interchange_ids", [])),
            amqp_url=p.get("amqp_url"),
            rules=_rule_severities(key_name, p.get("rules", {})),
            directory_validation=_directory_policy(
                key_name, p.get("directory_validation", "reject")
            ),
            message_types=_names(f"{key_name}.message_types", p.get("message_types", [])),
            vocabularies=_names(f"{key_name}.vocabularies", p.get("vocabularies", [])),
            issuers=_names(f"{key_name}.issuers", p.get("issuers", [])),
            lpco_types=_names(f"{key_name}.lpco_types", p.get("lpco_types", [])),
        )
    if not any(p.role == "customs" for p in partners.values()):
        raise ConfigError("partners", "one partner must have role 'customs'")

    routes = []
    for i, r in enumerate(raw.get("routes", [])):
        dest = r.get("destination")
        if dest not in DESTINATIONS:
            raise ConfigError(
                f"routes[{i}].destination", f"must be 'core' or 'legacy', not {dest!r}"
            )
        partner = r.get("partner", "*")
        if partner != "*" and partner not in partners:
            raise ConfigError(f"routes[{i}].partner", f"unknown partner {partner!r}")
        routes.append(
            Route(
                destination=dest,
                document_type=r.get("document_type", "*"),
                partner=partner,
                office=r.get("office", "*"),
            )
        )
    if not routes:
        raise ConfigError("routes", "at least one route is needed")
    _check_reliability(raw)  # issue #6: retry tiers, heartbeat, copies, responses
    try:
        malloc.settings(raw)  # issue #8
    except ValueError as exc:
        key, _, reason = str(exc).partition(": ")
        raise ConfigError(key, reason) from None
    return Settings(
        broker_url=url,
        prefetch=prefetch,
        name_prefix=prefix,
        delivery_limit=delivery_limit,
        interchange_id=interchange_id,
        state_dir=state_dir,
        journal_backend=backend,
        journal_path=journal_path,
        signing_key=Path(key),
        signing_cert=Path(cert),
        partners=partners,
        routes=tuple(routes),
        source=source,
        directory_path=_directory_path(raw),
        raw=raw,
    )


def _check_reliability(raw: Mapping[str, Any]) -> None:
    """Refuse bad reliability settings at start (issue #6); the parsers live with their users."""
    from gateway.messaging.broker import check_tls, retry_delays
    from gateway.service.responses import overdue_after
    from gateway.service.routing import copies_from

    retry_delays(raw)
    check_tls(raw)
    overdue_after(raw)
    heartbeat = raw.get("broker", {}).get("heartbeat", 30)
    if not isinstance(heartbeat, int) or isinstance(heartbeat, bool) or not 0 <= heartbeat <= 600:
        raise ConfigError("broker.heartbeat", f"must be 0 to 600 seconds, not {heartbeat!r}")
    try:
        copies_from(raw)
    except ValueError as exc:
        key, _, reason = str(exc).partition(": ")
        raise ConfigError(key, reason) from None
