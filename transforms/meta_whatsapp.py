"""Meta WhatsApp Cloud API (Graph API webhooks): inbound messages and the statuses of sent ones.

Signed: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`,
the GitHub-style scheme keyed with the Meta app's App Secret. The raw bytes
are hashed: Meta signs its own escaped serialisation (`\\u00e4`), which a
re-serialised body would not match. No timestamp is signed, so a captured
delivery can be replayed; the idempotency key stops it being queued twice.
Resetting the App Secret is a cut-over with no overlap (unconfirmed): set the
new one in `META_WHATSAPP_WEBHOOK_SECRET` as you reset it.

Handshake: Meta first proves the URL with a `GET` carrying `hub.mode=subscribe`,
`hub.verify_token` (the string typed into the App Dashboard, the source's
named secret `verify_token`) and `hub.challenge`, answered with the bare
challenge (bridge/sources/handshake.py, HubChallenge).

One delivery becomes one activity per message (event type `messages`) or
per status (`statuses`), across its `entry[].changes[].value`. Each
activity's opportunity is looked up by its own customer's phone: the
example's `opportunity_lookup.value` is `from_phone` (messages) or
`recipient_phone` (statuses), so a delivery batching several customers puts
each item on its own lead's opportunity. (A look-up by a payload `path`,
`...messages.0.from`, would put them all on the first one's: use the value.)
A delivery carrying both messages and statuses fails visibly (replayable):
an event has one type. Meta sends one item per delivery in the samples we
know; whether it batches is unconfirmed.
Idempotency key: `wamid:<id>[,<id>...]` for messages (the wamid), and
`<id>:<status>[,...]` for statuses (a message's id repeats for sent,
delivered, read, failed), else the body's hash.
Phones are E.164 digits without `+` (`919876543210`); the field list comes
from public samples (unconfirmed against Meta's reference).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bridge.sources.formats import lsq_datetime
from bridge.sources.handshake import HubChallenge
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key
from bridge.sources.signatures import HmacSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import formatted_at, mapping_or_empty, required_text, text

MESSAGE_VALUES = (
    "message_id",
    "from_phone",
    "contact_name",
    "message_type",
    "text",
    "sent_at",
    "phone_number_id",
    "display_phone_number",
)
STATUS_VALUES = (
    "message_id",
    "status",
    "recipient_phone",
    "status_at",
    "conversation_id",
    "pricing_category",
    "error_code",
    "error_title",
    "phone_number_id",
    "display_phone_number",
)
EVENT_VALUES = {"messages": MESSAGE_VALUES, "statuses": STATUS_VALUES}


def listed(value: Any) -> list[Any]:
    """Return a JSON array as it is and anything else as an empty one."""
    return value if isinstance(value, list) else []


def changes(payload: Payload) -> Iterator[Mapping[str, Any]]:
    """Yield each `entry[].changes[].value` object of a delivery."""
    for entry in listed(payload.get("entry")):
        for change in listed(mapping_or_empty(entry).get("changes")):
            yield mapping_or_empty(mapping_or_empty(change).get("value"))


def items(payload: Payload, kind: str) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Return each message (or status) of a delivery with the change value it came in."""
    return [(value, mapping_or_empty(item)) for value in changes(payload) for item in listed(value.get(kind))]


def event_type(payload: Payload) -> str | None:
    """Return `messages` or `statuses`, whichever the delivery carries (messages when it has both)."""
    for kind in EVENT_VALUES:
        if items(payload, kind):
            return kind
    return None


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the wamids of a delivery's messages, or its statuses' id:status; else the body's hash."""
    messages = [text(item.get("id")) or "" for _, item in items(payload, "messages")]
    if messages and all(messages):
        return "wamid:" + ",".join(messages)
    statuses = [
        f"{text(s.get('id')) or ''}:{text(s.get('status')) or ''}" for _, s in items(payload, "statuses")
    ]
    if statuses and all(not part.startswith(":") for part in statuses):
        return ",".join(statuses)
    return body_hash_key(body)


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return one activity's values per message, or per status, of one delivery."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"meta_whatsapp has no transform for {event_type!r}")
    other = "statuses" if event_type == "messages" else "messages"
    if items(payload, other):
        raise TransformError(f"the delivery carries both messages and statuses; map {event_type} alone")
    if event_type == "messages":
        activities = [message_values(value, item) for value, item in items(payload, "messages")]
    else:
        activities = [status_values(value, item) for value, item in items(payload, "statuses")]
    if not activities:
        raise TransformError(f"entry[].changes[].value.{event_type} is missing")
    return activities


def message_values(value: Mapping[str, Any], message: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of one inbound message."""
    path = "entry.changes.value.messages"
    sender = required_text(message, "from", path)
    contact = next(
        (c for c in map(mapping_or_empty, listed(value.get("contacts"))) if text(c.get("wa_id")) == sender),
        {},
    )
    kind = text(message.get("type"))
    return {
        "message_id": required_text(message, "id", path),
        "from_phone": sender,
        "contact_name": text(mapping_or_empty(contact.get("profile")).get("name")),
        "message_type": kind,
        "text": text(mapping_or_empty(message.get("text")).get("body")),
        "sent_at": unix_text_datetime(message, "timestamp", path),
        **business_number(value),
    }


def status_values(value: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of one status of a message the business sent."""
    path = "entry.changes.value.statuses"
    errors = status.get("errors")
    error = mapping_or_empty(errors[0]) if isinstance(errors, list) and errors else {}
    return {
        "message_id": required_text(status, "id", path),
        "status": required_text(status, "status", path),
        "recipient_phone": required_text(status, "recipient_id", path),
        "status_at": unix_text_datetime(status, "timestamp", path),
        "conversation_id": text(mapping_or_empty(status.get("conversation")).get("id")),
        "pricing_category": text(mapping_or_empty(status.get("pricing")).get("category")),
        "error_code": text(error.get("code")),
        "error_title": text(error.get("title")),
        **business_number(value),
    }


def business_number(value: Mapping[str, Any]) -> dict[str, str | None]:
    """Return which of the business's numbers the change is about."""
    metadata = mapping_or_empty(value.get("metadata"))
    return {
        "phone_number_id": text(metadata.get("phone_number_id")),
        "display_phone_number": text(metadata.get("display_phone_number")),
    }


def unix_text_datetime(entity: Mapping[str, Any], key: str, path: str) -> str | None:
    """Return entity[key], Unix seconds Meta sends as a string, as LeadSquared's UTC time."""

    def from_text(stamp: Any) -> str:
        if not isinstance(stamp, str) or not stamp.isdigit():
            raise ValueError(f"a Unix time must be digits, not {stamp!r}")
        return lsq_datetime(int(stamp))

    return formatted_at(from_text, entity, key, path)


SOURCE = SourceKind(
    name="meta_whatsapp",
    content_type="application/json",
    signature=HmacSignature("X-Hub-Signature-256", prefix="sha256="),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    handshake=HubChallenge("verify_token"),
    named_secrets=("verify_token",),
)
