"""Configuration: the default TOML, an optional file of your own, then environment variables.

A bad configuration is refused at start with the key and the reason:

>>> load({"broker": {"prefetch": 0}}, env={})
Traceback (most recent call last):
...
gateway.config_errors.ConfigError: broker.prefetch: must be at least 1, not 0

Every section and key is checked against ``gateway.config_schema`` first: an unknown key, a
wrong type or an out-of-range value (environment overrides included) is refused the same way.

Environment variables (each overrides one key):

=============================  =====================
EDIGW_CONFIG                   path of a TOML file merged over the defaults
EDIGW_AMQP_URL                 broker.url
EDIGW_AMQP_HOSTS               broker.hosts (the cluster's other nodes, ``host:port`` joined by ',')
EDIGW_NAME_PREFIX              broker.name_prefix
EDIGW_STATE_DIR                gateway.state_dir
EDIGW_JOURNAL_BACKEND          journal.backend
EDIGW_JOURNAL_PATH             journal.path (a file for sqlite, a DSN for postgresql)
EDIGW_SIGNING_KEY              keys.signing_key
EDIGW_SIGNING_CERT             keys.signing_cert
EDIGW_DIRECTORY_PATH           edifact.directory_path (folders joined by ``os.pathsep``)
EDIGW_MODE                     gateway.mode ("production" or "development")
EDIGW_METRICS_PORT             metrics.port (a whole number)
EDIGW_METRICS_ADDRESS          metrics.address
EDIGW_MANAGEMENT_URLS          metrics.management_urls (RabbitMQ management APIs joined by ',')
EDIGW_CONSOLE_TOKEN            console.token
EDIGW_CONSOLE_SECRET_KEY_FILE  console.secret_key_file
=============================  =====================
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.config_errors import ConfigError as ConfigError

if TYPE_CHECKING:
    # The schema (pydantic, and its models built at import) is loaded when a configuration is
    # validated: settings found in the cache are validated again only when a command reads
    # ``Settings.config`` (issue #20, point 6: `edigw translate` does not).
    from gateway.config_schema import GatewayConfig

ROLES = {"port", "ministry", "customs"}
DESTINATIONS = {"core", "legacy"}
ENV_KEYS = {
    "EDIGW_AMQP_URL": ("broker", "url"),
    "EDIGW_AMQP_HOSTS": ("broker", "hosts"),
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
    "EDIGW_MANAGEMENT_URLS": ("metrics", "management_urls"),
    "EDIGW_CONSOLE_TOKEN": ("console", "token"),
    "EDIGW_CONSOLE_SECRET_KEY_FILE": ("console", "secret_key_file"),
}
# Environment variables holding a whole number (the rest are strings).
_ENV_INTEGERS = {"EDIGW_METRICS_PORT"}


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


# The roles of the partners that send the gateway messages (each has an inbound queue a
# worker consumes): the port's partners, the ministries, the customs online portal and the
# border posts (issue #18). "customs" only receives.
INBOUND_ROLES = ("port", "ministry", "portal", "border")


@dataclass(frozen=True, slots=True)
class CopyRule:
    """Send a copy of matching documents to a second authority as well (every match applies,
    ``[[copies]]``, issue #6).

    >>> CopyRule("veterinary", document_type="CargoManifest").matches("CargoManifest", "apcs", None)
    True
    """

    destination: str
    document_type: str = "*"
    partner: str = "*"
    office: str = "*"

    def matches(self, document_type: str, partner: str, office: str | None) -> bool:
        return Route(self.destination, self.document_type, self.partner, self.office).matches(
            document_type, partner, office
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
    copies: tuple[CopyRule, ...] = ()
    source: str = "defaults"
    # Folders of locally generated UN/EDIFACT directory tables; empty: the adapter's default.
    directory_path: tuple[Path, ...] = ()
    # Issue #14: "production" (the default) refuses generated keys and anchors and readable
    # private keys at start; "development" (the demo, the tests) generates what is missing.
    mode: str = "production"
    # The configuration as merged (defaults, file, overrides, environment), before validation:
    # what ``config`` is validated from when the settings came from the cache. Private: the
    # typed sections are what a consumer reads (issue #15).
    _raw: Mapping[str, Any] | None = field(default=None, repr=False)
    _config: GatewayConfig | None = field(default=None, repr=False, compare=False)

    @property
    def config(self) -> GatewayConfig:
        """Every section, validated and typed (gateway.config_schema): what each consumer reads."""
        if self._config is None:
            # Settings from the cache: their configuration was valid when cached, under the
            # same schema (the cache key), so this does not raise.
            object.__setattr__(self, "_config", _validated(self._raw or {}, {}))
        assert self._config is not None
        return self._config

    def partners_with_role(self, *roles: str) -> list[Partner]:
        return [p for p in self.partners.values() if p.role in roles]


def _defaults_file() -> Path:
    # The package's folder, as importlib.resources would find it, without loading
    # importlib.resources (tempfile, shutil, zipfile: issue #20, point 6).
    package = importlib.import_module("gateway.default_config")
    return Path(str(package.__file__)).parent / "gateway.toml"


def _defaults() -> dict[str, Any]:
    import tomllib  # here: settings from the cache are read without it (issue #20, point 6)

    return tomllib.loads(_defaults_file().read_text("utf-8"))


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
    cache: Path | None = None,
) -> Settings:
    """Build the settings: defaults, then ``path`` (or $EDIGW_CONFIG), then ``overrides``, then env.

    With ``cache`` (a folder, :func:`cache_dir` for ``edigw``), settings already built from the
    same configuration are read from there (:func:`_cached`).
    """
    env = os.environ if env is None else env
    path = path or env.get("EDIGW_CONFIG")
    if cache is not None:
        return _cached(overrides, path, env, cache)
    return _build(*_merged(overrides, path, env))


def _merged(
    overrides: Mapping[str, Any] | None, path: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> tuple[dict[str, Any], str, dict[str, str]]:
    """The configuration as merged: defaults, then ``path``, then ``overrides``, then the
    environment; with its source and the keys the environment set (key -> variable)."""
    import tomllib

    raw = _defaults()
    source = "defaults"
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
    return raw, source, from_env


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
    from pydantic import ValidationError

    from gateway.config_schema import GatewayConfig, describe

    try:
        return GatewayConfig.model_validate(raw)
    except ValidationError as exc:
        key, reason = describe(GatewayConfig, exc)
        var = from_env.get(key)
        raise ConfigError(key, f"{reason} (from {var})" if var else reason) from None


def _directory_path(conf: GatewayConfig) -> tuple[Path, ...]:
    """``edifact.directory_path``: the folders, in order (a string of them joined by ':' is
    split by the schema).

    >>> from gateway.config_schema import GatewayConfig
    >>> _directory_path(GatewayConfig.model_validate({"edifact": {"directory_path": "/a:/b"}}))
    (PosixPath('/a'), PosixPath('/b'))
    >>> _directory_path(GatewayConfig())
    ()
    """
    return tuple(Path(v).expanduser() for v in conf.edifact.directory_path if v)


def _build(raw: dict[str, Any], source: str, from_env: Mapping[str, str] | None = None) -> Settings:
    from gateway.config_schema import structure_problem
    from gateway.tls import check_tls  # with ssl and socket: not for settings from the cache

    conf = _validated(raw, from_env or {})
    gw, broker, keys = conf.gateway, conf.broker, conf.keys
    state_dir = Path(gw.state_dir).expanduser()
    journal_path = conf.journal.path or str(state_dir / "journal.sqlite3")
    key = keys.signing_key or str(state_dir / "keys" / "gateway-signing-key.pem")
    cert = keys.signing_cert or str(state_dir / "keys" / "gateway-signing-cert.pem")

    problem = structure_problem(conf)
    if problem is not None:
        raise ConfigError(*problem)
    partners = {
        pid: Partner(
            id=pid,
            name=p.name or pid,
            role=p.role,
            formats=tuple(p.formats),
            interchange_ids=tuple(p.interchange_ids),
            amqp_url=p.amqp_url,
            gateway_ids=tuple(p.gateway_ids or [gw.interchange_id]),
            gateway_qualifier=gw.interchange_id_qualifier,
            vhost=p.vhost,
            rules=tuple(p.rules.items()),
            directory_validation=p.directory_validation,
            message_types=tuple(p.message_types),
            vocabularies=tuple(p.vocabularies),
            issuers=tuple(p.issuers),
            lpco_types=tuple(p.lpco_types),
        )
        for pid, p in conf.partners.items()
    }
    routes = tuple(Route(r.destination, r.document_type, r.partner, r.office) for r in conf.routes)
    copies = tuple(
        CopyRule(c.destination, c.document_type, c.partner, c.office) for c in conf.copies
    )
    # What the schema cannot judge alone: the TLS files load, and go with an amqps:// URL.
    check_tls(conf.broker)
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
        routes=routes,
        copies=copies,
        source=source,
        directory_path=_directory_path(conf),
        mode=gw.mode,
        _raw=raw,
        _config=conf,
    )


# ---------------------------------------------------------------- the cache (issue #20, point 6)
# Validating a configuration costs more than half of a one-bill `edigw translate` (pydantic
# and the schema's models, built at import): `edigw` keeps the settings it built, keyed by a
# hash of everything they are made of, and validates again only when a command reads
# ``Settings.config``. Never stale: another configuration, environment, schema or pydantic is
# another key; a configuration refused is never cached (refused again each time).

# The modules that turn a configuration into settings: their bytes are part of the key.
_BUILDERS = ("config.py", "config_schema.py", "config_errors.py", "tls.py")
# Settings files kept in the cache folder (the oldest go first).
CACHE_FILES = 64


def cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """Where ``edigw`` keeps its cached settings: ``$XDG_CACHE_HOME/edigw``, else
    ``~/.cache/edigw`` (the user's, not the state directory, which a command run by another
    user may not write and must not create); None for a user without a home (no cache)."""
    env = os.environ if env is None else env
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "edigw"
    try:
        home = Path(env.get("HOME") or Path.home())
    except RuntimeError:  # no $HOME and no home in the password database (a bare service)
        return None
    return home / ".cache" / "edigw"


def _cache_key(
    overrides: Mapping[str, Any] | None, path: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> str | None:
    """The key of the settings built from these inputs: the bytes of the default and the given
    TOML files, the overrides, the variables of :data:`ENV_KEYS` and ``$HOME`` (the paths are
    expanded with it), the modules that build settings and the installed pydantic. None when
    a file cannot be read (the settings are then built, and say why). Neither file is parsed:
    settings found in the cache cost no TOML parser (issue #20, point 6)."""
    digest = hashlib.sha256()
    try:
        files = [_defaults_file().read_bytes(), Path(path).read_bytes() if path else b""]
    except OSError:
        return None
    variables = {var: env[var] for var in ENV_KEYS if var in env}
    inputs = [str(path) if path else None, overrides, variables, env.get("HOME", "")]
    digest.update(json.dumps(inputs, sort_keys=True, default=repr).encode())
    for data in files:
        digest.update(len(data).to_bytes(8, "big") + data)
    here = Path(__file__).parent
    for name in _BUILDERS:
        digest.update((here / name).read_bytes())
    for package in ("pydantic", "pydantic_core"):
        spec = importlib.util.find_spec(package)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None:  # an upgrade rewrites the package: another key
            for file in (origin, origin.with_name("version.py")):
                if file.exists():
                    stat = file.stat()
                    digest.update(f"{file}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _cached(
    overrides: Mapping[str, Any] | None,
    path: str | os.PathLike[str] | None,
    env: Mapping[str, str],
    folder: Path,
) -> Settings:
    """The settings of these inputs from ``folder`` when built before, else built and kept
    there (with the configuration as merged, which ``Settings.config`` validates)."""
    key = _cache_key(overrides, path, env)
    file = None if key is None else folder / f"settings-{key}.pickle"
    kept = None
    try:
        if file is not None:
            with open(file, "rb") as fh:
                if _private(fh.fileno()) and _private(str(folder)):
                    kept = pickle.load(fh)
    except Exception:  # missing, unreadable, truncated, of another version: built again
        kept = None
    if isinstance(kept, Settings) and kept._raw is not None:
        return kept
    raw, source, from_env = _merged(overrides, path, env)
    if isinstance(kept, Settings):  # kept without its configuration: given it
        return dataclasses.replace(kept, _raw=raw)
    settings = _build(raw, source, from_env)
    tls = raw.get("broker", {}).get("tls") if isinstance(raw.get("broker"), dict) else None
    # Never kept: settings with [broker.tls], whose files check_tls loads at every start.
    if file is not None and not tls:
        _keep(file, dataclasses.replace(settings, _config=None))
    return settings


def _private(file: int | str) -> bool:
    """True for a file or folder of this user's that no one else may write: a pickle runs
    code when read, so only the user's own are read."""
    stat = os.stat(file)
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _keep(file: Path, settings: Settings) -> None:
    """Write ``settings`` to ``file`` atomically (a reader never sees half of it); nothing
    when the folder cannot be written. The oldest files beyond :data:`CACHE_FILES` go."""
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = file.with_name(f".{file.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, file)
        kept = sorted(file.parent.glob("settings-*.pickle"), key=lambda f: f.stat().st_mtime)
        for old in kept[:-CACHE_FILES]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache only: the next start builds them again
