"""The console's pages over real history: what an operator reads on each, and filters in the URL."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from bridge.services import Services
from tests.integration.admin.scenario import REFUSAL, History


@pytest.fixture
def admin_services(services: Services, history: History) -> Services:
    """The admin app runs on the store the scenario filled."""
    return services


def page(console: FlaskClient, url: str, status: int = 200) -> str:
    """Return a page's text, checking its status."""
    answer = console.get(url)
    assert answer.status_code == status, (url, answer.status_code, answer.text[:500])
    return answer.text


def test_the_overview_shows_accounts_sources_with_their_chart_workers_and_problems(
    console: FlaskClient,
) -> None:
    """The overview lists the account, the source's 24-hour SVG chart, the worker and the latest problems."""
    text = page(console, "/")
    assert "main" in text and "razorpay" in text
    assert "<svg" in text and "<rect" in text and "3 accepted" not in text
    assert "1 accepted" in text or "accepted, 2 duplicate" in text
    assert "no mapping for event type &#39;payment.authorized&#39;" in text
    assert "Everything that needs attention" in text


def test_needs_attention_groups_with_counts_linking_to_exactly_their_rows(
    console: FlaskClient, history: History
) -> None:
    """Each group shows its reason and a count linking to the list filtered to it."""
    text = page(console, "/attention")
    assert REFUSAL in text and "no opportunity id" in text
    links = re.findall(r'href="(/events\?[^"]+)"', text)
    ignored = next(link for link in links if "ignored" in link)
    listed = page(console, html.unescape(ignored))
    assert f'href="/events/{history.ignored_event}"' in listed
    assert f'href="/events/{history.delivered_event}"' not in listed


def test_the_events_list_filters_by_the_query_string(console: FlaskClient, history: History) -> None:
    """status=failed lists the failed event only, and the form shows the filter."""
    text = page(console, "/events?status=failed")
    assert f'href="/events/{history.failed_event}"' in text
    assert f'href="/events/{history.ignored_event}"' not in text
    assert '<option value="failed" selected>' in text


def test_the_filter_forms_empty_fields_are_left_out_of_the_url(console: FlaskClient) -> None:
    """A GET form sends every field; the list redirects to the URL with the filled ones only."""
    answer = console.get("/events?source=&event_type=&status=failed&since=+")
    assert answer.status_code == 302 and answer.location == "/events?status=failed"
    assert console.get("/activities?status=&account=").location == "/activities"
    assert console.get("/events?status=failed").status_code == 200


def test_a_bad_filter_is_a_400_page_saying_what_to_fix(console: FlaskClient) -> None:
    """An unknown status and an unknown name are shown with the parser's message, status 400."""
    assert "status: one of" in page(console, "/events?status=lost", 400)
    assert "colour: not a filter" in page(console, "/activities?colour=red", 400)
    assert "since:" in page(console, "/events?since=yesterday", 400)
    assert "after:" in page(console, "/events?after=-1", 400)


def test_the_older_link_pages_by_keyset(console: FlaskClient, history: History) -> None:
    """With two events a page, the Older link carries after= and leads to older events only."""
    text = page(console, "/events?limit=2")
    older = re.search(r'href="(/events\?[^"]*after=(\d+)[^"]*)"', text)
    assert older is not None
    next_page = page(console, html.unescape(older.group(1)))
    shown = [int(n) for n in re.findall(r'href="/events/(\d+)"', next_page)]
    assert shown and all(number < int(older.group(2)) for number in shown)


def test_an_event_shows_headers_payload_repeats_and_each_calls_timeline(
    console: FlaskClient, history: History
) -> None:
    """The delivered event's page has its masked headers and payload, two repeats and the posting call."""
    text = page(console, f"/events/{history.delivered_event}")
    assert "x-razorpay-event-id" in text.lower() and "evt_A1" in text
    assert "pay_A1" in text and "l***@example.com" in text
    assert text.count("Z, ") >= 1 and "Repeats" in text
    assert "HTTP 200" in text and "posted" in text and "delivery" in text
    assert "waited" in text and "1 row in the call" in text
    assert "ProspectActivityId" in text


def test_a_calls_line_tells_a_created_row_from_one_leadsquared_refused(
    console: FlaskClient, history: History
) -> None:
    """The delivered row's call names its ProspectActivityId as created; the dead row's quotes the refusal."""
    delivered = page(console, f"/events/{history.delivered_event}")
    assert "this row was created: <span" in delivered
    assert "0 attempts" not in delivered  # attempts count failures: beside a delivery they would mislead
    dead = page(console, f"/events/{history.dead_event}")
    assert f'LeadSquared\'s answer for this row: <span class="mono">{REFUSAL}' in dead
    assert "this row was created" not in dead and "1 failed attempt ·" in dead


def test_an_event_without_activities_says_why(console: FlaskClient, history: History) -> None:
    """The ignored event's page gives the transform's reason instead of activities."""
    text = page(console, f"/events/{history.ignored_event}")
    assert "no mapping for event type" in text and "ignored" in text


def test_a_missing_event_is_a_404_page(console: FlaskClient) -> None:
    """An event number nobody has answers 404 with a page saying so."""
    assert "there is no event 999" in page(console, "/events/999", 404)


def test_the_activities_list_shows_dead_and_unknown_with_their_bulk_links(
    console: FlaskClient, history: History
) -> None:
    """status=dead lists the dead activity with LeadSquared's words and offers Retry all matching."""
    text = page(console, "/activities?status=dead")
    assert REFUSAL in text and f"activity-{history.dead_activity}" in text
    assert "Retry all matching" in text and "Resolve all matching" not in text
    unknown = page(console, "/activities?status=unknown")
    assert "Resolve all matching as delivered" in unknown and "Retry all matching" not in unknown


def test_the_accounts_page_offers_pause_and_the_jobs_page_lists_none_yet(console: FlaskClient) -> None:
    """The account is active with a Pause button; no job has run."""
    text = page(console, "/accounts")
    assert "main" in text and ">Pause<" in text
    assert "No job yet." in page(console, "/jobs")


def test_pages_hold_no_inline_script_or_style(console: FlaskClient, history: History) -> None:
    """No page carries a script, a style element or attribute, or an event handler, as the CSP demands."""
    for url in (
        "/",
        "/attention",
        "/events",
        f"/events/{history.delivered_event}",
        "/activities",
        "/accounts",
    ):
        text = page(console, url)
        assert "<script" not in text and "<style" not in text and " style=" not in text, url
        assert not re.search(r"\son[a-z]+=", text), url
