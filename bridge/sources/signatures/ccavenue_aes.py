"""CCAvenue's encResp: the whole response AES-128-CBC encrypted with the working key, no signature.

What the bridge checks is that the body decrypts to a well-formed response:
there is nothing else to check. This is weaker than an HMAC, and the bridge
cannot make it one:
- CBC is not authenticated, and it is malleable: flipping bits of one
  ciphertext block flips the same bits of the next block's plaintext (an
  amount's 1 into a 9) and turns the block itself into 16 random bytes. A
  forger without the key cannot choose those, only try again until they
  happen to read as part of a field. So the plaintext must be text a
  response holds: UTF-8 with no control character but tab, CR and LF (no
  DEL, no C1 control, no U+FFFD), every field name a letter then letters,
  digits or underscores, no field twice. That refuses nothing CCAvenue sends,
  and makes the forger's luck rarer, not impossible: of 8,000,000 random
  blocks inside a value, 613 parsed as a form (1 in 13,000) and 20 pass
  this check (1 in 400,000). Watch the `cannot_decrypt` refusals
  (bridge_webhooks_total) for a sender trying its luck, and confirm an order
  with CCAvenue before acting on it;
- no timestamp is inside, so a captured delivery can be replayed for ever
  (the idempotency key stops an exact replay from being queued twice);
- the key is fixed per access code and the IV is fixed too, so equal
  responses encrypt to equal bytes.
CCAvenue itself advises checking the decrypted order_id and amount against
your order and confirming with its orderStatusTracker API before acting.

Every failure after the structure check (a wrong key, bad padding, bytes that
are not a well-formed UTF-8 form, an orderNo beside it that is not the
encrypted order_id) gets the same reason and message, so that an answer
tells a sender nothing about the padding or whether a guess decrypted: with
unauthenticated CBC that difference is an oracle that decrypts and forges.

The cipher, from CCAvenue's integration kit as copied in many integrations
(the kit itself is handed out in the merchant panel: unconfirmed from a
primary source): key = the raw MD5 digest of the 32-character working key,
IV = bytes 00 01 .. 0f, PKCS#7 padding, ciphertext as hex. The GCM variant
("new crypto") is unconfirmed and not supported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from bridge.sources.payload import parse_form
from bridge.sources.signatures import aes_cbc
from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup

IV = bytes(range(16))
# What no response holds, as written or once its %-escapes are decoded: C0 controls but tab, LF
# and CR, DEL, C1 controls, and the replacement character of a decoder that gave up.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
BLOCK_BYTES = 16
SEALED_FIELD = "encResp"
# CCAvenue posts the order id beside encResp in clear; it must match the decrypted one.
ORDER_FIELD = "orderNo"
PLAIN_ORDER_FIELD = "order_id"
CANNOT_DECRYPT = (
    f"the {SEALED_FIELD} field does not decrypt to a CCAvenue response under any configured working key"
)


class CcavenueEncryptedResponse:
    """The form body's encResp, opened with any configured working key (current first)."""

    tolerance_seconds: float | None = None

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless encResp decrypts to a form response under a working key."""
        self.unseal(body, secrets)

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return no headers: CCAvenue signs nothing, the sealed body is its own proof."""
        return {}

    def unseal(self, body: bytes, secrets: Sequence[str]) -> bytes:
        """Return the decrypted response (an &-joined form), or raise SignatureError."""
        ciphertext, order_no = _sealed_fields(body)
        opened = [plain for plain in (_decrypt(ciphertext, secret) for secret in secrets) if plain]
        if not opened:
            raise SignatureError("cannot_decrypt", CANNOT_DECRYPT)
        plain, fields = opened[0]
        if order_no is not None and order_no != fields.get(PLAIN_ORDER_FIELD):
            raise SignatureError("cannot_decrypt", CANNOT_DECRYPT)  # the same answer as any other failure
        return plain

    def seal(self, plain: bytes, secret: str) -> bytes:
        """Return the form CCAvenue would post for this response: encResp and, from it, orderNo."""
        fields = {SEALED_FIELD: encrypt(plain, secret).hex()}
        try:
            order_id = parse_form(plain).get(PLAIN_ORDER_FIELD)
        except ValueError:
            order_id = None  # a body that is no form has no order id to show
        if order_id is not None:
            fields[ORDER_FIELD] = order_id
        return urlencode(fields).encode("ascii")


def cipher_key(working_key: str) -> bytes:
    """Return the AES-128 key of a working key: its raw MD5 digest, as CCAvenue's kit derives it."""
    return hashlib.md5(working_key.encode("utf-8"), usedforsecurity=False).digest()


def encrypt(plain: bytes, working_key: str) -> bytes:
    """Return plain encrypted as CCAvenue does: AES-128-CBC, the kit's fixed IV, PKCS#7."""
    return aes_cbc.encrypt(plain, cipher_key(working_key), IV)


def decrypt(ciphertext: bytes, working_key: str) -> bytes:
    """Return the plaintext of CCAvenue's ciphertext; ValueError when the padding is wrong."""
    return aes_cbc.decrypt(ciphertext, cipher_key(working_key), IV)


def _decrypt(ciphertext: bytes, working_key: str) -> tuple[bytes, dict[str, str]] | None:
    """Return the plaintext and its fields under one key, None for any failure (all look alike)."""
    try:
        plain = decrypt(ciphertext, working_key)
        fields = parse_form(plain)
    except ValueError:
        return None
    return (plain, fields) if fields and well_formed(plain.decode("utf-8"), fields) else None


def well_formed(text: str, fields: Mapping[str, str]) -> bool:
    """Return whether a decrypted form reads as a response: no control character, field names as names."""
    if _CONTROL.search(text) or any(_CONTROL.search(value) for value in fields.values()):
        return False
    return all(_FIELD_NAME.fullmatch(name) for name in fields)


def _sealed_fields(body: bytes) -> tuple[bytes, str | None]:
    """Return the ciphertext bytes and orderNo of the posted form; SignatureError for a bad shape."""
    try:
        fields = parse_form(body)
    except ValueError as error:
        problem = f"the body {error}, so it holds no {SEALED_FIELD}"
        raise SignatureError("missing_signature", problem) from None
    sealed = fields.get(SEALED_FIELD, "").strip()
    if not sealed:
        raise SignatureError("missing_signature", f"the body has no {SEALED_FIELD} field")
    try:
        ciphertext = bytes.fromhex(sealed)
    except ValueError:
        ciphertext = b""
    if not ciphertext or len(ciphertext) % BLOCK_BYTES:
        raise SignatureError(
            "bad_signature", f"the {SEALED_FIELD} field is not hex of whole {BLOCK_BYTES}-byte blocks"
        )
    order_no = fields.get(ORDER_FIELD)
    return ciphertext, order_no.strip() if order_no is not None else None
