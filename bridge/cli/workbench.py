"""Tools for integration engineers: a dry-run transform, and a signed sample sent to a bridge."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bridge.config.settings import Settings, SourceSettings
from bridge.leadsquared.client import BULK_PATH
from bridge.pipeline.transform import Delivery, Failed, Ignored, map_event
from bridge.sources.kind import SourceKind
from bridge.sources.senders import demo_secret, event_type_headers, signed_request, webhook_path, with_query

SAMPLES = Path(__file__).resolve().parents[2] / "transforms" / "samples"


class WorkbenchError(Exception):
    """The tool cannot do what was asked; the message says precisely why."""


@dataclass(frozen=True)
class PlannedCall:
    """One bulk call the bridge would make."""

    url: str
    body: list[dict[str, Any]]


def dry_run(
    settings: Settings,
    kinds: Mapping[str, SourceKind],
    source_name: str,
    body: bytes,
    event_type: str | None = None,
) -> list[PlannedCall]:
    """Return the LeadSquared calls the bridge would make for a delivery, or say why none."""
    source, kind = _source(settings, kinds, source_name)
    try:
        payload = kind.parse(body)
    except ValueError as error:
        raise WorkbenchError(f"the payload {error}") from None
    if event_type is None and kind.event_type_header:
        raise WorkbenchError(
            f"{source_name} sends its event type in the {kind.event_type_header} header, "
            "which a file does not hold: pass --event-type"
        )
    key = kind.idempotency_key(_NoHeaders(), body, payload)
    delivery = Delivery(key, event_type or kind.type_of(_NoHeaders(), payload), body)
    outcome = map_event(delivery, source, kind, settings.accounts[source.account])
    if isinstance(outcome, Ignored):
        mapped = ", ".join(sorted(source.events)) or "none"
        raise WorkbenchError(
            f"event type {outcome.event_type!r} is not mapped in [sources.{source_name}.events] "
            f"(mapped: {mapped}); the bridge would store it as ignored"
        )
    if isinstance(outcome, Failed):
        raise WorkbenchError(f"the bridge would store this event as failed: {outcome.reason}")
    account = settings.accounts[source.account]
    host = account.base_url if account.host else f"https://{{{account.host_env}}}"
    calls: dict[str, list[dict[str, Any]]] = {}
    for activity in outcome.activities:
        # A look-up happens only in the worker: the dry run says what it would search.
        where = activity.opportunity_id
        if where is None and activity.lookup is not None:
            where = f"<looked up by {activity.lookup.describe()}>"
        calls.setdefault(where or "", []).append(activity.request)
    return [
        PlannedCall(f"{host}{BULK_PATH}?opportunityId={opportunity_id}", rows)
        for opportunity_id, rows in calls.items()
    ]


def sample_body(kind: SourceKind, event_type: str) -> bytes:
    """Return the shipped sample delivery of a source's event type."""
    folder = SAMPLES / kind.name
    path = folder / f"{event_type}{kind.sample_suffix}"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob(f"*{kind.sample_suffix}"))) or "none"
        raise WorkbenchError(f"{kind.name} has no sample for {event_type!r} (samples: {known})")
    return path.read_bytes()


def send_sample(
    settings: Settings, kinds: Mapping[str, SourceKind], source_name: str, event_type: str, base_url: str
) -> requests.Response:
    """Sign a shipped sample with the source's current secret and post it to a running bridge."""
    source, kind = _source(settings, kinds, source_name)
    if not source.secrets:
        raise WorkbenchError(
            f"set {source.secret_env} to the secret the bridge uses "
            f"(`make run` in sandbox mode uses {demo_secret(source_name, kind)})"
        )
    body, signed, query = signed_request(
        kind.signature, sample_body(kind, event_type), source.secrets[0], time.time()
    )
    headers = {"Content-Type": kind.content_type, **signed, **event_type_headers(kind, event_type)}
    path = with_query(webhook_path(source_name, kind.signature, source.secrets[0]), query)
    url = base_url.rstrip("/") + path
    shown = base_url.rstrip("/") + webhook_path(source_name, kind.signature, "<token>")
    try:
        return requests.post(url, data=body, headers=headers, timeout=10)
    except requests.RequestException as error:
        raise WorkbenchError(f"could not reach the bridge at {shown}: {type(error).__name__}") from None


def _source(
    settings: Settings, kinds: Mapping[str, SourceKind], name: str
) -> tuple[SourceSettings, SourceKind]:
    source = settings.sources.get(name)
    kind = kinds.get(name) if source else None
    if source is None or kind is None:
        known = ", ".join(sorted(settings.sources)) or "none"
        raise WorkbenchError(f"no source is named {name!r} in the configuration (sources: {known})")
    return source, kind


class _NoHeaders:
    """A file carries no HTTP headers: sources fall back to keys derived from the body."""

    def get(self, key: str, /) -> str | None:
        return None
