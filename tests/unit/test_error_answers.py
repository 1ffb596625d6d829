"""How the client names LeadSquared's error answers: built from response objects, no socket opened."""

from __future__ import annotations

import json

import pytest
import requests

from bridge.leadsquared.client import _error_outcome
from bridge.leadsquared.outcomes import BadRequest, Outcome, RateLimited, Retryable, ServerError


def answer(status: int, body: object | str) -> requests.Response:
    """Return a response with the status and a JSON (or raw text) body."""
    response = requests.Response()
    response.status_code = status
    response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    return response


def mx_body(exception_type: str, message: str) -> dict[str, str]:
    """Return LeadSquared's error envelope."""
    return {"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message}


@pytest.mark.parametrize(
    ("response", "kind", "exception_type"),
    [
        (answer(400, mx_body("MXInvalidInputException", "bad")), BadRequest, "MXInvalidInputException"),
        (
            answer(500, mx_body("MXUnknownException", "An internal error occurred")),
            ServerError,
            "MXUnknownException",
        ),
        (
            answer(500, mx_body("MXInvalidDataTypeException", "not a number")),
            ServerError,
            "MXInvalidDataTypeException",
        ),
        (answer(502, "<html><body>Bad Gateway</body></html>"), ServerError, None),
        (answer(503, ""), ServerError, None),
        (answer(404, mx_body("MXAPINotFoundException", "no API")), Retryable, "MXAPINotFoundException"),
        (
            answer(429, mx_body("MXAPIRateLimitExceededException", "limit")),
            RateLimited,
            "MXAPIRateLimitExceededException",
        ),
    ],
)
def test_each_error_answer_becomes_its_outcome(
    response: requests.Response, kind: type[Outcome], exception_type: str | None
) -> None:
    """A 5xx is a ServerError carrying LeadSquared's ExceptionType (none for HTML or an empty body)."""
    outcome = _error_outcome(response)
    assert type(outcome) is kind
    assert outcome.exception_type == exception_type
    assert outcome.status == response.status_code


def test_a_500_message_names_leadsquareds_words_and_type() -> None:
    """The message an operator reads holds LeadSquared's text and its ExceptionType."""
    outcome = _error_outcome(answer(500, mx_body("MXMandatoryAttributeMissingException", "'x' is mandatory")))
    assert outcome.message == (
        "LeadSquared answered 500: 'x' is mandatory (MXMandatoryAttributeMissingException)"
    )
