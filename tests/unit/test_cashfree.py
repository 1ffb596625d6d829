"""Cashfree PG: the verifier against the derived vector and the SDK's formula, and the transform.

The cashfree-pg SDK cannot be installed beside requests, so it is no oracle
here: `sdk_signature` restates its `PGVerifyWebhookSignature` formula
(`base64(HMAC-SHA256(secret, timestamp + rawBody))` over strings) instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from bridge.config.load import load_settings
from bridge.config.settings import Settings
from bridge.pipeline.transform import Delivery, Failed, Ignored, map_event
from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import REGISTRY, cashfree

SAMPLES = Path(__file__).parents[1] / "samples" / "cashfree"
PAYLOADS = ROOT / "transforms" / "samples" / "cashfree"
SCHEME = cashfree.SOURCE.signature
SIGNATURE = "x-webhook-signature"
TIMESTAMP = "x-webhook-timestamp"

# Derived: the rawBody of the SDK's docs/Webhook.md; secret and timestamp invented
# (shared/reference/samples/vectors.json, "cashfree-doc-minimal").
VECTOR_FILE = "doc_payment_success_minimal.json"
VECTOR_SECRET = "TEST_CLIENT_SECRET"
VECTOR_TIMESTAMP = "1617695238078"
VECTOR_SIGNATURE = "JsfVwCXnwhN/WfbeiD+adt4+teTWm5ia971Bgv31PlY="
VECTOR_NOW = 1617695238.078
# Razorpay is switched on in the example, so its secret is needed too.
SECRETS = {
    "RAZORPAY_WEBHOOK_SECRET": "razorpay",
    "CASHFREE_WEBHOOK_SECRET": "current",
    "CASHFREE_WEBHOOK_SECRET_PREVIOUS": "previous",
}


def vector_body() -> bytes:
    """Return the vector's body, the exact bytes of the SDK docs' rawBody."""
    return (SAMPLES / VECTOR_FILE).read_bytes()


def vector_headers(**changes: str) -> Headers:
    """Return the vector's headers, with any header replaced."""
    return Headers({TIMESTAMP: VECTOR_TIMESTAMP, SIGNATURE: VECTOR_SIGNATURE, **changes})


def sdk_signature(raw_body: str, timestamp: str, secret: str) -> str:
    """Compute a signature as cashfree-pg's PGVerifyWebhookSignature does, over strings."""
    signature_data = timestamp + raw_body
    digest = hmac.new(secret.encode("utf-8"), signature_data.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("utf-8")


def test_the_derived_vector_verifies_byte_for_byte() -> None:
    """The vector's signature verifies over the exact file bytes at its own time, and sign() remakes it."""
    body = vector_body()
    assert len(body) == 44 and not body.endswith(b"\n")
    SCHEME.verify(body, vector_headers(), [VECTOR_SECRET], now=VECTOR_NOW)
    assert SCHEME.sign(body, VECTOR_SECRET, now=VECTOR_NOW) == {
        TIMESTAMP: VECTOR_TIMESTAMP,
        SIGNATURE: VECTOR_SIGNATURE,
    }


def test_the_vector_is_the_sdk_formula() -> None:
    """The SDK's formula, restated over strings, gives the vector; a literal dot separator does not."""
    raw_body = vector_body().decode("utf-8")
    assert sdk_signature(raw_body, VECTOR_TIMESTAMP, VECTOR_SECRET) == VECTOR_SIGNATURE
    dotted = sdk_signature("." + raw_body, VECTOR_TIMESTAMP, VECTOR_SECRET)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(vector_body(), vector_headers(**{SIGNATURE: dotted}), [VECTOR_SECRET], now=VECTOR_NOW)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda path: path.stem)
def test_our_signatures_follow_the_sdk_formula(path: Path) -> None:
    """What sign() makes for each shipped sample is what the SDK's formula computes."""
    body = path.read_bytes()
    headers = SCHEME.sign(body, "client-secret", now=1764230400.5)
    assert headers[TIMESTAMP] == "1764230400500"
    assert headers[SIGNATURE] == sdk_signature(body.decode("utf-8"), headers[TIMESTAMP], "client-secret")


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-301, False), (-300, True), (0, True), (300, True), (301, False)]
)
def test_the_timestamp_must_be_within_300_seconds_either_way(skew: float, accepted: bool) -> None:
    """The vector is accepted up to 300 s before or after its timestamp, and refused as stale beyond."""
    now = VECTOR_NOW + skew
    if accepted:
        SCHEME.verify(vector_body(), vector_headers(), [VECTOR_SECRET], now=now)
        return
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(vector_body(), vector_headers(), [VECTOR_SECRET], now=now)
    assert caught.value.reason == "stale_timestamp"
    assert SCHEME.tolerance_seconds == 300


def test_the_timestamp_is_signed() -> None:
    """The vector's signature with its timestamp moved by one millisecond is refused."""
    headers = vector_headers(**{TIMESTAMP: str(int(VECTOR_TIMESTAMP) + 1)})
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(vector_body(), headers, [VECTOR_SECRET], now=VECTOR_NOW)
    assert caught.value.reason == "bad_signature"


def test_a_stale_delivery_under_a_wrong_secret_is_a_bad_signature() -> None:
    """The signature is checked before the age, so only a holder of the secret learns of staleness."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(vector_body(), vector_headers(), ["other-secret"], now=VECTOR_NOW + 3600)
    assert caught.value.reason == "bad_signature"


def test_any_configured_secret_verifies_and_none_other() -> None:
    """With two client secrets configured (a key rotation) either passes; a third does not."""
    body = (PAYLOADS / "PAYMENT_SUCCESS_WEBHOOK.json").read_bytes()
    for secret in ("new-secret", "old-secret"):
        SCHEME.verify(
            body, Headers(SCHEME.sign(body, secret, now=100)), ["new-secret", "old-secret"], now=100
        )
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(
            body, Headers(SCHEME.sign(body, "other", now=100)), ["new-secret", "old-secret"], now=100
        )
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({TIMESTAMP: VECTOR_TIMESTAMP}, "missing_signature"),
        ({SIGNATURE: VECTOR_SIGNATURE}, "missing_signature"),
        ({TIMESTAMP: "  ", SIGNATURE: VECTOR_SIGNATURE}, "missing_signature"),
        ({TIMESTAMP: "1617695238.078", SIGNATURE: VECTOR_SIGNATURE}, "bad_signature_header"),
        ({TIMESTAMP: "-1617695238078", SIGNATURE: VECTOR_SIGNATURE}, "bad_signature_header"),
        ({TIMESTAMP: "1_617_695_238_078", SIGNATURE: VECTOR_SIGNATURE}, "bad_signature_header"),
        ({TIMESTAMP: "t=1617695238078", SIGNATURE: VECTOR_SIGNATURE}, "bad_signature_header"),
    ],
)
def test_missing_and_malformed_headers_are_named(headers: dict[str, str], reason: str) -> None:
    """A missing signature or timestamp, or a timestamp that is not whole milliseconds, has its reason."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(vector_body(), Headers(headers), [VECTOR_SECRET], now=VECTOR_NOW)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "value", ["zz", VECTOR_SIGNATURE.lower(), VECTOR_SIGNATURE.rstrip("="), "é" + VECTOR_SIGNATURE]
)
def test_malformed_signatures_are_refused_cleanly(value: str) -> None:
    """Short, re-cased, unpadded or non-ASCII signatures are a SignatureError, never a crash."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(vector_body(), vector_headers(**{SIGNATURE: value}), [VECTOR_SECRET], now=VECTOR_NOW)
    assert caught.value.reason == "bad_signature"


def test_refusals_never_show_the_secret_or_the_expected_signature() -> None:
    """Neither the secret nor the signature it makes appears in any refusal's message."""
    messages = []
    for headers, now in [
        (vector_headers(**{SIGNATURE: "zz"}), VECTOR_NOW),
        (vector_headers(), VECTOR_NOW + 3600),
        (vector_headers(**{TIMESTAMP: "x"}), VECTOR_NOW),
    ]:
        with pytest.raises(SignatureError) as caught:
            SCHEME.verify(vector_body(), headers, [VECTOR_SECRET], now=now)
        messages.append(caught.value.message)
    assert all(VECTOR_SECRET not in m and VECTOR_SIGNATURE not in m for m in messages), messages


def test_the_idempotency_key_prefers_the_header_then_the_payment_attempt() -> None:
    """x-idempotency-key wins; else the type and cf_payment_id; else the body's hash."""
    body = (PAYLOADS / "PAYMENT_SUCCESS_WEBHOOK.json").read_bytes()
    header = "n9rn7079wqXcse3GEDEXCYle9ajXmU0SUQY8zrUNAlc="
    assert idempotency_key_of(cashfree.SOURCE, body, Headers({"x-idempotency-key": header})) == header
    assert idempotency_key_of(cashfree.SOURCE, body) == "PAYMENT_SUCCESS_WEBHOOK:5114910452839"
    older = b'{"type":"PAYMENT_FAILED_WEBHOOK","data":{"payment":{"cf_payment_id":1453002795}}}'
    assert idempotency_key_of(cashfree.SOURCE, older) == "PAYMENT_FAILED_WEBHOOK:1453002795"
    for no_attempt in (
        vector_body(),
        b'{"type":"X","data":{"payment":{"cf_payment_id":true}}}',
        b'{"data":[]}',
    ):
        assert idempotency_key_of(cashfree.SOURCE, no_attempt).startswith("sha256:")


def test_amounts_keep_their_two_decimals_from_the_raw_number() -> None:
    """Rupees parsed from 170.00, 1.8 and 0.1 are written 170.00, 1.80 and 0.10, never float artefacts."""
    raw = b'{"data":{"payment":{"cf_payment_id":"1","payment_amount":%s}}}'
    for written, expected in [(b"170.00", "170.00"), (b"170", "170.00"), (b"1.8", "1.80"), (b"0.1", "0.10")]:
        [values] = cashfree.transform("PAYMENT_SUCCESS_WEBHOOK", json.loads(raw % written))
        assert values["amount"] == expected
    assert cashfree.rupees(0.1 + 0.2 - 0.3 + 99999999.99) == "99999999.99"


@pytest.mark.parametrize("value", [1.005, "170.00", True, float("nan"), 1e30])
def test_amounts_that_are_not_whole_paise_are_refused(value: object) -> None:
    """A fraction of a paisa, text, a boolean, NaN or a huge number is refused, not rounded."""
    with pytest.raises(ValueError):
        cashfree.rupees(value)


def test_the_samples_map_their_documented_fields() -> None:
    """Each sample's values are read from where Cashfree documents them, times in UTC."""
    [success] = cashfree.transform("PAYMENT_SUCCESS_WEBHOOK", sample("PAYMENT_SUCCESS_WEBHOOK"))
    assert success["payment_group"] == "upi" and success["event_at"] == "2025-11-27 08:00:04"
    assert success["error_code"] is None
    [dropped] = cashfree.transform("PAYMENT_USER_DROPPED_WEBHOOK", sample("PAYMENT_USER_DROPPED_WEBHOOK"))
    assert dropped["payment_method"] == "card" and dropped["bank_reference"] is None
    assert dropped["status"] == "USER_DROPPED" and dropped["error_reason"] == "user_dropped"


def test_an_unknown_event_type_has_no_transform() -> None:
    """A type Cashfree may add later is refused by the transform, naming it."""
    with pytest.raises(TransformError, match="REFUND_STATUS_WEBHOOK"):
        cashfree.transform("REFUND_STATUS_WEBHOOK", sample("PAYMENT_SUCCESS_WEBHOOK"))


def test_a_payload_without_data_is_refused_by_the_transform() -> None:
    """The transform itself names data when a payload has none (the vector's empty data has no payment)."""
    with pytest.raises(TransformError, match=r"^data is missing$"):
        cashfree.transform("PAYMENT_SUCCESS_WEBHOOK", {"type": "PAYMENT_SUCCESS_WEBHOOK"})
    with pytest.raises(TransformError, match=r"^data\.payment is missing$"):
        cashfree.transform("PAYMENT_SUCCESS_WEBHOOK", json.loads(vector_body()))


def sample(event_type: str) -> dict[str, Any]:
    """Return a shipped sample, parsed."""
    parsed: dict[str, Any] = json.loads((PAYLOADS / f"{event_type}.json").read_bytes())
    return parsed


def example_settings(**environ: str) -> Settings:
    """Load bridge.example.toml with Cashfree's secrets set and the source switched on."""
    settings = load_settings(ROOT / "bridge.example.toml", {**SECRETS, **environ}, REGISTRY)
    source = replace(settings.sources["cashfree"], enabled=True)
    return replace(settings, sources={**settings.sources, "cashfree": source})


def test_the_example_configures_cashfree_switched_off_with_a_previous_secret() -> None:
    """bridge.example.toml ships Cashfree off, with the current and a previous client secret."""
    settings = load_settings(ROOT / "bridge.example.toml", SECRETS, REGISTRY)
    source = settings.sources["cashfree"]
    assert not source.enabled and source.secrets == ("current", "previous")
    assert sorted(source.events) == sorted(cashfree.EVENT_VALUES)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.pop("data"), "no opportunity id"),
        (lambda p: p["data"].pop("payment"), "data.payment is missing"),
        (lambda p: p["data"]["payment"].pop("cf_payment_id"), "data.payment.cf_payment_id is missing"),
        (lambda p: p["data"]["payment"].update(cf_payment_id=""), "data.payment.cf_payment_id is missing"),
        (lambda p: p["data"]["payment"].update(payment_amount="25000.50"), "payment_amount: an amount"),
        (lambda p: p["data"]["payment"].update(payment_amount=25000.505), "fraction of a paisa"),
        (lambda p: p["data"]["payment"].update(payment_time="yesterday"), "not an ISO 8601 time"),
        (lambda p: p["data"]["payment"].update(payment_time="2025-11-27T13:30:00"), "no UTC offset"),
        (lambda p: p.update(event_time=1764230404), "event_time: an ISO 8601 time must be text"),
        (lambda p: p["data"]["order"].update(order_tags=None), "no opportunity id"),
        (lambda p: p["data"]["order"]["order_tags"].update(opportunity_id=" "), "no opportunity id"),
    ],
)
def test_unmappable_payloads_fail_with_a_reason(
    mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A payload missing what the mapping needs fails, naming the path that is missing or wrong."""
    settings = example_settings()
    source = settings.sources["cashfree"]
    payload = sample("PAYMENT_SUCCESS_WEBHOOK")
    mutate(payload)
    delivery = Delivery("k", "PAYMENT_SUCCESS_WEBHOOK", json.dumps(payload).encode())
    outcome = map_event(delivery, source, cashfree.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason


def test_a_type_nobody_mapped_is_ignored() -> None:
    """A delivery of a type the configuration does not map is ignored, not failed."""
    settings = example_settings()
    source = settings.sources["cashfree"]
    body = b'{"type":"REFUND_STATUS_WEBHOOK","data":{}}'
    outcome = map_event(Delivery("k", None, body), source, cashfree.SOURCE, settings.accounts["main"])
    assert outcome == Ignored("REFUND_STATUS_WEBHOOK")
