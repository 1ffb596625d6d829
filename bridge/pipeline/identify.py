"""The identifiers an event's payload carries, and their keyed hashes as the transform records them.

Run by the worker at transform time, never by the receiver: hashing every
string of a body has no place before the ack.
"""

from __future__ import annotations

from bridge.observe.identifiers import Identifier, digests, identifiers_in, identifiers_in_text
from bridge.services import Services
from bridge.sources.kind import SourceKind
from bridge.store.inbox import StoredEvent


def payload_identifiers(kind: SourceKind | None, body: bytes) -> set[Identifier]:
    """Return every email, phone and PAN in a stored body: parsed as its source reads it, else as text."""
    if kind is not None:
        try:
            return identifiers_in(kind.parse(body))
        except (ValueError, RecursionError):
            pass  # a body the source cannot read (a failed event's) is still searched as text
    return identifiers_in_text(bytes(body).decode("utf-8", errors="replace"))


def event_digests(services: Services, event: StoredEvent) -> set[str]:
    """Return the keyed hashes of an event's identifiers under the current erasure key (none without one)."""
    keys = services.settings.retention.erasure_keys[:1]
    if not keys:
        return set()
    return digests(keys, payload_identifiers(services.kinds.get(event.source), event.body))
