"""Fixtures of the e2e tier: a headless Chromium for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver

from tests.e2e.browser import skip_without_chromium, start_chromium


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium of its own for each test, quit afterwards; skipped where Chromium is missing."""
    skip_without_chromium()
    driver = start_chromium()
    yield driver
    driver.quit()
