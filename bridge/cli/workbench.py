"""Tools for integration engineers: a dry-run transform, and a signed sample sent to a bridge."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bridge.config.settings import Settings, SourceSettings
from bridge.leadsquared.client import BULK_PATH
from bridge.pipeline.transform import Delivery, Failed, Ignored, map_event
from bridge.sources.handshake import HandshakeAnswer, SourceSecrets
from bridge.sources.kind import SourceKind
from bridge.sources.redaction import stored_form
from bridge.sources.senders import (
    demo_secret,
    event_type_headers,
    signed_delivery,
    signed_request,
    webhook_path,
    with_query,
)
from bridge.sources.signatures.scheme import SealedScheme

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
        raise WorkbenchError(f"the payload {error}{_sealed_hint(kind)}") from None
    body, payload = stored_form(kind, body, payload)  # as the receiver stores it
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
            + (_sealed_hint(kind) if outcome.event_type is None else "")
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


def sample_body(kind: SourceKind, event_type: str, source_name: str | None = None) -> bytes:
    """Return the shipped sample delivery of a source's event type.

    A configured source of a generic kind (Typeform, Tally: `kind = "hmac"`)
    has its samples under its own name; every other under its kind's.
    """
    folder = SAMPLES / kind.name
    if source_name and (SAMPLES / source_name).is_dir():
        folder = SAMPLES / source_name
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
    body = sample_body(kind, event_type, source_name)
    if kind.echo is not None:
        # The sample echoes a made-up key (Ozonetel's Apikey): send the one this bridge has.
        body = kind.echo.stamp(body, source.named_secrets)
    body, signed, query = signed_request(kind.signature, body, source.secrets[0], time.time())
    headers = {"Content-Type": kind.content_type, **signed, **event_type_headers(kind, event_type)}
    path = with_query(webhook_path(source_name, kind.signature, source.secrets[0]), query)
    url = base_url.rstrip("/") + path
    shown = base_url.rstrip("/") + webhook_path(source_name, kind.signature, "<token>")
    try:
        return requests.post(url, data=body, headers=headers, timeout=10)
    except requests.RequestException as error:
        raise WorkbenchError(f"could not reach the bridge at {shown}: {type(error).__name__}") from None


def _sealed_hint(kind: SourceKind) -> str:
    """Return a reminder that a sealed source's file is the opened body, for messages about a payload."""
    if not isinstance(kind.signature, SealedScheme):
        return ""
    return (
        f"; a {kind.name} payload is the decrypted (decoded) body the bridge stores, as in "
        f"transforms/samples/{kind.name}/, not the sealed body the provider posts"
    )


@dataclass(frozen=True)
class HandshakeReply:
    """What a bridge answered a handshake, and whether it is what the provider expects."""

    status_code: int
    text: str
    expected: bool


def send_handshake(
    settings: Settings, kinds: Mapping[str, SourceKind], source_name: str, base_url: str
) -> HandshakeReply:
    """Run the provider's verification handshake against a running bridge, as the provider would."""
    source, kind = _source(settings, kinds, source_name)
    if kind.handshake is None:
        raise WorkbenchError(f"{source_name} ({kind.name}) has no verification handshake: send an event type")
    unset = [source.secret_env] if not source.secrets else []
    unset += [env for name, env in source.secret_envs.items() if name not in source.named_secrets]
    if unset:
        raise WorkbenchError(f"set {', '.join(unset)} to the values the bridge uses")
    probe = kind.handshake.probe(
        SourceSecrets(source.secrets, source.named_secrets), str(secrets.randbelow(10**9))
    )
    url = base_url.rstrip("/") + f"/webhooks/{source_name}"
    try:
        if probe.method == "GET":
            # The query holds the verify token: neither the URL nor an error shows it.
            answer = requests.get(url, params=dict(probe.query), timeout=10)
        else:
            body, signed = signed_delivery(kind.signature, probe.body or b"", source.secrets[0], time.time())
            answer = requests.post(
                url, data=body, headers={"Content-Type": kind.content_type, **signed}, timeout=10
            )
    except requests.RequestException as error:
        raise WorkbenchError(f"could not reach the bridge at {url}: {type(error).__name__}") from None
    return HandshakeReply(answer.status_code, answer.text, _as_expected(answer, probe.expected))


def _as_expected(answer: requests.Response, expected: HandshakeAnswer | None) -> bool:
    if expected is None or answer.status_code != expected.status:
        return False
    if expected.content_type == "application/json":
        try:
            return bool(answer.json() == json.loads(expected.body))
        except ValueError:
            return False
    return answer.text == expected.body


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
