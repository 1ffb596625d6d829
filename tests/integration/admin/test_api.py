"""The JSON API over real history: reads, one-row actions, bulk dry runs and jobs, and every refusal's 4xx."""

from __future__ import annotations

import time

import pytest

from bridge.services import Services
from bridge.store.audit import latest_entries
from tests.integration.admin.documented import DocumentedApi
from tests.integration.admin.scenario import History, activity_status, run_jobs


@pytest.fixture
def admin_services(services: Services, history: History) -> Services:
    """The admin app runs on the store the scenario filled."""
    return services


def test_events_page_by_keyset_and_filter(api: DocumentedApi, history: History) -> None:
    """Two at a time, next_after leads to older events until it is null; a filter narrows the list."""
    seen: list[int] = []
    url = "/api/events?limit=2"
    while True:
        answer = api.get(url).json
        assert answer is not None
        seen += [item["id"] for item in answer["items"]]
        if answer["next_after"] is None:
            break
        url = f"/api/events?limit=2&after={answer['next_after']}"
    assert seen == sorted(seen, reverse=True) and len(seen) == 5
    ignored = api.get("/api/events?status=ignored").json
    assert ignored and [item["id"] for item in ignored["items"]] == [history.ignored_event]


def test_an_event_in_full_and_a_missing_one(api: DocumentedApi, history: History) -> None:
    """The detail has masked headers, payload, two repeats and the delivery call; 999 is a JSON 404."""
    detail = api.get(f"/api/events/{history.delivered_event}").json
    assert detail is not None
    assert len(detail["duplicates"]) == 2 and "l***@example.com" in detail["payload"]
    [activity] = detail["activities"]
    [call] = activity["calls"]
    assert (call["kind"], call["http_status"], call["outcome"]) == ("delivery", 200, "posted")
    assert call["result"] == activity["summary"]["prospect_activity_id"]
    missing = api.get("/api/events/999")
    assert missing.status_code == 404 and missing.json and "no event 999" in missing.json["message"]


def test_activities_overview_attention_and_jobs_read(api: DocumentedApi, history: History) -> None:
    """Each read answers its documented shape with the scenario's rows in it."""
    dead = api.get("/api/activities?status=dead").json
    assert dead and [item["id"] for item in dead["items"]] == [history.dead_activity]
    overview = api.get("/api/overview").json
    assert overview and [account["name"] for account in overview["accounts"]] == ["main"]
    assert len(overview["sources"][0]["hourly"]) == 24
    attention = api.get("/api/attention").json
    assert attention and {group["status"] for group in attention["items"]} >= {"dead", "unknown", "ignored"}
    assert api.get("/api/jobs").json == {"items": []}
    assert api.get("/api/jobs/7").status_code == 404


def test_bad_filters_and_pages_are_400s_naming_the_field(api: DocumentedApi) -> None:
    """A bad status, an unknown name, a bad since and a limit over 200 each answer 400 saying which."""
    for url, field in (
        ("/api/events?status=lost", "status"),
        ("/api/activities?colour=red", "colour"),
        ("/api/events?since=soon", "since"),
        ("/api/events?limit=500", "limit"),
        ("/api/activities?after=x", "after"),
    ):
        answer = api.get(url)
        assert answer.status_code == 400 and answer.json, url
        assert answer.json["message"].startswith(field), answer.json


def test_one_row_actions_answer_what_they_did_and_are_audited_as_the_api(
    api: DocumentedApi, services: Services, history: History
) -> None:
    """Retry, resolve, replay, pause and resume each answer an ActionResult and audit actor api."""
    assert api.post("/api/retry", {"activity_id": history.dead_activity}).status_code == 200
    assert activity_status(services, history.dead_activity) == "pending"
    body = {"activity_id": history.unknown_activity, "as": "repost"}
    assert api.post("/api/resolve", body).status_code == 200
    assert api.post("/api/replay", {"event_id": history.ignored_event}).status_code == 200
    assert api.post("/api/accounts/main/pause").status_code == 200
    assert api.post("/api/accounts/main/resume").status_code == 200
    actions = [(entry.actor, entry.action) for entry in reversed(latest_entries(services.engine, limit=5))]
    assert actions == [("api", a) for a in ("retry", "resolve", "replay", "pause", "resume")]


def test_refusals_are_4xx_with_what_to_fix(api: DocumentedApi, history: History) -> None:
    """Wrong state 409, no such row or account 404, and every malformed body 400."""
    assert api.post("/api/retry", {"activity_id": history.delivered_activity}).status_code == 409
    assert api.post("/api/retry", {"activity_id": 999}).status_code == 404
    assert api.post("/api/accounts/nobody/pause").status_code == 404
    for url, body in (
        ("/api/replay", None),
        ("/api/replay", [1]),
        ("/api/replay", {}),
        ("/api/replay", {"event_id": "1"}),
        ("/api/replay", {"event_id": True}),
        ("/api/replay", {"event_id": 1, "filter": {}}),
        ("/api/replay", {"event_id": 1, "dry_run": False}),
        ("/api/replay", {"filter": {"status": "lost"}}),
        ("/api/replay", {"filter": {"status": ["failed"]}}),
        ("/api/replay", {"filter": "status=failed"}),
        ("/api/replay", {"filter": {}, "dry_run": "no"}),
        ("/api/retry", {"filter": {"status": "unknown"}}),
        ("/api/resolve", {"activity_id": history.unknown_activity}),
        ("/api/resolve", {"activity_id": history.unknown_activity, "as": "maybe"}),
        ("/api/retry", {"activity_id": 1, "colour": "red"}),
    ):
        answer = api.post(url, body)
        assert answer.status_code == 400, (url, body, answer.json)


def test_a_bulk_retry_counts_first_then_runs_as_a_job(
    api: DocumentedApi, services: Services, history: History
) -> None:
    """A dry run (the default) counts; dry_run false answers 202 with the job and its URL; it then runs."""
    assert api.post("/api/retry", {"filter": {"account": "main"}}).json == {
        "action": "retry",
        "dry_run": True,
        "matched": 1,
    }
    started = api.post("/api/retry", {"filter": {"account": "main"}, "dry_run": False})
    assert started.status_code == 202 and started.json
    job_id = started.json["id"]
    assert started.headers["Location"] == f"/api/jobs/{job_id}"
    assert started.json["params"] == {"account": "main", "status": "dead"}
    run_jobs(services)
    job = api.get(f"/api/jobs/{job_id}").json
    assert job and (job["status"], job["processed"], job["changed"]) == ("done", 1, 1)
    assert activity_status(services, history.dead_activity) == "pending"
    assert api.post(f"/api/jobs/{job_id}/cancel").status_code == 409


def test_a_bulk_resolve_and_a_cancelled_replay(
    api: DocumentedApi, services: Services, history: History
) -> None:
    """Resolve as delivered by filter counts the unknown one; a replay job cancelled while queued ends so."""
    answer = api.post("/api/resolve", {"filter": {}, "as": "delivered"}).json
    assert answer == {"action": "resolve_delivered", "dry_run": True, "matched": 1}
    since = str(time.time() - 3600)
    job = api.post("/api/replay", {"filter": {"since": since}, "dry_run": False}).json
    assert job and job["status"] == "queued"
    cancelled = api.post(f"/api/jobs/{job['id']}/cancel").json
    assert cancelled and cancelled["cancel_requested"] is True
    run_jobs(services)
    final = api.get(f"/api/jobs/{job['id']}").json
    assert final and final["status"] == "cancelled"
    assert [item["id"] for item in (api.get("/api/jobs").json or {})["items"]] == [job["id"]]
