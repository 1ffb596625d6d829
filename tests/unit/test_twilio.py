"""Twilio: the signature against Twilio's published vectors and its SDK, the public URL, keys and values."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import Headers, MultiDict

from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.public_url import check_public_url
from bridge.sources.signatures.twilio_url import TwilioSignature
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import twilio

# Twilio's published vectors (twilio-python tests/unit/test_request_validator.py, and the same
# URL and token in twilio-php's tests for the JSON body).
TOKEN = "12345"
PUBLIC_URL = "https://mycompany.com/myapp.php"
QUERY = "foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
REPEATED = [
    ("Sid", "CA123"),
    ("SidAccount", "AC123"),
    ("Digits", "5678"),
    ("Digits", "1234"),
    ("Digits", "1234"),
]
REPEATED_SIGNATURE = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
JSON_BODY = b'{"property": "value", "boolean": true}'
JSON_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
JSON_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="
SAMPLES = ROOT / "transforms" / "samples" / "twilio"


def form(pairs: list[tuple[str, str]]) -> bytes:
    """Return pairs as the url-encoded form Twilio posts."""
    return urlencode(pairs).encode()


def signed_by(signature: str) -> Headers:
    """Return the headers of a delivery carrying this X-Twilio-Signature."""
    return Headers({"X-Twilio-Signature": signature})


def test_the_published_vector_verifies_with_its_query() -> None:
    """Twilio's vector: the URL with ?foo=1&bar=2 and five fields, under token 12345, byte for byte."""
    TwilioSignature(PUBLIC_URL).verify_request(form(PARAMS), signed_by(SIGNATURE), QUERY, [TOKEN], now=0)


def test_repeated_fields_are_sorted_and_signed_once() -> None:
    """Twilio's duplicate-key vector: Digits sent three times (one repeat) verifies, in any order."""
    scheme = TwilioSignature(PUBLIC_URL)
    scheme.verify_request(form(REPEATED), signed_by(REPEATED_SIGNATURE), QUERY, [TOKEN], now=0)
    scheme.verify_request(form(REPEATED[::-1]), signed_by(REPEATED_SIGNATURE), QUERY, [TOKEN], now=0)


def test_a_json_body_is_signed_through_its_hash_in_the_query() -> None:
    """Twilio's JSON vector: the body's SHA-256 is bodySHA256 in the signed URL, and no fields follow."""
    scheme = TwilioSignature(PUBLIC_URL, body="json")
    query = f"{QUERY}&bodySHA256={JSON_BODY_HASH}"
    scheme.verify_request(JSON_BODY, signed_by(JSON_SIGNATURE), query, [TOKEN], now=0)
    with pytest.raises(SignatureError, match="not the body's SHA-256") as error:
        scheme.verify_request(
            JSON_BODY.replace(b"true", b"false"), signed_by(JSON_SIGNATURE), query, [TOKEN], 0
        )
    assert error.value.reason == "bad_signature"
    with pytest.raises(SignatureError, match="no bodySHA256") as error:
        scheme.verify_request(JSON_BODY, signed_by(JSON_SIGNATURE), QUERY, [TOKEN], now=0)
    assert error.value.reason == "missing_signature"


def test_the_sdk_accepts_our_signatures() -> None:
    """Twilio's RequestValidator accepts what sign_request() makes, for a form (repeats too) and for JSON."""
    body = form([*PARAMS, ("Body", "नमस्ते + 100% & more"), ("Digits", "9")])
    headers, query = TwilioSignature(PUBLIC_URL).sign_request(body, TOKEN, now=0)
    assert query == ""
    params = MultiDict([*PARAMS, ("Body", "नमस्ते + 100% & more"), ("Digits", "9")])
    assert RequestValidator(TOKEN).validate(PUBLIC_URL, params, headers["X-Twilio-Signature"])
    headers, query = TwilioSignature(PUBLIC_URL, body="json").sign_request(JSON_BODY, TOKEN, now=0)
    assert query == f"bodySHA256={JSON_BODY_HASH}"
    validator = RequestValidator(TOKEN)
    assert validator.validate(f"{PUBLIC_URL}?{query}", JSON_BODY.decode(), headers["X-Twilio-Signature"])


def test_we_accept_the_sdks_signatures_with_a_query_and_with_or_without_the_port() -> None:
    """The SDK's signature over the URL with ?lead=..., with ":443" or without, verifies against either."""
    params = MultiDict([*REPEATED, ("Body", "café")])
    body = form(list(params.items(multi=True)))
    query = "lead=opp%2F42&x=a+b"
    for signed_host, public_url in [
        ("https://mycompany.com", "https://mycompany.com:443/myapp.php"),
        ("https://mycompany.com:443", PUBLIC_URL),
    ]:
        signature = RequestValidator(TOKEN).compute_signature(f"{signed_host}/myapp.php?{query}", params)
        TwilioSignature(public_url).verify_request(body, signed_by(signature), query, [TOKEN], now=0)


def test_our_verify_agrees_with_the_sdk_on_a_tampered_delivery() -> None:
    """A changed field, another query or another token fails for both the SDK and us."""
    scheme = TwilioSignature(PUBLIC_URL)
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC_URL}?{QUERY}", dict(PARAMS))
    tampered = [(name, "+10000000000" if name == "To" else value) for name, value in PARAMS]
    assert not RequestValidator(TOKEN).validate(f"{PUBLIC_URL}?{QUERY}", dict(tampered), signature)
    for body, query, token in [
        (form(tampered), QUERY, TOKEN),
        (form(PARAMS), "foo=2&bar=2", TOKEN),
        (form(PARAMS), QUERY, "54321"),
    ]:
        with pytest.raises(SignatureError) as error:
            scheme.verify_request(body, signed_by(signature), query, [token], now=0)
        assert error.value.reason == "bad_signature"


def test_a_wrong_public_url_is_refused_naming_it() -> None:
    """Signed for one URL, checked against another: bad_signature, and the message says which URL to check."""
    scheme = TwilioSignature("https://bridge.example.com/webhooks/twilio")
    with pytest.raises(SignatureError, match=r"scheme\.public_url") as error:
        scheme.verify_request(form(PARAMS), signed_by(SIGNATURE), QUERY, [TOKEN], now=0)
    assert "https://bridge.example.com/webhooks/twilio" in error.value.message
    assert TOKEN not in error.value.message


def test_any_configured_token_verifies_while_one_is_rotated() -> None:
    """The old and the new Auth Token are both tried; either signs."""
    scheme = TwilioSignature(PUBLIC_URL)
    scheme.verify_request(form(PARAMS), signed_by(SIGNATURE), QUERY, ["new-token", TOKEN], now=0)


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (form(PARAMS), Headers(), "missing_signature"),
        (form(PARAMS), signed_by("   "), "missing_signature"),
        (b"CallSid", signed_by(SIGNATURE), "bad_signature"),
        (b"\xff=1", signed_by(SIGNATURE), "bad_signature"),
        (form(PARAMS), signed_by("é" * 28), "bad_signature"),
    ],
)
def test_missing_or_malformed_deliveries_are_refused(body: bytes, headers: Headers, reason: str) -> None:
    """No header, a body that is not a form, or a signature that is not base64: each a clear reason."""
    with pytest.raises(SignatureError) as error:
        TwilioSignature(PUBLIC_URL).verify_request(body, headers, QUERY, [TOKEN], now=0)
    assert error.value.reason == reason


def test_sign_without_a_query_refuses_a_json_body() -> None:
    """sign() makes headers for a post with no query; a JSON body needs sign_request()'s bodySHA256."""
    with pytest.raises(ValueError, match="sign_request"):
        TwilioSignature(PUBLIC_URL, body="json").sign(JSON_BODY, TOKEN, now=0)
    headers = TwilioSignature(PUBLIC_URL).sign(form(PARAMS), TOKEN, now=0)
    TwilioSignature(PUBLIC_URL).verify(form(PARAMS), Headers(headers), [TOKEN], now=0)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "required"),
        ("", "required"),
        ("http://bridge.example.com/webhooks/twilio", "https"),
        ("https://bridge.example.com/webhooks/twilio?lead=1", "query"),
        ("https://bridge.example.com/webhooks/twilio#rc=2", "fragment"),
        ("https://user:pw@bridge.example.com/webhooks/twilio", "password"),
        ("https://bridge.example.com:99999/webhooks/twilio", "not a URL"),
        (" https://bridge.example.com/webhooks/twilio", "spaces"),
        ("bridge.example.com/webhooks/twilio", "https"),
    ],
)
def test_a_public_url_that_cannot_be_the_signed_one_stops_start_up(value: object, problem: str) -> None:
    """public_url must be an https URL with a host and no query, fragment or password; the key is named."""
    with pytest.raises(ValueError, match=rf"^public_url: .*{problem}"):
        check_public_url(value)
    with pytest.raises(ValueError, match=r"^public_url: "):
        twilio.SOURCE.configured({} if value is None else {"public_url": value})


def test_the_kind_takes_public_url_and_nothing_else() -> None:
    """configure() builds the scheme on the source's public_url; an unknown key is named."""
    kind = twilio.SOURCE.configured({"public_url": "https://bridge.example.com/webhooks/twilio"})
    assert isinstance(kind.signature, TwilioSignature)
    assert kind.signature.public_url == "https://bridge.example.com/webhooks/twilio"
    with pytest.raises(ValueError, match=r"^header: unknown key"):
        twilio.SOURCE.configured({"public_url": PUBLIC_URL, "header": "X"})


def test_calls_and_messages_are_keyed_by_sid_and_status() -> None:
    """Each state of a call or message is its own event; the same state again is the same key."""
    call = (SAMPLES / "call.completed.form").read_bytes()
    message = (SAMPLES / "message.undelivered.form").read_bytes()
    assert idempotency_key_of(twilio.SOURCE, call) == "call:CA5f0e3a7c9b1d2e4f6a8b0c1d2e3f4a5b:completed"
    assert (
        idempotency_key_of(twilio.SOURCE, message) == "message:SM9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f:undelivered"
    )
    ringing = call.replace(b"CallStatus=completed", b"CallStatus=ringing")
    assert idempotency_key_of(twilio.SOURCE, ringing) == "call:CA5f0e3a7c9b1d2e4f6a8b0c1d2e3f4a5b:ringing"
    older = form([("SmsSid", "SM1"), ("MessageSid", "SM1"), ("SmsStatus", "sent")])
    assert idempotency_key_of(twilio.SOURCE, older) == "message:SM1:sent"
    assert idempotency_key_of(twilio.SOURCE, form([("From", "+91")])).startswith("sha256:")


@pytest.mark.parametrize(
    ("pairs", "event_type"),
    [
        ([("CallSid", "CA1"), ("CallStatus", "no-answer")], "call.no-answer"),
        ([("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("CallSid", "CA1")], "message.delivered"),
        ([("MessageSid", "SM1"), ("SmsStatus", "received")], "message.received"),
        ([("CallSid", "CA1")], None),
        ([("From", "+91"), ("CallStatus", "completed")], None),
    ],
)
def test_the_event_type_says_call_or_message_and_the_status(
    pairs: list[tuple[str, str]], event_type: str | None
) -> None:
    """call.<CallStatus> or message.<MessageStatus>; a body with no sid or no status has no type."""
    assert twilio.event_type(twilio.SOURCE.parse(form(pairs))) == event_type


def test_the_customer_is_the_far_end_of_the_call_or_message() -> None:
    """customer_phone is From for an inbound call or a received message, To otherwise."""
    inbound = form(
        [
            ("CallSid", "CA1"),
            ("CallStatus", "completed"),
            ("Direction", "inbound"),
            ("From", "+91a"),
            ("To", "+91b"),
        ]
    )
    [values] = twilio.transform("call.completed", twilio.SOURCE.parse(inbound))
    assert values["customer_phone"] == "+91a"
    received = form([("MessageSid", "SM1"), ("SmsStatus", "received"), ("From", "+91a"), ("To", "+91b")])
    [values] = twilio.transform("message.received", twilio.SOURCE.parse(received))
    assert values["customer_phone"] == "+91a"
    assert values["status"] == "received"


def test_a_bad_timestamp_or_a_repeated_sid_fails_the_event_naming_the_field() -> None:
    """Values the transform cannot read fail the event with the field's name, never a crash."""
    bad_time = form([("CallSid", "CA1"), ("CallStatus", "completed"), ("Timestamp", "yesterday")])
    with pytest.raises(TransformError, match="Timestamp"):
        twilio.transform("call.completed", twilio.SOURCE.parse(bad_time))
    repeated = twilio.SOURCE.parse(
        form([("CallSid", "CA1"), ("CallSid", "CA2"), ("CallStatus", "completed")])
    )
    assert repeated["CallSid"] == ["CA1", "CA2"]
    with pytest.raises(TransformError, match="CallSid"):
        twilio.transform("call.completed", repeated)
