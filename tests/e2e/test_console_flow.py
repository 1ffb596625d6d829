"""An operator's round through the console in headless Chromium, against every process of the bridge.

The web app and the admin app run under gunicorn as the Procfile runs them,
beside the worker and the sandbox (`python -m bridge sandbox`), on one store.
The configuration starts with a mapping mistake: a field reads Razorpay's
`created_at`, Unix seconds, as an ISO time, so every payment.captured fails
to transform. The person finds the failure, replays it unchanged and sees the
same reason, fixes the mapping (the processes restart: the configuration is
read once at start-up), replays and sees it delivered; retries an activity
LeadSquared refused; pauses an account and resumes it.

BRIDGE_WRITE_DOCS_SCREENSHOTS=1 also copies two of its screenshots into docs/
for the README.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from bridge.sandbox import SandboxSettings
from tests.conftest import POSTGRES_ONLY, ROOT, TEST_CONFIG, bridge_environ, write_config
from tests.e2e.browser import artifacts_dir, screenshot
from tests.e2e.conftest import PASSWORD, TOKEN
from tests.e2e.console import (
    WAIT_SECONDS,
    Bridge,
    calls_shown,
    click,
    fact,
    menu,
    reload_until,
    row_with,
    shows,
    text_of,
)
from tests.e2e.test_processes import free_port, start, wait_until
from tests.support import add_fault, payment_event, sandbox_received

# PostgreSQL alone: the console's queries and actions (filters, replays, retries, pauses) run on
# both stores in tests/integration/admin and test_operate_*.py; this adds the browser and processes.
pytestmark = [pytest.mark.slow, pytest.mark.browser, POSTGRES_ONLY]

DOCS_ENV = "BRIDGE_WRITE_DOCS_SCREENSHOTS"
# Screenshot taken -> the README's image it becomes.
DOCS_IMAGES = {"flow-overview": "console-overview.png", "flow-event-retried": "console-event.png"}
PARTNERS_SECRET = "test-partners-secret"
# Razorpay sends created_at as Unix seconds; reading it as ISO 8601 is the mistake the person fixes.
BROKEN_FIELD = (
    'mx_Custom_5 = { path = "payload.payment.entity.created_at", format = "lsq_datetime_from_iso" }'
)
FIXED_FIELD = BROKEN_FIELD.replace("lsq_datetime_from_iso", "lsq_datetime")
BROKEN_REASON = (
    "mx_Custom_5 (payload.payment.entity.created_at): an ISO 8601 time must be text, not 1764230395"
)
CREATED_AT_TEXT = "2025-11-27 07:59:55"  # payment_event's created_at, 1764230395, as LeadSquared reads it
# A second account, so a pause of the first can be seen holding back its own deliveries only.
PARTNERS = """
[accounts.partners]
auth = "headers"
calls_per_window = 25
window_seconds = 5
window_margin_seconds = 0.05
max_in_flight = 25
timeout_seconds = 5
key_field = "mx_Custom_10"

[sources.partners]
kind = "razorpay"
account = "partners"
secret_env = "PARTNERS_WEBHOOK_SECRET"
opportunity_id_path = "payload.payment.entity.notes.opportunity_id"
owner_email = "partners@example.com"

[sources.partners.events."payment.captured"]
activity_event = 203
[sources.partners.events."payment.captured".fields]
mx_Custom_1 = "payment_id"
mx_Custom_2 = "amount"
"""
CONFIG = (
    TEST_CONFIG.replace('mx_Custom_4 = "paid_at"\n', f'mx_Custom_4 = "paid_at"\n{BROKEN_FIELD}\n') + PARTNERS
)


@pytest.fixture
def bridge(tmp_path: Path, database_url: str) -> Iterator[Bridge]:
    """The sandbox, web, worker and admin processes on one store, started together."""
    sandbox_port, web_port, admin_port = free_port(), free_port(), free_port()
    keys = SandboxSettings()
    environ = bridge_environ(
        database_url,
        None,
        BRIDGE_CONFIG=str(write_config(tmp_path, CONFIG)),
        LSQ_HOST=f"http://127.0.0.1:{sandbox_port}",
        LSQ_ACCESS_KEY=keys.access_key,
        LSQ_SECRET_KEY=keys.secret_key,
        PARTNERS_WEBHOOK_SECRET=PARTNERS_SECRET,
        PORT=str(web_port),
        WEB_CONCURRENCY="1",
        ADMIN_PORT=str(admin_port),
        BRIDGE_ADMIN_PASSWORD=PASSWORD,
        BRIDGE_ADMIN_TOKEN=TOKEN,
    )
    running = Bridge(tmp_path, environ, loopback(sandbox_port), loopback(web_port), loopback(admin_port))
    sandbox = [sys.executable, "-m", "bridge", "sandbox", "--port", str(sandbox_port)]
    running.processes["sandbox"] = start(sandbox, environ, tmp_path / "sandbox.log")
    try:
        for name in ("web", "worker", "admin"):
            running.start(name)
        for url in (
            running.sandbox + "/sandbox/health",
            running.web + "/healthz",
            running.admin + "/healthz",
        ):
            running.wait_for(url)
        yield running
    finally:
        for process in running.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in running.processes.values():
            process.wait(timeout=30)


def loopback(port: int) -> str:
    """Return the base URL of a process listening on this machine's port."""
    return f"http://127.0.0.1:{port}"


def seed(bridge: Bridge) -> None:
    """Give the overview some variety: deliveries, a repeat, a refusal, an ignored type and a failed one."""
    declined = [payment_event(f"pay_D{n}", f"opp-d{n}", event="payment.failed") for n in range(3)]
    answers = [bridge.post("razorpay", event, f"evt_declined_{n}") for n, event in enumerate(declined)]
    answers.append(bridge.post("razorpay", declined[0], "evt_declined_0"))  # the provider sends it again
    answers.append(bridge.post("razorpay", declined[1], "evt_forged", secret="not-the-secret"))
    refund = payment_event("pay_R1", "opp-r", event="refund.created")  # a type nobody mapped
    answers.append(bridge.post("razorpay", refund, "evt_refund"))
    answers.append(bridge.pay("razorpay", "pay_BROKEN", "opp-broken", "evt_broken"))
    answers.append(bridge.pay("partners", "pay_P1", "opp-p1", "evt_partners_1"))
    assert answers == [202, 202, 202, 200, 401, 202, 202, 202]
    wait_until(lambda: len(delivered(bridge)) == 4, WAIT_SECONDS, "delivery of the first four activities")
    wait_until(lambda: not bridge.api("/api/events", status="received")["items"], WAIT_SECONDS, "transforms")


def delivered(bridge: Bridge) -> dict[str, dict[str, Any]]:
    """Return the activities the sandbox holds by the bridge's key (mx_Custom_10), with their fields."""
    found = {}
    for activity in sandbox_received(bridge.sandbox)["activities"]:
        fields = {item["SchemaName"]: item["Value"] for item in activity["row"]["Fields"]}
        found[fields["mx_Custom_10"]] = {**activity, "fields": fields}
    return found


def log_in_and_read_the_overview(driver: webdriver.Chrome, bridge: Bridge) -> None:
    """The login form lets the person in; the overview counts what the seeding did."""
    driver.get(f"{bridge.admin}/")
    shows(driver, "Log in to the console")
    screenshot(driver, "flow-login", whole_page=True)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click(driver, "Log in")
    page = shows(driver, "Latest problems")
    assert "/login" not in driver.current_url
    counts = text_of(driver, "ul.counts")
    assert "4\nDELIVERED" in counts and "0\nDEAD" in counts, counts  # the labels are set in capitals
    assert "Last hour: 5 accepted, 1 duplicate, 1 refused\nLast 24 hours: 5 accepted, 1 duplicate" in page
    assert "Last hour: 1 accepted, 0 duplicate, 0 refused" in page
    assert BROKEN_REASON in row_with(driver, "failed").text
    assert "no mapping for event type 'refund.created'" in row_with(driver, "ignored").text
    workers = driver.find_element(By.XPATH, "//h2[.='Workers']/following-sibling::table[1]")
    assert "alive" in workers.text, workers.text
    screenshot(driver, "flow-overview", whole_page=True)


def filter_the_failed_events(driver: webdriver.Chrome) -> None:
    """The filter form puts status and source in the URL and lists the one failed payment; it opens it."""
    menu(driver, "Events", "Events")
    form = driver.find_element(By.CSS_SELECTOR, "form.filters")
    Select(form.find_element(By.NAME, "status")).select_by_value("failed")
    Select(form.find_element(By.NAME, "source")).select_by_value("razorpay")
    click(driver, "Filter", form)
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: "status=failed" in d.current_url)
    # The form's empty fields are left out, so the URL can be read and shared.
    assert urlsplit(driver.current_url).query == "source=razorpay&status=failed", driver.current_url
    rows = driver.find_elements(By.CSS_SELECTOR, "main tbody tr")
    assert len(rows) == 1 and "payment.captured" in rows[0].text and BROKEN_REASON in rows[0].text
    screenshot(driver, "flow-events-failed", whole_page=True)
    rows[0].find_element(By.CSS_SELECTOR, "td a").click()
    shows(driver, "Replay this event")


def replay_unchanged(driver: webdriver.Chrome) -> None:
    """The failed event's page says why; replayed with nothing fixed, it fails again for the same reason."""
    assert "payment.captured" in text_of(driver, "h1") and "failed" in text_of(driver, "h1")
    assert fact(driver, "Transform") == f"failed {BROKEN_REASON}"
    assert "pay_BROKEN" in text_of(driver, "pre.payload")
    screenshot(driver, "flow-event-failed", whole_page=True)
    click(driver, "Replay this event")
    shows(driver, "failed to map again; its reason is on the event's page", "p.flash")
    assert fact(driver, "Transform") == f"failed {BROKEN_REASON}"
    assert f"None: {BROKEN_REASON}" in text_of(driver, "main")


def fix_the_mapping(bridge: Bridge) -> None:
    """Correct the field's format in bridge.toml; restart what maps events: the admin process, the worker."""
    config = Path(bridge.environ["BRIDGE_CONFIG"])
    config.write_text(config.read_text().replace(BROKEN_FIELD, FIXED_FIELD))
    for name in ("admin", "worker"):
        bridge.stop(name)
        bridge.start(name)
    bridge.wait_for(f"{bridge.admin}/healthz")


def replay_fixed(driver: webdriver.Chrome, bridge: Bridge) -> None:
    """Replayed under the fixed mapping, the event queues its activity, and its page shows the delivery."""
    driver.refresh()  # the same session: its key comes from the password, not from the process
    click(driver, "Replay this event")
    shows(driver, "maps to 1 activity: 1 queued new", "p.flash")
    key = "razorpay:evt_broken:0"
    wait_until(lambda: key in delivered(bridge), WAIT_SECONDS, "the replayed activity in the sandbox")
    activity = delivered(bridge)[key]
    assert activity["opportunity_id"] == "opp-broken"
    assert activity["fields"]["mx_Custom_5"] == CREATED_AT_TEXT
    prospect = activity["ProspectActivityId"]
    section = reload_until(driver, f"ProspectActivityId {prospect}", "section.activity")
    assert "delivered" in section and "opp-broken" in section
    calls = calls_shown(driver)
    assert len(calls) == 1, calls
    assert "HTTP 200 · posted → settle" in calls[0] and f"this row was created: {prospect}" in calls[0]
    assert fact(driver, "Transform") == "became 1 activity"
    screenshot(driver, "flow-event-delivered", whole_page=True)


def retry_the_dead(driver: webdriver.Chrome, bridge: Bridge) -> None:
    """A row LeadSquared refused is dead; the person finds it under Needs attention and retries it."""
    refusal = "Invalid dropdown value"
    add_fault(bridge.sandbox, path="ByOpportunityId", fail_rows=[1], message=refusal, times=1)
    assert bridge.pay("razorpay", "pay_DIES", "opp-dies", "evt_dies") == 202
    menu(driver, "Needs attention", "Needs attention")
    reload_until(driver, refusal)
    group = row_with(driver, refusal)
    assert "dead" in group.text
    screenshot(driver, "flow-attention", whole_page=True)
    group.find_element(By.CSS_SELECTOR, "td.number a").click()
    shows(driver, "Retry all matching")
    assert "status=dead" in driver.current_url
    row_with(driver, "opp-dies").find_element(By.CSS_SELECTOR, "td a").click()
    section = shows(driver, refusal, "section.activity")
    assert "dead" in section and "1 failed attempt" in section, section
    click(driver, "Retry", driver.find_element(By.CSS_SELECTOR, "section.activity"))
    shows(driver, "is due again, its attempts reset", "p.flash")
    key = "razorpay:evt_dies:0"
    wait_until(lambda: key in delivered(bridge), WAIT_SECONDS, "the retried activity in the sandbox")
    prospect = delivered(bridge)[key]["ProspectActivityId"]
    reload_until(driver, f"ProspectActivityId {prospect}", "section.activity")
    calls = calls_shown(driver)
    assert len(calls) == 2, calls
    assert f"LeadSquared's answer for this row: {refusal}" in calls[0], calls
    assert f"this row was created: {prospect}" in calls[1], calls
    screenshot(driver, "flow-event-retried", whole_page=True)


def pause_and_resume(driver: webdriver.Chrome, bridge: Bridge) -> None:
    """Paused, an account's new activity waits while another account's goes; resumed, it is delivered."""
    menu(driver, "Accounts", "Accounts")
    click(driver, "Pause", row_with(driver, "main"))
    shows(driver, "main paused", "p.flash")
    state = row_with(driver, "main").text
    assert "paused by operator" in state and "paused by an operator (console)" in state and " ago" in state
    assert "active" in row_with(driver, "partners").text
    assert bridge.pay("razorpay", "pay_HELD", "opp-held", "evt_held") == 202
    assert bridge.pay("partners", "pay_P2", "opp-p2", "evt_partners_2") == 202
    other = "partners:evt_partners_2:0"
    wait_until(lambda: other in delivered(bridge), WAIT_SECONDS, "the other account's delivery")
    # Stored first, the held activity was due before the other account's: only the pause kept it back.
    assert "razorpay:evt_held:0" not in delivered(bridge)
    reload_until(driver, "pending: 1")
    assert "pending: 1" in row_with(driver, "main").text
    screenshot(driver, "flow-accounts-paused", whole_page=True)
    click(driver, "Resume", row_with(driver, "main"))
    shows(driver, "main resumed", "p.flash")
    held = "razorpay:evt_held:0"
    wait_until(lambda: held in delivered(bridge), WAIT_SECONDS, "the held activity's delivery")
    reload_until(driver, "delivered: 6")
    state = row_with(driver, "main").text
    assert "active" in state and "delivered: 6" in state and "pending" not in state


def write_docs_images() -> None:
    """Copy the README's screenshots into docs/ when BRIDGE_WRITE_DOCS_SCREENSHOTS=1."""
    if os.environ.get(DOCS_ENV) != "1":
        return
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    for taken, image in DOCS_IMAGES.items():
        shutil.copyfile(artifacts_dir() / f"{taken}.png", docs / image)


# The browser comes after the bridge so that it quits first: its idle keep-alive connections would
# hold the admin process's graceful stop for gunicorn's keepalive (5 s), as they do in fix_the_mapping.
def test_an_operator_fixes_a_mapping_retries_a_dead_activity_and_pauses_an_account(
    bridge: Bridge, browser: webdriver.Chrome
) -> None:
    """Filter, replay unfixed then fixed, retry from Needs attention, pause and resume: all through pages."""
    seed(bridge)
    log_in_and_read_the_overview(browser, bridge)
    filter_the_failed_events(browser)
    replay_unchanged(browser)
    fix_the_mapping(bridge)
    replay_fixed(browser, bridge)
    retry_the_dead(browser, bridge)
    pause_and_resume(browser, bridge)
    write_docs_images()
