"""Hostile deliveries through the Flask test client: each a precise 4xx that stores nothing, or accepted."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers
from werkzeug.test import TestResponse

from bridge.services import Services
from bridge.store.tables import events
from tests.support import body_of, count, event_rows, payment_event, razorpay_headers

URL = "/webhooks/razorpay"
LIMIT = 65536  # TEST_CONFIG's max_body_bytes
DEPTH = "the body nests deeper than 64 levels"
UNSTORABLE = (
    "the body has a string with a NUL (\\u0000) or an unpaired surrogate escape, which no store can hold"
)

# (case, signed body, status, error, message)
BODY_CASES: list[tuple[str, bytes, int, str, str]] = [
    ("5000 [", b"[" * 5000, 400, "bad_json", DEPTH),
    ('5000 {"a":', b'{"a":' * 5000, 400, "bad_json", DEPTH),
    (
        "NaN",
        b'{"event": "payment.captured", "amount": NaN}',
        400,
        "bad_json",
        "the body contains NaN, which is not a JSON number: send a number or null",
    ),
    (
        "Infinity",
        b'{"amount": Infinity}',
        400,
        "bad_json",
        "the body contains Infinity, which is not a JSON number: send a number or null",
    ),
    (
        "-Infinity",
        b'{"amount": -Infinity}',
        400,
        "bad_json",
        "the body contains -Infinity, which is not a JSON number: send a number or null",
    ),
    (
        "repeated key",
        b'{"event": "payment.captured", "event": "payment.failed"}',
        400,
        "bad_json",
        "the body repeats the key 'event' in one object: each key must appear once",
    ),
    (
        "5000-digit integer",
        b'{"amount": ' + b"7" * 5000 + b"}",
        400,
        "bad_json",
        "the body has an integer of 5000 digits; at most 4300 are read",
    ),
    (
        "1e999",
        b'{"amount": 1e999}',
        400,
        "bad_json",
        "the body has the number 1e999, too large for a double: send it as a string",
    ),
    (
        "invalid UTF-8",
        b'{"event": "pay\xe9"}',
        400,
        "bad_json",
        "the body is not UTF-8: the byte at offset 14 cannot start or continue a character",
    ),
    (
        "UTF-16",
        '{"a": 1}'.encode("utf-16"),
        400,
        "bad_json",
        "the body is not UTF-8: the byte at offset 0 cannot start or continue a character",
    ),
    ("array", b"[1, 2]", 400, "bad_json", "the body must be a JSON object, not an array"),
    ("string", b'"payment"', 400, "bad_json", "the body must be a JSON object, not a string"),
    ("number", b"42", 400, "bad_json", "the body must be a JSON object, not a number"),
    ("null", b"null", 400, "bad_json", "the body must be a JSON object, not null"),
    ("empty", b"", 400, "bad_json", "the body is empty: send a JSON object"),
    (
        "two objects",
        b'{"a": 1}{"b": 2}',
        400,
        "bad_json",
        "the body is not valid JSON: Extra data: line 1 column 9 (char 8)",
    ),
    ("NUL in a string", b'{"event": "pay\\u0000"}', 400, "bad_json", UNSTORABLE),
    ("lone surrogate", b'{"event": "\\udc00"}', 400, "bad_json", UNSTORABLE),
    (
        "event type of 300 characters",
        b'{"event": "' + b"e" * 300 + b'"}',
        400,
        "bad_event_type",
        "the event type is 300 characters long; the bridge stores at most 255",
    ),
]


def refusal_of(answer: TestResponse) -> tuple[int, str, str]:
    """Return a refusal's status, error code and message."""
    body: dict[str, Any] = answer.get_json()
    assert body["status"] == "rejected", body
    return answer.status_code, body["error"], body["message"]


@pytest.mark.parametrize(
    ("body", "status", "error", "message"), [case[1:] for case in BODY_CASES], ids=[c[0] for c in BODY_CASES]
)
def test_a_signed_hostile_body_is_refused_precisely_and_stores_nothing(
    client: FlaskClient, services: Services, body: bytes, status: int, error: str, message: str
) -> None:
    """Correctly signed, so only the body is wrong: the answer says what, and no event is stored."""
    answer = client.post(URL, data=body, headers=razorpay_headers(body, "evt_hostile"))
    assert refusal_of(answer) == (status, error, message)
    assert count(services, events) == 0


def test_a_leading_byte_order_mark_is_accepted_and_stored_as_sent(
    client: FlaskClient, services: Services
) -> None:
    """RFC 8259 lets a parser ignore a BOM: the delivery is accepted and its bytes stored untouched."""
    body = b"\xef\xbb\xbf" + body_of(payment_event("pay_bom", "opp-1"))
    answer = client.post(URL, data=body, headers=razorpay_headers(body, "evt_bom"))
    assert answer.status_code == 202
    [row] = event_rows(services)
    assert (row.body, row.event_type) == (body, "payment.captured")


def chunked(client: FlaskClient, body: bytes, headers: dict[str, str]) -> TestResponse:
    """Post the body as a server that de-chunks would hand it over: a terminated stream, no length."""
    return client.post(
        URL, input_stream=io.BytesIO(body), headers=headers, environ_overrides={"wsgi.input_terminated": True}
    )


def test_a_chunked_body_within_the_cap_is_accepted(client: FlaskClient, services: Services) -> None:
    """Without a Content-Length, a body that ends within the cap is a delivery like any other."""
    body = body_of(payment_event("pay_chunk", "opp-1"))
    answer = chunked(client, body, razorpay_headers(body, "evt_chunk"))
    assert answer.status_code == 202
    assert [row.body for row in event_rows(services)] == [body]


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT])
def test_a_chunked_body_over_the_cap_is_413_not_a_bad_signature(
    client: FlaskClient, services: Services, size: int
) -> None:
    """The stream stops at the cap silently; one byte more is read to say 413, not 401."""
    body = b'{"a": "' + b"x" * (size - 9) + b'"}'
    assert len(body) == size
    answer = chunked(client, body, razorpay_headers(body, "evt_big"))
    assert refusal_of(answer) == (413, "too_large", f"the body is larger than {LIMIT} bytes")
    assert count(services, events) == 0


def test_a_chunked_body_of_exactly_the_cap_is_read_whole(client: FlaskClient, services: Services) -> None:
    """A body as long as the cap is not mistaken for one cut at it."""
    body = b'{"event": "x", "a": "' + b"x" * (LIMIT - 23) + b'"}'
    assert len(body) == LIMIT
    assert chunked(client, body, razorpay_headers(body, "evt_cap")).status_code == 202


def test_a_body_shorter_than_its_content_length_is_refused(client: FlaskClient, services: Services) -> None:
    """The sender stopped early: the answer says how much arrived of how much was declared."""
    body = body_of(payment_event("pay_short", "opp-1"))
    answer = client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers=razorpay_headers(body, "evt_short"),
        environ_overrides={"CONTENT_LENGTH": str(len(body) + 10)},
    )
    message = f"the body ended before the {len(body) + 10} bytes its Content-Length declares"
    assert refusal_of(answer) == (400, "incomplete_body", message)
    assert count(services, events) == 0


def test_a_content_length_over_the_cap_is_413_before_reading(client: FlaskClient, services: Services) -> None:
    """A declared length past the cap is refused without reading the body."""
    answer = client.post(
        URL,
        input_stream=io.BytesIO(b"{}"),
        headers=razorpay_headers(b"{}", "evt_cl"),
        environ_overrides={"CONTENT_LENGTH": str(LIMIT + 1)},
    )
    assert refusal_of(answer) == (413, "too_large", f"the body is larger than {LIMIT} bytes")
    assert count(services, events) == 0


def headers_with(body: bytes, **changes: list[str]) -> Headers:
    """Return a signed delivery's headers with some replaced by the given values (repeats allowed)."""
    headers = Headers(razorpay_headers(body, "evt_odd"))
    for name, values in changes.items():
        name = name.replace("_", "-")
        headers.remove(name)
        for value in values:
            headers.add(name, value)
    return headers


BODY = body_of(payment_event("pay_odd", "opp-1"))
SIGNATURE = razorpay_headers(BODY, None)["X-Razorpay-Signature"]
MISMATCH = "the X-Razorpay-Signature header does not match the body under any configured secret"

HEADER_CASES: list[tuple[str, Headers, int, str, str]] = [
    (
        "two signature headers",
        headers_with(BODY, X_Razorpay_Signature=[SIGNATURE, "0" * 64]),
        401,
        "bad_signature",
        MISMATCH,
    ),
    (
        "empty signature",
        headers_with(BODY, X_Razorpay_Signature=[""]),
        401,
        "missing_signature",
        "the X-Razorpay-Signature header is missing",
    ),
    (
        "non-ASCII signature",
        headers_with(BODY, X_Razorpay_Signature=["é" * 64]),
        401,
        "bad_signature",
        MISMATCH,
    ),
    (
        "huge signature",
        headers_with(BODY, X_Razorpay_Signature=["a" * 60000]),
        401,
        "bad_signature",
        MISMATCH,
    ),
    (
        "no Content-Type",
        headers_with(BODY, Content_Type=[]),
        415,
        "unsupported_media_type",
        "send application/json, not none",
    ),
    (
        "non-ASCII Content-Type",
        headers_with(BODY, Content_Type=["application/jsoné"]),
        415,
        "unsupported_media_type",
        "send application/json, not application/jsoné",
    ),
]


@pytest.mark.parametrize(
    ("headers", "status", "error", "message"), [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES]
)
def test_odd_headers_are_refused_precisely_and_store_nothing(
    client: FlaskClient, services: Services, headers: Headers, status: int, error: str, message: str
) -> None:
    """Repeated, empty, non-ASCII or huge header values on a good body: a 4xx naming the header."""
    answer = client.post(URL, data=BODY, headers=headers)
    assert refusal_of(answer) == (status, error, message)
    assert count(services, events) == 0


@pytest.mark.parametrize("event_id", ["evt\x00nul", "é" * 300, "  "])
def test_an_odd_event_id_header_still_keys_the_delivery(
    client: FlaskClient, services: Services, event_id: str
) -> None:
    """An id no store can hold, or too long, is kept as its hash; a blank one falls back to the body's."""
    headers = headers_with(BODY, x_razorpay_event_id=[event_id])
    assert client.post(URL, data=BODY, headers=headers).status_code == 202
    assert client.post(URL, data=BODY, headers=headers).status_code == 200
    [row] = event_rows(services)
    assert row.idempotency_key.startswith("sha256:")


class InvalidChunkSize(Exception):
    """Like gunicorn's parse errors: an Exception, neither OSError nor ValueError."""


class BrokenStream(io.RawIOBase):
    """A de-chunking server's input stream that meets broken framing, as gunicorn's raises it."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def readable(self) -> bool:
        """Say the stream can be read (and then fail)."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Raise the server's parse error."""
        raise self.error

    def seek(self, offset: int, whence: int = 0) -> int:
        """Stay at the start: the test client measures the stream before handing it over."""
        return 0

    def tell(self) -> int:
        """Say nothing has been read."""
        return 0


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (
            InvalidChunkSize("Invalid chunk size: 'zz'"),
            "malformed_body",
            "the body's framing could not be read: Invalid chunk size: 'zz'",
        ),
        (OSError("No more data"), "incomplete_body", "the chunked body ended before its last chunk"),
    ],
)
def test_broken_chunked_framing_is_a_400_not_a_500(
    client: FlaskClient, services: Services, error: Exception, code: str, message: str
) -> None:
    """A parse error the server raises while the app reads the body is the sender's fault: 400."""
    answer = client.post(
        URL,
        input_stream=BrokenStream(error),
        headers={**razorpay_headers(b"{}", "evt_broken"), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert refusal_of(answer) == (400, code, message)
    assert count(services, events) == 0
