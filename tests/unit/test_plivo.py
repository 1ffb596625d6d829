"""Plivo: the V3 signature against the fact sheet's vectors and Plivo's SDK, keys and values."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3, validate_v3_signature
from werkzeug.datastructures import Headers

from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.plivo_v3 import PlivoV3Signature, plivo_mac
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import plivo

# The V3 vector of ../shared/reference/webhook-sources-2.md 3.5 (computed with the SDK's signature_v3.py).
TOKEN = "MY_AUTH_TOKEN"
PUBLIC_URL = "https://example.com/plivo/answer"
QUERY = "foo=1"
PARAMS = {"CallUUID": "a1b2", "From": "919999999999", "To": "918888888888", "CallStatus": "completed"}
NONCE = "12345678901234567890"
BASE = "https://example.com/plivo/answer?foo=1.CallStatuscompletedCallUUIDa1b2From919999999999To918888888888"
SIGNATURE = "Wki8VFD3OEehwXdVP5LpbUQeOGC2uqXqTIYuDmhpdu4="
SAMPLES = ROOT / "transforms" / "samples" / "plivo"


def signed_by(signature: str, nonce: str = NONCE, header: str = "X-Plivo-Signature-V3") -> Headers:
    """Return the headers of a delivery carrying this signature and nonce."""
    return Headers({header: signature, "X-Plivo-Signature-V3-Nonce": nonce})


def sdk_signature(url: str, params: dict[str, str | list[str]], nonce: str, token: str) -> str:
    """Return the signature Plivo's SDK computes for a POST to url (query included) with these fields."""
    base = construct_post_url(url, dict(params)).decode("utf-8")
    signature: bytes = get_signature_v3(token.encode(), base, nonce.encode())
    return signature.decode("ascii")


def test_the_v3_vector_verifies_byte_for_byte() -> None:
    """The fact sheet's V3 vector: its base string and its signature, under MY_AUTH_TOKEN."""
    assert plivo_mac(f"{BASE}.{NONCE}", TOKEN) == SIGNATURE
    body = urlencode(PARAMS).encode()
    PlivoV3Signature(PUBLIC_URL).verify_request(body, signed_by(SIGNATURE), QUERY, [TOKEN], now=0)


def test_the_v2_vector_checks_the_mac_both_versions_share() -> None:
    """Plivo's published V2 vector (URL and nonce, no fields): the HMAC-SHA256 base64 primitive matches."""
    assert (
        plivo_mac("https://answer.url" + "12345", "my_auth_token")
        == "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc="
    )


def test_any_of_several_listed_signatures_passes() -> None:
    """The header lists signatures comma-separated; one that matches is enough, wherever it stands."""
    body = urlencode(PARAMS).encode()
    for listed in (f"bm90IGl0,{SIGNATURE}", f"{SIGNATURE}, bm90IGl0", f" {SIGNATURE} "):
        PlivoV3Signature(PUBLIC_URL).verify_request(body, signed_by(listed), QUERY, [TOKEN], now=0)


def test_the_main_account_header_is_read_too() -> None:
    """A signature only in X-Plivo-Signature-Ma-V3 (the main account's token) passes."""
    body = urlencode(PARAMS).encode()
    headers = signed_by(SIGNATURE, header="X-Plivo-Signature-Ma-V3")
    PlivoV3Signature(PUBLIC_URL).verify_request(body, headers, QUERY, ["sub-account-token", TOKEN], now=0)


@pytest.mark.parametrize(
    ("query", "params"),
    [
        ("", {"CallUUID": "c1", "Digits": ["5", "1", "5"], "Text": "नमस्ते + 100% & more"}),
        ("lead=opp%2F42&a=x+y&a=b", {"MessageUUID": "m1", "Status": "delivered"}),
        ("lead=opp-42", {}),
        ("", {}),
    ],
)
def test_we_accept_the_sdks_signatures(query: str, params: dict[str, str | list[str]]) -> None:
    """Signed by the SDK's own functions, with and without a query, repeats and non-ASCII: we verify."""
    url = f"{PUBLIC_URL}?{query}" if query else PUBLIC_URL
    signature = sdk_signature(url, params, NONCE, TOKEN)
    pairs = [
        (name, value)
        for name, values in params.items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    body = urlencode(pairs).encode()
    PlivoV3Signature(PUBLIC_URL).verify_request(body, signed_by(signature), query, [TOKEN], now=0)


def test_the_sdk_accepts_our_signatures() -> None:
    """validate_v3_signature() accepts what sign_request() makes, and refuses it for another token."""
    body = (SAMPLES / "call.completed.form").read_bytes()
    headers, query = PlivoV3Signature(PUBLIC_URL).sign_request(body, TOKEN, now=1_765_000_000.5)
    assert query == ""
    params = plivo.SOURCE.parse(body)
    nonce, signature = headers["X-Plivo-Signature-V3-Nonce"], headers["X-Plivo-Signature-V3"]
    assert validate_v3_signature("POST", PUBLIC_URL, nonce, TOKEN, signature, dict(params))
    assert not validate_v3_signature("POST", PUBLIC_URL, nonce, "OTHER", signature, dict(params))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("field", "bad_signature"),
        ("query", "bad_signature"),
        ("nonce", "bad_signature"),
        ("token", "bad_signature"),
        ("no nonce", "missing_signature"),
        ("no signature", "missing_signature"),
        ("not a form", "bad_signature"),
        ("odd nonce", "bad_signature_header"),
    ],
)
def test_a_tampered_or_incomplete_delivery_is_refused(change: str, reason: str) -> None:
    """A changed field, query or nonce, another token, or a missing header: refused with a clear reason."""
    body, query, headers, token = urlencode(PARAMS).encode(), QUERY, signed_by(SIGNATURE), TOKEN
    if change == "field":
        body = body.replace(b"completed", b"completeD")
    elif change == "query":
        query = "foo=2"
    elif change == "nonce":
        headers = signed_by(SIGNATURE, nonce="12345678901234567891")
    elif change == "token":
        token = "OTHER"
    elif change == "no nonce":
        headers = Headers({"X-Plivo-Signature-V3": SIGNATURE})
    elif change == "no signature":
        headers = Headers({"X-Plivo-Signature-V3-Nonce": NONCE})
    elif change == "odd nonce":
        headers = signed_by(SIGNATURE, nonce="\ud800é")
    else:
        body = b"CallUUID"
    with pytest.raises(SignatureError) as error:
        PlivoV3Signature(PUBLIC_URL).verify_request(body, headers, query, [token], now=0)
    assert error.value.reason == reason
    assert TOKEN not in error.value.message


def test_a_wrong_public_url_is_refused_naming_it() -> None:
    """The vector checked against another public_url: bad_signature, and the message names the URL."""
    scheme = PlivoV3Signature("https://bridge.example.com/webhooks/plivo")
    with pytest.raises(SignatureError, match=r"scheme\.public_url") as error:
        scheme.verify_request(urlencode(PARAMS).encode(), signed_by(SIGNATURE), QUERY, [TOKEN], now=0)
    assert "https://bridge.example.com/webhooks/plivo" in error.value.message


def test_the_kind_needs_an_https_public_url() -> None:
    """configure() requires public_url, an https URL without a query; the key is named."""
    with pytest.raises(ValueError, match=r"^public_url: required"):
        plivo.SOURCE.configured({})
    with pytest.raises(ValueError, match=r"^public_url: leave out the query"):
        plivo.SOURCE.configured({"public_url": f"{PUBLIC_URL}?{QUERY}"})
    kind = plivo.SOURCE.configured({"public_url": PUBLIC_URL})
    assert isinstance(kind.signature, PlivoV3Signature) and kind.signature.public_url == PUBLIC_URL


def test_calls_and_messages_are_keyed_by_uuid_and_status() -> None:
    """Each state of a call or message is its own event; without a UUID the body's hash is the key."""
    call = (SAMPLES / "call.completed.form").read_bytes()
    message = (SAMPLES / "message.delivered.form").read_bytes()
    assert idempotency_key_of(plivo.SOURCE, call) == "call:0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a:completed"
    assert (
        idempotency_key_of(plivo.SOURCE, message) == "message:db3ce55a-7f1d-11f1-8ea7-1e6d5e3c4a2b:delivered"
    )
    sent = message.replace(b"Status=delivered", b"Status=sent")
    assert idempotency_key_of(plivo.SOURCE, sent) == "message:db3ce55a-7f1d-11f1-8ea7-1e6d5e3c4a2b:sent"
    assert idempotency_key_of(plivo.SOURCE, b"From=91").startswith("sha256:")


@pytest.mark.parametrize(
    ("body", "event_type"),
    [
        (b"CallUUID=c1&CallStatus=busy", "call.busy"),
        (b"MessageUUID=m1&Status=undelivered&CallUUID=c1", "message.undelivered"),
        (b"MessageUUID=m1&Text=hello&From=91", None),
        (b"CallStatus=completed", None),
    ],
)
def test_the_event_type_says_call_or_message_and_the_status(body: bytes, event_type: str | None) -> None:
    """call.<CallStatus> or message.<Status>; an inbound SMS (no Status) or a body without a UUID has none."""
    assert plivo.event_type(plivo.SOURCE.parse(body)) == event_type


def test_the_customer_of_an_inbound_call_is_the_caller() -> None:
    """customer_phone is From for an inbound call, To for an outbound one; a repeated UUID fails naming it."""
    payload = plivo.SOURCE.parse(b"CallUUID=c1&CallStatus=completed&Direction=inbound&From=91a&To=91b")
    [values] = plivo.transform("call.completed", payload)
    assert values["customer_phone"] == "91a"
    with pytest.raises(TransformError, match="CallUUID"):
        plivo.transform("call.completed", plivo.SOURCE.parse(b"CallUUID=c1&CallUUID=c2&CallStatus=completed"))
