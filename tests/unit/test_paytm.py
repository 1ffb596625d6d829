"""Paytm: the checksum against the fact sheet's vector and Paytm's own library, tampering, keys and values."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from paytmchecksum import PaytmChecksum as paytm_sdk  # type: ignore[import-untyped]
from werkzeug.datastructures import Headers

from bridge.config.load import ConfigError
from bridge.sources.kind import TransformError
from bridge.sources.payload import parse_form
from bridge.sources.senders import demo_secret
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.paytm_checksum import IV, PaytmChecksum, checksum, salted_hash, signed_values
from tests.conftest import ROOT, TEST_CONFIG, make_services
from tests.support import idempotency_key_of
from transforms import paytm

SCHEME = PaytmChecksum()
SAMPLES = ROOT / "transforms" / "samples" / "paytm"
# The fact sheet's computed vector (webhook-sources-2 §1.2), byte for byte.
VECTOR_FIELDS = {"MID": "YOUR_MID_HERE", "ORDERID": "YOUR_ORDER_ID_HERE"}
VECTOR_KEY = "TESTMERCHANTKEY1"
VECTOR_STRING = "YOUR_MID_HERE|YOUR_ORDER_ID_HERE|abcd"
VECTOR_INNER = "57c086bc18638f9ec2998140b71a6b00e0f3d9dbce79329192f2ffdc18ccc655abcd"
VECTOR_CHECKSUM = (
    "Qe+YTNbMGQ+quAr8peG7jMMRLDLxTzmbwCTy7cYb8FjvUwyJ+YUfGkDxCPxuSXt6Ztuehqekvt/Yqf462ejnnB6lgvO5LHZMTQgs8vlJMQk="
)
KEY = "k9Q2mX7pL4sV8zR1"
FIELDS = {
    "MID": "LSQDEM12345678901234",
    "ORDERID": "ORD-1",
    "TXNID": "20251127111212800110168123456789012",
    "TXNAMOUNT": "10.00",
    "STATUS": "TXN_SUCCESS",
    "RESPMSG": "Txn Success",
    "BANKNAME": "null",
    "MERC_UNQ_REF": "opp-1",
}
PAYTM_CONFIG = (
    TEST_CONFIG
    + """
[sources.paytm]
kind = "paytm"
secret_env = "PAYTM_WEBHOOK_SECRET"
opportunity_id_path = "MERC_UNQ_REF"
owner_email = "ops@example.com"
"""
)


def form(fields: dict[str, str], checksum_hash: str) -> bytes:
    """Return a form body carrying these fields and a given CHECKSUMHASH."""
    return urlencode({**fields, "CHECKSUMHASH": checksum_hash}).encode()


def test_the_fact_sheet_vector_holds_byte_for_byte() -> None:
    """The signed string, the salted inner value and the CHECKSUMHASH are the fact sheet's; it verifies."""
    assert f"{signed_values(VECTOR_FIELDS)}|abcd" == VECTOR_STRING
    assert salted_hash(signed_values(VECTOR_FIELDS), "abcd") == VECTOR_INNER
    assert checksum(VECTOR_FIELDS, VECTOR_KEY, "abcd") == VECTOR_CHECKSUM
    SCHEME.verify(form(VECTOR_FIELDS, VECTOR_CHECKSUM), Headers(), [VECTOR_KEY], now=0)


def test_paytms_library_computes_the_same_vector() -> None:
    """paytmchecksum's calculateChecksum with the pinned salt gives the fact sheet's CHECKSUMHASH too."""
    assert paytm_sdk.getStringByParams(dict(VECTOR_FIELDS)) == "YOUR_MID_HERE|YOUR_ORDER_ID_HERE"
    assert paytm_sdk.calculateChecksum(VECTOR_STRING[:-5], VECTOR_KEY, "abcd") == VECTOR_CHECKSUM


def test_our_signature_verifies_under_paytms_library() -> None:
    """What sign() (through resign) puts in CHECKSUMHASH, paytmchecksum's verifySignature accepts."""
    for _ in range(5):
        fields = parse_form(SCHEME.resign(urlencode(FIELDS).encode(), KEY))
        received = fields["CHECKSUMHASH"]
        assert paytm_sdk.verifySignature(dict(fields), KEY, received) is True
        assert SCHEME.sign(form(FIELDS, received), KEY, now=0) == {}


def test_paytms_signature_verifies_under_ours() -> None:
    """What paytmchecksum's generateSignature makes, our verify() accepts; "null" values count as empty."""
    for fields in (FIELDS, VECTOR_FIELDS, {**FIELDS, "BANKNAME": "NULL", "GATEWAYNAME": ""}):
        generated = paytm_sdk.generateSignature(dict(fields), KEY)
        SCHEME.verify(form(fields, generated), Headers(), [KEY], now=0)


def test_each_signature_has_a_fresh_salt_and_all_verify() -> None:
    """The random salt makes two checksums of one form differ; both decrypt to a matching hash."""
    first, second = (SCHEME.signature(FIELDS, KEY) for _ in range(2))
    assert first != second
    for received in (first, second):
        SCHEME.verify(form(FIELDS, received), Headers(), [KEY], now=0)


def test_any_configured_key_verifies_and_a_wrong_one_does_not() -> None:
    """Either of two keys verifies; another 16-character key is refused as bad_signature."""
    body = form(FIELDS, SCHEME.signature(FIELDS, KEY))
    SCHEME.verify(body, Headers(), ["AAAAAAAAAAAAAAAA", KEY], now=0)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(), ["AAAAAAAAAAAAAAAA"], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_every_tampered_value_is_refused(name: str) -> None:
    """Every value is hashed: changing any one (the amount, the status, ...) is refused."""
    fields = parse_form(SCHEME.resign(urlencode(FIELDS).encode(), KEY))
    fields[name] = fields[name] + "0"
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(urlencode(fields).encode(), Headers(), [KEY], now=0)
    assert caught.value.reason == "bad_signature"


def test_an_added_field_is_refused() -> None:
    """A field slipped in adds a value to the string, so the checksum no longer matches."""
    fields = parse_form(SCHEME.resign(urlencode(FIELDS).encode(), KEY))
    with pytest.raises(SignatureError):
        SCHEME.verify(urlencode({**fields, "PROMO_CAMP_ID": "X"}).encode(), Headers(), [KEY], now=0)


def test_a_renamed_key_that_keeps_the_order_still_verifies() -> None:
    """Key names are not hashed: renaming RESPMSG to RESPMSH keeps order and checksum (a known weakness)."""
    fields = parse_form(SCHEME.resign(urlencode(FIELDS).encode(), KEY))
    fields["RESPMSH"] = fields.pop("RESPMSG")
    SCHEME.verify(urlencode(fields).encode(), Headers(), [KEY], now=0)


def encrypted(plaintext: bytes, key: str) -> str:
    """Return base64 of raw AES-CBC with Paytm's IV, no padding added: a checksum made wrong on purpose."""
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(IV)).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode()


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        ("", "missing_signature"),
        ("not base64!", "bad_signature"),
        ("QUJD", "bad_signature"),
        (base64.b64encode(b"x" * 17).decode(), "bad_signature"),
        (encrypted(b"A" * 32, KEY), "bad_signature"),
        (encrypted(b"A" * 64 + b"abcd" + b"\x0c" * 12, KEY), "bad_signature"),
    ],
    ids=["empty", "not-base64", "short", "not-blocks", "bad-padding", "wrong-hash"],
)
def test_malformed_checksums_are_refused_cleanly(received: str, reason: str) -> None:
    """No checksum, not base64, a partial block, bad padding or a wrong hash: a SignatureError."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(form(FIELDS, received), Headers(), [KEY], now=0)
    assert caught.value.reason == reason


def test_a_key_of_the_wrong_length_never_crashes_verification() -> None:
    """A key AES cannot take (start-up refuses it) is simply no match, never an exception."""
    with pytest.raises(SignatureError):
        SCHEME.verify(form(VECTOR_FIELDS, VECTOR_CHECKSUM), Headers(), ["short"], now=0)


@pytest.mark.parametrize(
    ("secret", "ok"), [(KEY, True), (KEY[:15], False), (KEY + "x", False), ("k" * 32, True)]
)
def test_merchant_keys_must_be_aes_keys(secret: str, ok: bool) -> None:
    """A key of 16 (24, 32) bytes is accepted; another length is refused without being shown."""
    problem = PaytmChecksum().secret_problem(secret)
    assert (problem is None) == ok
    assert problem is None or secret not in problem


def test_start_up_refuses_a_merchant_key_of_the_wrong_length(tmp_path: Path) -> None:
    """An enabled Paytm source whose key is not 16, 24 or 32 bytes stops start-up, naming the variable."""
    with pytest.raises(ConfigError) as caught:
        make_services(tmp_path, "sqlite:///unused.db", None, PAYTM_CONFIG, PAYTM_WEBHOOK_SECRET="too-short")
    assert "PAYTM_WEBHOOK_SECRET" in str(caught.value)
    assert "too-short" not in str(caught.value)


def test_the_demo_secret_is_a_merchant_key() -> None:
    """`make run` gives the paytm source a 16-character key that signs the shipped samples."""
    secret = demo_secret("paytm", paytm.SOURCE)
    assert PaytmChecksum().secret_problem(secret) is None
    for path in sorted(SAMPLES.glob("*.form")):
        SCHEME.verify(path.read_bytes(), Headers(), [secret], now=0)


def test_the_idempotency_key_is_the_txnid_and_status() -> None:
    """TXNID:<id>:<STATUS>, both hashed; a PENDING then TXN_SUCCESS of one transaction are two keys."""
    body = SCHEME.resign(urlencode(FIELDS).encode(), KEY)
    assert idempotency_key_of(paytm.SOURCE, body) == "TXNID:20251127111212800110168123456789012:TXN_SUCCESS"
    pending = SCHEME.resign(urlencode({**FIELDS, "STATUS": "PENDING"}).encode(), KEY)
    assert idempotency_key_of(paytm.SOURCE, pending).endswith(":PENDING")
    assert idempotency_key_of(paytm.SOURCE, b"STATUS=TXN_SUCCESS").startswith("sha256:")
    # Paytm writes an absent TXNID as "null": two failed orders must not share TXNID:null:TXN_FAILURE.
    nulls = [f"ORDERID=ORD-{n}&TXNID=null&STATUS=TXN_FAILURE".encode() for n in (1, 2)]
    keys = {idempotency_key_of(paytm.SOURCE, body) for body in nulls}
    assert len(keys) == 2 and all(key.startswith("sha256:") for key in keys)


def test_the_transform_reads_the_failure_sample() -> None:
    """The failure sample: STATUS as the event type, blank BANKTXNID as None, TXNDATE's fraction dropped."""
    payload = parse_form((SAMPLES / "TXN_FAILURE.form").read_bytes())
    assert paytm.event_type(payload) == "TXN_FAILURE"
    [values] = paytm.transform("TXN_FAILURE", payload)
    assert values["amount"] == "2500.50"
    assert values["bank_txn_id"] is None
    assert values["txn_date"] == "2025-11-27 20:30:00"
    assert values["resp_code"] == "227"


def test_null_values_are_absent_and_a_bad_txndate_fails_naming_it() -> None:
    """Paytm's "null" text is no value; a TXNDATE that is not a time fails the event, naming the field."""
    [values] = paytm.transform("TXN_SUCCESS", FIELDS)
    assert values["bank_name"] is None
    assert values["txn_date"] is None
    with pytest.raises(TransformError, match="TXNDATE"):
        paytm.transform("TXN_SUCCESS", {**FIELDS, "TXNDATE": "27/11/2025"})
