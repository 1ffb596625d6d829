"""The keyed hashes of the identifiers each event carries: recorded at transform, searched by an erasure."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import sqlalchemy as sa

from bridge.store.dialect import upsert
from bridge.store.tables import identifier_hashes

# Digests looked up per statement: well under every driver's limit on bound parameters.
LOOKUP_CHUNK = 500


def record_digests(connection: sa.Connection, event_id: int, digests: Collection[str]) -> None:
    """Record an event's identifier digests, in the transform's transaction; a replay adds none twice."""
    if not digests:
        return
    rows = [{"digest": digest, "event_id": event_id} for digest in sorted(digests)]
    statement = upsert(connection, identifier_hashes).on_conflict_do_nothing(
        index_elements=["digest", "event_id"]
    )
    connection.execute(statement, rows)


def events_with_digests(connection: sa.Connection, digests: Iterable[str]) -> set[int]:
    """Return the ids of the events any of these digests was recorded for."""
    wanted = sorted(set(digests))
    found: set[int] = set()
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        query = sa.select(identifier_hashes.c.event_id).where(identifier_hashes.c.digest.in_(chunk))
        found.update(connection.execute(query).scalars())
    return found


def forget_digests(connection: sa.Connection, event_ids: Collection[int]) -> int:
    """Delete the digests of these events (erased or deleted ones); return how many went."""
    if not event_ids:
        return 0
    statement = sa.delete(identifier_hashes).where(identifier_hashes.c.event_id.in_(sorted(event_ids)))
    return connection.execute(statement).rowcount
