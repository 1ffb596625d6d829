"""A call event from webhook to the sandbox: Exotel's callback carries a phone, the worker looks it up."""

from __future__ import annotations

from pathlib import Path

from bridge import create_app
from bridge.sandbox import SandboxServer
from tests.conftest import ROOT, TEST_CONFIG, make_services
from tests.integration.test_lookup import BULK, BY_FIELD, calls, seed_lead
from tests.support import activity_rows, event_rows, run_worker_until, sandbox_received, settled

TOKEN = "exotel-token-3e8b1d6f0a4c9e27b5d1"
SAMPLE = ROOT / "transforms" / "samples" / "exotel" / "completed.form"
# The customer's number in the sample's To field, as Exotel writes it.
CUSTOMER_PHONE = "09800000001"
CALL_SID = "a3f5c2e81d9b47f6b0e2c4d8f1a7b3c9"

# The example's Exotel source (bridge.example.toml), switched on: the opportunity is looked up by To.
CALL_CONFIG = (
    TEST_CONFIG
    + """
[sources.exotel]
kind = "exotel"
account = "main"
secret_env = "EXOTEL_WEBHOOK_SECRET"
scheme = { token_in = "path", body = "form" }
owner_email = "calls@example.com"
opportunity_lookup = { lead_field = "Phone", path = "To", opportunity_type = 12002, wait_seconds = 30 }

[sources.exotel.events."completed"]
activity_event = 401
note = "Exotel call {call_sid} to {to_number} completed"
[sources.exotel.events."completed".fields]
mx_Custom_1 = "call_sid"
mx_Custom_2 = "status"
mx_Custom_3 = "started_at"
mx_Custom_6 = "to_number"
"""
)


def test_a_call_event_is_delivered_to_the_opportunity_of_the_callers_lead(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """Posted to /webhooks/exotel/<token>, the call is looked up by its To number and delivered there."""
    seed_lead(sandbox.url, phone="09800000099", opportunities=[{"id": "opp-someone-else", "type": 12002}])
    seed_lead(
        sandbox.url,
        phone=CUSTOMER_PHONE,
        opportunities=[
            {"id": "opp-call-old", "type": 12002, "created_on": "2026-01-01 10:00:00"},
            {"id": "opp-call", "type": 12002, "created_on": "2026-06-01 10:00:00"},
        ],
    )
    services = make_services(tmp_path, database_url, sandbox, CALL_CONFIG, EXOTEL_WEBHOOK_SECRET=TOKEN)
    client = create_app(services).test_client()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = client.post(f"/webhooks/exotel/{TOKEN}", data=SAMPLE.read_bytes(), headers=form)
    assert answer.status_code == 202, answer.json
    [event] = event_rows(services)
    assert (event.event_type, event.idempotency_key) == ("completed", f"{CALL_SID}:completed:terminal")

    run_worker_until(services, settled(services))

    assert calls(sandbox.url) == [(BY_FIELD, 200), (BULK, 200)]
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id) == ("delivered", "opp-call")
    [activity] = sandbox_received(sandbox.url)["activities"]
    assert activity["opportunity_id"] == "opp-call"
    sent = activity["row"]
    assert sent["ActivityEvent"] == 401
    assert sent["ActivityNote"] == f"Exotel call {CALL_SID} to {CUSTOMER_PHONE} completed"
    fields = {field["SchemaName"]: field["Value"] for field in sent["Fields"]}
    assert fields == {
        "mx_Custom_1": CALL_SID,
        "mx_Custom_2": "completed",
        "mx_Custom_3": "2026-11-27 05:28:13",
        "mx_Custom_6": CUSTOMER_PHONE,
        "mx_Custom_10": f"exotel:{event.idempotency_key}:0",
    }


def test_a_call_finds_a_lead_that_holds_the_phone_in_another_form_through_phone_format(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """Exotel writes 09800000001; the lead holds +91-9800000001: phone_format = "dashed" finds it."""
    seed_lead(sandbox.url, phone="+91-9800000001", opportunities=[{"id": "opp-dashed", "type": 12002}])
    config = CALL_CONFIG.replace("wait_seconds = 30 }", 'wait_seconds = 30, phone_format = "dashed" }')
    services = make_services(tmp_path, database_url, sandbox, config, EXOTEL_WEBHOOK_SECRET=TOKEN)
    client = create_app(services).test_client()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post(f"/webhooks/exotel/{TOKEN}", data=SAMPLE.read_bytes(), headers=form).status_code == 202
    run_worker_until(services, settled(services))
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id) == ("delivered", "opp-dashed")
    [activity] = sandbox_received(sandbox.url)["activities"]
    assert activity["opportunity_id"] == "opp-dashed"
