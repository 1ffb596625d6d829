"""The store on real SQLite files and a real PostgreSQL: schema, dedupe, limiter, claims."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bridge.leadsquared.activity import Activity
from bridge.store import claims, outbox, transitions
from bridge.store.accounts import accounts_due_for_probe, pause_account, postpone_probe
from bridge.store.dialect import server_now
from bridge.store.engine import make_engine, make_reader
from bridge.store.inbox import Inbox
from bridge.store.limiter import LOWERED_LIMIT_SECONDS, block_for, reserve_call
from bridge.store.migrate import SchemaNotCurrent, ensure_current, upgrade_to_head
from bridge.store.tables import account_state, events, metadata, rate_calls


@pytest.mark.migrated_here
def test_migrations_bring_a_fresh_database_to_head(database_url: str) -> None:
    """The fixture's migrated database is current, and migrating again changes nothing."""
    engine = make_engine(database_url)
    ensure_current(engine)
    upgrade_to_head(engine)
    ensure_current(engine)
    engine.dispose()


def test_the_migrations_create_exactly_the_tables_the_code_declares(database_url: str) -> None:
    """Alembic finds no difference between the migrated database and bridge/store/tables.py."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    """Starting on a database without the schema says to run migrate."""
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    try:
        ensure_current(engine)
        raise AssertionError("an empty database passed")
    except SchemaNotCurrent as error:
        assert "python -m bridge migrate" in str(error)
    engine.dispose()


def test_concurrent_inserts_of_one_key_store_one_event(database_url: str) -> None:
    """Sixteen threads inserting the same (source, key) at once: one new, fifteen told it exists."""
    engine = make_engine(database_url)
    results = []
    barrier = threading.Barrier(16)

    def insert() -> None:
        barrier.wait()
        results.append(Inbox(engine).insert("razorpay", "evt_same", "payment.captured", b"{}", time.time()))

    threads = [threading.Thread(target=insert) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.is_new for r in results) == [False] * 15 + [True]
    assert len({r.event_id for r in results}) == 1
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 1
    engine.dispose()


def test_the_limiter_gives_any_window_at_most_the_limit(database_url: str) -> None:
    """Sixty reservations from twelve threads: any window holds at most ten, and bursts are allowed."""
    engine = make_engine(database_url)
    waits: list[float] = []
    lock = threading.Lock()

    def reserve() -> None:
        for _ in range(5):
            wait = reserve_call(engine, "main", 10, 2.0)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=reserve) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        # The slots as the limiter logged them, on the database server's clock.
        slots = sorted(connection.execute(sa.select(rate_calls.c.at)).scalars())
    assert len(slots) == 60 and len(waits) == 60
    assert min(waits) >= 0.0
    for index in range(len(slots) - 10):
        assert slots[index + 10] - slots[index] >= 2.0 - 1e-9
    # A full burst goes at once: the first ten slots are not spread over the window.
    assert slots[9] - slots[0] < 1.0
    engine.dispose()


def test_the_limiter_and_hold_offs_run_on_the_database_clock(database_url: str) -> None:
    """A slot and a hold-off are stamped with the server's time; the caller gets durations back."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        server_before = connection.execute(sa.select(server_now(connection))).scalar_one()
    assert reserve_call(engine, "main", 10, 2.0) == pytest.approx(0.0, abs=0.5)
    block_for(engine, "main", 30.0, lowered_limit=5)
    wait = reserve_call(engine, "main", 10, 2.0)
    assert 29.0 < wait <= 30.0
    with engine.connect() as connection:
        state = connection.execute(sa.select(account_state)).one()
    assert server_before + 29.0 < state.blocked_until < server_before + 60.0
    assert state.lowered_until == pytest.approx(state.blocked_until + LOWERED_LIMIT_SECONDS)
    assert state.calls_per_window == 5
    engine.dispose()


def test_a_paused_account_is_due_for_a_probe_by_the_database_clock(database_url: str) -> None:
    """A probe set 0 s ahead is due at once, one set an hour ahead is not: no worker's clock is asked."""
    engine = make_engine(database_url)
    pause_account(engine, "soon", "LeadSquared answered 401", probe_after_seconds=0.0)
    pause_account(engine, "later", "LeadSquared answered 401", probe_after_seconds=3600.0)
    assert accounts_due_for_probe(engine) == ["soon"]
    postpone_probe(engine, "soon", 3600.0)
    postpone_probe(engine, "later", -1.0)
    assert accounts_due_for_probe(engine) == ["later"]
    engine.dispose()


def test_claims_group_by_opportunity_and_skip_what_another_worker_holds(database_url: str) -> None:
    """A claim takes up to 25 rows of one opportunity; a second claim gets other rows only."""
    engine = make_engine(database_url)
    now = time.time()
    event = Inbox(engine).insert("razorpay", "evt_claims", None, b"{}", now)
    row = {"ActivityEvent": 201, "ActivityOwnerEmail": "a@b.c", "Fields": []}
    new = [Activity(f"k{n}", "main", f"opp-{n % 2}", row) for n in range(60)]
    with engine.begin() as connection:
        outbox.insert_activities(connection, event.event_id, new, now)
    first = outbox.claim_batch(engine, "w1", now, 30, ["main"])
    second = outbox.claim_batch(engine, "w2", now, 30, ["main"])
    assert first is not None and second is not None
    assert len(first.items) == 25 and len(second.items) == 25
    assert first.opportunity_id == "opp-0"
    assert {i.id for i in first.items}.isdisjoint({i.id for i in second.items})
    third = outbox.claim_batch(engine, "w3", now, 30, ["main"])
    assert third is not None and len(third.items) == 5
    assert outbox.claim_batch(engine, "w4", now, 30, ["other"]) is None
    engine.dispose()


def test_a_batch_about_to_leave_takes_in_its_opportunitys_latecomers(database_url: str) -> None:
    """Rows of the same opportunity that came due since the claim join it, up to 25; others' rows stay."""
    engine = make_engine(database_url)
    now = time.time()
    event = Inbox(engine).insert("razorpay", "evt_late", None, b"{}", now)
    row = {"ActivityEvent": 201, "ActivityOwnerEmail": "a@b.c", "Fields": []}
    with engine.begin() as connection:
        outbox.insert_activities(connection, event.event_id, [Activity("early", "main", "opp-1", row)], now)
    batch = outbox.claim_batch(engine, "w1", now, 30, ["main"])
    assert batch is not None and [i.activity_key for i in batch.items] == ["early"]
    later = [Activity(f"late{n}", "main", "opp-1", row) for n in range(30)]
    later += [Activity("elsewhere", "main", "opp-2", row)]
    with engine.begin() as connection:
        outbox.insert_activities(connection, event.event_id, later, now + 1)
    rival = outbox.claim_batch(engine, "w2", now + 1, 30, ["main"])  # takes 25 of opp-1's latecomers
    assert rival is not None and len(rival.items) == 25
    grown = outbox.claim_latecomers(engine, batch, now + 1, now + 31)
    keys = [i.activity_key for i in grown.items]
    assert keys[0] == "early" and len(keys) == 6 and "elsewhere" not in keys
    assert not {i.id for i in grown.items[1:]} & {i.id for i in rival.items}
    assert transitions.mark_sending(engine, grown, now + 31)
    # Nothing of opp-1 is left pending: a batch finds no latecomers and stays as it was.
    alone = rival.subset(rival.items[:1])
    assert outbox.claim_latecomers(engine, alone, now + 1, now + 31).items == alone.items
    engine.dispose()


def test_expired_claims_come_back_and_expired_sends_become_unknown(database_url: str) -> None:
    """An unsent claim of a dead worker is due again; a sent one is unknown, never re-posted blindly."""
    engine = make_engine(database_url)
    now = time.time()
    event = Inbox(engine).insert("razorpay", "evt_lease", None, b"{}", now)
    row = {"ActivityEvent": 201, "ActivityOwnerEmail": "a@b.c", "Fields": []}
    with engine.begin() as connection:
        outbox.insert_activities(
            connection, event.event_id, [Activity(f"l{n}", "main", f"o{n}", row) for n in range(2)], now
        )
    held = outbox.claim_batch(engine, "w1", now, 5, ["main"])
    sent = outbox.claim_batch(engine, "w1", now, 5, ["main"])
    assert held is not None and sent is not None
    transitions.mark_sending(engine, sent, until=now + 5)
    assert claims.release_expired(engine, now + 1) == (0, 0)
    assert claims.release_expired(engine, now + 6) == (1, 1)
    again = outbox.claim_batch(engine, "w2", now + 6, 5, ["main"])
    assert again is not None and [i.id for i in again.items] == [i.id for i in held.items]
    engine.dispose()


def test_a_store_error_never_shows_the_values_it_was_given(database_url: str) -> None:
    """A failed statement's text leaves its parameters out: they hold bodies, emails and phones."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(events),
                {"source": None, "idempotency_key": "k", "body": b"lead@example.com", "received_at": 0.0},
            )
    except sa.exc.IntegrityError as error:
        text = str(error)
    finally:
        engine.dispose()
    assert "lead@example.com" not in text and "hidden due to hide_parameters" in text


def test_an_engine_opens_no_more_connections_than_its_pool(database_url: str) -> None:
    """With pool_size 2 a third connection waits and times out: no overflow past the bound."""
    engine = make_engine(database_url, pool_size=2, pool_timeout_seconds=0.2)
    first, second = engine.connect(), engine.connect()
    try:
        with pytest.raises(sa.exc.TimeoutError):
            engine.connect()
    finally:
        first.close()
        second.close()
    engine.dispose()


def test_an_operators_long_read_holds_up_no_webhook_and_cannot_write(database_url: str) -> None:
    """A read open on the reader leaves the inbox free to store; a write through the reader is refused."""
    engine = make_engine(database_url, pool_size=2)
    reader = make_reader(engine)
    try:
        with reader.connect() as connection, connection.begin():
            connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
            started = time.monotonic()
            Inbox(engine).insert("razorpay", "evt_reading", None, b"{}", time.time())
            assert time.monotonic() - started < 1.0
        if reader is not engine:
            with pytest.raises(sa.exc.OperationalError), reader.begin() as connection:
                connection.execute(sa.delete(events))
    finally:
        if reader is not engine:
            reader.dispose()
        engine.dispose()
