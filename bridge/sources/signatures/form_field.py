"""A signature in one field of a form-encoded body (PayU, Easebuzz, Paytm, Instamojo), not in a header."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from bridge.sources.payload import parse_form
from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup


class FormFieldSignature:
    """The shared half of every in-body form signature: reading the field, signing, re-signing.

    A subclass says how a field's value is made (signature) and checked
    (matches, which must compare every secret in constant time). Because the
    signature is inside the body, sign() cannot make headers: tests and the
    workbench call resign() (through bridge.sources.senders.signed_delivery) or
    signed_form() to put a correct signature in the body, and sign() then
    returns {} for a body that already verifies.
    """

    # Who sends it, for messages.
    provider: str
    # The form field that carries the signature, and what the configured secret is.
    field: str
    secret_name: str
    tolerance_seconds: float | None = None

    def matches(self, fields: Mapping[str, str], received: str, secrets: Sequence[str]) -> bool:
        """Return whether the received signature is right for these fields under any of the secrets."""
        raise NotImplementedError

    def signature(self, fields: Mapping[str, str], secret: str) -> str:
        """Return the field's value for these fields (the signature field itself ignored) under a secret."""
        raise NotImplementedError

    def covered_fields(self, fields: Mapping[str, str]) -> list[str]:
        """Return the fields of this form whose change breaks the signature, the signature field included."""
        raise NotImplementedError

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the body's signature field is right for its fields under any secret."""
        try:
            fields = parse_form(body)
        except ValueError as error:
            raise SignatureError(
                "bad_signature", f"the body {error}, so its {self.field} cannot be checked"
            ) from None
        received = fields.get(self.field, "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the body has no {self.field} field")
        if not self.matches(fields, received, secrets):
            raise SignatureError(
                "bad_signature",
                f"the {self.field} field does not match the form under any configured {self.secret_name}",
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return no headers for a body already signed with this secret; refuse any other body."""
        try:
            self.verify(body, {}, [secret], now)
        except SignatureError as error:
            raise ValueError(
                f"{self.provider} signs inside the body ({error.message}): use resign() first"
            ) from None
        return {}

    def resign(self, body: bytes, secret: str) -> bytes:
        """Return the form body with its signature field set for this secret, other fields as they were."""
        return self.signed_form(parse_form(body), secret)

    def signed_form(self, fields: Mapping[str, str], secret: str) -> bytes:
        """Return the url-encoded form the provider would post: these fields, signed (field kept in place)."""
        signed = {**fields, self.field: self.signature(fields, secret)}
        return urlencode(signed).encode("ascii")
