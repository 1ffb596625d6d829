"""Easebuzz's reverse hash: SHA-512, hex, of the salt and the payment's form fields, in the `hash` field."""

from __future__ import annotations

from bridge.sources.signatures.reverse_hash import ReverseHash


class EasebuzzReverseHash(ReverseHash):
    """Easebuzz's response hash, carried in the form body's `hash` field, one salt per configured secret.

    The string is
    `SALT|status|udf10|udf9|udf8|udf7|udf6|udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key`
    (Easebuzz's PHP kit, `_getReverseHashKey`): PayU's shape, but with udf6..udf10
    hashed and no additionalCharges prefix. Missing fields count as empty. Only those
    fields are covered: easepayid, mode, phone, addedon, error_Message and the rest can
    be changed without breaking the hash, and no timestamp is signed (see ReverseHash).
    Amounts are hashed as the exact text posted: `100.0` and `100.00` differ.

    The secret is the merchant salt (not the merchant key, which is itself a hashed field).
    """

    provider = "Easebuzz"
    order = (
        "status",
        *("udf10", "udf9", "udf8", "udf7", "udf6", "udf5", "udf4", "udf3", "udf2", "udf1"),
        *("email", "firstname", "productinfo", "amount", "txnid", "key"),
    )
