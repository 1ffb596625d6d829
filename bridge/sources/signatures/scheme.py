"""The Protocols every signature scheme implements, and what they read a delivery's headers through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeGuard, runtime_checkable


class HeaderLookup(Protocol):
    """Read access to request headers, case-insensitive as HTTP headers are."""

    def get(self, key: str, /) -> str | None: ...


class SignatureScheme(Protocol):
    """Verify a delivery's signature over its raw bytes, and make one for tests."""

    # How far a signed timestamp may be from now, either way; None where the
    # scheme signs no timestamp (and so cannot refuse a replay by age).
    tolerance_seconds: float | None

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None: ...

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]: ...


@runtime_checkable
class BodySignedScheme(Protocol):
    """A scheme whose signature travels inside the body (PayU's `hash` field), not in a header."""

    def resign(self, body: bytes, secret: str) -> bytes: ...


@runtime_checkable
class FieldSignedScheme(Protocol):
    """A body-signed scheme naming the fields a change to which breaks it (PayU's hash, Leegality's mac)."""

    def covered_fields(self, fields: Mapping[str, str]) -> list[str]: ...


@runtime_checkable
class SecretFormat(Protocol):
    """A scheme that needs its secrets in a format (Standard Webhooks' whsec_<base64>)."""

    def secret_problem(self, secret: str) -> str | None: ...


@runtime_checkable
class SecretForms(Protocol):
    """A scheme whose secret is known by other texts too (a salt key without its index, a password's
    hash): the log filter and the stored headers cut those as they cut the secret."""

    def secret_forms(self, secret: str) -> list[str]: ...


def secret_forms(scheme: object, secrets: Sequence[str]) -> list[str]:
    """Return the other texts these secrets are known by under a scheme (none for most schemes)."""
    # getattr, not isinstance: a runtime protocol check costs microseconds on every webhook's ack.
    forms_of = getattr(scheme, "secret_forms", None)
    if forms_of is None:
        return []
    return [form for secret in secrets for form in forms_of(secret) if form]


@runtime_checkable
class SecretExample(Protocol):
    """A scheme whose secrets have one shape only (Paytm's AES key) makes one from any text (demos, tests)."""

    def example_secret(self, text: str) -> str: ...


@runtime_checkable
class TokenScheme(Protocol):
    """A shared token, not a signature: it covers no byte of the body. in_path: it ends the URL."""

    in_path: bool

    def verify_path_token(self, token: str, secrets: Sequence[str]) -> None: ...


@runtime_checkable
class SealedScheme(Protocol):
    """A scheme whose body is sealed (encrypted or wrapped): the bridge stores what unseal() returns.

    The receiver calls unseal() after verify() and before parsing, and keeps
    only the plaintext: the key, the ciphertext and the wrapper are not
    stored. unseal() raises SignatureError (401) when no configured secret
    opens the body, ValueError (400) when an opened body is malformed.
    seal() is the sender's twin for tests and the workbench, whose samples
    are plaintext.
    """

    def unseal(self, body: bytes, secrets: Sequence[str]) -> bytes: ...

    def seal(self, plain: bytes, secret: str) -> bytes: ...


@runtime_checkable
class UrlSignedScheme(Protocol):
    """A scheme that signs the URL the provider posted to (Twilio, Plivo): it needs the request's query.

    The public URL is configuration (behind a proxy the bridge cannot see it);
    `query` is the raw query string of the request as received, without "?".
    sign_request() returns the headers and the query a sender posts with.
    """

    def verify_request(
        self, body: bytes, headers: HeaderLookup, query: str, secrets: Sequence[str], now: float
    ) -> None: ...

    def sign_request(self, body: bytes, secret: str, now: float) -> tuple[dict[str, str], str]: ...


def is_sealed(scheme: object) -> TypeGuard[SealedScheme]:
    """Return whether a scheme seals its body: asked on every webhook, answered once per class."""
    return _class_implements(type(scheme), SealedScheme)


def is_url_signed(scheme: object) -> TypeGuard[UrlSignedScheme]:
    """Return whether a scheme signs the URL posted to: asked on every webhook, answered once per class."""
    return _class_implements(type(scheme), UrlSignedScheme)


# isinstance() against a runtime protocol looks up each member every time, some 5 us a webhook;
# these protocols have methods only, which a class either has or has not: asked once per class.
_IMPLEMENTS: dict[tuple[type, type], bool] = {}


def _class_implements(cls: type, protocol: type) -> bool:
    key = (cls, protocol)
    found = _IMPLEMENTS.get(key)
    if found is None:
        found = _IMPLEMENTS[key] = issubclass(cls, protocol)
    return found


def verify_delivery(
    scheme: SignatureScheme,
    body: bytes,
    headers: HeaderLookup,
    query: str,
    secrets: Sequence[str],
    now: float,
) -> None:
    """Verify a delivery's signature; a URL-signed scheme also checks the query it was posted with."""
    if is_url_signed(scheme):
        scheme.verify_request(body, headers, query, secrets, now)
    else:
        scheme.verify(body, headers, secrets, now)
