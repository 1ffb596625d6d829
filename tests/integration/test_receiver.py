"""The webhook endpoint: every answer it gives, in the order it checks."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from bridge import create_app
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import TEST_CONFIG, make_services
from tests.support import (
    RAZORPAY_SECRET,
    body_of,
    count,
    event_rows,
    payment_event,
    post_payment,
    razorpay_headers,
)

URL = "/webhooks/razorpay"


def json_of(answer: TestResponse) -> dict[str, Any]:
    """Return an answer's JSON object."""
    body = answer.get_json()
    assert isinstance(body, dict), answer.data
    return body


def test_signed_delivery_is_accepted_and_stored_byte_for_byte(
    client: FlaskClient, services: Services
) -> None:
    """A signed delivery is acked 202 with its event id and its raw bytes are stored."""
    body = body_of(payment_event("pay_A1", "opp-1")) + b"\n"
    answer = client.post(URL, data=body, headers=razorpay_headers(body, "evt_A1"))
    assert answer.status_code == 202
    assert answer.json == {"status": "accepted", "event_id": 1}
    [row] = event_rows(services)
    assert (row.source, row.idempotency_key, row.event_type, row.status) == (
        "razorpay",
        "evt_A1",
        "payment.captured",
        "received",
    )
    assert row.body == body


def test_redelivery_is_a_duplicate_stored_nowhere_new(client: FlaskClient, services: Services) -> None:
    """The same event id again answers 200 duplicate with the first event's id."""
    body = body_of(payment_event("pay_A2", "opp-1"))
    first = client.post(URL, data=body, headers=razorpay_headers(body, "evt_A2"))
    again = client.post(URL, data=body, headers=razorpay_headers(body, "evt_A2"))
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json == {"status": "duplicate", "event_id": json_of(first)["event_id"]}
    assert count(services, events) == 1


def test_without_event_id_the_body_hash_is_the_key(client: FlaskClient, services: Services) -> None:
    """With no x-razorpay-event-id, identical bodies are one event and different ones two."""
    body = body_of(payment_event("pay_A3", "opp-1"))
    other = body_of(payment_event("pay_A4", "opp-1"))
    assert client.post(URL, data=body, headers=razorpay_headers(body, None)).status_code == 202
    assert client.post(URL, data=body, headers=razorpay_headers(body, None)).status_code == 200
    assert client.post(URL, data=other, headers=razorpay_headers(other, None)).status_code == 202
    keys = [row.idempotency_key for row in event_rows(services)]
    assert len(keys) == 2 and all(key.startswith("sha256:") for key in keys)


def test_unknown_source_is_404(client: FlaskClient) -> None:
    """A source nobody configured answers 404 naming it."""
    answer = client.post("/webhooks/stripe", data=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 404
    assert json_of(answer)["error"] == "unknown_source"
    assert "stripe" in json_of(answer)["message"]


def test_disabled_source_is_404(tmp_path: Path, database_url: str) -> None:
    """A source switched off in the configuration answers like an unknown one."""
    config = TEST_CONFIG.replace('kind = "razorpay"', 'kind = "razorpay"\nenabled = false')
    app = create_app(make_services(tmp_path, database_url, None, config))
    body = body_of(payment_event("pay_A5", "opp-1"))
    answer = app.test_client().post(URL, data=body, headers=razorpay_headers(body, "evt_A5"))
    assert answer.status_code == 404


def test_oversized_body_is_413_before_anything_else(client: FlaskClient, services: Services) -> None:
    """A body over the configured cap is refused with 413 and not stored."""
    body = b'{"pad": "' + b"x" * 70_000 + b'"}'
    answer = client.post(URL, data=body, headers=razorpay_headers(body, "evt_big"))
    assert answer.status_code == 413
    assert "65536" in json_of(answer)["message"]
    assert count(services, events) == 0


def test_oversized_chunked_body_is_413(client: FlaskClient, services: Services) -> None:
    """A body without Content-Length is still cut off at the cap."""
    body = b'{"pad": "' + b"x" * 70_000 + b'"}'
    headers = razorpay_headers(body, "evt_chunked")
    answer = client.post(URL, input_stream=io.BytesIO(body), headers=headers)
    assert answer.status_code == 413
    assert count(services, events) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client: FlaskClient, services: Services, content_type: str | None) -> None:
    """Razorpay sends JSON; anything else is refused with 415 saying what to send."""
    body = body_of(payment_event("pay_A6", "opp-1"))
    headers = razorpay_headers(body, "evt_A6")
    del headers["Content-Type"]
    if content_type:
        headers["Content-Type"] = content_type
    answer = client.post(URL, data=body, headers=headers)
    assert answer.status_code == 415
    assert "application/json" in json_of(answer)["message"]
    assert count(services, events) == 0


def test_json_with_charset_is_accepted(client: FlaskClient) -> None:
    """application/json; charset=utf-8 is JSON too."""
    body = body_of(payment_event("pay_A7", "opp-1"))
    headers = {**razorpay_headers(body, "evt_A7"), "Content-Type": "application/json; charset=utf-8"}
    assert client.post(URL, data=body, headers=headers).status_code == 202


def test_missing_signature_is_401(client: FlaskClient, services: Services) -> None:
    """No signature header answers 401 missing_signature and stores nothing."""
    body = body_of(payment_event("pay_B1", "opp-1"))
    answer = client.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 401
    assert json_of(answer)["error"] == "missing_signature"
    assert count(services, events) == 0


def test_wrong_signature_is_401_and_never_shows_the_expected_one(
    client: FlaskClient, services: Services
) -> None:
    """A signature under another secret answers 401 without echoing secret or signature."""
    body = body_of(payment_event("pay_B2", "opp-1"))
    answer = client.post(URL, data=body, headers=razorpay_headers(body, "evt_B2", secret="not-the-secret"))
    assert answer.status_code == 401
    assert json_of(answer)["error"] == "bad_signature"
    good = razorpay_headers(body, "evt_B2")["X-Razorpay-Signature"]
    assert good not in answer.get_data(as_text=True)
    assert RAZORPAY_SECRET not in answer.get_data(as_text=True)
    assert count(services, events) == 0


def test_a_tampered_body_is_401(client: FlaskClient) -> None:
    """Changing one byte after signing breaks the signature."""
    body = body_of(payment_event("pay_B3", "opp-1"))
    headers = razorpay_headers(body, "evt_B3")
    answer = client.post(URL, data=body.replace(b"150000", b"150001"), headers=headers)
    assert answer.status_code == 401


def test_previous_secret_is_accepted_during_rotation(tmp_path: Path, database_url: str) -> None:
    """A delivery signed with the previous secret passes while it is configured."""
    services = make_services(tmp_path, database_url, None, RAZORPAY_WEBHOOK_SECRET_PREVIOUS="old-secret")
    client = create_app(services).test_client()
    body = body_of(payment_event("pay_B4", "opp-1"))
    assert (
        client.post(URL, data=body, headers=razorpay_headers(body, "evt_B4", "old-secret")).status_code == 202
    )
    body = body_of(payment_event("pay_B5", "opp-1"))
    assert client.post(URL, data=body, headers=razorpay_headers(body, "evt_B5")).status_code == 202
    body = body_of(payment_event("pay_B6", "opp-1"))
    assert client.post(URL, data=body, headers=razorpay_headers(body, "evt_B6", "older")).status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe{}", b"[1, 2]", b'"text"'])
def test_signed_but_unparsable_body_is_400(client: FlaskClient, services: Services, body: bytes) -> None:
    """A correctly signed body that is not a JSON object answers 400 and is not stored."""
    answer = client.post(URL, data=body, headers=razorpay_headers(body, "evt_C1"))
    assert answer.status_code == 400
    assert json_of(answer)["error"] == "bad_json"
    assert count(services, events) == 0


def test_an_unmapped_or_unmappable_event_is_still_acked(client: FlaskClient, services: Services) -> None:
    """The receiver acks events it will ignore or fail later: Razorpay must not retry our problem."""
    for event_id, event in [
        ("evt_D1", {**payment_event("pay_D1", "opp-1"), "event": "payment.dispute.created"}),
        ("evt_D2", payment_event("pay_D2", None)),
    ]:
        body = body_of(event)
        assert client.post(URL, data=body, headers=razorpay_headers(body, event_id)).status_code == 202
    assert count(services, events) == 2


def test_concurrent_duplicates_over_http_store_one_event(services: Services) -> None:
    """Twenty threads posting the same event at once: exactly one 202, the rest duplicates."""
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}{URL}"
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def post() -> None:
        barrier.wait()
        statuses.append(post_payment(url, "pay_E1", "opp-1", "evt_E1").status_code)

    posters = [threading.Thread(target=post) for _ in range(20)]
    for poster in posters:
        poster.start()
    for poster in posters:
        poster.join()
    server.shutdown()
    assert sorted(statuses) == [200] * 19 + [202]
    assert count(services, events) == 1


def test_health_and_readiness(client: FlaskClient) -> None:
    """/healthz answers without the store, /readyz checks it."""
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_error_bodies_are_json_one_liners(client: FlaskClient) -> None:
    """Every refusal is a JSON object whose message is one line."""
    answer = client.post(URL, data=b"x", headers={"Content-Type": "application/json"})
    assert answer.status_code == 401
    assert set(json.loads(answer.data)) == {"status", "error", "message"}
    assert "\n" not in json_of(answer)["message"]


def test_other_http_errors_are_json_too(client: FlaskClient) -> None:
    """A wrong method or path answers JSON saying what is wrong, not an HTML page."""
    wrong_method = client.get(URL)
    assert wrong_method.status_code == 405
    assert json_of(wrong_method)["error"] == "method_not_allowed"
    nowhere = client.post("/hooks/razorpay")
    assert nowhere.status_code == 404
    assert json_of(nowhere)["status"] == "rejected"


def test_a_store_failure_is_a_500_so_the_provider_retries(client: FlaskClient, services: Services) -> None:
    """When the database cannot take the event, the answer is 500 and says nothing was stored."""
    with services.engine.begin() as connection:
        for table in ("lsq_call_activities", "event_duplicates", "identifier_hashes", "activities", "events"):
            connection.execute(sa.text(f"DROP TABLE {table}"))
    body = body_of(payment_event("pay_F1", "opp-1"))
    answer = client.post(URL, data=body, headers=razorpay_headers(body, "evt_F1"))
    assert answer.status_code == 500
    assert "stored nothing" in json_of(answer)["message"]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_connection_the_server_dropped_costs_no_delivery(
    client: FlaskClient, services: Services, database_url: str
) -> None:
    """After PostgreSQL drops the pooled connections, the next delivery is still accepted."""
    body = body_of(payment_event("pay_G1", "opp-1"))
    assert client.post(URL, data=body, headers=razorpay_headers(body, "evt_G1")).status_code == 202
    outsider = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with outsider.connect() as connection:
        dropped = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    outsider.dispose()
    assert dropped >= 1
    body = body_of(payment_event("pay_G2", "opp-1"))
    assert client.post(URL, data=body, headers=razorpay_headers(body, "evt_G2")).status_code == 202
    assert count(services, events) == 2
