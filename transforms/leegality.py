"""Leegality (e-sign): an invitee's action on a document, with a `mac` that covers only its id.

Leegality sends JSON on each invitee action (signed, approved, rejected,
certificate verification failed), to the webhook URL set on the workflow or
document. Its only proof is the body's `mac` field: HMAC-SHA1 of `documentId`
alone, keyed with the account's Private Salt (Dashboard > API Settings); hex
is assumed (unconfirmed). It covers nothing else: the status, the invitee, the
event type and every other field can be changed without breaking it, no time
is signed, and a captured delivery can be replayed for ever
(bridge/sources/signatures/field_mac.py). Fetch the document with
Leegality's Check Document Details API before acting on it. Leegality
retries a non-2xx answer up to 3 times (schedule unconfirmed).

Payload (unconfirmed beyond `documentId` and `mac`: our reading, not a
capture): `{documentId, irn, webhookType, request: {name, email, phone},
messages: [{code, message}], mac}`. Event type: `webhookType` (the samples'
`Success` and `Rejected` are ours). Idempotency key:
`documentId:invitee-<digest>:webhookType` (Leegality sends no event id; one
document has several invitees, each acting once). The digest is the first 16
hex digits of SHA-256 of the invitee's email (else phone), lower-cased: the
key is shown on the console and outlives an erasure, so it holds no email or
phone. A notification naming neither is keyed by the body's hash, so two
anonymous invitees of one document are not one duplicate. The parts after the
id are not covered by the mac, so a replayer can mint new keys by editing
them. Our choice for the opportunity: create the document with `irn` (the
internal reference number; the field name is unconfirmed) = the LeadSquared
opportunity id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at
from bridge.sources.signatures.field_mac import FieldMac
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import mapping_or_empty, required_text, text

INVITEE_VALUES = (
    "document_id",
    "irn",
    "webhook_type",
    "invitee_name",
    "invitee_email",
    "invitee_phone",
    "message",
)
EVENT_VALUES = {"Success": INVITEE_VALUES, "Rejected": INVITEE_VALUES}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return documentId:invitee-<digest>:webhookType (each invitee acts once), or the body's hash."""
    document_id = (text(payload.get("documentId")) or "").strip()
    invitee = mapping_or_empty(payload.get("request"))
    who = (text(invitee.get("email")) or text(invitee.get("phone")) or "").strip()
    if not document_id or not who:
        return body_hash_key(body)
    return f"{document_id}:{invitee_digest(who)}:{(text(payload.get('webhookType')) or '').strip()}"


def invitee_digest(who: str) -> str:
    """Return an invitee's email or phone as a key part that does not show it: invitee-<16 hex digits>."""
    return "invitee-" + hashlib.sha256(who.lower().encode("utf-8", "replace")).hexdigest()[:16]


# The kind of notification, e.g. 'Success' (field name unconfirmed).
event_type = event_type_at("webhookType")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Leegality invitee notification."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"leegality has no transform for {event_type!r}")
    invitee = mapping_or_empty(payload.get("request"))
    messages = payload.get("messages")
    first = mapping_or_empty(messages[0]) if isinstance(messages, list) and messages else {}
    return [
        {
            "document_id": required_text(payload, "documentId"),
            "irn": text(payload.get("irn")),
            "webhook_type": text(payload.get("webhookType")),
            "invitee_name": text(invitee.get("name")),
            "invitee_email": text(invitee.get("email")),
            "invitee_phone": text(invitee.get("phone")),
            "message": text(first.get("message")),
        }
    ]


SOURCE = SourceKind(
    name="leegality",
    content_type="application/json",
    signature=FieldMac(covered="documentId", field="mac"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    redact_aadhaar=True,
)
