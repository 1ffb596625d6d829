"""The console in headless Chromium against the admin process under gunicorn: login, pages, no CSP breach."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import POSTGRES_ONLY
from tests.e2e.browser import screenshot
from tests.e2e.conftest import PASSWORD

# PostgreSQL alone: the pages' queries run on both stores in tests/integration/admin; this adds the
# browser (login, stylesheet, CSP) and the admin process.
pytestmark = [pytest.mark.slow, pytest.mark.browser, POSTGRES_ONLY]
PAGES = {"overview": "/", "attention": "/attention", "events": "/events", "accounts": "/accounts"}


def problems(browser: webdriver.Chrome) -> list[str]:
    """Return what Chromium's console complained of, a missing favicon aside."""
    # Selenium leaves get_log without type hints.
    entries: list[dict[str, str]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    return [
        entry["message"]
        for entry in entries
        if entry["level"] == "SEVERE" and "favicon" not in entry["message"]
    ]


# The browser comes last so that it quits first (see test_erasure_browser.py).
def test_a_person_logs_in_and_reads_every_page_without_a_csp_breach(
    admin: str, browser: webdriver.Chrome
) -> None:
    """The login form works in a real browser and every page renders its stylesheet with no CSP complaint."""
    browser.get(f"{admin}/")
    assert "/login" in browser.current_url
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button.primary").click()
    WebDriverWait(browser, 10).until(lambda driver: "/login" not in driver.current_url)
    for name, path in PAGES.items():
        browser.get(f"{admin}{path}")
        assert browser.find_element(By.TAG_NAME, "h1").text, path
        header = browser.find_element(By.CSS_SELECTOR, "header.top")
        assert header.value_of_css_property("background-color") == "rgba(138, 28, 43, 1)", path
        screenshot(browser, f"console-{name}")
    assert problems(browser) == []
    browser.find_element(By.CSS_SELECTOR, "form.logout button").click()
    WebDriverWait(browser, 10).until(lambda driver: "/login" in driver.current_url)
