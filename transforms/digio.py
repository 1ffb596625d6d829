"""Digio (India): KYC requests approved or rejected, and eSign documents signed.

Signature: `X-Digio-Checksum`, hex HMAC-SHA256 of the raw body under the
secret typed in Digio's dashboard (Digio support KB, "How do we make sure
that webhook events are coming only from Digio"). Hash the bytes as
received: public integrations that hash a re-serialised body break on the
first reordered key. No timestamp is signed, so there is no replay window: a
replay stops at the idempotency key. Without a secret Digio's only guard is
its source IPs (sandbox 35.154.20.28, production 13.126.198.236), so the
bridge refuses to run this source without one. Rotation is not documented.

Idempotency: the body's `id` (`WHN...`, seen only in third-party tests); a
hash of the body when it is absent. Retries: Digio queues events while an
endpoint is disabled and delivers them later, per account (one failing event
type holds up every type); it advises always answering 200. The retry
schedule is unconfirmed.

Unconfirmed, from third-party integration code only (no Digio document or
SDK was found): the envelope `{id, event, entities, payload: {<ENTITY>:
{...}}, created_at}`; the event names `KYC_REQUEST_APPROVED`,
`KYC_REQUEST_REJECTED` (one integration spells them `kyc.request.approved`,
which is not mapped) and `doc.signed`; the entity keys `KYC_REQUEST` and
`document`, found here in either case; the time format of `created_at`
(Unix seconds and ISO 8601 with an offset are read; a time without an offset
is refused, not guessed); and whether `doc.signed` fires per signer or once
all have signed (`agreement_status` says which). No mandate event is mapped:
the only mandate names found are guesses in a third-party API catalogue.
Where the opportunity id lives is our assumption too: the `reference_id` the
customer passes when creating the KYC request or the document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.sources.formats import lsq_datetime, lsq_datetime_from_iso
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, event_type_at, payload_id_key
from bridge.sources.signatures import HmacSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import formatted_at, required_text, text

KYC_VALUES = (
    "webhook_id",
    "event_at",
    "kyc_request_id",
    "status",
    "reference_id",
    "customer_identifier",
    "customer_name",
    "transaction_id",
)
DOCUMENT_VALUES = (
    "webhook_id",
    "event_at",
    "document_id",
    "agreement_status",
    "file_name",
    "reference_id",
    "signers",
)

EVENT_VALUES = {
    "KYC_REQUEST_APPROVED": KYC_VALUES,
    "KYC_REQUEST_REJECTED": KYC_VALUES,
    "doc.signed": DOCUMENT_VALUES,
}

# The entity each event carries, as spelled in the samples; looked up in any case.
KYC_ENTITY = "KYC_REQUEST"
DOCUMENT_ENTITY = "document"


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the webhook's id (WHN...) from the body, or a hash of the body when it has none."""
    return payload_id_key(payload, body, "id", numbers=True)


# The event's type, e.g. 'KYC_REQUEST_APPROVED' or 'doc.signed'.
event_type = event_type_at("event")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Digio event."""
    common = {
        "webhook_id": text(payload.get("id")),
        "event_at": formatted_at(unix_or_iso_datetime, payload, "created_at"),
    }
    if event_type in ("KYC_REQUEST_APPROVED", "KYC_REQUEST_REJECTED"):
        path, kyc_request = _entity(payload, KYC_ENTITY)
        return [{**common, **kyc_values(kyc_request, path)}]
    if event_type == "doc.signed":
        path, document = _entity(payload, DOCUMENT_ENTITY)
        return [{**common, **document_values(document, path)}]
    raise TransformError(f"digio has no transform for {event_type!r}")


def kyc_values(kyc_request: Mapping[str, Any], path: str) -> dict[str, str | None]:
    """Return the values of a KYC request entity."""
    return {
        "kyc_request_id": required_text(kyc_request, "id", path),
        "status": text(kyc_request.get("status")),
        "reference_id": text(kyc_request.get("reference_id")),
        "customer_identifier": text(kyc_request.get("customer_identifier")),
        "customer_name": text(kyc_request.get("customer_name")),
        "transaction_id": text(kyc_request.get("transaction_id")),
    }


def document_values(document: Mapping[str, Any], path: str) -> dict[str, str | None]:
    """Return the values of an eSign document entity; signers are its signing parties' names."""
    return {
        "document_id": required_text(document, "id", path),
        "agreement_status": text(document.get("agreement_status")),
        "file_name": text(document.get("file_name")),
        "reference_id": text(document.get("reference_id")),
        "signers": _signers(document.get("signing_parties"), f"{path}.signing_parties"),
    }


def _entity(payload: Payload, name: str) -> tuple[str, Mapping[str, Any]]:
    """Return the path and value of payload.<name>, whatever the key's case."""
    entities = payload.get("payload")
    if not isinstance(entities, Mapping):
        raise TransformError("payload is missing or not an object")
    for key, value in entities.items():
        if key.lower() == name.lower():
            if not isinstance(value, Mapping):
                raise TransformError(f"payload.{key} is not an object")
            return f"payload.{key}", value
    held = ", ".join(sorted(entities)) or "nothing"
    raise TransformError(f"payload.{name} is missing (payload holds {held})")


def _signers(parties: Any, path: str) -> str | None:
    if parties is None:
        return None
    if not isinstance(parties, list) or not all(isinstance(party, Mapping) for party in parties):
        raise TransformError(f"{path} must be a list of objects")
    names = [text(party.get("name")) for party in parties]
    return "; ".join(name for name in names if name) or None


def unix_or_iso_datetime(value: Any) -> str:
    """Return a Unix time or an ISO 8601 time with an offset as LeadSquared's UTC time."""
    return lsq_datetime_from_iso(value) if isinstance(value, str) else lsq_datetime(value)


SOURCE = SourceKind(
    name="digio",
    content_type="application/json",
    signature=HmacSignature("X-Digio-Checksum"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    redact_aadhaar=True,
)
