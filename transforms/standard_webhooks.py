"""Standard Webhooks (standardwebhooks.com) and Svix: any sender that follows the spec.

Signature: `webhook-id`, `webhook-timestamp` and `webhook-signature` (Svix:
`svix-*`), a space-separated list of `v1,<base64>` HMAC-SHA256 signatures of
`{id}.{timestamp}.{body}`, keyed with the base64-decoded `whsec_` secret;
±5 minutes (bridge/sources/signatures/standard_webhooks.py).
Idempotency key: `webhook-id` (`svix-id`), the same on every retry of a message.
Event type: the body's `type`, as the spec recommends (`{type, timestamp,
data}`); `[sources.<name>.scheme] event_type_path` reads it elsewhere.
Mapping: any event type; fields are read from the body by path, and
`{delivery_id}` (the message id) traces an activity back to the sender.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bridge.sources.kind import SourceKind
from bridge.sources.payload import Payload, body_hash_key, event_type_at
from bridge.sources.scheme_options import GENERIC_VALUES, SchemeOptions, event_type_only, with_locations
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.signatures.standard_webhooks import StandardWebhooksSignature
from bridge.sources.signatures.standard_webhooks import message_id as signed_message_id


def message_id(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the signed message id, the same on every retry; the body's hash without one.

    The id is read from the header set the signature was checked with (webhook-*
    or svix-*): an unsigned id beside it could make a replay look new.
    """
    return signed_message_id(headers) or body_hash_key(body)


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind reading its event type at the source's event_type_path."""
    options = SchemeOptions(scheme, ["event_type_path"])
    configured = with_locations(SOURCE, options, event_type_path="type")
    return replace(configured, idempotency_key=message_id)


SOURCE = SourceKind(
    name="standard_webhooks",
    content_type="application/json",
    signature=StandardWebhooksSignature(),
    event_values={},
    any_event_values=GENERIC_VALUES,
    idempotency_key=message_id,
    event_type=event_type_at("type"),
    transform=event_type_only,
    configure=configure,
)
