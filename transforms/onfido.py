"""Onfido (Entrust IDV): Studio workflow runs, their tasks, and classic checks.

Signature: `X-SHA2-Signature`, hex HMAC-SHA256 of the raw body under the
webhook's token (returned once, when the webhook is registered). The header
name is from Onfido's public docs; onfido-python's `WebhookEventVerifier`
takes the signature as an argument, so it confirms the formula, not the name.
The legacy SHA-1 `X-Signature` header is not accepted. No timestamp is
signed, so there is no replay window: a replay stops at the idempotency key.
Onfido documents no token rotation; changing the token means registering a
second webhook before deleting the first, so both tokens are accepted
meanwhile (`previous_secret_envs`) and both webhooks deliver every event.

Idempotency: Onfido sends no event or delivery id. The key is our composite,
`action|workflow_run_id|object.id|object.status|object.completed_at_iso8601`,
read from the body: a retry, a resend (`POST /webhooks/resend`) or the same
event from the second webhook during a rotation has the same key, while a
check completed again after `check.reopened` (a new completion time) or a run
moved from review to approved (a new status) does not. A task's `object.id`
is its task spec id (`document_photo_5c229`), the same in every run of a
workflow, hence the run id in the key. Keys over 200 characters are kept as
their SHA-256 (`bounded_key`); a body without `action` or `object.id` is
keyed by its hash.

Retries: Onfido wants a 2xx within 10 s; its retry schedule is unconfirmed.

Opportunity: Onfido's payloads carry no customer data. Of the published
payloads, only a workflow run's `resource` holds a field the customer sets:
`customer_user_id` (given when the run is created; the field is in
onfido-python 6.2.0's `WebhookEventPayloadResource`; no published
`workflow_run.completed` delivery was found, so its presence there is
unconfirmed). Classic `check.completed` and Studio `workflow_task.*` payloads
hold nothing the customer sets: they transform, but cannot name an
opportunity until the bridge can look one up by applicant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, bounded_key, event_type_at, value_at
from bridge.sources.signatures import HmacSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import iso_datetime, mapping_or_empty, required_text, text

CHECK_VALUES = ("check_id", "status", "completed_at", "href")
WORKFLOW_RUN_VALUES = (
    "workflow_run_id",
    "status",
    "completed_at",
    "href",
    "workflow_id",
    "workflow_version_id",
    "applicant_id",
    "customer_user_id",
    "reasons",
    "tags",
    "dashboard_url",
    "error_type",
    "error_message",
)
WORKFLOW_TASK_VALUES = (
    "task_id",
    "task_def_id",
    "workflow_run_id",
    "status",
    "started_at",
    "completed_at",
    "href",
    "result",
    "sub_result",
)

EVENT_VALUES = {
    "check.completed": CHECK_VALUES,
    "workflow_run.completed": WORKFLOW_RUN_VALUES,
    "workflow_task.started": WORKFLOW_TASK_VALUES,
    "workflow_task.completed": WORKFLOW_TASK_VALUES,
}

KEY_SEPARATOR = "|"
OBJECT_PATH = "payload.object"


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the composite key of action, run, object, status and completion time, or the body's hash."""
    action = value_at(payload, "payload.action")
    obj = value_at(payload, "payload.object")
    object_id = value_at(obj, "id")
    if not (isinstance(action, str) and action and isinstance(object_id, str) and object_id):
        return body_hash_key(body)
    parts = [
        action,
        value_at(obj, "workflow_run_id"),
        object_id,
        value_at(obj, "status"),
        value_at(obj, "completed_at_iso8601"),
    ]
    return bounded_key(KEY_SEPARATOR.join("" if part is None else str(part) for part in parts))


# The event's type, `payload.action`, e.g. 'workflow_run.completed'.
event_type = event_type_at("payload.action")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Onfido event."""
    inner = _mapping(payload.get("payload"), "payload")
    obj = _mapping(inner.get("object"), OBJECT_PATH)
    resource = mapping_or_empty(inner.get("resource"))
    if event_type == "check.completed":
        return [check_values(obj)]
    if event_type == "workflow_run.completed":
        return [workflow_run_values(obj, resource)]
    if event_type in ("workflow_task.started", "workflow_task.completed"):
        return [workflow_task_values(obj, resource)]
    raise TransformError(f"onfido has no transform for {event_type!r}")


def check_values(obj: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a classic check event: the payload holds only the object."""
    return {
        "check_id": required_text(obj, "id", OBJECT_PATH),
        "status": text(obj.get("status")),
        "completed_at": iso_datetime(obj, "completed_at_iso8601", OBJECT_PATH),
        "href": text(obj.get("href")),
    }


def workflow_run_values(obj: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a Studio workflow run event."""
    error = mapping_or_empty(run.get("error"))
    return {
        "workflow_run_id": required_text(obj, "id", OBJECT_PATH),
        "status": text(obj.get("status")) or text(run.get("status")),
        "completed_at": iso_datetime(obj, "completed_at_iso8601", OBJECT_PATH),
        "href": text(obj.get("href")),
        "workflow_id": text(run.get("workflow_id")),
        "workflow_version_id": text(run.get("workflow_version_id")),
        "applicant_id": text(run.get("applicant_id")),
        "customer_user_id": text(run.get("customer_user_id")),
        "reasons": _joined(run.get("reasons"), "payload.resource.reasons"),
        "tags": _joined(run.get("tags"), "payload.resource.tags"),
        "dashboard_url": text(run.get("dashboard_url")),
        "error_type": text(error.get("type")),
        "error_message": text(error.get("message")),
    }


def workflow_task_values(obj: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a Studio workflow task event; a report task's output carries its result."""
    output = mapping_or_empty(task.get("output"))
    return {
        "task_id": required_text(obj, "id", OBJECT_PATH),
        "task_def_id": text(obj.get("task_def_id")) or text(task.get("task_def_id")),
        "workflow_run_id": text(obj.get("workflow_run_id")) or text(task.get("workflow_run_id")),
        "status": text(obj.get("status")),
        "started_at": iso_datetime(obj, "started_at_iso8601", OBJECT_PATH),
        "completed_at": iso_datetime(obj, "completed_at_iso8601", OBJECT_PATH),
        "href": text(obj.get("href")),
        "result": text(output.get("result")),
        "sub_result": text(output.get("sub_result")),
    }


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TransformError(f"{path} is missing or not an object")
    return value


def _joined(value: Any, path: str) -> str | None:
    """Return a list of words (reasons, tags) as one text, '; '-separated."""
    if value is None or value == []:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "; ".join(value)
    raise TransformError(f"{path} must be a list of text, not {value!r}")


SOURCE = SourceKind(
    name="onfido",
    content_type="application/json",
    signature=HmacSignature("X-SHA2-Signature"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    redact_aadhaar=True,
)
