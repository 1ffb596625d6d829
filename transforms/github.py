"""GitHub-style webhooks: `X-Hub-Signature-256: sha256=<hex>` over the raw body.

GitHub and the many senders that copied it (Gitea, Gogs, Bitbucket Server,
smaller Indian SaaS tools) sign the body alone with HMAC-SHA256, hex, behind a
`sha256=` prefix. Only the body is signed: no timestamp, and not the
X-GitHub-Delivery or X-GitHub-Event headers. A redelivery sent as it was is
dropped as a duplicate by its delivery id, but whoever captured one delivery
can replay its body under a new delivery id (queued again) or another event
type (mapped as that type). GitHub does not retry on its own (redelivery is
manual, for 3 days).
Idempotency key: `X-GitHub-Delivery` (a GUID per delivery; a manual
redelivery keeps it), else the body's SHA-256.
Event type: the `X-GitHub-Event` header (`push`, `issues`, ...); the body's
`action` is the `action` value. `[sources.<name>.scheme]` can name other
headers (`event_type_header`, `id_header`) or a body path (`event_type_path`,
`id_path`) for a sender that is GitHub-style but not GitHub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.sources.kind import SourceKind
from bridge.sources.payload import Payload, body_hash_key
from bridge.sources.scheme_options import LOCATION_KEYS, SchemeOptions, with_locations
from bridge.sources.signatures import HmacSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import text

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
VALUES = ("event_type", "action")


def transform(event_type: str, payload: Payload) -> list[dict[str, str | None]]:
    """Return one activity's values: the event type and the body's action, if any."""
    return [{"event_type": event_type, "action": text(payload.get("action"))}]


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind reading the event type and delivery id where the source says."""
    options = SchemeOptions(scheme, LOCATION_KEYS)
    return with_locations(SOURCE, options, event_type_header=EVENT_HEADER, id_header=DELIVERY_HEADER)


def delivery_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return X-GitHub-Delivery; the body's hash from a sender that sends no id."""
    return (headers.get(DELIVERY_HEADER) or "").strip() or body_hash_key(body)


SOURCE = SourceKind(
    name="github",
    content_type="application/json",
    signature=HmacSignature("X-Hub-Signature-256", prefix="sha256="),
    event_values={},
    any_event_values=VALUES,
    idempotency_key=delivery_key,
    # The type is in the X-GitHub-Event header, not the body (see type_of).
    event_type=lambda payload: None,
    event_type_header=EVENT_HEADER,
    transform=transform,
    configure=configure,
)
