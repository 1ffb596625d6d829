"""A KYC delivery carrying a whole Aadhaar number: stored, transformed and posted with the last four only."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from bridge import create_app
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import TEST_CONFIG, make_services
from tests.support import (
    body_of,
    event_rows,
    payment_event,
    razorpay_headers,
    run_worker_until,
    sandbox_received,
    settled,
)
from transforms import digio

SECRET = "digio-secret-5c1e9a7b3d2f"
AADHAAR = "2341 2341 2346"  # valid: its Verhoeff check digit holds (python-stdnum's example)
# The example's Digio source, with one more field: the payload's Aadhaar number, as a mapping might take it.
KYC_CONFIG = (
    TEST_CONFIG
    + """
[sources.digio]
kind = "digio"
account = "main"
secret_env = "DIGIO_WEBHOOK_SECRET"
opportunity_id_path = "payload.KYC_REQUEST.reference_id"
owner_email = "kyc@example.com"

[sources.digio.events."KYC_REQUEST_APPROVED"]
activity_event = 241
note = "Digio KYC request {kyc_request_id} approved"
[sources.digio.events."KYC_REQUEST_APPROVED".fields]
mx_Custom_1 = "kyc_request_id"
mx_Custom_2 = { path = "payload.KYC_REQUEST.aadhaar_number" }
"""
)


def kyc_approved(request_id: str) -> bytes:
    """A Digio KYC_REQUEST_APPROVED delivery whose request carries a whole Aadhaar number twice."""
    return body_of(
        {
            "id": f"WHN{request_id}",
            "event": "KYC_REQUEST_APPROVED",
            "entities": ["KYC_REQUEST"],
            "payload": {
                "KYC_REQUEST": {
                    "id": request_id,
                    "status": "approved",
                    "reference_id": "opp-kyc",
                    "aadhaar_number": AADHAAR,
                    "remarks": f"verified against {AADHAAR.replace(' ', '')}",
                    "created_at": "2025-11-27T10:22:33+05:30",
                }
            },
            "created_at": "2025-11-27T10:30:00+05:30",
        }
    )


def digio_headers(body: bytes) -> dict[str, str]:
    """Return the headers of a signed Digio delivery."""
    return {"Content-Type": "application/json", **digio.SOURCE.signature.sign(body, SECRET, 0.0)}


def kyc_services(tmp_path: Path, database_url: str, sandbox: SandboxServer) -> Services:
    """Services running the KYC configuration, with Digio's secret set."""
    return make_services(tmp_path, database_url, sandbox, KYC_CONFIG, DIGIO_WEBHOOK_SECRET=SECRET)


def test_the_number_is_masked_before_storing_and_leadsquared_gets_the_last_four(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """The stored body holds no whole number; a redelivery is a duplicate; the sandbox gets XXXX XXXX 2346."""
    services = kyc_services(tmp_path, database_url, sandbox)
    client = create_app(services).test_client()
    body = kyc_approved("KID-A1")
    assert client.post("/webhooks/digio", data=body, headers=digio_headers(body)).status_code == 202
    assert client.post("/webhooks/digio", data=body, headers=digio_headers(body)).status_code == 200
    [event] = event_rows(services)
    stored = bytes(event.body)
    assert b"23412341" not in stored and b"2341 2341" not in stored
    request = json.loads(stored)["payload"]["KYC_REQUEST"]
    assert request["aadhaar_number"] == "XXXX XXXX 2346"
    assert request["remarks"] == "verified against XXXXXXXX2346"

    run_worker_until(services, settled(services))
    [activity] = sandbox_received(sandbox.url)["activities"]
    fields = {field["SchemaName"]: field["Value"] for field in activity["row"]["Fields"]}
    assert (activity["opportunity_id"], fields["mx_Custom_2"]) == ("opp-kyc", "XXXX XXXX 2346")


def test_a_source_may_keep_the_body_as_it_came_and_payments_are_never_touched(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """redact_aadhaar = false stores Digio's body byte for byte; a payment's RRN is no Aadhaar number."""
    services = kyc_services(tmp_path, database_url, sandbox)
    digio_source = replace(services.settings.sources["digio"], redact_aadhaar=False)
    settings = replace(services.settings, sources={**services.settings.sources, "digio": digio_source})
    keeping = Services(settings, services.engine, services.registry)
    client = create_app(keeping).test_client()
    body = kyc_approved("KID-B1")
    assert client.post("/webhooks/digio", data=body, headers=digio_headers(body)).status_code == 202
    event = payment_event("pay_RRN1", "opp-rrn")
    event["payload"]["payment"]["entity"]["acquirer_data"] = {"rrn": AADHAAR.replace(" ", "")}
    payment = body_of(event)
    answer = client.post("/webhooks/razorpay", data=payment, headers=razorpay_headers(payment, "evt_RRN1"))
    assert answer.status_code == 202
    with services.engine.connect() as connection:
        stored = {row.source: bytes(row.body) for row in connection.execute(sa.select(events))}
    assert stored == {"digio": body, "razorpay": payment}
