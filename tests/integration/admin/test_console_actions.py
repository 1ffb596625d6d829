"""The console's buttons: each calls bridge/operate as the console, is audited, and says what it did."""

from __future__ import annotations

import html
import re
import time

import pytest
from flask.testing import FlaskClient

from bridge.services import Services
from bridge.store.audit import latest_entries
from tests.integration.admin.conftest import csrf_token
from tests.integration.admin.scenario import History, activity_status, run_jobs


@pytest.fixture
def admin_services(services: Services, history: History) -> Services:
    """The admin app runs on the store the scenario filled."""
    return services


def press(console: FlaskClient, page: str, action: str, **fields: str) -> str:
    """Send a button's form from a page, as the browser would, and return the page it leads to."""
    token = csrf_token(console.get(page).text)
    answer = console.post(action, data={**fields, "csrf_token": token}, follow_redirects=True)
    assert answer.status_code < 500, answer.text
    return answer.text


def last_audit(services: Services) -> tuple[str, str, str | None, str | None]:
    """Return the newest audit entry as (actor, action, address, target)."""
    entry = latest_entries(services.engine, limit=1)[0]
    return entry.actor, entry.action, entry.address, entry.target


def test_retry_a_dead_activity_from_its_event_page(
    console: FlaskClient, services: Services, history: History
) -> None:
    """The Retry button makes the dead activity pending, says so, and audits it as the console."""
    event_page = f"/events/{history.dead_event}"
    text = press(console, event_page, f"/activities/{history.dead_activity}/retry", back=event_page)
    assert 'class="flash success"' in text and f"Event #{history.dead_event}" in text
    assert activity_status(services, history.dead_activity) == "pending"
    actor, action, address, _ = last_audit(services)
    assert (actor, action, address) == ("console", "retry", "127.0.0.1")


def test_resolve_an_unknown_activity_as_delivered(
    console: FlaskClient, services: Services, history: History
) -> None:
    """The first of the two resolve buttons marks the unknown activity delivered."""
    page = "/activities?status=unknown"
    press(console, page, f"/activities/{history.unknown_activity}/resolve", back=page, **{"as": "delivered"})
    assert activity_status(services, history.unknown_activity) == "delivered"
    assert last_audit(services)[:2] == ("console", "resolve")


def test_refused_actions_show_their_status_and_message(console: FlaskClient, history: History) -> None:
    """Retrying a delivered activity is a 409 page, a made-up resolution a 400, no such account a 404."""
    token = csrf_token(console.get("/").text)
    delivered = console.post(f"/activities/{history.delivered_activity}/retry", data={"csrf_token": token})
    assert delivered.status_code == 409 and "dead" in delivered.text
    answer = console.post(
        f"/activities/{history.unknown_activity}/resolve", data={"csrf_token": token, "as": "maybe"}
    )
    assert answer.status_code == 400 and "delivered" in answer.text
    assert console.post("/accounts/nobody/pause", data={"csrf_token": token}).status_code == 404


def test_pause_and_resume_an_account(console: FlaskClient, services: Services) -> None:
    """Pause shows the account paused by an operator with a Resume button; Resume lifts it."""
    text = press(console, "/accounts", "/accounts/main/pause")
    assert "paused" in text and "by operator" in text and ">Resume<" in text
    assert last_audit(services)[:2] == ("console", "pause")
    text = press(console, "/accounts", "/accounts/main/resume")
    assert ">Pause<" in text
    assert last_audit(services)[:2] == ("console", "resume")


def test_replay_an_event(console: FlaskClient, services: Services, history: History) -> None:
    """Replay transforms the event again, says what happened, and audits it."""
    text = press(console, f"/events/{history.ignored_event}", f"/events/{history.ignored_event}/replay")
    assert 'class="flash success"' in text
    assert last_audit(services)[:2] == ("console", "replay")


def test_a_bulk_retry_shows_its_count_then_runs_as_a_job(
    console: FlaskClient, services: Services, history: History
) -> None:
    """Retry all matching: the confirmation counts one dead activity; starting it leads to the job's page."""
    confirm = console.get("/activities?status=dead").text
    link = html.unescape(re.findall(r'href="(/jobs/new\?[^"]+)"', confirm)[0])
    text = console.get(link).text
    assert "Retry 1 dead activity?" in text
    token, query = csrf_token(text), re.findall(r'name="filter" value="([^"]*)"', text)[0]
    started = console.post(
        "/jobs", data={"csrf_token": token, "action": "retry", "filter": html.unescape(query)}
    )
    assert started.status_code == 302
    job_page = console.get(started.headers["Location"]).text
    assert '<meta http-equiv="refresh" content="2">' in job_page and "Cancel this job" in job_page
    run_jobs(services)
    finished = console.get(started.headers["Location"]).text
    assert "refresh" not in finished and "1 of 1 handled, 1 changed" in finished
    assert activity_status(services, history.dead_activity) == "pending"
    assert "status=dead" in console.get("/jobs").text


def test_a_bulk_confirmation_fixes_ages_to_times(console: FlaskClient) -> None:
    """since=2h on the confirmation page becomes the epoch time it meant, so the job does what was counted."""
    text = console.get("/jobs/new?action=replay&since=2h").text
    [query] = re.findall(r'name="filter" value="([^"]*)"', text)
    since = float(query.partition("since=")[2])
    assert abs(since - (time.time() - 7200)) < 60


def test_a_bulk_confirmation_refuses_a_bad_action_or_filter(console: FlaskClient) -> None:
    """An unknown action and a bad filter are 400 pages that say what to fix."""
    assert console.get("/jobs/new?action=explode").status_code == 400
    answer = console.get("/jobs/new?action=retry&status=unknown")
    assert answer.status_code == 400 and "dead" in answer.text


def test_a_queued_job_can_be_cancelled(console: FlaskClient, services: Services) -> None:
    """Cancel on a queued job's page stops it before any chunk; the job ends cancelled."""
    token = csrf_token(console.get("/").text)
    started = console.post("/jobs", data={"csrf_token": token, "action": "replay", "filter": ""})
    job_page = started.headers["Location"]
    text = press(console, job_page, f"{job_page}/cancel")
    assert "cancel asked" in text
    run_jobs(services)
    assert "cancelled" in console.get(job_page).text
    assert last_audit(services)[:2] == ("console", "cancel")
