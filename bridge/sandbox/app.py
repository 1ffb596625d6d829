"""The sandbox app: LeadSquared's documented activity and look-up endpoints, served locally."""

from __future__ import annotations

import functools
import hmac
import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from bridge.sandbox import control, lookups
from bridge.sandbox.answers import (
    failed_row,
    fault_answer,
    mx_error,
    rate_limited,
    unauthorized,
)
from bridge.sandbox.settings import SandboxSettings
from bridge.sandbox.state import (
    EXTENSION_KEY,
    CallRecord,
    FaultKind,
    FaultRule,
    Sandbox,
    SandboxState,
    StoredActivity,
    current_sandbox,
)
from bridge.sandbox.validation import (
    DATA_TYPE,
    MANDATORY,
    InvalidInput,
    parse_paging,
    parse_rows,
    read_json,
)

BULK_ADD_PATH = "/v2/ProspectActivity.svc/Bulk/CustomActivity/Add/ByOpportunityId"
ACTIVITIES_PATH = "/v2/OpportunityManagement.svc/GetActivitiesOfOpportunity"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"

Handler = Callable[[FaultRule | None], Response]

bp = Blueprint("leadsquared", __name__)


def create_sandbox_app(settings: SandboxSettings) -> Flask:
    """Build a sandbox app with fresh, empty state."""
    app = Flask(__name__)
    state = SandboxState(fault_rates=settings.fault_rates, fault_seed=settings.fault_seed)
    app.extensions[EXTENSION_KEY] = Sandbox(settings=settings, state=state)
    app.register_blueprint(bp)
    app.register_blueprint(control.bp)
    app.register_error_handler(HTTPException, answer_http_error)
    return app


def lsq_endpoint(handler: Handler) -> Callable[[], Response]:
    """Put a handler behind auth, the rate limit, faults, the call log and latency."""

    @functools.wraps(handler)
    def endpoint() -> Response:
        arrived = time.monotonic()
        sandbox = current_sandbox()
        response, fault = answer_call(sandbox, handler, arrived)
        record_call(sandbox, arrived, response.status_code, fault)
        extra_delay = fault.delay_seconds if fault is not None else 0.0
        # Sleeping in the handler thread lets concurrent calls overlap, like a real server.
        time.sleep(sandbox.settings.latency_seconds + extra_delay)
        if fault is not None and fault.kind is FaultKind.LOST_ANSWER:
            drop_connection()
        return response

    return endpoint


def answer_call(sandbox: Sandbox, handler: Handler, arrived: float) -> tuple[Response, FaultRule | None]:
    """Run one LeadSquared call; return the answer and the fault that shaped it, if any."""
    settings = sandbox.settings
    if not authenticated(settings):
        return unauthorized(), None
    admitted = sandbox.state.admit(
        settings.access_key, arrived, settings.calls_per_window, settings.window_seconds
    )
    if not admitted:
        return rate_limited(settings), None
    opportunity_id = request.args.get("opportunityId")
    fault = sandbox.state.take_fault(request.path, opportunity_id, request.path == BULK_ADD_PATH)
    if fault is not None and fault.kind is FaultKind.STATUS:
        return fault_answer(fault, settings), fault
    return handler(fault), fault


def drop_connection() -> None:
    """Close the call's connection with nothing sent: the caller cannot tell what happened.

    Werkzeug's server puts the client socket in the environ. Shutting it down
    sends the FIN now; werkzeug's write of the answer then fails with a broken
    pipe, which it treats as a client that went away and does not log.
    """
    connection = request.environ.get("werkzeug.socket")
    if not isinstance(connection, socket.socket):
        raise RuntimeError("a lost answer needs werkzeug's server, which exposes the client socket")
    connection.shutdown(socket.SHUT_RDWR)


def authenticated(settings: SandboxSettings) -> bool:
    """Check the keys from the headers, or else from the query string."""
    access_key = request.headers.get("x-LSQ-AccessKey") or request.args.get("accessKey", "")
    secret_key = request.headers.get("x-LSQ-SecretKey") or request.args.get("secretKey", "")
    access_ok = hmac.compare_digest(access_key.encode(), settings.access_key.encode())
    secret_ok = hmac.compare_digest(secret_key.encode(), settings.secret_key.encode())
    return access_ok and secret_ok


def record_call(sandbox: Sandbox, arrived: float, status: int, fault: FaultRule | None = None) -> None:
    """Log a call with the number of rows its body held, if it was an array, and its fault."""
    try:
        body = json.loads(request.get_data())
    except ValueError:
        body = None
    rows = len(body) if isinstance(body, list) else 0
    kind = fault.kind if fault is not None else None
    call = CallRecord(arrived, request.path, request.args.get("opportunityId"), rows, status, kind)
    sandbox.state.record_call(call)


def require_opportunity_id() -> str:
    """Return the opportunityId query parameter, which every endpoint here needs."""
    opportunity_id = request.args.get("opportunityId", "")
    if not opportunity_id:
        raise InvalidInput(MANDATORY, "'opportunityId' is mandatory")
    return opportunity_id


@bp.post(BULK_ADD_PATH)
@lsq_endpoint
def add_activities(fault: FaultRule | None) -> Response:
    """Store up to 25 activities on one opportunity and answer per row."""
    try:
        opportunity_id = require_opportunity_id()
        rows = parse_rows(read_json(required=True))
    except InvalidInput as error:
        return mx_error(400, error.exception_type, error.message)
    failed = fault.rows if fault is not None and fault.kind is FaultKind.FAIL_ROWS else frozenset()
    omitted = fault.rows if fault is not None and fault.kind is FaultKind.OMIT_ROWS else frozenset()
    numbered = list(enumerate(rows, start=1))
    kept = [row for number, row in numbered if number not in failed]
    stored = iter(current_sandbox().state.store(opportunity_id, kept))
    answer: list[dict[str, Any]] = []
    for number, _ in numbered:
        if number in failed:
            answer.append(failed_row(number, fault.message if fault is not None else ""))
            continue
        activity = next(stored)
        if number not in omitted:
            answer.append(
                {
                    "ProspectActivityId": activity.prospect_activity_id,
                    "RowNumber": number,
                    "ActivityCreated": True,
                }
            )
    return jsonify({"Response": answer})


@bp.post(ACTIVITIES_PATH)
@lsq_endpoint
def list_activities(fault: FaultRule | None) -> Response:
    """List an opportunity's activities, newest first, one page at a time."""
    try:
        opportunity_id = require_opportunity_id()
        event_code = read_event_code()
        page_index, page_size = parse_paging(read_json(required=False))
    except InvalidInput as error:
        return mx_error(400, error.exception_type, error.message)
    found = current_sandbox().state.activities_of(opportunity_id, event_code)
    page = found[(page_index - 1) * page_size : page_index * page_size]
    return jsonify({"RecordCount": len(found), "List": [flat_item(item) for item in page]})


def read_event_code() -> int | None:
    """Return the optional activityEventCode filter."""
    code = request.args.get("activityEventCode", "")
    if not code:
        return None
    if not code.isdigit():
        raise InvalidInput(DATA_TYPE, "'activityEventCode' must be an integer")
    return int(code)


def flat_item(activity: StoredActivity) -> dict[str, Any]:
    """Flatten an activity the way opportunity lists show it: custom fields at the top."""
    row = activity.row
    item: dict[str, Any] = {field["SchemaName"]: field["Value"] for field in row.get("Fields", [])}
    # System keys go last so a custom field can never mask them.
    item.update(
        {
            "ProspectActivityId": activity.prospect_activity_id,
            "ActivityEvent": row["ActivityEvent"],
            "ActivityNote": row.get("ActivityNote"),
            "ActivityOwnerEmail": row["ActivityOwnerEmail"],
            "ActivityDateTime": row.get("ActivityDateTime", activity.created_on),
            "CreatedOn": activity.created_on,
        }
    )
    return item


@bp.get(USER_PATH)
@lsq_endpoint
def describe_user(fault: FaultRule | None) -> Response:
    """Describe the user who owns the keys; the bridge probes this after a 401."""
    settings = current_sandbox().settings
    return jsonify(
        {
            "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"lsq-sandbox/{settings.access_key}")),
            "FirstName": "Sandbox",
            "LastName": "User",
            "EmailAddress": "sandbox@example.com",
            "Role": "Administrator",
            "LSQCommonServiceURLs": {"api": request.host, "app": request.host},
        }
    )


@bp.post(lookups.OPPORTUNITIES_BY_LEAD_FIELD_PATH)
@lsq_endpoint
def opportunities_by_lead_field(fault: FaultRule | None) -> Response:
    """Find the opportunities of the leads matching a unique lead field."""
    return lookups.opportunities_by_lead_field()


@bp.post(lookups.OPPORTUNITIES_OF_LEAD_PATH)
@lsq_endpoint
def opportunities_of_lead(fault: FaultRule | None) -> Response:
    """List one lead's opportunities."""
    return lookups.opportunities_of_lead()


@bp.get(lookups.LEAD_BY_EMAIL_PATH)
@lsq_endpoint
def lead_by_email(fault: FaultRule | None) -> Response:
    """Find leads by email address."""
    return lookups.lead_by_email()


@bp.get(lookups.LEAD_BY_PHONE_PATH)
@lsq_endpoint
def lead_by_phone(fault: FaultRule | None) -> Response:
    """Find a lead by phone number."""
    return lookups.lead_by_phone()


def answer_http_error(error: HTTPException) -> Response:
    """Answer unknown paths and methods in JSON; log them if under /v2/."""
    status = error.code or 500
    if not request.path.startswith("/v2/"):
        response = jsonify({"error": f"{error.name}: {request.method} {request.path}"})
        response.status_code = status
        return response
    if status in (404, 405):
        sandbox = current_sandbox()
        record_call(sandbox, time.monotonic(), 404)
        return mx_error(404, "MXAPINotFoundException", f"No API at {request.method} {request.path}")
    return mx_error(status, "MXSandboxException", error.description or error.name)
