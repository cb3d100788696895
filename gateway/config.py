"""Configuration: the default TOML, an optional file of your own, then environment variables.

A bad configuration is refused at start with the key and the reason:

>>> load({"broker": {"prefetch": 0}}, env={})
Traceback (most recent call last):
...
gateway.config_errors.ConfigError: broker.prefetch: must be at least 1, not 0

Every section and key is checked against ``gateway.config_schema`` first: an unknown key, a
wrong type or an out-of-range value (environment overrides included) is refused the same way.

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
EDIGW_MODE                gateway.mode ("production" or "development")
EDIGW_METRICS_PORT        metrics.port (a whole number)
EDIGW_METRICS_ADDRESS     metrics.address
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

from pydantic import ValidationError

from gateway.config_errors import ConfigError as ConfigError
from gateway.config_schema import RULE_CODES, SEVERITIES, GatewayConfig, describe
from gateway.tls import check_tls

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
    "EDIGW_MODE": ("gateway", "mode"),
    "EDIGW_METRICS_PORT": ("metrics", "port"),
    "EDIGW_METRICS_ADDRESS": ("metrics", "address"),
}
# Environment variables holding a whole number (the rest are strings).
_ENV_INTEGERS = {"EDIGW_METRICS_PORT"}
_PARTNER_ID = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    role: str
    formats: tuple[str, ...]
    interchange_ids: tuple[str, ...] = ()
    amqp_url: str | None = None  # the partner's own credentials, for `edigw submit`
    # Issue #16: who the gateway is to this partner. ``gateway_ids``: the UNB recipients its
    # interchanges may name (the first is the sender of our answers unless the partner named
    # another of them); empty: the pipeline's own interchange id. ``gateway_qualifier``: our
    # UNB identification code qualifier ([gateway] interchange_id_qualifier).
    gateway_ids: tuple[str, ...] = ()
    gateway_qualifier: str = ""
    # The partner's own virtual host when configured; None: the default name
    # (gateway.messaging.naming.Names.partner_vhost). Issue #14, finding 8b.
    vhost: str | None = None
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
    # Issue #14: "production" (the default) refuses generated keys and anchors and readable
    # private keys at start; "development" (the demo, the tests) generates what is missing.
    mode: str = "production"
    # The validated, typed sections (gateway.config_schema), beside ``raw``.
    config: GatewayConfig = field(default_factory=GatewayConfig, repr=False)

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
    from_env: dict[str, str] = {}
    for var, (section, key) in ENV_KEYS.items():
        if var in env:
            raw.setdefault(section, {})[key] = _env_value(var, f"{section}.{key}", env[var])
            from_env[f"{section}.{key}"] = var
    return _build(raw, source, from_env)


def _env_value(var: str, key: str, text: str) -> str | int:
    """An environment variable's text as the type of its key (a port is a whole number)."""
    if var not in _ENV_INTEGERS:
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(key, f"must be a whole number, not {text!r} (from {var})") from None


def _validated(raw: Mapping[str, Any], from_env: Mapping[str, str]) -> GatewayConfig:
    """``raw`` checked against the schema; ConfigError with the first problem's key."""
    try:
        return GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        key, reason = describe(GatewayConfig, exc)
        var = from_env.get(key)
        raise ConfigError(key, f"{reason} (from {var})" if var else reason) from None


def _rule_severities(key_name: str, table: Any) -> tuple[tuple[str, str], ...]:
    """Validate a partner's ``rules`` table (issue #4): known rule codes, known severities."""
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


def _build(raw: dict[str, Any], source: str, from_env: Mapping[str, str] | None = None) -> Settings:
    conf = _validated(raw, from_env or {})
    gw, broker, keys = conf.gateway, conf.broker, conf.keys
    state_dir = Path(gw.state_dir).expanduser()
    journal_path = conf.journal.path or str(state_dir / "journal.sqlite3")
    key = keys.signing_key or str(state_dir / "keys" / "gateway-signing-key.pem")
    cert = keys.signing_cert or str(state_dir / "keys" / "gateway-signing-cert.pem")

    partners: dict[str, Partner] = {}
    if not conf.partners:
        raise ConfigError("partners", "at least one partner must be configured")
    for pid, p in conf.partners.items():
        key_name = f"partners.{pid}"
        if not _PARTNER_ID.match(pid):
            raise ConfigError(
                key_name, "a partner id is 1-32 lower-case letters, digits, '_' or '-'"
            )
        partners[pid] = Partner(
            id=pid,
            name=p.name or pid,
            role=p.role,
            formats=tuple(p.formats),
            interchange_ids=tuple(p.interchange_ids),
            amqp_url=p.amqp_url,
            gateway_ids=tuple(p.gateway_ids or [gw.interchange_id]),
            gateway_qualifier=gw.interchange_id_qualifier,
            vhost=p.vhost,
            rules=_rule_severities(key_name, p.rules),
            directory_validation=p.directory_validation,
            message_types=tuple(p.message_types),
            vocabularies=tuple(p.vocabularies),
            issuers=tuple(p.issuers),
            lpco_types=tuple(p.lpco_types),
        )
    if not any(p.role == "customs" for p in partners.values()):
        raise ConfigError("partners", "one partner must have role 'customs'")

    routes = []
    for i, r in enumerate(conf.routes):
        if r.partner != "*" and r.partner not in partners:
            raise ConfigError(f"routes[{i}].partner", f"unknown partner {r.partner!r}")
        routes.append(Route(r.destination, r.document_type, r.partner, r.office))
    if not routes:
        raise ConfigError("routes", "at least one route is needed")
    _check_consumers(raw)
    return Settings(
        broker_url=broker.url,
        prefetch=broker.prefetch,
        name_prefix=broker.name_prefix,
        delivery_limit=broker.delivery_limit,
        interchange_id=gw.interchange_id,
        state_dir=state_dir,
        journal_backend=conf.journal.backend,
        journal_path=journal_path,
        signing_key=Path(key).expanduser(),
        signing_cert=Path(cert).expanduser(),
        partners=partners,
        routes=tuple(routes),
        source=source,
        directory_path=_directory_path(raw),
        raw=raw,
        mode=gw.mode,
        config=conf,
    )


def _check_consumers(raw: Mapping[str, Any]) -> None:
    """What the schema cannot judge alone: the TLS files load, and go with an amqps:// URL."""
    check_tls(raw)
