"""Check a configuration document: its JSON Schema, then what the schema cannot see."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from ipaddress import ip_network
from typing import Any

import jsonschema

from bridge.config.settings import TWO_STEP_LEAD_FIELDS, DeliverySettings, RetentionSettings
from bridge.sources.formats import FORMATS
from bridge.sources.kind import BRIDGE_VALUES, SourceKind
from bridge.sources.registry import SourceRegistry


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


# worker_stale_seconds spans at least this many heartbeats: a late one never makes a live worker dead.
HEARTBEATS_PER_STALE_LIMIT = 3

WAKE_HINT = (
    'give "notify" (a stored webhook wakes the worker at once; polling stays as the fallback) '
    'or "poll" (polling alone, for PostgreSQL behind a transaction-mode pooler such as PgBouncer)'
)


def _message(error: jsonschema.ValidationError) -> str:
    """Say what is wrong; "not valid under any of the given schemas" would say nothing."""
    if list(error.absolute_path) == ["delivery", "wake"]:
        return f"{error.instance!r} is not a wake mode; {WAKE_HINT}"
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
    problems += _heartbeat_problems(document)
    problems += _retention_problems(document)
    server = document.get("server", {})
    problems += _network_problems("server.trusted_proxies", server.get("trusted_proxies"))
    problems += _network_problems("server.metrics_allowed_ips", server.get("metrics_allowed_ips"))
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
        problems += _named_secret_problems(name, kind, source.get("secret_envs", {}))
        if source.get("redact_aadhaar") and kind.content_type != "application/json":
            problems.append(
                f"sources.{name}.redact_aadhaar: the {kind.name} kind's body is {kind.content_type}, "
                "and only a JSON body is stored with Aadhaar numbers masked; remove the key"
            )
        account = source.get("account", default_account(accounts))
        if account not in accounts:
            problems.append(f"sources.{name}.account: no [accounts.{account}] is configured")
        problems += _opportunity_problems(name, source)
        problems += _lookup_value_problems(name, source, kind)
        for event_type, mapping in source.get("events", {}).items():
            key = f"sources.{name}.events.{event_type}"
            names = kind.values_of(event_type)
            if names is None:
                known = ", ".join(sorted(kind.event_values))
                problems.append(f"{key}: {kind.name} has no event {event_type!r} (known: {known})")
                continue
            problems += _value_problems(key, mapping, names + BRIDGE_VALUES)
    return problems


def _named_secret_problems(name: str, kind: SourceKind, secret_envs: Mapping[str, str]) -> list[str]:
    """Return a problem per named secret the kind needs and the source does not name, or takes and no kind."""
    declared = ", ".join(kind.named_secrets) or "none"
    problems = [
        f"sources.{name}.secret_envs.{secret}: the {kind.name} kind takes no such secret "
        f"(it takes: {declared})"
        for secret in sorted(set(secret_envs) - set(kind.named_secrets))
    ]
    problems += [
        f"sources.{name}.secret_envs.{secret}: required by the {kind.name} kind; "
        "name the environment variable that holds it"
        for secret in kind.named_secrets
        if secret not in secret_envs
    ]
    return problems


def _network_problems(key: str, addresses: Iterable[str] | None) -> list[str]:
    problems = []
    for address in addresses or ():
        try:
            ip_network(address)
        except ValueError as error:
            problems.append(f"{key}: {error}; give an address (13.126.198.236) or a network (10.0.0.0/8)")
    return problems


OPPORTUNITY_KEYS = ("opportunity_id_path", "opportunity_lookup")


def _opportunity_problems(name: str, source: Mapping[str, Any]) -> list[str]:
    """Require exactly one way to the opportunity for every event: a path or a look-up.

    An event's own opportunity_id_path or opportunity_lookup replaces the
    source's; an event that gives neither uses the source's.
    """
    key = f"sources.{name}"
    fix = (
        'give opportunity_id_path = "<dotted.path>" or an opportunity_lookup table '
        "(lead_field, path or value, opportunity_type), not both"
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
        if lookup and ("path" in lookup) == ("value" in lookup):
            problems.append(
                f"{where}.opportunity_lookup: give path (a dotted path into the payload) or value "
                "(a value the transform yields, such as customer_phone), exactly one"
            )
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


def _lookup_value_problems(name: str, source: Mapping[str, Any], kind: SourceKind) -> list[str]:
    """Require a look-up's value to be one the kind's transform yields for each event that uses it."""
    problems = []
    for event_type, mapping in source.get("events", {}).items():
        own = any(k in mapping for k in OPPORTUNITY_KEYS)
        lookup = mapping.get("opportunity_lookup") if own else source.get("opportunity_lookup")
        names = kind.values_of(event_type)
        if not lookup or "value" not in lookup or names is None or lookup["value"] in names:
            continue
        where = f"sources.{name}.events.{event_type}" if own else f"sources.{name}"
        problems.append(
            f"{where}.opportunity_lookup.value: {kind.name}'s {event_type} yields no value "
            f"{lookup['value']!r} (it yields: {', '.join(names)})"
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


def _heartbeat_problems(document: Mapping[str, Any]) -> list[str]:
    """Refuse a stale limit that one or two late heartbeats could reach.

    A live worker counted dead loses its claims and its calls; a beat can be
    late by a slow commit or a busy core, so the limit must span several.
    """
    delivery = document.get("delivery", {})
    beat = delivery.get("heartbeat_seconds", DeliverySettings.heartbeat_seconds)
    stale = delivery.get("worker_stale_seconds", DeliverySettings.worker_stale_seconds)
    needed = HEARTBEATS_PER_STALE_LIMIT * beat
    if stale < needed:
        return [
            f"delivery.worker_stale_seconds: {stale:g} s is too close to heartbeat_seconds ({beat:g} s); "
            f"make it at least {HEARTBEATS_PER_STALE_LIMIT} heartbeats ({needed:g} s), or beat more often"
        ]
    return []


def _retention_problems(document: Mapping[str, Any]) -> list[str]:
    """Refuse records kept for less time than the payloads they describe, globally or per source."""
    retention = document.get("retention", {})
    payload = retention.get("retain_payload_days", RetentionSettings.retain_payload_days)
    kept = retention.get("retain_events_days", RetentionSettings.retain_events_days)
    problems = []
    places = [("retention", payload, kept)] + [
        (
            f"sources.{name}",
            source.get("retain_payload_days", payload),
            source.get("retain_events_days", kept),
        )
        for name, source in document.get("sources", {}).items()
    ]
    for key, payload_days, events_days in places:
        if events_days < payload_days:
            problems.append(
                f"{key}.retain_events_days: {events_days} is below retain_payload_days ({payload_days}); "
                "an event would be deleted before its payload is due to go: raise it"
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


def default_account(accounts: Mapping[str, Any]) -> str:
    """Return the account a source without `account` uses: the only one, else "default"."""
    return next(iter(accounts)) if len(accounts) == 1 else "default"
