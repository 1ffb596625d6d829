"""An idle worker wakes when a webhook is stored: NOTIFY on PostgreSQL, data_version on SQLite."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge import create_app
from bridge.pipeline.worker import Worker
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.inbox import EVENTS_CHANNEL, NOTIFY_COALESCE_SECONDS, Inbox
from bridge.store.wake import LISTENER_OPTIONS, WakeMethod
from tests.conftest import TEST_CONFIG, make_services
from tests.support import body_of, payment_event, razorpay_headers, sandbox_received

# Far longer than any wait below: a delivery before it came from a wake-up, not from a poll.
LONG_POLL = TEST_CONFIG.replace("\npoll_interval_seconds = 0.05", "\npoll_interval_seconds = 30")
POLL_ONLY = TEST_CONFIG.replace(
    "\npoll_interval_seconds = 0.05", '\npoll_interval_seconds = 0.05\nwake = "poll"'
)
DEADLINE_SECONDS = 10.0
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_SECONDS) -> None:
    """Wait until condition() holds; fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    """Run the worker in a thread for the block; stop it afterwards."""
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the worker did not stop"


def idle(worker: Worker) -> bool:
    """Tell whether the worker is waiting for a wake-up with nothing pending (the start's ring used up)."""
    with worker.changed:
        return worker.doorbell.waiting == 1 and not worker.doorbell.rung


def web_client(tmp_path: Path, database_url: str, sandbox: SandboxServer) -> FlaskClient:
    """Return a client of the web app on its own engine, as the web process has its own connections."""
    web_dir = tmp_path / "web"
    web_dir.mkdir(exist_ok=True)
    return create_app(make_services(web_dir, database_url, sandbox)).test_client()


def post_payment(client: FlaskClient, number: int) -> None:
    """Post one signed payment.captured delivery; it must be accepted."""
    body = body_of(payment_event(f"pay_wake_{number}", f"opp-{number}"))
    answer = client.post(
        "/webhooks/razorpay", data=body, headers=razorpay_headers(body, f"evt_wake_{number}")
    )
    assert answer.status_code == 202, answer.json


def delivered(sandbox: SandboxServer, count: int) -> Callable[[], bool]:
    """Return a check that the sandbox received this many activities."""
    return lambda: len(sandbox_received(sandbox.url)["activities"]) >= count


def test_a_stored_webhook_wakes_a_worker_long_before_its_poll(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """With a 30 s poll, a webhook stored through another connection is still delivered within seconds."""
    services = make_services(tmp_path, database_url, sandbox, LONG_POLL)
    client = web_client(tmp_path, database_url, sandbox)
    with running(Worker(services)) as worker:
        assert worker.watcher.method in (WakeMethod.LISTEN, WakeMethod.DATA_VERSION)
        wait_for(lambda: worker.watcher.listening.is_set() and idle(worker), "the worker going idle")
        for number in range(2):
            post_payment(client, number)
            wait_for(delivered(sandbox, number + 1), f"delivery {number + 1} on a wake-up")
            wait_for(lambda: idle(worker), "the worker going idle again")


def test_wake_poll_still_delivers_without_a_listener(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """wake = "poll" starts no listener and delivers on its poll interval alone."""
    services = make_services(tmp_path, database_url, sandbox, POLL_ONLY)
    client = web_client(tmp_path, database_url, sandbox)
    with running(Worker(services)) as worker:
        assert worker.watcher.method is WakeMethod.POLL and worker.watcher.thread is None
        post_payment(client, 1)
        wait_for(delivered(sandbox, 1), "a delivery by polling")


def notifications_after(services: Services, inserts: Callable[[], None]) -> list[str]:
    """Run the inserts while listening on the events channel; return the channels notified."""
    conninfo = services.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {EVENTS_CHANNEL}")
        inserts()
        # A marker NOTIFY after the inserts: once it arrives, every earlier one has too.
        listener.execute(f"NOTIFY {EVENTS_CHANNEL}, 'end'")
        notified = []
        for notification in listener.notifies(timeout=DEADLINE_SECONDS):
            if notification.payload == "end":
                break
            notified.append(notification.channel)
    return notified


@POSTGRES_ONLY
def test_a_new_event_notifies_at_commit_and_a_duplicate_does_not(services: Services) -> None:
    """The web's insert notifies the events channel once per new event, never for a repeat of a known key."""
    inbox = Inbox(services.engine, notify=True)

    def inserts() -> None:
        first = inbox.insert("razorpay", "evt_notify_1", "payment.captured", b"{}", time.time())
        again = inbox.insert("razorpay", "evt_notify_1", "payment.captured", b"{}", time.time())
        assert first.is_new and not again.is_new and again.event_id == first.event_id

    assert notifications_after(services, inserts) == [EVENTS_CHANNEL]


@POSTGRES_ONLY
def test_a_web_process_notifies_at_most_once_per_coalescing_window(services: Services) -> None:
    """Inserts within NOTIFY_COALESCE_SECONDS of a notified one send nothing; the next one after it does."""
    now = [1000.0]
    inbox = Inbox(services.engine, notify=True, clock=lambda: now[0])

    def inserts() -> None:
        for number, at in enumerate([0.0, NOTIFY_COALESCE_SECONDS / 2, NOTIFY_COALESCE_SECONDS * 1.5]):
            now[0] = 1000.0 + at
            inbox.insert("razorpay", f"evt_coalesce_{number}", "payment.captured", b"{}", time.time())

    assert notifications_after(services, inserts) == [EVENTS_CHANNEL, EVENTS_CHANNEL]


@POSTGRES_ONLY
def test_wake_poll_makes_the_web_send_no_notification(tmp_path: Path, database_url: str) -> None:
    """Behind a pooler that cannot LISTEN (wake = "poll") the web does not pay for a NOTIFY."""
    services = make_services(tmp_path, database_url, None, POLL_ONLY)
    client = create_app(services).test_client()
    assert notifications_after(services, lambda: post_payment(client, 1)) == []


@POSTGRES_ONLY
def test_a_terminated_listener_reconnects_and_wakes_again(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """pg_terminate_backend on the listener: a warning, a reconnect after the backoff, then wake-ups again."""
    services = make_services(tmp_path, database_url, sandbox, LONG_POLL)
    client = web_client(tmp_path, database_url, sandbox)
    caplog.set_level(logging.INFO, logger="bridge.store.wake")
    with running(Worker(services)) as worker:
        wait_for(worker.watcher.listening.is_set, "the listener connecting")
        with services.engine.begin() as connection:
            terminated = connection.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": LISTENER_OPTIONS["application_name"]},
            ).scalar_one()
        assert terminated == 1
        wait_for(lambda: worker.watcher.connections == 2 and worker.watcher.listening.is_set(), "a reconnect")
        messages = [record.getMessage() for record in caplog.records]
        assert any(m.startswith("wake-ups lost: polling") for m in messages), messages
        assert "wake-ups restored" in messages
        wait_for(lambda: idle(worker), "the worker going idle")
        post_payment(client, 1)
        wait_for(delivered(sandbox, 1), "a delivery on a wake-up after the reconnect")


@POSTGRES_ONLY
def test_a_listener_that_cannot_connect_leaves_the_worker_polling(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener whose server cannot be reached keeps retrying while the poll delivers."""
    services = make_services(tmp_path, database_url, sandbox)
    client = web_client(tmp_path, database_url, sandbox)
    worker = Worker(services)
    # Nothing listens on port 1: every connection attempt of the listener fails at once.
    worker.watcher.conninfo = "postgresql://postgres@127.0.0.1:1/nothing"  # type: ignore[attr-defined]
    caplog.set_level(logging.WARNING, logger="bridge.store.wake")
    with running(worker):
        post_payment(client, 1)
        wait_for(delivered(sandbox, 1), "a delivery by polling")
        assert not worker.watcher.listening.is_set()
    assert any(r.getMessage().startswith("wake-ups lost: polling") for r in caplog.records)
