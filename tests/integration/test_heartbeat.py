"""Heartbeats on both stores: a stale owner's claims come back at once, a taken-back batch is never posted."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.leadsquared.activity import Activity
from bridge.leadsquared.client import LeadSquaredClient
from bridge.pipeline.deliver import deliver
from bridge.pipeline.gate import Gate
from bridge.pipeline.worker import Worker
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store import claims, outbox, transitions, workers
from bridge.store.accounts import AccountStore
from bridge.store.claims import Batch
from bridge.store.dialect import server_now
from bridge.store.inbox import Inbox
from bridge.store.tables import activities
from bridge.store.tables import workers as workers_table
from tests.support import activity_rows, run_worker_until, sandbox_received

ROW = {"ActivityEvent": 201, "ActivityOwnerEmail": "a@b.c", "Fields": []}
HELD = ["claimed", "sending", "reconciling", "looking_up"]
STALE_SECONDS = 10.0


def queue(engine: sa.Engine, count: int, prefix: str = "k") -> list[int]:
    """Queue count activities, each for its own opportunity; return their ids."""
    now = time.time()
    event = Inbox(engine).insert("razorpay", f"evt_{prefix}", None, b"{}", now)
    new = [Activity(f"{prefix}{n}", "main", f"opp-{prefix}{n}", ROW) for n in range(count)]
    with engine.begin() as connection:
        outbox.insert_activities(connection, event.event_id, new, now)
        ids = connection.execute(sa.select(activities.c.id).order_by(activities.c.id)).scalars().all()
    return list(ids)


def hold(engine: sa.Engine, ids: list[int], owner: str, statuses: list[str], lease_until: float) -> None:
    """Put each row in a held status, owned by owner until lease_until."""
    with engine.begin() as connection:
        for row_id, status in zip(ids, statuses, strict=True):
            connection.execute(
                sa.update(activities)
                .where(activities.c.id == row_id)
                .values(status=status, claimed_by=owner, claim_expires_at=lease_until)
            )


def age_heartbeat(engine: sa.Engine, worker_id: str, seconds: float) -> None:
    """Make a worker's last beat this many seconds old by the database's clock."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(workers_table)
            .where(workers_table.c.worker_id == worker_id)
            .values(beat_at=server_now(connection) - seconds)
        )


def rows_by_id(engine: sa.Engine) -> dict[int, Any]:
    """Return every activity row by id."""
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(sa.select(activities))}


def test_a_stale_owners_claims_of_each_status_are_taken_back_at_once(services: Services) -> None:
    """Claimed rows are due, looking_up ones resolving, sending and reconciling ones unknown, at once."""
    engine, now = services.engine, time.time()
    ids = queue(engine, 4)
    workers.beat(engine, "dead:1:aa", "dead", 1)
    hold(engine, ids, "dead:1:aa", HELD, lease_until=now + 120)
    age_heartbeat(engine, "dead:1:aa", STALE_SECONDS + 1)
    assert claims.release_expired(engine, now, STALE_SECONDS, read_back_delay=5.0) == (2, 2)
    rows = rows_by_id(engine)
    assert [rows[i].status for i in ids] == ["pending", "unknown", "unknown", "resolving"]
    assert all(rows[i].claimed_by is None and rows[i].claim_expires_at is None for i in ids)
    # The row that was mid-call is read back only once a call still in flight would be over.
    assert rows[ids[1]].next_attempt_at == pytest.approx(now + 5.0)


def test_a_fresh_owners_claims_are_left_alone(services: Services) -> None:
    """A worker beating within the stale limit keeps everything it holds."""
    engine, now = services.engine, time.time()
    ids = queue(engine, 4)
    workers.beat(engine, "alive:2:bb", "alive", 2)
    hold(engine, ids, "alive:2:bb", HELD, lease_until=now + 120)
    age_heartbeat(engine, "alive:2:bb", STALE_SECONDS - 3)
    assert claims.release_expired(engine, now, STALE_SECONDS, read_back_delay=5.0) == (0, 0)
    rows = rows_by_id(engine)
    assert [rows[i].status for i in ids] == HELD
    assert {rows[i].claimed_by for i in ids} == {"alive:2:bb"}


def test_the_lease_still_takes_back_a_fresh_but_hung_owners_claims(services: Services) -> None:
    """A worker that beats but never finishes loses its claims when their lease expires; sends are due now."""
    engine, now = services.engine, time.time()
    ids = queue(engine, 4)
    workers.beat(engine, "hung:3:cc", "hung", 3)
    hold(engine, ids, "hung:3:cc", HELD, lease_until=now - 1)
    assert claims.release_expired(engine, now, STALE_SECONDS, read_back_delay=5.0) == (2, 2)
    rows = rows_by_id(engine)
    assert [rows[i].status for i in ids] == ["pending", "unknown", "unknown", "resolving"]
    assert rows[ids[1]].next_attempt_at == pytest.approx(now)


def test_owners_without_a_heartbeat_row_keep_their_claims_until_the_lease(services: Services) -> None:
    """A worker that never beat (a version before heartbeats, mid-deploy) is bounded by the lease alone."""
    engine, now = services.engine, time.time()
    ids = queue(engine, 4)
    hold(engine, ids, "older:4:dd", HELD, lease_until=now + 120)
    assert claims.release_expired(engine, now, STALE_SECONDS, read_back_delay=5.0) == (0, 0)
    assert claims.release_expired(engine, now + 121, STALE_SECONDS, read_back_delay=5.0) == (2, 2)


def test_a_stopped_owners_leftovers_are_taken_back(services: Services) -> None:
    """Anything still held by a worker that recorded its stop is taken back at the next sweep."""
    engine, now = services.engine, time.time()
    ids = queue(engine, 1)
    workers.beat(engine, "gone:5:ee", "gone", 5)
    workers.mark_stopped(engine, "gone:5:ee")
    hold(engine, ids, "gone:5:ee", ["claimed"], lease_until=now + 120)
    assert claims.release_expired(engine, now, STALE_SECONDS) == (1, 0)


def gate_for(services: Services, fresh: bool = True) -> Gate:
    """Return the main account's gate, as a worker whose heartbeat is fresh (or not) has it."""
    client = LeadSquaredClient(services.settings.accounts["main"])
    controls = AccountStore(services.engine)
    return Gate(client, controls, services.settings.delivery, threading.Event(), time.time, lambda: fresh)


def claim_one(services: Services, worker_id: str) -> Batch:
    """Claim the oldest due batch for worker_id."""
    batch = outbox.claim_batch(services.engine, worker_id, time.time(), 120, ["main"])
    assert batch is not None
    return batch


def test_a_batch_taken_back_is_never_posted_by_its_old_owner(
    services: Services, sandbox: SandboxServer
) -> None:
    """The old owner, alive after all, drops the batch unsent; the new owner posts it once."""
    engine = services.engine
    queue(engine, 1)
    workers.beat(engine, "paused:6:ff", "paused", 6)
    batch = claim_one(services, "paused:6:ff")
    age_heartbeat(engine, "paused:6:ff", STALE_SECONDS + 1)
    assert claims.release_expired(engine, time.time(), STALE_SECONDS) == (1, 0)
    deliver(gate_for(services), engine, batch)
    assert sandbox_received(sandbox.url)["calls"] == []
    [row] = activity_rows(services)
    assert (row.status, row.claimed_by) == ("pending", None)
    deliver(gate_for(services), engine, claim_one(services, "other:7:aa"))
    assert len(sandbox_received(sandbox.url)["activities"]) == 1
    assert [row.status for row in activity_rows(services)] == ["delivered"]


def test_a_late_answer_never_overwrites_the_new_owners_result(services: Services) -> None:
    """Rows taken back mid-call and re-claimed: the old owner's writes change nothing."""
    engine = services.engine
    queue(engine, 1)
    workers.beat(engine, "slow:8:aa", "slow", 8)
    batch = claim_one(services, "slow:8:aa")
    assert transitions.mark_sending(engine, batch, time.time() + 120)
    age_heartbeat(engine, "slow:8:aa", STALE_SECONDS + 1)
    assert claims.release_expired(engine, time.time(), STALE_SECONDS) == (0, 1)
    again = outbox.claim_unknown(engine, "new:9:bb", time.time(), 120, ["main"])
    assert again is not None
    [item] = batch.items
    assert transitions.mark_delivered(engine, "slow:8:aa", [(item, "pid-late")], time.time()) == 0
    assert transitions.reschedule(engine, "slow:8:aa", batch.items, time.time(), "late", True) == 0
    assert transitions.mark_dead(engine, "slow:8:aa", batch.items, "late") == 0
    assert transitions.mark_sending(engine, batch, time.time() + 120) is False
    [row] = activity_rows(services)
    assert (row.status, row.claimed_by, row.attempts) == ("reconciling", "new:9:bb", 0)


def test_a_worker_with_a_failing_heartbeat_hands_its_batch_back_unsent(
    services: Services, sandbox: SandboxServer
) -> None:
    """Not fresh: no call goes, and the rows it still holds are due again, no attempt counted."""
    engine = services.engine
    queue(engine, 1)
    deliver(gate_for(services, fresh=False), engine, claim_one(services, "cut:10:aa"))
    assert sandbox_received(sandbox.url)["calls"] == []
    [row] = activity_rows(services)
    assert (row.status, row.claimed_by, row.attempts) == ("pending", None, 0)


def test_the_list_shows_the_living_first_then_the_recently_dead(services: Services) -> None:
    """Alive means beating within the stale limit and not stopped; long-gone workers are left out."""
    engine = services.engine
    for name in ("alive", "silent", "stopped", "ancient"):
        workers.beat(engine, f"{name}:1:aa", name, 1)
    age_heartbeat(engine, "silent:1:aa", 60)
    workers.mark_stopped(engine, "stopped:1:aa")
    age_heartbeat(engine, "ancient:1:aa", 7200)
    listed = workers.list_workers(engine, STALE_SECONDS, dead_within_seconds=3600)
    assert [(w.host, w.alive) for w in listed] == [("alive", True), ("stopped", False), ("silent", False)]
    assert listed[2].seconds_since_beat == pytest.approx(60, abs=5)
    assert listed[1].stopped_at is not None and listed[0].stopped_at is None
    assert workers.forget_old(engine, older_than_seconds=3600) == 1


def test_a_running_worker_beats_and_records_its_clean_stop(services: Services) -> None:
    """While it runs its row is alive; after stop() it is marked stopped and holds nothing."""
    worker = Worker(services)
    seen: list[bool] = []

    def beating() -> bool:
        listed = workers.list_workers(services.engine, STALE_SECONDS)
        seen.extend(w.alive for w in listed if w.worker_id == worker.worker_id)
        return bool(seen)

    run_worker_until(services, beating, worker=worker)
    assert seen[0] is True
    [state] = workers.list_workers(services.engine, STALE_SECONDS)
    assert state.worker_id == worker.worker_id and not state.alive and state.stopped_at is not None
    assert state.host == worker.worker_id.split(":")[0]
