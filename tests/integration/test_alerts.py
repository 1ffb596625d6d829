"""Alerts against the real store and a real HTTP sink: once per change, retried, once when evaluators race."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bridge.alerts.monitor import AlertChore, Evaluator
from bridge.alerts.sender import AlertSender
from bridge.pipeline.worker import Worker
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.accounts import pause_account, resume_account
from bridge.store.alerts import record_change, unsent_alerts
from bridge.store.tables import alert_outbox, alert_state
from tests.alert_sink import AlertSink, alert_sink
from tests.conftest import TEST_CONFIG, make_services
from tests.support import run_worker_until

ALERTS = """
[alerts]
evaluate_every_seconds = 0.1
retry_base_seconds = 0.05
retry_max_seconds = 0.2
max_attempts = 4
timeout_seconds = 2
"""


@pytest.fixture
def sink() -> Iterator[AlertSink]:
    """A local alert sink on a free port."""
    with alert_sink() as serving:
        yield serving


@pytest.fixture
def alerting(tmp_path: Path, database_url: str, sandbox: SandboxServer, sink: AlertSink) -> Services:
    """The bridge's services with alerts on, posting to the sink."""
    return make_services(
        tmp_path, database_url, sandbox, TEST_CONFIG + ALERTS, BRIDGE_ALERT_WEBHOOK_URL=sink.url
    )


def outbox(services: Services) -> list[sa.Row[tuple[str, str, int, float | None, float | None]]]:
    """Return every alert written, oldest first: kind, subject, attempts, sent_at, gave_up_at."""
    with services.engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(
                    alert_outbox.c.kind,
                    alert_outbox.c.subject,
                    alert_outbox.c.attempts,
                    alert_outbox.c.sent_at,
                    alert_outbox.c.gave_up_at,
                ).order_by(alert_outbox.c.id)
            )
        )


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll check() until it holds; fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


def test_a_pause_alerts_once_and_its_resume_resolves_once(alerting: Services, sink: AlertSink) -> None:
    """Paused by a 401: one alert however often evaluated; resumed: one resolved; the sink gets both."""
    evaluator = Evaluator(alerting)
    pause_account(alerting.engine, "main", "401 Unauthorized", 60)
    [started] = evaluator.evaluate()
    assert started.starts and started.key[1] == "main"
    assert evaluator.evaluate() == [] and evaluator.evaluate() == []
    resume_account(alerting.engine, "main")
    [cleared] = evaluator.evaluate()
    assert not cleared.starts
    assert evaluator.evaluate() == []
    sender = AlertSender(alerting.engine, alerting.reader, alerting.settings.alerts, "test-sender")
    assert sender.send_due() == 2 and sender.send_due() == 0
    [alert, resolved] = sink.taken()
    assert "LeadSquared refused the keys of account main (401)" in alert
    assert "rotate LSQ_SECRET_KEY".lower() in alert.lower() and "lsq-bridge resume main" in alert
    assert resolved.startswith(":white_check_mark: lsq-bridge account paused: main. Resolved")
    assert sink.url not in alert + resolved and "sink-key" not in alert + resolved
    assert [(row.kind, row.attempts) for row in outbox(alerting)] == [("started", 1), ("resolved", 1)]


def test_an_operators_pause_raises_no_alert(alerting: Services) -> None:
    """Only a pause LeadSquared caused (a 401) alerts: an operator knows of their own."""
    from bridge.store.tables import PausedBy

    pause_account(alerting.engine, "main", "maintenance", 60, by=PausedBy.OPERATOR)
    assert Evaluator(alerting).evaluate() == []


def test_a_sink_answering_500_gets_the_alert_again_until_it_takes_it(
    alerting: Services, sink: AlertSink
) -> None:
    """Two 500s, then 200: the one alert is posted three times, taken once, and recorded sent."""
    sink.answer_next(500, 500)
    pause_account(alerting.engine, "main", "401 Unauthorized", 60)
    assert len(Evaluator(alerting).evaluate()) == 1
    sender = AlertSender(
        alerting.engine, alerting.reader, alerting.settings.alerts, "test-sender", look_every_seconds=0.02
    )
    sender.start()
    try:
        wait_for(lambda: len(sink.taken()) == 1, "the sink taking the alert")
    finally:
        sender.stop()
    assert sink.statuses == [500, 500, 200]
    assert len({post["text"] for post in sink.posts}) == 1
    [row] = outbox(alerting)
    assert row.attempts == 3 and row.sent_at is not None and row.gave_up_at is None


def test_an_alert_the_sink_never_takes_is_given_up_after_max_attempts(
    alerting: Services, sink: AlertSink
) -> None:
    """A sink answering 503 four times: the alert is given up on, and nothing else is posted."""
    sink.answer_next(503, 503, 503, 503, 503)
    pause_account(alerting.engine, "main", "401 Unauthorized", 60)
    Evaluator(alerting).evaluate()
    sender = AlertSender(
        alerting.engine, alerting.reader, alerting.settings.alerts, "test-sender", look_every_seconds=0.02
    )
    sender.start()
    try:
        wait_for(lambda: outbox(alerting)[0].gave_up_at is not None, "giving up")
    finally:
        sender.stop()
    assert sink.statuses == [503] * 4
    assert unsent_alerts(alerting.engine) == []


def test_evaluators_racing_write_each_start_and_clear_once(alerting: Services) -> None:
    """Eight evaluators at once, on one store: the pause is written once, its resume once."""
    evaluators = [Evaluator(alerting) for _ in range(8)]

    def race() -> int:
        barrier = threading.Barrier(len(evaluators))
        written: list[int] = []

        def run(evaluator: Evaluator) -> None:
            barrier.wait()
            written.append(len(evaluator.evaluate()))

        threads = [threading.Thread(target=run, args=(e,)) for e in evaluators]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return sum(written)

    for _ in range(3):
        pause_account(alerting.engine, "main", "401 Unauthorized", 60)
        assert race() == 1
        resume_account(alerting.engine, "main")
        assert race() == 1
    assert [row.kind for row in outbox(alerting)] == ["started", "resolved"] * 3


def test_an_evaluator_that_read_before_another_changed_the_state_writes_nothing(alerting: Services) -> None:
    """A start written over a version another evaluator already moved past is refused."""
    from bridge.store.alerts import StoredState

    seen = StoredState("account_paused", "main", False, None, 0)
    assert record_change(alerting.engine, seen, 1.0, 0, "started", {"text": "a"}, 2.0)
    later = StoredState("account_paused", "main", True, 1.0, 1)
    assert record_change(alerting.engine, later, None, 0, "resolved", {"text": "b"}, 3.0)
    # The first evaluator, late, still thinks the alert inactive at version 0.
    assert not record_change(alerting.engine, seen, 1.0, 0, "started", {"text": "a"}, 4.0)
    with alerting.engine.connect() as connection:
        assert connection.execute(sa.select(alert_state.c.active, alert_state.c.version)).one() == (False, 2)


def test_dead_rows_and_a_lowered_limit_alert_with_their_numbers(alerting: Services) -> None:
    """Eleven activities dead within the hour and a limit lowered to 10: two alerts with those numbers."""
    from bridge.leadsquared.activity import Activity
    from bridge.store.limiter import block_for
    from bridge.store.outbox import insert_activities
    from bridge.store.tables import activities, events

    now = time.time()
    with alerting.engine.begin() as connection:
        event_id = connection.execute(
            sa.insert(events)
            .values(
                source="razorpay", idempotency_key="e1", body=b"{}", received_at=now, status="transformed"
            )
            .returning(events.c.id)
        ).scalar_one()
        rows = [Activity(f"k{n}", "main", f"opp-{n}", {"ActivityEvent": 201}) for n in range(11)]
        insert_activities(connection, event_id, rows, now)
        connection.execute(sa.update(activities).values(status="dead", next_attempt_at=now - 60))
    block_for(alerting.engine, "main", 1.0, 10)
    written = {change.key[0].value: change for change in Evaluator(alerting).evaluate()}
    assert sorted(written) == ["dead_activities", "limit_lowered"]
    texts = [row.body["text"] for row in unsent_alerts(alerting.engine)]
    assert any("11 activities of account main went dead" in text for text in texts)
    assert any("rate limit to 10 calls per 5 s (configured: 25)" in text for text in texts)


def test_the_workers_chore_alerts_and_its_thread_posts(alerting: Services, sink: AlertSink) -> None:
    """A worker with the alert chore finds the pause, its sender posts it, and stopping ends the thread."""
    pause_account(alerting.engine, "main", "401 Unauthorized", 60)
    worker = Worker(alerting, chores=[AlertChore])
    run_worker_until(alerting, lambda: len(sink.taken()) == 1, worker=worker)
    [chore] = worker.chores
    assert isinstance(chore, AlertChore) and not chore.sender.thread.is_alive()
    assert "account main (401)" in sink.taken()[0]


def test_a_sink_that_hangs_holds_up_no_delivery(alerting: Services, sink: AlertSink) -> None:
    """While the sink holds the alert's post unanswered, the same worker still delivers a webhook."""
    from bridge import create_app
    from bridge.store.limiter import block_for
    from tests.support import activity_rows, body_of, payment_event, razorpay_headers

    sink.answering.clear()
    block_for(alerting.engine, "main", 0.0, 10)  # LeadSquared named a lower limit: an alert
    body = body_of(payment_event("pay_1", "opp-1"))
    client = create_app(alerting).test_client()

    answers: list[int] = []

    def delivered_while_the_sink_hangs() -> bool:
        # The webhook comes once the sink holds the alert's post.
        if sink.received.is_set() and not answers:
            answers.append(
                client.post("/webhooks/razorpay", data=body, headers=razorpay_headers(body, "e1")).status_code
            )
        return [row.status for row in activity_rows(alerting)] == ["delivered"]

    try:
        run_worker_until(
            alerting, delivered_while_the_sink_hangs, worker=Worker(alerting, chores=[AlertChore])
        )
        assert answers == [202]
        assert sink.statuses == [] and len(sink.posts) == 0  # the post is still unanswered
    finally:
        sink.answering.set()


def test_without_a_url_the_worker_says_once_that_alerts_are_off_and_writes_none(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """No BRIDGE_ALERT_WEBHOOK_URL: one 'alerts are off' line naming it, and a pause writes no alert."""
    pause_account(services.engine, "main", "401 Unauthorized", 60)
    with caplog.at_level("INFO", logger="bridge.alerts.monitor"):
        worker = Worker(services, chores=[AlertChore])
        for round_at in (1.0, 2.0, 3.0):
            assert worker.run_chores(round_at) is False
    assert [r.getMessage() for r in caplog.records] == ["alerts are off: BRIDGE_ALERT_WEBHOOK_URL is not set"]
    assert outbox(services) == []
