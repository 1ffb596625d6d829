"""Load bridge.toml and the environment into frozen Settings, or say what to fix."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import jsonschema

from bridge.config.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_MAX_BODY_BYTES,
    TWO_STEP_LEAD_FIELDS,
    AccountSettings,
    DeliverySettings,
    EventMapping,
    FieldSource,
    Network,
    OpportunityLookup,
    Settings,
    SourceSettings,
)
from bridge.sources.formats import FORMATS
from bridge.sources.kind import BRIDGE_VALUES, SourceKind
from bridge.sources.registry import SourceRegistry
from bridge.sources.signatures.scheme import SecretFormat


class ConfigError(Exception):
    """The configuration cannot be used; each problem names the key and the fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(
    path: str | Path, environ: Mapping[str, str], registry: SourceRegistry, require_secrets: bool = True
) -> Settings:
    """Read, validate and resolve the configuration file against the environment.

    Only tools that never receive a webhook (the dry-run transform) may pass
    require_secrets=False.
    """
    document = read_document(Path(path))
    problems = schema_problems(document) or semantic_problems(document, registry)
    if problems:
        raise ConfigError([f"{path}: {p}" for p in problems])
    settings = build_settings(document, environ)
    if not require_secrets:
        return settings
    problems = [
        f"sources.{s.name}: the environment variable {s.secret_env} is not set; "
        "a source without its secret would accept unsigned webhooks"
        for s in settings.sources.values()
        if s.enabled and not s.secrets
    ]
    problems += secret_format_problems(settings, registry)
    if problems:
        raise ConfigError(problems)
    return settings


def configured_kinds(settings: Settings, registry: SourceRegistry) -> dict[str, SourceKind]:
    """Return the kind of each configured source whose kind is registered, as the source configures it."""
    kinds = {}
    for source in settings.sources.values():
        kind = registry.get(source.kind)
        if kind is not None:
            kinds[source.name] = kind.configured(source.scheme)
    return kinds


def secret_format_problems(settings: Settings, registry: SourceRegistry) -> list[str]:
    """Name each secret variable of an enabled source whose scheme cannot use its value (never the value)."""
    kinds = configured_kinds(settings, registry)
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


def schema_problems(document: Mapping[str, Any]) -> list[str]:
    """Return one line per JSON Schema violation, naming the key."""
    schema = json.loads(resources.files("bridge.config").joinpath("schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        problems.append(f"{key}: {_message(error)}")
    return problems


FIELD_HINT = (
    "give the name of a value the transform yields, or a table with exactly one of "
    'value = "<name>" or path = "<dotted.path>" and an optional format = one of {formats}'
)


def _message(error: jsonschema.ValidationError) -> str:
    """Say what is wrong; "not valid under any of the given schemas" would say nothing."""
    if not error.context:
        return str(error.message)
    if len(error.absolute_path) >= 2 and error.absolute_path[-2] == "fields":
        return FIELD_HINT.format(formats=", ".join(sorted(FORMATS)))
    return str(jsonschema.exceptions.best_match(error.context).message)


def semantic_problems(document: Mapping[str, Any], registry: SourceRegistry) -> list[str]:
    """Return problems the schema cannot see: unknown kinds, accounts, events, values."""
    problems = []
    accounts = document.get("accounts", {})
    problems += _lease_problems(document)
    problems += _network_problems("server.trusted_proxies", document.get("server", {}).get("trusted_proxies"))
    for name, source in document.get("sources", {}).items():
        problems += _network_problems(f"sources.{name}.allowed_ips", source.get("allowed_ips"))
        registered = registry.get(source["kind"])
        if registered is None:
            known = ", ".join(registry.names())
            problems.append(f"sources.{name}.kind: unknown kind {source['kind']!r} (known: {known})")
            continue
        try:
            kind = registered.configured(source.get("scheme", {}))
        except ValueError as error:
            problems.append(f"sources.{name}.scheme: {error}")
            continue
        account = source.get("account", _only_account(accounts))
        if account not in accounts:
            problems.append(f"sources.{name}.account: no [accounts.{account}] is configured")
        problems += _opportunity_problems(name, source)
        for event_type, mapping in source.get("events", {}).items():
            key = f"sources.{name}.events.{event_type}"
            names = kind.values_of(event_type)
            if names is None:
                known = ", ".join(sorted(kind.event_values))
                problems.append(f"{key}: {kind.name} has no event {event_type!r} (known: {known})")
                continue
            problems += _value_problems(key, mapping, names + BRIDGE_VALUES)
    return problems


def _network_problems(key: str, addresses: Iterable[str] | None) -> list[str]:
    problems = []
    for address in addresses or ():
        try:
            ip_network(address)
        except ValueError as error:
            problems.append(f"{key}: {error}; give an address (13.126.198.236) or a network (10.0.0.0/8)")
    return problems


def _networks(addresses: Iterable[str] | None) -> tuple[Network, ...]:
    return tuple(ip_network(address) for address in addresses or ())


OPPORTUNITY_KEYS = ("opportunity_id_path", "opportunity_lookup")


def _opportunity_problems(name: str, source: Mapping[str, Any]) -> list[str]:
    """Require exactly one way to the opportunity for every event: a path or a look-up.

    An event's own opportunity_id_path or opportunity_lookup replaces the
    source's; an event that gives neither uses the source's.
    """
    key = f"sources.{name}"
    fix = (
        'give opportunity_id_path = "<dotted.path>" or an opportunity_lookup table '
        "(lead_field, path, opportunity_type), not both"
    )
    problems = []
    if all(k in source for k in OPPORTUNITY_KEYS):
        problems.append(f"{key}: both opportunity_id_path and opportunity_lookup are set; {fix}")
    events = source.get("events", {})
    for event_type, mapping in events.items():
        if all(k in mapping for k in OPPORTUNITY_KEYS):
            problems.append(
                f"{key}.events.{event_type}: both opportunity_id_path and opportunity_lookup are set; {fix}"
            )
    uncovered = [e for e, m in events.items() if not any(k in m for k in OPPORTUNITY_KEYS)]
    if not any(k in source for k in OPPORTUNITY_KEYS) and (uncovered or not events):
        where = f" (events {', '.join(uncovered)} have none of their own)" if uncovered else ""
        problems.append(f"{key}: no opportunity_id_path and no opportunity_lookup{where}; {fix}")
    lookups = [(key, source.get("opportunity_lookup"))] + [
        (f"{key}.events.{e}", m.get("opportunity_lookup")) for e, m in events.items()
    ]
    for where, lookup in lookups:
        if (
            lookup
            and lookup.get("method") == "lead_then_opportunities"
            and lookup["lead_field"] not in TWO_STEP_LEAD_FIELDS
        ):
            problems.append(
                f"{where}.opportunity_lookup.lead_field: method lead_then_opportunities finds a lead "
                f"only by {', '.join(TWO_STEP_LEAD_FIELDS)}, not {lookup['lead_field']!r}; "
                'use method = "unique_field" for other unique fields'
            )
    return problems


def _lease_problems(document: Mapping[str, Any]) -> list[str]:
    """Refuse a claim lease that a call in flight could outlive.

    A worker's claim expiring mid-call would let another worker settle rows
    whose answer is still on its way: the lease must cover a whole window's
    wait for a slot plus the longest call.
    """
    lease = document.get("delivery", {}).get("claim_lease_seconds", DeliverySettings.claim_lease_seconds)
    problems = []
    for name, account in document.get("accounts", {}).items():
        window = account.get("window_seconds", 5.0) + account.get("window_margin_seconds", 0.2)
        needed = account.get("timeout_seconds", 30.0) + 2 * window
        if lease <= needed:
            problems.append(
                f"delivery.claim_lease_seconds: {lease:g} s is too short for accounts.{name} "
                f"(timeout_seconds plus two windows is {needed:g} s); raise it above that"
            )
    return problems


def _value_problems(key: str, mapping: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    known = set(names)
    problems = []
    for schema_name, spec in mapping.get("fields", {}).items():
        value = spec if isinstance(spec, str) else spec.get("value")
        if value is not None and value not in known:
            problems.append(
                f"{key}.fields.{schema_name}: no value {value!r} (known: {', '.join(sorted(known))})"
            )
        format_name = None if isinstance(spec, str) else spec.get("format")
        if format_name is not None and format_name not in FORMATS:
            formats = ", ".join(sorted(FORMATS))
            problems.append(f"{key}.fields.{schema_name}: unknown format {format_name!r} (known: {formats})")
    try:
        mapping.get("note", "").format_map({name: "" for name in known})
    except (KeyError, ValueError, IndexError) as error:
        problems.append(
            f"{key}.note: cannot fill the template ({error!r}); "
            f"use {{name}} with one of: {', '.join(sorted(known))}"
        )
    return problems


def _only_account(accounts: Mapping[str, Any]) -> str:
    return next(iter(accounts)) if len(accounts) == 1 else "default"


def build_settings(document: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Turn a validated document and the environment into Settings."""
    accounts = {name: _account(name, raw, environ) for name, raw in document["accounts"].items()}
    sources = {
        name: _source(name, raw, _only_account(document["accounts"]), environ)
        for name, raw in document.get("sources", {}).items()
    }
    server = document.get("server", {})
    return Settings(
        database_url=normalize_database_url(environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        max_body_bytes=server.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        accounts=accounts,
        sources=sources,
        delivery=DeliverySettings(**document.get("delivery", {})),
        trusted_proxies=_networks(server.get("trusted_proxies")),
    )


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
