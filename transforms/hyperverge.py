"""HyperVerge results webhook: an onboarding application's outcome, authenticated by a shared token.

HyperVerge documents no signature a customer can check (unconfirmed: an
internal page mentions an HMAC, but neither its header nor what it covers is
public; see ../shared/reference/webhook-sources.md, 7.5). Its webhook config
(`POST https://review-api.idv.hyperverge.co/api/v1/config`) passes custom
`headers`, so the bridge's default is a secret token in a header:
`X-Webhook-Token: <HYPERVERGE_WEBHOOK_SECRET>` (`[sources.hyperverge.scheme]`
`token_in`, `token_header` change that), plus the source's `allowed_ips`.
That is weaker than a signature (bridge/sources/signatures/shared_token.py):
fetch the application's result from HyperVerge's results API before acting
on it.

Payload (unconfirmed, from third-party sample code): `{transactionId,
eventType, applicationStatus, eventTime}`. Event types:
FINISH_TRANSACTION_WEBHOOK, MANUAL_REVIEW_STATUS_UPDATE,
INTERMEDIATE_TRANSACTION_WEBHOOK, APPLICATION_STATE_RESET. Idempotency key:
`transactionId:eventType:applicationStatus` (HyperVerge sends no event id;
this is our composite), else the body's hash. The transactionId is chosen by
the customer when the SDK starts: our choice is the LeadSquared opportunity id.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.kind import TransformError, Values
from bridge.sources.payload import Payload, event_type_at
from bridge.sources.scheme_options import token_source
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, iso_datetime, required_text, text

APPLICATION_VALUES = ("transaction_id", "event_type", "application_status", "event_at")
EVENT_VALUES = {
    "FINISH_TRANSACTION_WEBHOOK": APPLICATION_VALUES,
    "MANUAL_REVIEW_STATUS_UPDATE": APPLICATION_VALUES,
    "INTERMEDIATE_TRANSACTION_WEBHOOK": APPLICATION_VALUES,
    "APPLICATION_STATE_RESET": APPLICATION_VALUES,
}
KEY_PARTS = ("transactionId", "eventType", "applicationStatus")


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return transactionId:eventType:applicationStatus, or the body's hash without a transaction id."""
    return composite_key(payload, body, *KEY_PARTS)


# The eventType, e.g. 'FINISH_TRANSACTION_WEBHOOK'.
event_type = event_type_at("eventType")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one HyperVerge application event."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"hyperverge has no transform for {event_type!r}")
    return [
        {
            "transaction_id": required_text(payload, "transactionId"),
            "event_type": event_type,
            "application_status": text(payload.get("applicationStatus")),
            "event_at": iso_datetime(payload, "eventTime"),
        }
    ]


# The token rides in a header by default: HyperVerge's webhook config passes custom headers.
SOURCE = token_source(
    "hyperverge", "header", EVENT_VALUES, idempotency_key, event_type, transform, redact_aadhaar=True
)
