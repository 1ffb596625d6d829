"""Load bridge.toml and the environment into frozen Settings, or say what to fix.

The document's own rules (its JSON Schema and what the schema cannot see) are
in bridge.config.rules; this module reads the file, checks the environment's
part (secrets, LeadSquared keys) and builds the Settings.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.config.rules import OPPORTUNITY_KEYS, default_account, schema_problems, semantic_problems
from bridge.config.settings import (
    DEFAULT_ALERT_WEBHOOK_ENV,
    DEFAULT_DATABASE_URL,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_METRICS_ALLOWED_IPS,
    DEFAULT_READ_TIMEOUT_SECONDS,
    MIN_ERASURE_KEY_CHARACTERS,
    AccountSettings,
    AlertSettings,
    DatabaseSettings,
    DeliverySettings,
    EventMapping,
    FieldSource,
    Network,
    OpportunityLookup,
    RetentionSettings,
    Settings,
    SourceSettings,
)
from bridge.sources.kind import SourceKind
from bridge.sources.registry import SourceRegistry
from bridge.sources.signatures.scheme import SecretFormat


class ConfigError(Exception):
    """The configuration cannot be used; each problem names the key and the fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Configuration:
    """Resolved Settings and each configured source's kind, built together once per process."""

    settings: Settings
    kinds: Mapping[str, SourceKind]


def load_configuration(
    path: str | Path, environ: Mapping[str, str], registry: SourceRegistry, require_secrets: bool = True
) -> Configuration:
    """Read, validate and resolve the configuration file against the environment.

    Only tools that never receive a webhook (the dry-run transform) may pass
    require_secrets=False.
    """
    document = read_document(Path(path))
    problems = schema_problems(document) or semantic_problems(document, registry)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    settings = build_settings(document, environ)
    problems = alert_url_problems(settings)
    if problems:
        raise ConfigError(problems)
    kinds = configured_kinds(settings, registry)
    if not require_secrets:
        return Configuration(settings, kinds)
    problems = [
        f"sources.{s.name}: the environment variable {s.secret_env} is not set; "
        "a source without its secret would accept unsigned webhooks"
        for s in settings.sources.values()
        if s.enabled and not s.secrets
    ]
    problems += named_secret_problems(settings)
    problems += secret_format_problems(settings, kinds)
    if problems:
        raise ConfigError(problems)
    return Configuration(settings, kinds)


def load_settings(
    path: str | Path, environ: Mapping[str, str], registry: SourceRegistry, require_secrets: bool = True
) -> Settings:
    """Return the Settings of load_configuration, for callers that need no kinds."""
    return load_configuration(path, environ, registry, require_secrets).settings


def configured_kinds(settings: Settings, registry: SourceRegistry) -> dict[str, SourceKind]:
    """Return the kind of each configured source whose kind is registered, as the source configures it."""
    kinds = {}
    for source in settings.sources.values():
        kind = registry.get(source.kind)
        if kind is not None:
            kinds[source.name] = kind.configured(source.scheme)
            if source.redact_aadhaar is not None:
                kinds[source.name] = replace(kinds[source.name], redact_aadhaar=source.redact_aadhaar)
    return kinds


def named_secret_problems(settings: Settings) -> list[str]:
    """Name each variable of an enabled source's secret_envs that is not set (never a value)."""
    return [
        f"sources.{source.name}: the environment variable {variable} (secret_envs.{name}) is not set"
        for source in settings.sources.values()
        if source.enabled
        for name, variable in source.secret_envs.items()
        if name not in source.named_secrets
    ]


def secret_format_problems(settings: Settings, kinds: Mapping[str, SourceKind]) -> list[str]:
    """Name each secret variable of an enabled source whose scheme cannot use its value (never the value)."""
    problems = []
    for source in settings.sources.values():
        scheme = kinds[source.name].signature
        if not source.enabled or not isinstance(scheme, SecretFormat):
            continue
        for position, secret in enumerate(source.secrets):
            problem = scheme.secret_problem(secret)
            if problem:
                where = source.secret_env if position == 0 else "a variable of previous_secret_envs"
                problems.append(f"sources.{source.name}: the secret in {where} {problem}")
    return problems


def read_document(path: Path) -> dict[str, Any]:
    """Parse the TOML file, with a message that names the file on failure."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file; copy bridge.example.toml there or set BRIDGE_CONFIG"]
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: not valid TOML: {error}"]) from None


def _networks(addresses: Iterable[str] | None) -> tuple[Network, ...]:
    return tuple(ip_network(address) for address in addresses or ())


def build_settings(document: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Turn a validated document and the environment into Settings."""
    accounts = {name: _account(name, raw, environ) for name, raw in document["accounts"].items()}
    sources = {
        name: _source(name, raw, default_account(document["accounts"]), environ)
        for name, raw in document.get("sources", {}).items()
    }
    server = document.get("server", {})
    return Settings(
        database_url=database_url(environ),
        max_body_bytes=server.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        accounts=accounts,
        sources=sources,
        delivery=DeliverySettings(**document.get("delivery", {})),
        trusted_proxies=_networks(server.get("trusted_proxies")),
        read_timeout_seconds=float(server.get("read_timeout_seconds", DEFAULT_READ_TIMEOUT_SECONDS)),
        metrics_networks=_networks(server.get("metrics_allowed_ips", DEFAULT_METRICS_ALLOWED_IPS)),
        database=DatabaseSettings(**document.get("database", {})),
        retention=_retention(document.get("retention", {}), environ),
        alerts=_alerts(document.get("alerts", {}), environ),
    )


def _alerts(raw: Mapping[str, Any], environ: Mapping[str, str]) -> AlertSettings:
    url_env = raw.get("webhook_url_env", DEFAULT_ALERT_WEBHOOK_ENV)
    tuning = {k: v for k, v in raw.items() if k not in ("webhook_url_env", "disabled")}
    return AlertSettings(
        webhook_url_env=url_env,
        webhook_url=environ.get(url_env) or None,
        disabled=tuple(raw.get("disabled", ())),
        **tuning,
    )


def alert_url_problems(settings: Settings) -> list[str]:
    """Name the alert sink's variable when its value is no http(s) URL (never the value: it holds a key)."""
    alerts = settings.alerts
    if not alerts.webhook_url:
        return []
    parts = urlsplit(alerts.webhook_url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return []
    return [
        f"alerts: the environment variable {alerts.webhook_url_env} does not hold an http(s) URL; "
        "set it to the incoming-webhook URL of the alert sink, or unset it to turn alerts off"
    ]


def _retention(raw: Mapping[str, Any], environ: Mapping[str, str]) -> RetentionSettings:
    days = {k: v for k, v in raw.items() if k.startswith("retain_")}
    key_env = raw.get("erasure_key_env", RetentionSettings.erasure_key_env)
    keys = tuple(environ[e] for e in [key_env, *raw.get("previous_erasure_key_envs", [])] if environ.get(e))
    if not environ.get(key_env):
        keys = ()  # earlier keys alone only find old hashes: the worker needs the current one
    return RetentionSettings(**days, erasure_key_env=key_env, erasure_keys=keys)


def erasure_key_problems(settings: Settings) -> list[str]:
    """Name the erasure key's variable when it is unset or too short (never its value)."""
    retention = settings.retention
    if not retention.erasure_keys:
        return [
            f"retention: the environment variable {retention.erasure_key_env} is not set; the worker "
            "records keyed hashes of the emails, phones and PANs it sees so that an erasure finds "
            "them, and needs that key (32+ random characters: openssl rand -hex 24)"
        ]
    if len(retention.erasure_keys[0]) < MIN_ERASURE_KEY_CHARACTERS:
        return [
            f"retention: {retention.erasure_key_env} holds fewer than {MIN_ERASURE_KEY_CHARACTERS} "
            "characters; use 32+ random ones (openssl rand -hex 24)"
        ]
    return []


def _account(name: str, raw: Mapping[str, Any], environ: Mapping[str, str]) -> AccountSettings:
    host_env = raw.get("host_env", "LSQ_HOST")
    access_env = raw.get("access_key_env", "LSQ_ACCESS_KEY")
    secret_env = raw.get("secret_key_env", "LSQ_SECRET_KEY")
    tuning = {k: v for k, v in raw.items() if not k.endswith("_env")}
    return AccountSettings(
        name=name,
        host_env=host_env,
        access_key_env=access_env,
        secret_key_env=secret_env,
        host=environ.get(host_env) or None,
        access_key=environ.get(access_env) or None,
        secret_key=environ.get(secret_env) or None,
        **tuning,
    )


def _source(
    name: str, raw: Mapping[str, Any], default_account: str, environ: Mapping[str, str]
) -> SourceSettings:
    env_names = [raw["secret_env"], *raw.get("previous_secret_envs", [])]
    secrets = tuple(environ[e] for e in env_names if environ.get(e))
    if not environ.get(raw["secret_env"]):
        secrets = ()  # previous secrets alone never stand in for the current one
    events = {
        event_type: EventMapping(
            event_type=event_type,
            activity_event=mapping["activity_event"],
            owner_email=mapping.get("owner_email", raw["owner_email"]),
            note=mapping.get("note"),
            fields={name: _field_source(spec) for name, spec in mapping.get("fields", {}).items()},
            validate_dropdown_options=mapping.get("validate_dropdown_options"),
            **_opportunity_source(mapping if any(k in mapping for k in OPPORTUNITY_KEYS) else raw),
        )
        for event_type, mapping in raw.get("events", {}).items()
    }
    return SourceSettings(
        name=name,
        kind=raw["kind"],
        enabled=raw.get("enabled", True),
        account=raw.get("account", default_account),
        secret_env=raw["secret_env"],
        secrets=secrets,
        events=events,
        scheme=raw.get("scheme", {}),
        allowed_networks=_networks(raw.get("allowed_ips")),
        retain_payload_days=raw.get("retain_payload_days"),
        retain_events_days=raw.get("retain_events_days"),
        secret_envs=dict(raw.get("secret_envs", {})),
        named_secrets={k: environ[v] for k, v in raw.get("secret_envs", {}).items() if environ.get(v)},
        redact_aadhaar=raw.get("redact_aadhaar"),
    )


def _opportunity_source(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return the opportunity_id_path / opportunity_lookup pair of a source or an event table."""
    lookup = raw.get("opportunity_lookup")
    return {
        "opportunity_id_path": raw.get("opportunity_id_path"),
        "opportunity_lookup": OpportunityLookup(**lookup) if lookup else None,
    }


def _field_source(spec: str | Mapping[str, str]) -> FieldSource:
    if isinstance(spec, str):
        return FieldSource(value=spec)
    return FieldSource(value=spec.get("value"), path=spec.get("path"), format=spec.get("format"))


def database_url(environ: Mapping[str, str]) -> str:
    """Return the store's URL: DATABASE_URL, else the SQLite default, for the psycopg 3 driver."""
    return normalize_database_url(environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def normalize_database_url(url: str) -> str:
    """Point PostgreSQL URLs at the psycopg 3 driver, as Heroku-style URLs do not."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def credential_problems(settings: Settings) -> list[str]:
    """Return a problem per LeadSquared variable unset for an account an enabled source uses."""
    used = sorted({s.account for s in settings.sources.values() if s.enabled})
    return [
        f"accounts.{name}: the environment variable {variable} is not set"
        for name in used
        for variable in settings.accounts[name].missing_credentials()
    ]
