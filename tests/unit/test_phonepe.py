"""PhonePe: v1's X-VERIFY and salt index, v2's Authorization, against the fact sheet's vectors.

The official SDK is not the oracle here: phonepe-pg-sdk-python 3.0.1 requires
requests<=2.31.0 and urllib3<=1.26.12, below the requests 2.34.2 and urllib3
2.8.0 the bridge runs on, so it cannot be installed beside them. Its v2 check
(`is_callback_valid`: sha256(f"{username}:{password}").hexdigest() == header)
is pinned instead by the vector its own tests use 18 times, username
`username` and password `password`. No v1 SDK is public; v1 is checked
against a hash written out by hand from PhonePe's documented formula.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging

import pytest
from werkzeug.datastructures import Headers

from bridge.config.check import token_warnings
from bridge.observe.logs import RedactingFilter
from bridge.sources.kind import TransformError
from bridge.sources.senders import signed_delivery
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.phonepe import (
    PhonePeAuthorization,
    PhonePeSaltedHash,
    credential_hash,
    salt_key,
    x_verify,
)
from bridge.sources.signatures.scheme import secret_forms
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from tests.unit.test_contract import example_source
from transforms import phonepe, phonepe_v2

V1 = PhonePeSaltedHash()
V2 = PhonePeAuthorization()
SAMPLES = ROOT / "transforms" / "samples"
# The fact sheet's v1 vector (computed there from the documented formula).
RESPONSE = "eyJzdWNjZXNzIjp0cnVlfQ=="
SALT_KEY = "salt-key-uuid"
V1_HEADER = "8eaee51cb8308336c441707cfc9c7fe08887a70baf08b2522168872caa2670e8###1"
V1_BODY = json.dumps({"response": RESPONSE}).encode()
# The SDK's own test vector (phonepe-pg-sdk-python tests/test_validate_callback.py), verified there.
V2_HEADER = "bc842c31a9e54efe320d30d948be61291f3ceee4766e36ab25fa65243cd76e0e"


def v1_refusal(body: bytes, header: str | None, secrets: list[str]) -> SignatureError:
    """Return the SignatureError v1's verify() raises."""
    headers = Headers({"X-VERIFY": header} if header is not None else {})
    with pytest.raises(SignatureError) as caught:
        V1.verify(body, headers, secrets, now=0)
    return caught.value


def test_the_v1_vector_is_the_hand_written_formula_and_verifies() -> None:
    """SHA-256 of response + salt key, ###1: the fact sheet's value, accepted with or without '1:'."""
    by_hand = hashlib.sha256(b"eyJzdWNjZXNzIjp0cnVlfQ==" + b"salt-key-uuid").hexdigest() + "###1"
    assert by_hand == V1_HEADER == x_verify(RESPONSE, SALT_KEY, "1")
    for secret in (SALT_KEY, f"1:{SALT_KEY}"):
        V1.verify(V1_BODY, Headers({"X-VERIFY": V1_HEADER}), [secret], now=0)
        assert V1.sign(V1_BODY, secret, now=0) == {"X-VERIFY": V1_HEADER}
    assert V1.unseal(V1_BODY, [SALT_KEY]) == b'{"success":true}'


def test_the_salt_index_picks_the_key() -> None:
    """With keys 1 and 2 configured, ###2 is checked against key 2 only; an unknown index is named."""
    secrets = ["1:key-one", "2:key-two"]
    V1.verify(V1_BODY, Headers({"X-VERIFY": x_verify(RESPONSE, "key-two", "2")}), secrets, now=0)
    assert v1_refusal(V1_BODY, x_verify(RESPONSE, "key-one", "2"), secrets).reason == "bad_signature"
    unknown = v1_refusal(V1_BODY, x_verify(RESPONSE, "key-two", "3"), secrets)
    assert unknown.reason == "unknown_salt_index" and "key-two" not in unknown.message
    assert salt_key("12:abc") == ("12", "abc") and salt_key("099eb0cd-02cf") == ("1", "099eb0cd-02cf")


@pytest.mark.parametrize(
    ("body", "header", "reason"),
    [
        (V1_BODY, None, "missing_signature"),
        (V1_BODY, V1_HEADER.replace("###", "##"), "bad_signature_header"),
        (V1_BODY, V1_HEADER + "x", "bad_signature_header"),
        (b"not json", V1_HEADER, "missing_signature"),
        (b'{"response": 1}', V1_HEADER, "missing_signature"),
        (json.dumps({"response": RESPONSE[:-1] + "A"}).encode(), V1_HEADER, "bad_signature"),
    ],
    ids=["no_header", "no_separator", "bad_index", "not_json", "no_response", "changed_response"],
)
def test_v1_refuses_what_does_not_check(body: bytes, header: str | None, reason: str) -> None:
    """A missing or malformed X-VERIFY, a body without its response, a changed response: refused."""
    assert v1_refusal(body, header, [SALT_KEY]).reason == reason


def test_v1_seals_a_sample_and_refuses_a_response_that_is_not_base64() -> None:
    """A sample is posted as {"response": base64} with X-VERIFY; a verified non-base64 one is a ValueError."""
    plain = (SAMPLES / "phonepe" / "PAYMENT_SUCCESS.json").read_bytes()
    body, headers = signed_delivery(V1, plain, f"2:{SALT_KEY}", now=0)
    assert json.loads(body) == {"response": base64.b64encode(plain).decode()}
    assert headers["X-VERIFY"].endswith("###2")
    V1.verify(body, Headers(headers), [SALT_KEY, f"2:{SALT_KEY}"], now=0)
    assert V1.unseal(body, [f"2:{SALT_KEY}"]) == plain
    with pytest.raises(ValueError, match="not base64"):
        V1.unseal(b'{"response": "not base64!"}', [SALT_KEY])


def test_v1_names_a_secret_without_a_salt_key() -> None:
    """'1:' holds no salt key: check-config's message says how to write one, never the secret."""
    assert V1.secret_problem("1:") is not None and "salt index" in (V1.secret_problem("1:") or "")
    assert V1.secret_problem(f"1:{SALT_KEY}") is None and V1.secret_problem(SALT_KEY) is None


def test_the_v2_header_is_the_sdk_vector_and_checks_in_constant_time() -> None:
    """username:password hashes to the SDK's vector; it is accepted, any other credential is not."""
    assert credential_hash("username:password") == V2_HEADER
    V2.verify(b"{}", Headers({"Authorization": V2_HEADER}), ["other:pair1234", "username:password"], 0)
    V2.verify(b"{}", Headers({"Authorization": V2_HEADER.upper()}), ["username:password"], 0)
    assert V2.sign(b"any body", "username:password", 0) == {"Authorization": V2_HEADER}
    for headers, reason in (({}, "missing_token"), ({"Authorization": V2_HEADER}, "bad_token")):
        with pytest.raises(SignatureError) as caught:
            V2.verify(b"{}", Headers(headers), ["merchant_1:s3cretPass9"], 0)
        assert caught.value.reason == reason and "s3cretPass9" not in caught.value.message
    with pytest.raises(SignatureError, match="Authorization header, not the URL"):
        V2.verify_path_token("username:password", ["username:password"])


def test_check_config_warns_that_v2_is_a_static_credential() -> None:
    """phonepe_v2 is a token source to check-config: weaker than a signature, and allowed_ips is advised."""
    [warning] = token_warnings(example_source(phonepe_v2.SOURCE), phonepe_v2.SOURCE)
    assert "shared token in the header, weaker than a signature" in warning and "allowed_ips" in warning
    assert token_warnings(example_source(phonepe.SOURCE), phonepe.SOURCE) == []


def test_v1_keys_and_values() -> None:
    """transactionId:code keys a callback, code is its type; paise become rupees."""
    body = (SAMPLES / "phonepe" / "PAYMENT_SUCCESS.json").read_bytes()
    payload = phonepe.SOURCE.parse(body)
    assert idempotency_key_of(phonepe.SOURCE, body) == "T2511271405316190170379:PAYMENT_SUCCESS"
    assert phonepe.SOURCE.type_of(Headers(), payload) == "PAYMENT_SUCCESS"
    [values] = phonepe.transform("PAYMENT_SUCCESS", payload)
    assert values["amount"] == "14999.00" and values["utr"] == "533112345678"
    assert idempotency_key_of(phonepe.SOURCE, b'{"code": "PAYMENT_ERROR"}').startswith("sha256:")
    with pytest.raises(TransformError, match="data is missing"):
        phonepe.transform("PAYMENT_SUCCESS", {"code": "PAYMENT_SUCCESS"})


def test_v2_keys_and_values() -> None:
    """event:orderId:state keys a webhook, event is its type; the last attempt's time is paid_at."""
    body = (SAMPLES / "phonepe_v2" / "checkout.order.failed.json").read_bytes()
    payload = phonepe_v2.SOURCE.parse(body)
    key = "checkout.order.failed:OMO2403041556072639596105:FAILED"
    assert idempotency_key_of(phonepe_v2.SOURCE, body) == key
    assert phonepe_v2.SOURCE.type_of(Headers(), payload) == "checkout.order.failed"
    [values] = phonepe_v2.transform("checkout.order.failed", payload)
    assert values["paid_at"] == "2024-03-04 10:26:09" and values["expire_at"] == "2024-03-04 10:33:07"
    assert values["amount"] == "100.01" and values["transaction_id"] == "OM2403041556097829596189"
    with pytest.raises(TransformError, match=r"no transform for 'pg\.refund\.completed'"):
        phonepe_v2.transform("pg.refund.completed", payload)


def test_the_forms_a_secret_is_known_by_are_cut_from_logs_too() -> None:
    """v1: the salt key without its index; v2: the password alone and the Authorization it hashes to."""
    assert secret_forms(V1, ["2:salt-key-two", "salt-key-one"]) == ["salt-key-two", "salt-key-one"]
    assert secret_forms(V2, ["username:password"]) == ["password", V2_HEADER]
    assert secret_forms(phonepe.SOURCE.signature, []) == []
    redacting = RedactingFilter(["2:salt-key-two", *secret_forms(V1, ["2:salt-key-two"])])
    line = "salt salt-key-two rejected"
    record = logging.LogRecord("bridge", logging.WARNING, __file__, 1, line, (), None)
    redacting.filter(record)
    assert "salt-key-two" not in record.getMessage()
