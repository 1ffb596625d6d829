"""An operator's single actions on real stores, delivered to the sandbox: replay, retry, resolve, pause."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge import create_app
from bridge.operate.actions import (
    OperateError,
    pause,
    replay_event,
    resolve_activity,
    resume,
    retry_activity,
)
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.requeue import SETTLED_BY_OPERATOR
from bridge.store.tables import activities, events
from tests.conftest import TEST_CONFIG, make_services
from tests.integration.operating import (
    FIXED_CONFIG,
    OPERATOR,
    audit_rows,
    keys_received,
    post,
    run_worker_for,
)
from tests.support import (
    activity_rows,
    add_fault,
    body_of,
    event_rows,
    payment_event,
    razorpay_headers,
    run_worker_until,
    sandbox_received,
    settled,
)

BULK = "ByOpportunityId"


def test_an_ignored_event_replayed_after_mapping_its_type_is_delivered(
    client: FlaskClient, services: Services, sandbox: SandboxServer, tmp_path: Path, database_url: str
) -> None:
    """payment.authorized is ignored; once the configuration maps it, a replay queues and delivers it."""
    post(client, 1, "opp-1", event="payment.authorized")
    run_worker_until(services, settled(services))
    [event] = event_rows(services)
    assert event.status == "ignored"
    fixed = make_services(tmp_path, database_url, sandbox, FIXED_CONFIG)
    result = replay_event(fixed, event.id, OPERATOR, time.time())
    assert (result.action, result.matched, result.changed) == ("replay", 1, 1)
    assert "1 queued new" in result.detail
    [event] = event_rows(services)
    assert (event.status, event.reason) == ("transformed", None)
    run_worker_until(fixed, settled(fixed))
    [activity] = sandbox_received(sandbox.url)["activities"]
    assert activity["row"]["ActivityEvent"] == 203
    [entry] = audit_rows(services)
    assert (entry.actor, entry.address, entry.action, entry.target, entry.rows) == (
        "cli:asha",
        "10.0.0.7",
        "replay",
        str(event.id),
        1,
    )


def test_a_replay_without_a_fix_stays_ignored_with_the_same_reason(
    client: FlaskClient, services: Services
) -> None:
    """Replaying an event nobody mapped yet changes nothing but the audit log."""
    post(client, 1, "opp-1", event="payment.authorized")
    run_worker_until(services, settled(services))
    [before] = event_rows(services)
    result = replay_event(services, before.id, OPERATOR, time.time())
    [after] = event_rows(services)
    assert (after.status, after.reason) == ("ignored", before.reason)
    assert (result.matched, result.changed) == (0, 0)
    assert result.detail == f"event {before.id} is ignored: {before.reason}"
    assert activity_rows(services) == []
    assert [entry.action for entry in audit_rows(services)] == ["replay"]


def test_replaying_a_delivered_event_changes_nothing_and_posts_nothing(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """A delivered activity is never posted again, however often its event is replayed."""
    post(client, 1, "opp-1")
    run_worker_until(services, settled(services))
    [before] = activity_rows(services)
    for _ in range(3):
        result = replay_event(services, before.event_id, OPERATOR, time.time())
        assert (result.matched, result.changed) == (1, 0)
        assert "1 left as they were" in result.detail
    run_worker_for(services, 0.5)
    assert activity_rows(services) == [before]
    assert len(sandbox_received(sandbox.url)["calls"]) == 1


def test_a_replay_gives_a_dead_activity_the_fixed_request_and_delivers_it(
    client: FlaskClient, services: Services, sandbox: SandboxServer, tmp_path: Path, database_url: str
) -> None:
    """A row LeadSquared refused takes the replayed mapping, due now with no attempts, and is delivered."""
    add_fault(sandbox.url, path=BULK, fail_rows=[1], message="Invalid dropdown value")
    post(client, 1, "opp-1")
    run_worker_until(services, settled(services))
    [dead] = activity_rows(services)
    assert (dead.status, dead.attempts) == ("dead", 1)
    fixed_text = TEST_CONFIG.replace('mx_Custom_3 = "method"\n', "")
    fixed = make_services(tmp_path, database_url, sandbox, fixed_text)
    result = replay_event(fixed, dead.event_id, OPERATOR, time.time())
    assert (result.matched, result.changed) == (1, 1) and "1 queued again" in result.detail
    [queued] = activity_rows(services)
    assert (queued.id, queued.status, queued.attempts, queued.last_error) == (dead.id, "pending", 0, None)
    run_worker_until(fixed, settled(fixed))
    [activity] = sandbox_received(sandbox.url)["activities"]
    assert "mx_Custom_3" not in {f["SchemaName"] for f in activity["row"]["Fields"]}
    assert [row.status for row in activity_rows(services)] == ["delivered"]


def test_an_event_not_yet_transformed_or_unknown_is_refused(client: FlaskClient, services: Services) -> None:
    """A received event is 409 (a worker will transform it), an unknown id 404; neither is audited."""
    post(client, 1, "opp-1")
    [event] = event_rows(services)
    with pytest.raises(OperateError, match="not transformed yet") as refused:
        replay_event(services, event.id, OPERATOR, time.time())
    assert refused.value.status == 409
    with pytest.raises(OperateError, match="no event 999") as missing:
        replay_event(services, 999, OPERATOR, time.time())
    assert missing.value.status == 404
    assert audit_rows(services) == []


def test_a_failed_replay_keeps_the_payloads_values_out_of_the_audit_log(
    client: FlaskClient, services: Services
) -> None:
    """A reason that quotes the payload stays on the event; the audit entry says only that it failed."""
    event = payment_event("pay_1", "opp-1")
    event["payload"]["payment"]["entity"]["notes"] = {"opportunity_id": {"email": "lead@example.com"}}
    body = body_of(event)
    assert (
        client.post("/webhooks/razorpay", data=body, headers=razorpay_headers(body, "e1")).status_code == 202
    )
    run_worker_until(services, settled(services))
    [stored] = event_rows(services)
    # The reason is stored masked (tables.OperatorText); the audit entry does not carry it at all.
    assert stored.status == "failed" and "l***@example.com" in stored.reason
    result = replay_event(services, stored.id, OPERATOR, time.time())
    [entry] = audit_rows(services)
    assert "failed to map again" in entry.detail
    assert "lead@example.com" not in entry.detail and "lead@example.com" not in result.detail


def test_a_dead_activity_retried_is_delivered(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """A refused row retried is due now with no attempts, then delivered; the retry is audited."""
    add_fault(sandbox.url, path=BULK, fail_rows=[1], message="Invalid dropdown value")
    post(client, 1, "opp-1")
    run_worker_until(services, settled(services))
    [dead] = activity_rows(services)
    assert dead.status == "dead"
    result = retry_activity(services.engine, dead.id, OPERATOR, time.time())
    assert (result.action, result.changed) == ("retry", 1)
    [queued] = activity_rows(services)
    assert (queued.status, queued.attempts) == ("pending", 0)
    run_worker_until(services, settled(services))
    assert [row.status for row in activity_rows(services)] == ["delivered"]
    assert keys_received(sandbox_received(sandbox.url)) == {dead.activity_key: 1}
    assert [(e.action, e.target, e.rows) for e in audit_rows(services)] == [("retry", str(dead.id), 1)]


def test_retry_and_resolve_refuse_the_wrong_state_and_unknown_ids(
    client: FlaskClient, services: Services
) -> None:
    """A delivered row cannot be retried or resolved (409, naming its status); a missing id is 404."""
    post(client, 1, "opp-1")
    run_worker_until(services, settled(services))
    [row] = activity_rows(services)
    with pytest.raises(OperateError, match="it is delivered, not dead") as refused:
        retry_activity(services.engine, row.id, OPERATOR, time.time())
    assert refused.value.status == 409
    with pytest.raises(OperateError, match="it is delivered, not unknown") as refused:
        resolve_activity(services.engine, row.id, "delivered", OPERATOR, time.time())
    assert refused.value.status == 409
    with pytest.raises(OperateError, match="no activity 999") as missing:
        retry_activity(services.engine, 999, OPERATOR, time.time())
    assert missing.value.status == 404
    with pytest.raises(OperateError, match="no activity 999") as missing:
        resolve_activity(services.engine, 999, "repost", OPERATOR, time.time())
    assert missing.value.status == 404
    assert audit_rows(services) == [] and [r.status for r in activity_rows(services)] == ["delivered"]


def test_unknown_activities_are_resolved_by_hand_both_ways(
    sandbox: SandboxServer, tmp_path: Path, database_url: str
) -> None:
    """Without a key field unknown rows wait for an operator: one is settled as delivered, one reposted."""
    without_key_field = TEST_CONFIG.replace('key_field = "mx_Custom_10"\n', "")
    services = make_services(tmp_path, database_url, sandbox, without_key_field)
    client = create_app(services).test_client()
    add_fault(sandbox.url, path=BULK, omit_rows=[1, 2])
    post(client, 1, "opp-1")
    post(client, 2, "opp-1")
    run_worker_until(services, lambda: [r.status for r in activity_rows(services)] == ["unknown"] * 2)
    first, second = activity_rows(services)
    now = time.time()
    settled_result = resolve_activity(services.engine, first.id, "delivered", OPERATOR, now)
    # The sandbox did store both rows: a repost takes the operator's word, so this one goes twice,
    # which is why only an operator may say it and only of an unknown row.
    reposted = resolve_activity(services.engine, second.id, "repost", OPERATOR, now)
    assert (settled_result.changed, reposted.changed) == (1, 1)
    first, second = activity_rows(services)
    assert (first.status, first.delivered_at, first.last_error) == ("delivered", now, SETTLED_BY_OPERATOR)
    assert (second.status, second.attempts, second.next_attempt_at) == ("pending", 0, now)
    with pytest.raises(OperateError, match="it is pending, not unknown"):
        resolve_activity(services.engine, second.id, "delivered", OPERATOR, now)
    run_worker_until(services, settled(services))
    assert [row.status for row in activity_rows(services)] == ["delivered", "delivered"]
    assert len(sandbox_received(sandbox.url)["activities"]) == 3
    assert [(e.action, e.target) for e in audit_rows(services)] == [
        ("resolve", str(first.id)),
        ("resolve", str(second.id)),
    ]


def test_a_paused_account_holds_its_deliveries_and_a_resume_drains_them(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """While an operator's pause holds nothing is claimed or dropped; a resume delivers every row."""
    result = pause(services, "main", OPERATOR, time.time())
    assert (result.action, result.changed, result.detail) == ("pause", 1, "main paused")
    assert pause(services, "main", OPERATOR, time.time()).changed == 0
    for number in range(5):
        post(client, number, f"opp-{number % 2}")
    run_worker_for(services, 1.0)
    assert [(row.status, row.attempts) for row in activity_rows(services)] == [("pending", 0)] * 5
    assert sandbox_received(sandbox.url)["calls"] == []
    assert resume(services, "main", OPERATOR, time.time()).changed == 1
    run_worker_until(services, settled(services))
    assert [row.status for row in activity_rows(services)] == ["delivered"] * 5
    assert len(sandbox_received(sandbox.url)["calls"]) == 2
    assert resume(services, "main", OPERATOR, time.time()).detail == "main was not paused"
    assert [(e.action, e.target) for e in audit_rows(services)] == [("pause", "main")] * 2 + [
        ("resume", "main")
    ] * 2


def test_an_account_not_in_the_configuration_is_404(services: Services) -> None:
    """Pausing or resuming an unknown account is refused and writes nothing."""
    for action in (pause, resume):
        with pytest.raises(OperateError, match="no account 'other'") as refused:
            action(services, "other", OPERATOR, time.time())
        assert refused.value.status == 404
    assert audit_rows(services) == []
    with services.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(activities)).scalar_one() == 0
