"""PayU India's reverse hash: SHA-512, hex, of the salt and some form fields, in the body's `hash` field."""

from __future__ import annotations

from collections.abc import Mapping

from bridge.sources.signatures.reverse_hash import ReverseHash


class PayuReverseHash(ReverseHash):
    """PayU's response hash, carried in the form body's `hash` field, one salt per configured secret.

    The string is
    `SALT|status||||||udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key`,
    with `additionalCharges|` in front when that field is sent. Only those fields
    are covered: mihpayid, mode, bank_ref_num, addedon, error_Message and every
    other field can be changed without breaking the hash. No timestamp is signed
    (see ReverseHash for what that costs). PayU advises confirming a payment with
    its verify_payment API before acting on it; the bridge only records
    activities, and must not be the thing that ships goods.

    The secret is the merchant salt.
    """

    provider = "PayU"
    # The five empty slots are udf10..udf6, which PayU's documented formula leaves blank.
    order = (
        "status",
        *("", "", "", "", ""),
        *("udf5", "udf4", "udf3", "udf2", "udf1"),
        *("email", "firstname", "productinfo", "amount", "txnid", "key"),
    )
    # PayU names the convenience fee both ways; when sent, it is prepended to the string.
    prefix_fields = ("additionalCharges", "additional_charges")


def reverse_hash(fields: Mapping[str, str], salt: str) -> str:
    """Return PayU's response hash of these form fields under a salt, lowercase hex."""
    return PayuReverseHash().digest(fields, salt)


def signed_form(fields: Mapping[str, str], salt: str) -> bytes:
    """Return the url-encoded form PayU would post: these fields and their hash (kept in place if present)."""
    return PayuReverseHash().signed_form(fields, salt)
