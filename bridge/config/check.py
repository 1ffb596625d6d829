"""`check-config`: everything a deploy needs, checked before it is deployed.

Loading the configuration (with its secrets required) already refused every
problem of the file and the webhook secrets; this adds the LeadSquared keys
and the warnings.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge.config.load import ConfigError, credential_problems, erasure_key_problems
from bridge.config.settings import WORKER_OWN_CONNECTIONS, Settings, SourceSettings
from bridge.sources.kind import SourceKind
from bridge.sources.signatures.scheme import TokenScheme


def check_configuration(settings: Settings, kinds: Mapping[str, SourceKind]) -> list[str]:
    """Raise ConfigError with every problem loading left; return warnings that do not stop a deploy."""
    problems = credential_problems(settings) + erasure_key_problems(settings)
    if problems:
        raise ConfigError(problems)
    warnings = []
    for source in settings.sources.values():
        if source.enabled and not source.events:
            warnings.append(f"sources.{source.name}: no events are mapped; every delivery will be ignored")
        if source.enabled:
            warnings += token_warnings(source, kinds[source.name])
            warnings += named_secret_warnings(source)
    max_age = settings.delivery.max_age_seconds
    for source in settings.sources.values():
        for mapping in source.events.values():
            lookup = mapping.opportunity_lookup
            if lookup is not None and lookup.wait_seconds >= max_age:
                warnings.append(
                    f"sources.{source.name}.events.{mapping.event_type}: the look-up's wait_seconds "
                    f"({lookup.wait_seconds:g}) is not below delivery.max_age_seconds ({max_age:g}); "
                    "an activity whose lead is found late is dead at its first failed delivery"
                )
    delivery = settings.delivery
    if delivery.worker_stale_seconds >= delivery.claim_lease_seconds:
        warnings.append(
            f"delivery.worker_stale_seconds ({delivery.worker_stale_seconds:g}) is not below "
            f"claim_lease_seconds ({delivery.claim_lease_seconds:g}); a dead worker's claims wait "
            "for their lease instead of coming back within seconds"
        )
    for account in settings.accounts.values():
        if not account.key_field:
            warnings.append(
                f"accounts.{account.name}: no key_field; an unknown outcome (timeout, killed worker) "
                "is held for an operator instead of being settled by reading LeadSquared back"
            )
        host = account.base_url
        if host.startswith("http://") and not host.startswith(("http://127.", "http://localhost")):
            warnings.append(
                f"accounts.{account.name}: {account.host_env} is plain http; LeadSquared needs https"
            )
    return warnings + pool_warnings(settings) + alert_warnings(settings)


def alert_warnings(settings: Settings) -> list[str]:
    """Warn that alerts are off, go in clear text, or would call a worker dead that is only late."""
    alerts = settings.alerts
    if not alerts.enabled:
        return [f"alerts: {alerts.webhook_url_env} is not set; alerts are off (README, Monitoring, Alerts)"]
    warnings = []
    url = alerts.webhook_url or ""
    if url.startswith("http://") and not url.startswith(("http://127.", "http://localhost")):
        warnings.append(
            f"alerts: {alerts.webhook_url_env} is plain http; the sink's key would cross in clear"
        )
    stale = settings.delivery.worker_stale_seconds
    if alerts.worker_silent_seconds <= stale:
        warnings.append(
            f"alerts.worker_silent_seconds ({alerts.worker_silent_seconds:g}) is not above "
            f"delivery.worker_stale_seconds ({stale:g}); a worker merely late alerts"
        )
    return warnings


def pool_warnings(settings: Settings) -> list[str]:
    """Warn when a worker's pool is smaller than the threads that use it: they would queue for it."""
    wanted = settings.delivery_threads() + WORKER_OWN_CONNECTIONS + settings.alert_connections()
    configured = settings.database.worker_pool_size
    if configured is None or configured >= wanted:
        return []
    own = WORKER_OWN_CONNECTIONS + settings.alert_connections()
    return [
        f"database.worker_pool_size: {configured} is below the worker's {settings.delivery_threads()} "
        f"delivery threads + {own}; they will wait for connections "
        f"(up to pool_timeout_seconds) instead of calling LeadSquared"
    ]


def token_warnings(source: SourceSettings, kind: SourceKind) -> list[str]:
    """Warn that a token-authenticated source is weaker than a signed one, and how to make up for it."""
    if not isinstance(kind.signature, TokenScheme):
        return []
    where = "URL" if kind.signature.in_path else "header"
    warning = (
        f"sources.{source.name}: authenticated by a shared token in the {where}, weaker than a signature: "
        "it covers no byte of the body and no time, so whoever sees one delivery can post any body; "
        "confirm each result over the provider's API before acting on it"
    )
    if not source.allowed_networks:
        warning += ", and set allowed_ips to the provider's addresses"
    return [warning]


def named_secret_warnings(source: SourceSettings) -> list[str]:
    """Warn when a named secret is the signing secret: a verify token travels in a URL, the key must not."""
    return [
        f"sources.{source.name}: secret_envs.{name} ({source.secret_envs[name]}) holds the same value as "
        f"{source.secret_env}; it is sent in the clear (Meta's verify token rides in a URL's query): "
        "give it a value of its own"
        for name, value in source.named_secrets.items()
        if value in source.secrets
    ]
