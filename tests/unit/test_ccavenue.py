"""CCAvenue: the fact sheet's encResp vector, every way a sealed body is refused, keys and values."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import Headers

from bridge.sources.kind import TransformError
from bridge.sources.payload import parse_form
from bridge.sources.senders import signed_delivery
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.ccavenue_aes import CcavenueEncryptedResponse, decrypt, encrypt
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import ccavenue

SCHEME = CcavenueEncryptedResponse()
SAMPLES = ROOT / "transforms" / "samples" / "ccavenue"
# The fact sheet's vector (webhook-sources-2.md, 1.3), computed there from the kit's cipher.
WORKING_KEY = "ABCDEF0123456789ABCDEF0123456789"
PLAIN = (
    b"order_id=ORD123&tracking_id=112233445566&bank_ref_no=BRN1&order_status=Success&amount=100.00"
    b"&billing_email=a@b.in&billing_tel=9999999999"
)
ENC_RESP = (
    "902168a301fbfeabcdfdaa35d40b8e6920c3c8962599e43ac5d3699ece30cf43111302cc1045908536e0b8f270d2ee3e"
    "77bdc0149e666ae9804dc9c67c7e737704f5f71e8bbbee8ea0902a52b3af7b227cf38b1466854dec79a8466a6ca1eaa1"
    "0c638bc5b9f8d1565c93cee1955aa5dcb793e781dee564c09ded406ae1961aa504791af2f268e652199f94fb2a7e89a3"
)
OTHER_KEY = "0123456789ABCDEF0123456789ABCDEF"


def posted(enc_resp: str, **extra: str) -> bytes:
    """Return the form CCAvenue posts: encResp, and whatever else is given."""
    return urlencode({"encResp": enc_resp, **extra}).encode()


def refusal(body: bytes, secrets: list[str]) -> SignatureError:
    """Return the SignatureError verify() raises for a body under these working keys."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(), secrets, now=0)
    return caught.value


def test_the_fact_sheet_vector_encrypts_and_opens_byte_for_byte() -> None:
    """The published plaintext under the working key is the published encResp, and opens back."""
    assert encrypt(PLAIN, WORKING_KEY).hex() == ENC_RESP
    body = posted(ENC_RESP, orderNo="ORD123")
    SCHEME.verify(body, Headers(), [WORKING_KEY], now=0)
    assert SCHEME.unseal(body, [WORKING_KEY]) == PLAIN
    assert SCHEME.unseal(posted(ENC_RESP.upper()), [WORKING_KEY]) == PLAIN


def test_any_configured_working_key_opens_the_body() -> None:
    """While a working key is rotated, a body sealed with the old one still opens."""
    assert SCHEME.unseal(posted(ENC_RESP), [OTHER_KEY, WORKING_KEY]) == PLAIN


@pytest.mark.parametrize(
    "ciphertext",
    [
        # Another key: decrypts to garbage.
        encrypt(PLAIN, OTHER_KEY),
        # The last block changed: the padding no longer checks.
        bytes.fromhex(ENC_RESP)[:-1] + bytes([bytes.fromhex(ENC_RESP)[-1] ^ 0x01]),
        # A good key and padding, but no form inside.
        encrypt(b"\xff\xfe not a form", WORKING_KEY),
        encrypt(b"", WORKING_KEY),
    ],
    ids=["wrong_key", "bad_padding", "not_a_form", "empty"],
)
def test_every_body_that_does_not_open_gets_one_answer(ciphertext: bytes) -> None:
    """Wrong key, bad padding or a plaintext that is no form: the same reason and message (no oracle)."""
    error = refusal(posted(ciphertext.hex()), [WORKING_KEY])
    assert error.reason == "cannot_decrypt"
    assert error.message == (
        "the encResp field does not decrypt to a CCAvenue response under any configured working key"
    )
    assert WORKING_KEY not in error.message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"orderNo=ORD123", "missing_signature"),
        (b"not a form", "missing_signature"),
        (posted(""), "missing_signature"),
        (posted("zz" * 16), "bad_signature"),
        (posted(ENC_RESP[:-2]), "bad_signature"),
        (posted(ENC_RESP, orderNo="ORD124"), "cannot_decrypt"),
    ],
    ids=["no_encresp", "no_form", "blank", "not_hex", "partial_block", "other_order_no"],
)
def test_a_body_of_the_wrong_shape_is_refused_saying_what(body: bytes, reason: str) -> None:
    """No encResp, hex that is not whole blocks, or an orderNo the ciphertext does not hold: refused.

    The orderNo's refusal is the one every failed decryption gets: a different
    answer would tell a forger that a guess decrypted.
    """
    assert refusal(body, [WORKING_KEY]).reason == reason


@pytest.mark.parametrize(
    "plain",
    [
        PLAIN.replace(b"BRN1", b"BRN\x011"),  # a control character, as written
        PLAIN.replace(b"BRN1", b"BRN%7F1"),  # DEL, %-escaped
        PLAIN.replace(b"BRN1", "BRN\u00851".encode()),  # a C1 control
        PLAIN.replace(b"BRN1", b"BRN%EF%BF%BD1"),  # the replacement character
        PLAIN.replace(b"bank_ref_no=", b"b@nk ref=") ,  # a field name that is no name
        PLAIN.replace(b"&amount=", b"&9amount="),
    ],
    ids=["control", "del", "c1_control", "replacement", "odd_name", "digit_first"],
)
def test_a_plaintext_no_response_holds_is_refused_as_if_it_did_not_decrypt(plain: bytes) -> None:
    """CBC is malleable: a flipped block decrypts to 16 random bytes, refused where they read as none."""
    assert refusal(posted(encrypt(plain, WORKING_KEY).hex()), [WORKING_KEY]).reason == "cannot_decrypt"


def test_what_customers_type_in_a_response_still_opens() -> None:
    """A name in Devanagari, an address over two lines, a rupee sign and punctuation: all accepted."""
    typed = '&billing_name=आशा राव&billing_address=Flat 3, "Shanti" (B-Wing)\nPune&status_message=₹ 100 paid!'
    plain = PLAIN + typed.encode()
    assert SCHEME.unseal(posted(encrypt(plain, WORKING_KEY).hex()), [WORKING_KEY]) == plain


def test_seal_is_the_twin_of_unseal_and_shows_the_order_number() -> None:
    """A sample sealed for sending carries encResp and orderNo, and opens back to the same bytes."""
    plain = (SAMPLES / "success.form").read_bytes()
    body, headers = signed_delivery(SCHEME, plain, WORKING_KEY, now=0)
    assert headers == {}
    fields = parse_form(body)
    assert fields["orderNo"] == "LSQ-ORD-20251127-0042"
    assert decrypt(bytes.fromhex(fields["encResp"]), WORKING_KEY) == plain
    assert SCHEME.unseal(body, [WORKING_KEY]) == plain


def test_the_key_is_tracking_id_and_status_and_the_type_is_the_status() -> None:
    """tracking_id:order_status keys a delivery; the lower-cased order_status is its event type."""
    body = (SAMPLES / "success.form").read_bytes()
    assert idempotency_key_of(ccavenue.SOURCE, body) == "313012345678:Success"
    assert ccavenue.SOURCE.type_of(Headers(), parse_form(body)) == "success"
    no_tracking = b"order_id=O1&order_status=Aborted"
    assert idempotency_key_of(ccavenue.SOURCE, no_tracking).startswith("sha256:")


def test_two_orders_whose_tracking_id_is_null_do_not_share_a_key() -> None:
    """CCAvenue writes an absent tracking id as "null": each order falls back to its own body's hash."""
    first = b"order_id=ORD-1&tracking_id=null&order_status=Aborted&merchant_param1=OPP-1"
    second = b"order_id=ORD-2&tracking_id=NULL&order_status=Aborted&merchant_param1=OPP-2"
    keys = {idempotency_key_of(ccavenue.SOURCE, body) for body in (first, second)}
    assert len(keys) == 2 and all(key.startswith("sha256:") for key in keys)
    assert idempotency_key_of(ccavenue.SOURCE, first) in keys  # the same delivery again: the same key


def test_values_read_nulls_as_absent_and_amounts_with_two_decimals() -> None:
    """CCAvenue's 'null' and blanks are absent; 2500.5 becomes 2500.50; a bad amount names itself."""
    [values] = ccavenue.transform("failure", parse_form((SAMPLES / "failure.form").read_bytes()))
    assert values["bank_ref_no"] is None and values["amount"] == "2500.50"
    assert values["failure_message"] == "Transaction declined by bank"
    with pytest.raises(TransformError, match="amount: '1,000' is not an amount"):
        ccavenue.transform("success", {"order_id": "O1", "amount": "1,000"})
    with pytest.raises(TransformError, match="no order_id"):
        ccavenue.transform("success", {"amount": "1.00"})
    with pytest.raises(TransformError, match="no transform for 'refund'"):
        ccavenue.transform("refund", {"order_id": "O1"})


def test_trans_date_is_read_as_india_time_day_first_into_leadsquareds_utc() -> None:
    """27/11/2025 14:05:31 in India is 08:35:31 UTC; "null" is absent; month-first text fails naming it."""
    [values] = ccavenue.transform("success", parse_form((SAMPLES / "success.form").read_bytes()))
    assert (values["trans_date"], values["transaction_at"]) == ("27/11/2025 14:05:31", "2025-11-27 08:35:31")
    [values] = ccavenue.transform("success", {"order_id": "O1", "trans_date": "null"})
    assert values["transaction_at"] is None
    month_first = "trans_date: '2025-11-27 14:05:31' is not a 'DD/MM/YYYY HH:MM:SS'"
    with pytest.raises(TransformError, match=month_first):
        ccavenue.transform("success", {"order_id": "O1", "trans_date": "2025-11-27 14:05:31"})
