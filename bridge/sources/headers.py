"""The headers of a delivery as the store keeps them: credentials masked before they are written.

A signature covers only its own body, but a token source's header *is* the
secret, and an operator reading an event never needs either: every header
whose name says it carries a credential, the scheme's own header, and any
value holding one of the source's secrets is kept as MASKED. Hostile senders
choose their headers freely, so the count and length kept are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bridge.sources.kind import SourceKind

MASKED = "[masked]"
MAX_HEADERS = 50
MAX_VALUE_CHARS = 500
# Names that carry credentials by convention; Idempotency-Key names an id, not a key.
_CREDENTIAL_NAME = re.compile(
    r"signature|authorization|token|secret|password|verify|checksum|hmac|cookie|api-?key|access-?key"
    r"|(^|-)(mac|hash)$",
    re.IGNORECASE,
)


def credential_headers(kind: SourceKind) -> frozenset[str]:
    """Return the lower-cased names of the headers the kind's scheme reads a credential from."""
    name = getattr(kind.signature, "header", None)
    return frozenset([name.lower()]) if isinstance(name, str) else frozenset()


def stored_headers(
    headers: Iterable[tuple[str, str]], credential_names: frozenset[str], secrets: Sequence[str]
) -> dict[str, str]:
    """Return the headers to store: credentials masked, at most MAX_HEADERS of MAX_VALUE_CHARS each."""
    kept: dict[str, str] = {}
    for name, value in headers:
        if len(kept) >= MAX_HEADERS:
            break
        if _is_credential(name, value, credential_names, secrets):
            value = MASKED
        kept[name] = value[:MAX_VALUE_CHARS]
    return kept


def _is_credential(name: str, value: str, credential_names: frozenset[str], secrets: Sequence[str]) -> bool:
    if name.lower() in credential_names or _CREDENTIAL_NAME.search(name):
        return True
    return any(secret and secret in value for secret in secrets)
