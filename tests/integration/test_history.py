"""What the store keeps for an operator: every LeadSquared call, repeats, refusals, headers, pauses."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.sources.headers import MASKED
from bridge.store.accounts import accounts_due_for_probe, pause_account, resume_account
from bridge.store.inbox import Inbox, mark_event
from bridge.store.tables import (
    MAX_OPERATOR_TEXT,
    EventStatus,
    PausedBy,
    account_state,
    event_duplicates,
    events,
    intake_refusals,
    lsq_call_activities,
    lsq_calls,
)
from tests.support import (
    RAZORPAY_SECRET,
    activity_rows,
    add_fault,
    body_of,
    event_rows,
    payment_event,
    razorpay_headers,
    run_worker_until,
    settled,
)

URL = "/webhooks/razorpay"


def rows_of(services: Services, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    """Return every row of a table in primary-key order."""
    with services.engine.connect() as connection:
        return list(connection.execute(sa.select(table).order_by(*table.primary_key.columns)))


def test_each_delivery_call_is_kept_with_its_rows_answers(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """A delivered batch leaves one call: its status, outcome, rows and each row's ProspectActivityId."""
    for number in range(3):
        body = body_of(payment_event(f"pay_H{number}", "opp-h"))
        assert (
            client.post(URL, data=body, headers=razorpay_headers(body, f"evt_H{number}")).status_code == 202
        )
    run_worker_until(services, settled(services))
    [call] = rows_of(services, lsq_calls)
    assert (call.account, call.kind, call.opportunity_id) == ("main", "delivery", "opp-h")
    assert (call.http_status, call.outcome, call.reaction, call.rows) == (200, "posted", "settle", 3)
    assert call.duration_seconds > 0 and call.waited_seconds >= 0
    delivered = {row.id: row.prospect_activity_id for row in activity_rows(services)}
    kept = {row.activity_id: row.result for row in rows_of(services, lsq_call_activities)}
    assert kept == delivered


def test_a_refused_row_and_a_401_are_kept_with_leadsquareds_words(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """A 401 is kept with its status and reaction; the row LeadSquared refused keeps its message."""
    add_fault(sandbox.url, path="ByOpportunityId", status=401, times=1)
    add_fault(sandbox.url, path="ByOpportunityId", fail_rows=[1], message="Invalid dropdown value")
    body = body_of(payment_event("pay_R1", "opp-r"))
    assert client.post(URL, data=body, headers=razorpay_headers(body, "evt_R1")).status_code == 202
    run_worker_until(services, settled(services))
    calls = rows_of(services, lsq_calls)
    assert [(c.kind, c.http_status, c.outcome, c.reaction) for c in calls] == [
        ("delivery", 401, "unauthorized", "pause"),
        ("probe", 200, "found", "settle"),
        ("delivery", 200, "posted", "settle"),
    ]
    results = [row.result for row in rows_of(services, lsq_call_activities)]
    assert results == [None, "Invalid dropdown value"]


def test_a_refused_rows_message_is_kept_with_the_values_it_quotes_masked(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """LeadSquared may quote the value it refused: the row's answer is stored masked, like every message.

    Stored in clear it would outlive the payload's erasure in the call history.
    """
    quoted = "Invalid value 'asha.rao@example.com' / +91 98765 43210 for mx_Custom_2"
    add_fault(sandbox.url, path="ByOpportunityId", fail_rows=[1], message=quoted)
    body = body_of(payment_event("pay_Q1", "opp-q"))
    assert client.post(URL, data=body, headers=razorpay_headers(body, "evt_Q1")).status_code == 202
    run_worker_until(services, settled(services))
    [row] = rows_of(services, lsq_call_activities)
    assert row.result == "Invalid value 'a***@example.com' / ***********3210 for mx_Custom_2"


def test_a_redelivery_is_recorded_with_its_time_and_headers_are_kept_masked(
    client: FlaskClient, services: Services
) -> None:
    """The event keeps its headers with the signature masked; each repeat is a row of its own."""
    body = body_of(payment_event("pay_D1", "opp-d"))
    headers = razorpay_headers(body, "evt_D1")
    assert client.post(URL, data=body, headers=headers).status_code == 202
    before = time.time()
    for _ in range(2):
        assert client.post(URL, data=body, headers=headers).status_code == 200
    [event] = event_rows(services)
    stored = {name.lower(): value for name, value in event.headers.items()}
    assert stored["x-razorpay-signature"] == MASKED
    assert stored["x-razorpay-event-id"] == "evt_D1"
    assert RAZORPAY_SECRET not in str(event.headers)
    repeats = rows_of(services, event_duplicates)
    assert [(r.event_id, r.source) for r in repeats] == [(event.id, "razorpay")] * 2
    assert all(r.received_at >= before for r in repeats)


def test_refusals_are_counted_per_minute_and_reason_and_unknown_sources_not_at_all(
    client: FlaskClient, services: Services
) -> None:
    """Three forged signatures and a bad body make two counts; a post to no source makes none."""
    body = body_of(payment_event("pay_X1", "opp-x"))
    for _ in range(3):
        forged = razorpay_headers(body, "evt_X1", secret="not-the-secret")
        assert client.post(URL, data=body, headers=forged).status_code == 401
    bad = b"{not json"
    assert client.post(URL, data=bad, headers=razorpay_headers(bad, "evt_X2")).status_code == 400
    assert client.post("/webhooks/nobody", data=body, headers=razorpay_headers(body, "e")).status_code == 404
    counted = {(row.source, row.error): row._mapping["count"] for row in rows_of(services, intake_refusals)}
    assert counted == {("razorpay", "bad_signature"): 3, ("razorpay", "bad_json"): 1}
    assert all(row.minute % 60 == 0 for row in rows_of(services, intake_refusals))


def test_an_operators_pause_outlasts_probes_and_401s_until_an_operator_resumes(services: Services) -> None:
    """A probe never lifts an operator's pause, and a 401 meanwhile does not turn it into LeadSquared's."""
    engine = services.engine
    assert pause_account(engine, "main", "paused by an operator", 0, by=PausedBy.OPERATOR)
    assert not pause_account(engine, "main", "LeadSquared answered 401", 0)
    assert accounts_due_for_probe(engine) == []
    assert not resume_account(engine, "main")  # as a successful probe would
    [state] = rows_of(services, account_state)
    assert (state.paused, state.paused_by, state.paused_reason) == (True, "operator", "paused by an operator")
    assert state.paused_at is not None
    assert resume_account(engine, "main", operator=True)
    [state] = rows_of(services, account_state)
    assert (state.paused, state.paused_by, state.paused_at) == (False, None, None)


def test_leadsquareds_pause_is_probed_and_keeps_the_time_it_began(services: Services) -> None:
    """A second 401 keeps the first one's time; the account is due for a probe; a probe lifts it."""
    engine = services.engine
    assert pause_account(engine, "main", "LeadSquared answered 401", 0)
    [first] = rows_of(services, account_state)
    time.sleep(0.01)
    assert pause_account(engine, "main", "LeadSquared answered 401 again", 0)
    [second] = rows_of(services, account_state)
    assert second.paused_at == first.paused_at and second.paused_by == "leadsquared"
    assert accounts_due_for_probe(engine) == ["main"]
    assert resume_account(engine, "main")


def test_a_reason_is_stored_masked_and_cut_so_it_can_be_shown_linked_and_indexed(services: Services) -> None:
    """An email, phone and PAN in a reason never reach the store; a long reason is cut to the limit."""
    event = Inbox(services.engine).insert("razorpay", "evt_M1", None, b"{}", time.time())
    reason = "no opportunity id: notes holds 'lead@example.com' +919800000001 ABCDE1234F " + "x" * 900
    with services.engine.begin() as connection:
        mark_event(connection, event.event_id, EventStatus.FAILED, reason)
        stored = connection.execute(sa.select(events.c.reason)).scalar_one()
        exact = connection.execute(sa.select(sa.func.count()).where(events.c.reason == reason)).scalar_one()
    assert "lead@example.com" not in stored and "l***@example.com" in stored
    assert "9800000001" not in stored and "ABCDE1234F" not in stored
    assert len(stored) == MAX_OPERATOR_TEXT
    assert exact == 1  # a filter on the reason as given is masked and cut alike
