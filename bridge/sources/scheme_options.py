"""Reading a source's [sources.<name>.scheme] table, for the kinds that are configured in TOML.

A generic kind (Standard Webhooks, GitHub-style, the generic HMAC, Signzy) is
built per source from this table, and so is the token of a token-authenticated
KYC provider (IDfy, HyperVerge: token_source). Every
error is a ValueError whose text starts with the key, so bridge/config/rules.py can name
`sources.<name>.scheme.<key>` and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from bridge.sources.kind import SourceKind, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at, payload_id_key
from bridge.sources.signatures.scheme import HeaderLookup, SignatureScheme
from bridge.sources.signatures.shared_token import DEFAULT_HEADER, SharedToken

# What a generic kind lets a source say about where the provider puts things.
LOCATION_KEYS = ("event_type_path", "event_type_header", "id_header", "id_path")
# Where a token-authenticated source's token travels.
TOKEN_KEYS = ("token_in", "token_header")


class SchemeOptions:
    """A scheme table: only known keys, each read with its type checked."""

    def __init__(self, raw: Mapping[str, Any], known: Iterable[str]) -> None:
        known = sorted(known)
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown key (known: {', '.join(known) or 'none'})")
        self.raw = raw

    def text(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        """Return a string option; a required one that is missing or blank is an error."""
        value = self.raw.get(key, default)
        if value is None and required:
            raise ValueError(f"{key}: required")
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key}: must be a string, not {value!r}")
        if required and not (value or "").strip():
            raise ValueError(f"{key}: must not be blank")
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        """Return an option that must be one of choices."""
        value = self.raw.get(key, default)
        if value not in choices:
            raise ValueError(f"{key}: must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return str(value)

    def number(self, key: str, default: float, minimum: float = 0) -> float:
        """Return a number option, at least minimum."""
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ValueError(f"{key}: must be a number of at least {minimum:g}, not {value!r}")
        return float(value)


def shared_token(options: SchemeOptions, default_in: str) -> SharedToken:
    """Return the token check the table describes: token_in = "path" or "header" (token_header)."""
    token_in = options.choice("token_in", ("path", "header"), default_in)
    header = options.text("token_header", DEFAULT_HEADER) or ""
    if token_in == "path" and "token_header" in options.raw:
        raise ValueError('token_header: only used with token_in = "header"')
    if not header.strip():
        raise ValueError("token_header: must not be blank")
    return SharedToken(in_path=token_in == "path", header=header)


def token_source(
    name: str,
    default_in: str,
    event_values: Mapping[str, tuple[str, ...]],
    idempotency_key: Callable[[HeaderLookup, bytes, Payload], str],
    event_type: Callable[[Payload], str | None],
    transform: Callable[[str, Payload], Sequence[Values]],
    redact_aadhaar: bool = False,
) -> SourceKind:
    """Return a JSON kind authenticated by a shared token, in the URL or a header as default_in says.

    A source's scheme table may move the token (token_in, token_header); it
    takes no other key.
    """

    def configure(scheme: Mapping[str, Any]) -> SourceKind:
        """Return the kind with its token where the source's scheme table says."""
        return replace(kind, signature=shared_token(SchemeOptions(scheme, TOKEN_KEYS), default_in))

    kind = SourceKind(
        name=name,
        content_type="application/json",
        signature=shared_token(SchemeOptions({}, TOKEN_KEYS), default_in),
        event_values=event_values,
        idempotency_key=idempotency_key,
        event_type=event_type,
        transform=transform,
        configure=configure,
        redact_aadhaar=redact_aadhaar,
    )
    return kind


def with_locations(
    kind: SourceKind,
    options: SchemeOptions,
    event_type_path: str | None = None,
    event_type_header: str | None = None,
    id_header: str | None = None,
) -> SourceKind:
    """Return the kind reading its event type and idempotency key where the source says.

    The event type comes from a header or a dotted path in the body (the
    header wins when both are set); the key from a header, else a dotted path,
    else the body's SHA-256, so that a byte-identical redelivery is still one
    event.
    """
    type_header = options.text("event_type_header", event_type_header)
    type_path = options.text("event_type_path", event_type_path)
    if not type_header and not type_path:
        raise ValueError("event_type_path: say where the event type is (or give event_type_header)")
    return replace(
        kind,
        event_type=event_type_at(type_path) if type_path else kind.event_type,
        event_type_header=type_header or None,
        idempotency_key=_key_from(options.text("id_header", id_header), options.text("id_path")),
    )


def _key_from(header: str | None, path: str | None) -> Callable[[HeaderLookup, bytes, Payload], str]:
    def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
        sent = (headers.get(header) or "").strip() if header else ""
        if sent:
            return sent
        if path:
            return payload_id_key(payload, body, *path.split("."), numbers=True)
        return body_hash_key(body)

    return idempotency_key


# The value a generic kind's transform yields; everything else is mapped by payload path.
GENERIC_VALUES = ("event_type",)


def event_type_only(event_type: str, payload: Payload) -> list[dict[str, str | None]]:
    """Return one activity's values for a generic kind: its event type, the rest is read by path."""
    return [{"event_type": event_type}]


def generic_kind(
    name: str, signature: SignatureScheme, configure: Callable[[Mapping[str, Any]], SourceKind]
) -> SourceKind:
    """Return a kind that takes any event type and maps every field by path; configure() places the rest.

    Until configure() reads a source's scheme table, the kind keys deliveries
    by the body's hash and finds no event type.
    """
    return SourceKind(
        name=name,
        content_type="application/json",
        signature=signature,
        event_values={},
        any_event_values=GENERIC_VALUES,
        idempotency_key=lambda headers, body, payload: body_hash_key(body),
        event_type=lambda payload: None,
        transform=event_type_only,
        configure=configure,
    )
