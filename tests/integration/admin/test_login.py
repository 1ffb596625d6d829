"""Logging in and out: audited with the client's address, and throttled after five wrong passwords."""

from __future__ import annotations

from flask.testing import FlaskClient

from bridge.admin.auth import THROTTLE_FAILURES
from bridge.services import Services
from bridge.store.audit import latest_entries
from tests.integration.admin.conftest import PASSWORD, csrf_token, log_in


def audit_trail(services: Services) -> list[tuple[str, str, str | None]]:
    """Return the audit log as (actor, action, address), oldest first."""
    return [(row.actor, row.action, row.address) for row in reversed(latest_entries(services.engine))]


def test_a_wrong_password_is_refused_and_audited(stranger: FlaskClient, admin_services: Services) -> None:
    """A wrong password answers 401 with the form again and writes login_failed with the address."""
    answer = log_in(stranger, password="guess", address="198.51.100.4")
    assert answer.status_code == 401
    assert "That is not the password." in answer.text
    assert stranger.get("/").status_code == 302
    assert audit_trail(admin_services) == [("console", "login_failed", "198.51.100.4")]


def test_login_and_logout_are_audited(stranger: FlaskClient, admin_services: Services) -> None:
    """A login and a logout each leave an entry by the console with the client's address."""
    assert log_in(stranger).status_code == 302
    assert stranger.get("/").status_code == 200
    answer = stranger.post("/logout", data={"csrf_token": csrf_token(stranger.get("/").text)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert stranger.get("/").status_code == 302
    expected = [("console", "login", "127.0.0.1"), ("console", "logout", "127.0.0.1")]
    assert audit_trail(admin_services) == expected


def test_five_wrong_passwords_throttle_the_address_even_for_the_right_one(
    stranger: FlaskClient, admin_services: Services
) -> None:
    """After five failures in 15 minutes the address gets 429 with Retry-After, its password unchecked."""
    for _ in range(THROTTLE_FAILURES):
        assert log_in(stranger, password="guess", address="198.51.100.9").status_code == 401
    answer = log_in(stranger, password=PASSWORD, address="198.51.100.9")
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0
    assert "wait" in answer.text
    assert stranger.get("/", environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 302
    failures = [entry for entry in audit_trail(admin_services) if entry[1] == "login_failed"]
    assert len(failures) == THROTTLE_FAILURES


def test_the_throttle_holds_one_address_and_not_another(stranger: FlaskClient) -> None:
    """Another client address logs in while one is throttled."""
    for _ in range(THROTTLE_FAILURES):
        log_in(stranger, password="guess", address="198.51.100.10")
    assert log_in(stranger, password=PASSWORD, address="198.51.100.11").status_code == 302


def test_a_signed_in_browser_at_the_login_page_goes_on_to_the_console(console: FlaskClient) -> None:
    """GET /login when already signed in redirects to the overview."""
    answer = console.get("/login")
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
