"""What the bridge needs to know about a webhook provider, and the registry of them."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs

Payload = Mapping[str, Any]
# A transform yields named values; None means "the provider did not send it".
Values = Mapping[str, str | None]
# Values the bridge adds to every activity's: the delivery's idempotency key traces
# an activity back to the provider's event (a generic kind's message id).
BRIDGE_VALUES = ("delivery_id",)


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
class SecretFormat(Protocol):
    """A scheme that needs its secrets in a format (Standard Webhooks' whsec_<base64>)."""

    def secret_problem(self, secret: str) -> str | None: ...


@runtime_checkable
class TokenScheme(Protocol):
    """A shared token, not a signature: it covers no byte of the body. in_path: it ends the URL."""

    in_path: bool

    def verify_path_token(self, token: str, secrets: Sequence[str]) -> None: ...


def webhook_path(source_name: str, scheme: SignatureScheme, secret: str) -> str:
    """Return the path a provider posts to: /webhooks/<name>, with the token where the scheme wants it."""
    if isinstance(scheme, TokenScheme) and scheme.in_path:
        return f"/webhooks/{source_name}/{secret}"
    return f"/webhooks/{source_name}"


def demo_secret(source_name: str, kind: SourceKind | None) -> str:
    """Return the secret `make run` gives a source in sandbox mode: one its scheme accepts."""
    secret = f"demo-{source_name}-secret"
    scheme = kind.signature if kind is not None else None
    if isinstance(scheme, SecretFormat) and scheme.secret_problem(secret):
        # Standard Webhooks wants whsec_ and base64 of at least 24 bytes.
        secret = "whsec_" + base64.b64encode(secret.ljust(32, "-").encode()).decode()
    return secret


def event_type_headers(kind: SourceKind, event_type: str) -> dict[str, str]:
    """Return the header a sender puts the event type in, for kinds that read it from one."""
    return {kind.event_type_header: event_type} if kind.event_type_header else {}


def signed_delivery(
    scheme: SignatureScheme, body: bytes, secret: str, now: float
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers a provider would send; a body-signed scheme rewrites the body."""
    if isinstance(scheme, BodySignedScheme):
        body = scheme.resign(body, secret)
    return body, scheme.sign(body, secret, now)


class TransformError(Exception):
    """The payload cannot be mapped; the message says what is missing or wrong."""


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Return the body as a JSON object; a ValueError says why it is not one."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise ValueError(f"is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise ValueError("must be a JSON object")
    return payload


def parse_form(body: bytes) -> dict[str, str]:
    """Return a UTF-8 application/x-www-form-urlencoded body as one value per field."""
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except UnicodeDecodeError as error:
        raise ValueError(f"is not UTF-8 form data: {error}") from None
    except ValueError as error:
        raise ValueError(f"is not form data: {error}") from None
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        raise ValueError(f"repeats the field {repeated[0]!r}: each field must appear once")
    return {name: values[0] for name, values in fields.items()}


@dataclass(frozen=True)
class SourceKind:
    """One provider: how its deliveries are checked, keyed, typed and transformed."""

    name: str
    content_type: str
    signature: SignatureScheme
    # Event types the transform understands, each with the value names it yields.
    event_values: Mapping[str, tuple[str, ...]]
    # The provider's id for a delivery, from its headers or its parsed payload; the
    # raw body is there for the fallback, body_hash_key(body).
    idempotency_key: Callable[[HeaderLookup, bytes, Payload], str]
    event_type: Callable[[Payload], str | None]
    transform: Callable[[str, Payload], Sequence[Values]]
    # How a verified body becomes a payload; a ValueError's text completes "the body ...".
    parse: Callable[[bytes], Payload] = parse_json_object
    # The file suffix of the kind's samples in transforms/samples/<name>/.
    sample_suffix: str = ".json"
    # A header that names the event type (GitHub's X-GitHub-Event); the body's type otherwise.
    event_type_header: str | None = None
    # The values every event type yields, for kinds that take any type (the generic ones).
    any_event_values: tuple[str, ...] | None = None
    # Builds this kind for one source from its [sources.<name>.scheme] table; a ValueError
    # says which key is wrong. None: the kind takes no scheme table.
    configure: Callable[[Mapping[str, Any]], SourceKind] | None = None

    def type_of(self, headers: HeaderLookup, payload: Payload) -> str | None:
        """Return a delivery's event type: from its header where the kind names one, else the body."""
        if self.event_type_header:
            return (headers.get(self.event_type_header) or "").strip() or None
        return self.event_type(payload)

    def values_of(self, event_type: str) -> tuple[str, ...] | None:
        """Return the value names the transform yields for an event type; None if it has none."""
        if event_type in self.event_values:
            return self.event_values[event_type]
        return self.any_event_values

    def configured(self, scheme: Mapping[str, Any]) -> SourceKind:
        """Return the kind as one source configures it; a ValueError says what is wrong."""
        if self.configure is not None:
            return self.configure(scheme)
        if scheme:
            raise ValueError(f"the {self.name} kind takes no scheme table; remove it")
        return self


def body_hash_key(body: bytes) -> str:
    """Return the fallback idempotency key for a delivery without a provider id."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def value_at(payload: Any, path: str) -> Any:
    """Return what a dotted path (list items by number) leads to in the payload, or None."""
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def event_type_at(path: str) -> Callable[[Payload], str | None]:
    """Return a kind's event_type: the text at a dotted path of the payload, None without one."""

    def event_type(payload: Payload) -> str | None:
        value = value_at(payload, path)
        return value if isinstance(value, str) else None

    return event_type


def payload_id_key(payload: Payload, body: bytes, *path: str, numbers: bool = False) -> str:
    """Return the provider's id at a path in the payload, trimmed; the body's hash without one."""
    value = value_at(payload, ".".join(path))
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return body_hash_key(body)


class SourceRegistry:
    """Source kinds by name; a name can be registered once."""

    def __init__(self) -> None:
        self._kinds: dict[str, SourceKind] = {}

    def register(self, kind: SourceKind) -> None:
        """Add a source kind, refusing a name that is taken."""
        if kind.name in self._kinds:
            raise ValueError(f"source kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> SourceKind | None:
        """Return the kind registered under name, if any."""
        return self._kinds.get(name)

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._kinds)

    def __iter__(self) -> Iterator[SourceKind]:
        return iter(self._kinds.values())


MAX_KEY_LENGTH = 200


def bounded_key(key: str) -> str:
    """Return the key as stored: a very long provider id is kept as its hash."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
