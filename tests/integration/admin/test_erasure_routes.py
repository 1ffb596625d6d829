"""Erasure from the console (form, confirmation, CSRF) and the API (documented, Bearer token)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.services import Services
from bridge.store.audit import latest_entries
from bridge.store.tables import events
from tests.integration.admin.conftest import csrf_token
from tests.integration.admin.documented import DocumentedApi
from tests.integration.admin.scenario import EMAIL, PAN, PHONE, History


def erased(services: Services) -> int:
    """Count the events whose payload was erased."""
    with services.engine.connect() as connection:
        query = sa.select(sa.func.count()).where(events.c.payload_erased_at.is_not(None))
        return int(connection.execute(query).scalar_one())


@pytest.fixture
def admin_services(services: Services, history: History) -> Services:
    """The admin app runs on the store the scenario filled: five events of one lead."""
    return services


def test_the_api_erases_by_phone_and_says_leadsquared_keeps_its_copy(
    api: DocumentedApi, services: Services
) -> None:
    """POST /api/erase answers the documented ActionResult; the unknown activity's event waits to finish."""
    answer = api.post("/api/erase", {"phone": PHONE.replace("+91", "0")})
    assert answer.status_code == 200 and answer.json is not None
    assert (answer.json["action"], answer.json["matched"], answer.json["changed"]) == ("erase", 5, 5)
    assert "1 with activities still in flight" in answer.json["detail"]
    assert "LeadSquared's copy is untouched" in answer.json["detail"]
    assert "*3210" not in answer.json["detail"] and "0001" in answer.json["detail"]
    assert erased(services) == 5
    entry = latest_entries(services.engine, limit=1)[0]
    assert (entry.actor, entry.action, entry.rows) == ("api", "erase", 5)
    assert "9800000001" not in f"{entry.target} {entry.detail}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": EMAIL, "pan": PAN}, "exactly one"),
        ({}, "exactly one"),
        ({"pan": "ABCDE12345"}, "pan"),
        ({"email": 42}, "email"),
        ({"email": EMAIL, "scan_all": "yes"}, "scan_all"),
        ({"name": "Lead"}, "name"),
    ],
)
def test_the_api_refuses_a_bad_request_with_400_naming_the_field(
    api: DocumentedApi, services: Services, body: dict[str, object], field: str
) -> None:
    """Two identifiers, none, a malformed PAN, a number, a bad flag, an unknown name: 400, nothing erased."""
    answer = api.post("/api/erase", body)
    assert answer.status_code == 400 and answer.json and field in answer.json["message"]
    assert erased(services) == 0


def test_the_console_confirms_with_the_identifier_masked_then_erases(
    console: FlaskClient, services: Services
) -> None:
    """The form leads to a confirmation showing the PAN masked; its button erases, the page says how many."""
    form = console.get("/erase")
    assert form.status_code == 200 and "LeadSquared" in form.text
    confirm = console.post(
        "/erase/confirm", data={"kind": "pan", "value": PAN.lower(), "csrf_token": csrf_token(form.text)}
    )
    assert confirm.status_code == 200 and "******234F" in confirm.text
    assert erased(services) == 0  # nothing happens before the confirmation
    done = console.post(
        "/erase",
        data={"kind": "pan", "value": PAN.lower(), "csrf_token": csrf_token(confirm.text)},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "of 5 events carrying pan ******234F" in done.text
    assert erased(services) == 5
    entry = latest_entries(services.engine, limit=1)[0]
    assert (entry.actor, entry.action) == ("console", "erase") and "234F" not in str(entry.target)


def test_the_console_refuses_a_form_without_its_token_or_with_a_bad_value(
    console: FlaskClient, services: Services
) -> None:
    """No CSRF token is a 400 page; a malformed email is a 400 page saying what an email is."""
    assert console.post("/erase", data={"kind": "email", "value": EMAIL}).status_code == 400
    form = console.get("/erase")
    bad = console.post(
        "/erase/confirm",
        data={"kind": "email", "value": "lead at example", "csrf_token": csrf_token(form.text)},
    )
    assert bad.status_code == 400 and "not an email address" in bad.text
    assert erased(services) == 0
