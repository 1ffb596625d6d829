"""How a sender posts to the bridge: the path, a signed delivery, a demo secret (tools and tests)."""

from __future__ import annotations

import base64

from bridge.sources.kind import SourceKind
from bridge.sources.signatures.scheme import (
    BodySignedScheme,
    SealedScheme,
    SecretExample,
    SecretFormat,
    SignatureScheme,
    TokenScheme,
    UrlSignedScheme,
)


def webhook_path(source_name: str, scheme: SignatureScheme, secret: str) -> str:
    """Return the path a provider posts to: /webhooks/<name>, with the token where the scheme wants it."""
    if isinstance(scheme, TokenScheme) and scheme.in_path:
        return f"/webhooks/{source_name}/{secret}"
    return f"/webhooks/{source_name}"


def demo_secret(source_name: str, kind: SourceKind | None) -> str:
    """Return the secret `make run` gives a source in sandbox mode: one its scheme accepts."""
    secret = f"demo-{source_name}-secret"
    scheme = kind.signature if kind is not None else None
    if isinstance(scheme, SecretExample):
        return scheme.example_secret(secret)
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
    """Return the body and headers a provider would send; a body-signed scheme rewrites the body.

    For a sealed scheme the body given is the plaintext (what the bridge
    stores), and the body returned is sealed with the secret, as posted.
    """
    if isinstance(scheme, SealedScheme):
        body = scheme.seal(body, secret)
    if isinstance(scheme, BodySignedScheme):
        body = scheme.resign(body, secret)
    return body, scheme.sign(body, secret, now)


def signed_request(
    scheme: SignatureScheme, body: bytes, secret: str, now: float
) -> tuple[bytes, dict[str, str], str]:
    """Return the body, headers and query a provider would post; only a URL-signed scheme has a query."""
    if isinstance(scheme, UrlSignedScheme):
        headers, query = scheme.sign_request(body, secret, now)
        return body, headers, query
    body, headers = signed_delivery(scheme, body, secret, now)
    return body, headers, ""


def with_query(path: str, query: str) -> str:
    """Return the path to post to with the signed query, if there is one."""
    return f"{path}?{query}" if query else path
