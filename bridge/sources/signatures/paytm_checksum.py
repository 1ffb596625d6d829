"""Paytm's CHECKSUMHASH: a randomly salted SHA-256 of the form's sorted values, AES-CBC encrypted, base64."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random_source
import string
from collections.abc import Mapping, Sequence

from bridge.sources.signatures import aes_cbc
from bridge.sources.signatures.form_field import FormFieldSignature

# Paytm's library encrypts with this fixed IV, so equal hashes give equal ciphertexts; the salt varies them.
IV = b"@@@@&&&&####$$$$"
SALT_LENGTH = 4
SALT_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTHS = (16, 24, 32)


class PaytmChecksum(FormFieldSignature):
    """The `CHECKSUMHASH` form field, checked by decrypting it with the merchant key and hashing again.

    Paytm's library (paytmchecksum) signs a form this way: drop CHECKSUMHASH,
    sort the keys, take the values (None or "null" in any case as ""), join
    them with `|`, append `|` and a random 4-character salt, SHA-256 that (hex)
    and append the salt again; then AES-CBC encrypt the result with the merchant
    key's bytes as the key and the fixed IV `@@@@&&&&####$$$$`, PKCS#7 padded,
    and base64 it. The random salt makes each checksum different, so it cannot
    be compared as text: the bridge decrypts, reads the salt from the last 4
    characters and compares the recomputed hash in constant time.

    How weak it is: it covers every value but not the key names (a field renamed
    without changing the order still verifies) nor where one value ends and the
    next begins (values are joined by `|` unescaped); the encryption is
    unauthenticated CBC, but a forger still needs the key to make a checksum
    whose plaintext is the right hash. No timestamp is signed: a captured
    delivery can be replayed for ever (the idempotency key stops an exact replay
    from being queued twice). Paytm advises confirming with its Transaction
    Status API before fulfilling. Key rotation is [unconfirmed]: every configured
    key is tried, each in constant time.

    The secret is the merchant key, whose UTF-8 bytes are the AES key: 16
    characters (24 or 32 would be AES-192/256).
    """

    provider = "Paytm"
    field = "CHECKSUMHASH"
    secret_name = "merchant key"

    def matches(self, fields: Mapping[str, str], received: str, secrets: Sequence[str]) -> bool:
        """Return whether the checksum decrypts, under any merchant key, to the hash of these fields."""
        try:
            ciphertext = base64.b64decode(received, validate=True)
        except (binascii.Error, ValueError):  # ValueError: a str with a non-ASCII character in it
            return False
        if not ciphertext or len(ciphertext) % 16:
            return False
        values = signed_values(fields, self.field)
        # Every key is tried and compared in constant time: no early exit tells which one is current.
        return any([_matches_under(values, ciphertext, key) for key in secrets])

    def signature(self, fields: Mapping[str, str], secret: str) -> str:
        """Return a checksum of these fields under a merchant key, with a fresh random salt as Paytm's."""
        salt = "".join(random_source.choice(SALT_ALPHABET) for _ in range(SALT_LENGTH))
        return checksum(fields, secret, salt)

    def covered_fields(self, fields: Mapping[str, str]) -> list[str]:
        """Return every field: each value is hashed, and the checksum is the signature."""
        return list(fields)

    def secret_problem(self, secret: str) -> str | None:
        """Refuse a merchant key that cannot be an AES key (a truncated paste), without showing it."""
        length = len(secret.encode("utf-8"))
        if length not in KEY_LENGTHS:
            return (
                f"is {length} bytes long; Paytm's merchant key is an AES key of 16 characters "
                "(or 24 or 32): copy it whole from Paytm's dashboard (API keys)"
            )
        return None

    def example_secret(self, text: str) -> str:
        """Return a merchant key of the right length made from any text, for demos and tests."""
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def signed_values(fields: Mapping[str, str], checksum_field: str = "CHECKSUMHASH") -> str:
    """Return the string Paytm hashes before the salt: values by sorted key, "null" as "", `|`-joined."""
    ordered = sorted(name for name in fields if name != checksum_field)
    return "|".join("" if fields[name].lower() == "null" else fields[name] for name in ordered)


def salted_hash(values: str, salt: str) -> str:
    """Return Paytm's inner value: hex SHA-256 of `values|salt`, then the salt."""
    return hashlib.sha256(f"{values}|{salt}".encode()).hexdigest() + salt


def checksum(fields: Mapping[str, str], key: str, salt: str) -> str:
    """Return the CHECKSUMHASH of these fields under a merchant key with a given salt (tests pin the salt)."""
    inner = salted_hash(signed_values(fields), salt).encode()
    return base64.b64encode(aes_cbc.encrypt(inner, key.encode("utf-8"), IV)).decode("ascii")


def _matches_under(values: str, ciphertext: bytes, key: str) -> bool:
    """Return whether the ciphertext decrypts under this key to the salted hash of the values."""
    key_bytes = key.encode("utf-8")
    if len(key_bytes) not in KEY_LENGTHS:
        return False
    padded = aes_cbc.decrypt_padded(ciphertext, key_bytes, IV)
    try:
        inner = aes_cbc.unpad(padded)
    except ValueError:
        # Bad padding goes on to the same hash and comparison as a wrong hash: the answer and
        # its timing must not tell a sender which of the two it was (a padding oracle).
        inner = padded
    salt = inner[-SALT_LENGTH:].decode("latin-1")
    expected = salted_hash(values, salt).encode("utf-8")
    return hmac.compare_digest(expected, inner)
