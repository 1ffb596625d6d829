"""LeadSquared's answer bodies: error envelopes and per-row receipts."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from bridge.sandbox.settings import SandboxSettings
from bridge.sandbox.state import FaultRule

RATE_LIMIT_TYPE = "MXAPIRateLimitExceededException"


def mx_error(status: int, exception_type: str, message: str) -> Response:
    """Build LeadSquared's error envelope."""
    response = jsonify({"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message})
    response.status_code = status
    return response


def unauthorized() -> Response:
    """Answer bad or missing keys without echoing them."""
    return mx_error(401, "MXUnAuthorizedAccessException", "Invalid Access Key or Secret Key")


def rate_limited(settings: SandboxSettings) -> Response:
    """Answer a call over the rate limit, naming the configured limit."""
    return mx_error(settings.rate_limit_status, RATE_LIMIT_TYPE, rate_limit_message(settings))


def rate_limit_message(settings: SandboxSettings) -> str:
    """Word the rate-limit message as LeadSquared does, with the configured numbers."""
    return (
        f"API calls exceeded the limit of {settings.calls_per_window}"
        f" in {settings.window_seconds:g} second(s)"
    )


def fault_answer(fault: FaultRule, settings: SandboxSettings) -> Response:
    """Answer an injected status, with its body verbatim or a fitting MX error."""
    if fault.body is not None:
        response = jsonify(fault.body)
        response.status_code = fault.status
        return response
    if fault.status == 401:
        return unauthorized()
    if fault.status in (403, 429):
        return mx_error(fault.status, RATE_LIMIT_TYPE, rate_limit_message(settings))
    return mx_error(fault.status, "MXSandboxFaultException", f"Injected fault: status {fault.status}")


def failed_row(number: int, message: str) -> dict[str, Any]:
    """Describe a row the server refused, the way the bridge expects to read it."""
    return {
        "ProspectActivityId": None,
        "RowNumber": number,
        "ActivityCreated": False,
        "ExceptionMessage": message,
    }
