"""Erasure on request: every event whose payload carries a person's email, phone or PAN loses it now.

The events are found by the keyed hashes the worker recorded at transform
(bridge/pipeline/identify.py), under the current key and any earlier one;
events not transformed yet have no hashes, so their bodies are read directly,
as are all payloads still held when the operator asks for a full scan (events
stored before the bridge recorded hashes). Each found event keeps its id,
source, type, key, status and times, so a redelivery is still a duplicate;
its body and headers are erased, and so are the requests of its activities
that are final. Activities still in flight keep theirs until they finish,
when the purge erases them (PayloadErasure.ERASURE_PENDING). The audit entry
names the kind and a prefix of the identifier's keyed hash, never the
identifier. LeadSquared's copy of the lead is not touched: the answer says so.
"""

from __future__ import annotations

import sqlalchemy as sa

from bridge.observe.identifiers import Identifier, IdentifierKind, digests, identifier, masked
from bridge.operate.actions import ActionResult, Actor, OperateError
from bridge.pipeline.identify import payload_identifiers
from bridge.services import Services
from bridge.store.audit import AuditEntry, write_audit
from bridge.store.erasure import cached_lookup_forms, erase_events, forget_cached_lookups
from bridge.store.identifiers import events_with_digests
from bridge.store.tables import EventStatus, events

# Events whose bodies are read per statement when scanning.
SCAN_CHUNK = 500
LEADSQUARED_NOTE = (
    "LeadSquared's copy is untouched: delete or anonymise the lead there too "
    "(its activities hold what the bridge posted)"
)


def wanted_identifier(kind: str, text: str) -> Identifier:
    """Return the identifier asked for, normalised; a bad one raises OperateError(400) saying what to fix."""
    if kind not in tuple(IdentifierKind):
        raise OperateError(f"kind: one of {', '.join(IdentifierKind)}, not {kind!r}", 400)
    try:
        return identifier(kind, text)
    except ValueError as error:
        raise OperateError(f"{kind}: {error}", 400) from None


def erase_person(
    services: Services, kind: str, text: str, actor: Actor, now: float, scan_all: bool = False
) -> ActionResult:
    """Erase the payload of every event carrying this identifier now; audit it without the identifier."""
    found = wanted_identifier(kind, text)
    keys = services.settings.retention.erasure_keys
    if not keys:
        variable = services.settings.retention.erasure_key_env
        raise OperateError(
            f"{variable} is not set in this process: set it to the worker's key, which the hashes "
            "that find a person's events were made with",
            409,
        )
    with services.engine.connect() as connection:
        matched = events_with_digests(connection, digests(keys, [found]))
    matched |= scanned(services, found, scan_all)
    erased, pending = erase_events(services.engine, sorted(matched), now)
    with services.engine.begin() as connection:
        forget_cached_lookups(connection, cached_lookup_forms(found))
    result = ActionResult("erase", len(matched), erased, describe(found, erased, pending))
    hash_prefix = digests(keys[:1], [found]).pop()[:12]
    write_audit(
        services.engine,
        AuditEntry(
            at=now,
            actor=actor.name,
            action="erase",
            target=f"{found[0].value} hash {hash_prefix}",
            rows=erased,
            detail=f"{erased} events erased, {pending} with activities in flight"
            + (", every payload scanned" if scan_all else ""),
            address=actor.address,
        ),
    )
    return result


def scanned(services: Services, found: Identifier, scan_all: bool) -> set[int]:
    """Return events whose body carries the identifier: those not transformed yet, or all when asked."""
    condition = events.c.payload_erased_at.is_(None) if scan_all else events.c.status == EventStatus.RECEIVED
    matched: set[int] = set()
    after = 0
    while True:
        query = (
            sa.select(events.c.id, events.c.source, events.c.body)
            .where(condition, events.c.id > after)
            .order_by(events.c.id)
            .limit(SCAN_CHUNK)
        )
        with services.reader.connect() as connection:
            rows = connection.execute(query).all()
        for row in rows:
            if found in payload_identifiers(services.kinds.get(row.source), row.body):
                matched.add(row.id)
        if len(rows) < SCAN_CHUNK:
            return matched
        after = rows[-1].id


def describe(found: Identifier, erased: int, pending: int) -> str:
    """Say what an erasure did, with the identifier masked, and that LeadSquared keeps its copy."""
    noun = "event" if erased == 1 else "events"
    head = f"erased the payload and headers of {erased} {noun} carrying {masked(found)}"
    if pending:
        head += f" ({pending} with activities still in flight: their requests are erased when they finish)"
    return f"{head}. {LEADSQUARED_NOTE}."
