"""What the console's browser tests share: the bridge's processes as one object, and reading pages."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import TOKEN, start_procfile
from tests.e2e.test_processes import wait_until
from tests.support import body_of, payment_event, razorpay_headers

WAIT_SECONDS = 60  # generous: the machine may be busy with other tests


@dataclass
class Bridge:
    """The running processes, where they listen, and the environment they share."""

    folder: Path
    environ: dict[str, str]
    sandbox: str
    web: str
    admin: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str) -> None:
        """Start one Procfile process, logging to a file of its own."""
        log = self.folder / f"{name}-{time.monotonic_ns()}.log"
        self.processes[name] = start_procfile(name, self.environ, log)

    def stop(self, name: str) -> None:
        """Stop one process as a supervisor does, with SIGTERM, and check it exited cleanly."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, f"{name} did not stop cleanly"

    def wait_for(self, url: str) -> None:
        """Wait until a process answers GET url."""
        wait_until(lambda: requests.get(url, timeout=2).ok, WAIT_SECONDS, f"{url} answering")

    def api(self, path: str, **params: str) -> Any:
        """Read the admin API."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        answer = requests.get(f"{self.admin}{path}", params=params, headers=headers, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def post(self, source: str, event: dict[str, Any], event_id: str, secret: str | None = None) -> int:
        """Post a Razorpay delivery to a source, signed with <SOURCE>_WEBHOOK_SECRET; return the status."""
        body = body_of(event)
        headers = razorpay_headers(body, event_id, secret or self.environ[f"{source.upper()}_WEBHOOK_SECRET"])
        url = f"{self.web}/webhooks/{source}"
        return requests.post(url, data=body, headers=headers, timeout=10).status_code

    def pay(self, source: str, payment_id: str, opportunity_id: str, event_id: str) -> int:
        """Post a payment.captured delivery; return the answer's status."""
        return self.post(source, payment_event(payment_id, opportunity_id), event_id)


def text_of(driver: webdriver.Chrome, css: str) -> str:
    """Return the text of the first element the selector finds, or "" while there is none."""
    try:
        return str(driver.find_element(By.CSS_SELECTOR, css).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def shows(driver: webdriver.Chrome, text: str, css: str = "main") -> str:
    """Wait until the element holds the text (the page a click led to has come); return all its text."""
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: text in text_of(d, css), f"{text!r} in {css}")
    return text_of(driver, css)


def reload_until(driver: webdriver.Chrome, text: str, css: str = "main") -> str:
    """Reload the page, as a person would, until the element holds the text; return all its text."""

    def reloaded(d: webdriver.Chrome) -> bool:
        d.refresh()
        return text in text_of(d, css)

    WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.3).until(reloaded, f"{text!r} in {css}")
    return text_of(driver, css)


def click(driver: webdriver.Chrome, text: str, within: WebElement | None = None) -> None:
    """Click the link or button with this text, in the page or in one part of it."""
    named = f"normalize-space()='{text}'"
    found = (within or driver).find_elements(By.XPATH, f".//a[{named}] | .//button[{named}]")
    assert found, f"nothing to click named {text!r}"
    found[0].click()


def menu(driver: webdriver.Chrome, label: str, heading: str) -> None:
    """Go to a page through the menu at the top, and wait for its heading."""
    click(driver, label, driver.find_element(By.CSS_SELECTOR, "header.top nav"))
    shows(driver, heading, "h1")


def row_with(driver: webdriver.Chrome, text: str) -> WebElement:
    """Return the one table row holding the text."""
    rows = [row for row in driver.find_elements(By.CSS_SELECTOR, "main tbody tr") if text in row.text]
    assert len(rows) == 1, f"{len(rows)} rows hold {text!r}"
    return rows[0]


def fact(driver: webdriver.Chrome, name: str) -> str:
    """Return the value of one line of the event page's facts."""
    return str(driver.find_element(By.XPATH, f"//table[@class='facts']//tr[th='{name}']/td").text)


def calls_shown(driver: webdriver.Chrome) -> list[str]:
    """Return each line of the activity's call timeline."""
    return [str(line.text) for line in driver.find_elements(By.CSS_SELECTOR, "ol.timeline li")]
