"""Nothing an operator reads holds a secret, a signature or the lead's unmasked email, phone or PAN."""

from __future__ import annotations

import html
import re
from collections import deque

import pytest
from flask.testing import FlaskClient

from bridge.services import Services
from tests.integration.admin.conftest import PASSWORD, TOKEN
from tests.integration.admin.documented import DocumentedApi
from tests.integration.admin.scenario import EMAIL, PAN, PHONE, History, run_jobs
from tests.support import RAZORPAY_SECRET

MOST_PAGES = 300
_LINK = re.compile(r'href="(/[^"#]*)"')


@pytest.fixture
def admin_services(services: Services, history: History) -> Services:
    """The admin app runs on the store the scenario filled."""
    return services


def forbidden(services: Services, history: History) -> list[str]:
    """Return every value no answer may hold."""
    account = services.settings.accounts["main"]
    keys = [account.access_key or "", account.secret_key or ""]
    personal = [EMAIL, PHONE, PHONE.removeprefix("+"), PHONE[-10:], PAN]
    return [RAZORPAY_SECRET, PASSWORD, TOKEN, *keys, *history.signatures, *personal]


def crawl(console: FlaskClient, start: list[str]) -> dict[str, str]:
    """Follow every link of the console from the start pages; return each page's text by its URL."""
    pages: dict[str, str] = {}
    waiting = deque(start)
    while waiting and len(pages) < MOST_PAGES:
        url = waiting.popleft()
        if url in pages or url.startswith(("/static/", "/api/")):
            continue
        answer = console.get(url)
        assert answer.status_code < 500, url
        pages[url] = answer.text
        waiting.extend(html.unescape(link) for link in _LINK.findall(answer.text))
    return pages


def test_no_page_of_the_console_holds_a_secret_or_personal_data(
    console: FlaskClient, api: DocumentedApi, services: Services, history: History
) -> None:
    """Every page reachable from the menu, a job's included, is free of secrets, signatures and PII."""
    api.post("/api/retry", {"filter": {}, "dry_run": False})
    run_jobs(services)
    pages = crawl(console, ["/", "/jobs", "/jobs/new?action=replay", "/jobs/new?action=retry"])
    assert any(url.startswith("/events/") for url in pages) and "/jobs/1" in pages
    for secret in forbidden(services, history):
        for url, text in pages.items():
            assert secret not in text, (secret, url)
    event_page = pages[f"/events/{history.delivered_event}"]
    assert "******234F" in event_page and "l***@example.com" in event_page


def test_no_api_answer_holds_a_secret_or_personal_data(
    api: DocumentedApi, services: Services, history: History
) -> None:
    """Every read of the API, each event's detail included, is free of secrets, signatures and PII."""
    urls = ["/api/events", "/api/activities", "/api/overview", "/api/attention", "/api/jobs"]
    urls += [f"/api/events/{number}" for number in range(1, 6)]
    answers = {url: api.get(url).text for url in urls}
    for secret in forbidden(services, history):
        for url, text in answers.items():
            assert secret not in text, (secret, url)
