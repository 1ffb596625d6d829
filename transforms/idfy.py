"""IDfy (eve API v3): a verification task's result, authenticated by a shared token.

IDfy publishes no webhook signature (unconfirmed; see
../shared/reference/webhook-sources.md, 7.4): the callback URL is set up by
emailing IDfy support, one per account, and fires once per task when it
completes or fails. So the bridge authenticates it with a secret token in the
URL (`/webhooks/idfy/<IDFY_WEBHOOK_SECRET>`, the default, since IDfy takes a
URL and no custom header) or in a header (`[sources.idfy.scheme] token_in =
"header"`), plus the source's `allowed_ips`. That is weaker than a signature:
see bridge/sources/signatures/shared_token.py; confirm a result with IDfy's
task API (by request_id) before acting on it.

Payload (unconfirmed, the shape of an eve v3 task): `{action, type,
request_id, task_id, group_id, status, result, created_at, completed_at}`.
Event type: `status` (`completed`, `failed`). Idempotency key:
`request_id:status`, else the body's hash. Our choice for the opportunity:
pass the LeadSquared opportunity id as the task's `group_id` (IDfy echoes it).
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.kind import TransformError, Values
from bridge.sources.payload import Payload, event_type_at
from bridge.sources.scheme_options import token_source
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, iso_datetime, required_text, text

TASK_VALUES = (
    "request_id",
    "task_id",
    "group_id",
    "task_type",
    "action",
    "status",
    "created_at",
    "completed_at",
)
EVENT_VALUES = {"completed": TASK_VALUES, "failed": TASK_VALUES}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return request_id:status (a task reports each outcome once), or the body's hash."""
    return composite_key(payload, body, "request_id", "status")


# The task's status, e.g. 'completed'.
event_type = event_type_at("status")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one finished IDfy task."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"idfy has no transform for {event_type!r}")
    return [
        {
            "request_id": required_text(payload, "request_id"),
            "task_id": text(payload.get("task_id")),
            "group_id": text(payload.get("group_id")),
            "task_type": text(payload.get("type")),
            "action": text(payload.get("action")),
            "status": text(payload.get("status")),
            "created_at": iso_datetime(payload, "created_at"),
            "completed_at": iso_datetime(payload, "completed_at"),
        }
    ]


# The token rides in the URL by default: IDfy takes a callback URL and no custom header.
SOURCE = token_source(
    "idfy", "path", EVENT_VALUES, idempotency_key, event_type, transform, redact_aadhaar=True
)
