"""Erasure from the console in headless Chromium, against the admin process under gunicorn."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.audit import latest_entries
from bridge.store.tables import events
from tests.conftest import POSTGRES_ONLY
from tests.e2e.browser import screenshot
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_admin_browser import problems
from tests.integration.admin.scenario import EMAIL, make_history

# PostgreSQL alone: erasure's queries run on both stores in test_erasure.py and
# admin/test_erasure_routes.py; this adds the browser and the admin process.
pytestmark = [pytest.mark.slow, pytest.mark.browser, POSTGRES_ONLY]
WAIT_SECONDS = 30


def erased_events(services: Services) -> int:
    """Count the events whose payload was erased."""
    with services.engine.connect() as connection:
        query = sa.select(sa.func.count()).where(events.c.payload_erased_at.is_not(None))
        return int(connection.execute(query).scalar_one())


# The browser comes last so that it quits first: its idle keep-alive connections would hold the
# admin process's graceful stop for gunicorn's keepalive (5 s).
def test_an_operator_erases_a_persons_payloads_from_the_console(
    admin: str, services: Services, sandbox: SandboxServer, browser: webdriver.Chrome
) -> None:
    """Form, confirmation with the email masked, erasure: the page says how many, the store agrees."""
    make_history(services, sandbox)  # five events of one lead, transformed by a worker: hashes recorded
    browser.get(f"{admin}/login")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: "/login" not in driver.current_url)
    browser.find_element(By.LINK_TEXT, "Erasure").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: driver.title.startswith("Erasure"))
    Select(browser.find_element(By.NAME, "kind")).select_by_value("email")
    browser.find_element(By.NAME, "value").send_keys(EMAIL.upper())
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: driver.title.startswith("Confirm"))

    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("Erase every payload carrying") and "@example.com" in heading
    assert EMAIL not in browser.find_element(By.TAG_NAME, "main").text.lower()
    assert erased_events(services) == 0  # nothing happens before the confirmation
    screenshot(browser, "console-erase-confirm")
    browser.find_element(By.CSS_SELECTOR, "button.danger").click()

    WebDriverWait(browser, WAIT_SECONDS).until(lambda driver: "of 5 events" in driver.page_source)
    shown = browser.find_element(By.TAG_NAME, "body").text
    assert "LeadSquared's copy is untouched" in shown and EMAIL not in shown.lower()
    assert erased_events(services) == 5
    entry = latest_entries(services.engine, limit=1)[0]
    assert (entry.actor, entry.action, entry.rows) == ("console", "erase", 5)
    assert "lead@" not in f"{entry.target} {entry.detail}"
    assert problems(browser) == []
