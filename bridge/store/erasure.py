"""Erasure's statements: a person's events lose body, headers and final requests; cached look-ups go."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from bridge.observe.identifiers import Identifier, IdentifierKind
from bridge.store.dialect import is_sqlite
from bridge.store.identifiers import forget_digests
from bridge.store.retention import erase_requests, finished
from bridge.store.tables import PayloadErasure, events, opportunity_cache

# Events erased per transaction: a short hold on SQLite's write lock.
ERASE_CHUNK = 200


def erase_events(engine: sa.Engine, event_ids: Sequence[int], now: float) -> tuple[int, int]:
    """Erase these events' payloads on request; return (events erased, those with activities in flight)."""
    erased = pending = 0
    for start in range(0, len(event_ids), ERASE_CHUNK):
        chunk = list(event_ids[start : start + ERASE_CHUNK])
        with engine.begin() as connection:
            if not is_sqlite(connection):
                # Wait for a worker transforming one of them: the activities it adds are then seen below.
                connection.execute(sa.select(events.c.id).where(events.c.id.in_(chunk)).with_for_update())
            in_flight = set(
                connection.execute(
                    sa.select(events.c.id).where(events.c.id.in_(chunk), ~finished())
                ).scalars()
            )
            for ids, why in (
                (sorted(set(chunk) - in_flight), PayloadErasure.ERASURE),
                (sorted(in_flight), PayloadErasure.ERASURE_PENDING),
            ):
                if ids:
                    erased += connection.execute(
                        sa.update(events)
                        .where(events.c.id.in_(ids))
                        .values(body=b"", headers=sa.null(), payload_erased_at=now, payload_erasure=why.value)
                    ).rowcount
            erase_requests(connection, chunk)
            forget_digests(connection, chunk)
            pending += len(in_flight)
    return erased, pending


def cached_lookup_forms(found: Identifier) -> list[str]:
    """Return the forms a look-up may have cached the identifier under (emails lowercased, phones as sent)."""
    kind, value = found
    if kind is not IdentifierKind.PHONE:
        return [value]
    forms = [value, value.removeprefix("+")]
    if value.startswith("+91") and len(value) == 13:
        national = value[3:]
        forms += [national, "0" + national, f"+91-{national}", f"+91 {national}", f"91-{national}"]
    return forms


def forget_cached_lookups(connection: sa.Connection, forms: Sequence[str]) -> int:
    """Delete the look-up cache's entries for these values: the table is small, and they expire anyway."""
    statement = sa.delete(opportunity_cache).where(opportunity_cache.c.lookup_value.in_(list(forms)))
    return connection.execute(statement).rowcount
