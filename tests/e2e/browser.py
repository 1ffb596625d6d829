"""Headless Chromium for the browser tests: Debian's chromium and chromedriver, never a downloaded one."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS_ENV = "BRIDGE_TEST_ARTIFACTS"
DEFAULT_ARTIFACTS = ROOT / "tests" / "artifacts"
WINDOW_SIZE = (1280, 900)
# --no-sandbox because CI runs as root, where Chromium's sandbox refuses to start;
# /dev/shm is small in containers, so shared memory goes to /tmp instead.
CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
)
# Selenium Manager downloads browsers and drivers when it runs. The explicit driver path keeps
# Selenium from calling it; these make any call that slips through fail at once, offline.
NO_SELENIUM_MANAGER = {
    "SE_MANAGER_PATH": "/dev/null",  # not a file: Selenium raises instead of running the manager
    "SE_OFFLINE": "true",
    "SE_AVOID_BROWSER_DOWNLOAD": "true",
    # Selenium prefers this variable over the Service's path; pin it to the same driver.
    "SE_CHROMEDRIVER": str(CHROMEDRIVER),
}


def missing_binaries() -> list[Path]:
    """Return the browser binaries this machine lacks."""
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


def skip_without_chromium() -> None:
    """Skip the test, saying what to install, unless Chromium and its driver are here."""
    missing = missing_binaries()
    if missing:
        names = " and ".join(str(path) for path in missing)
        pytest.skip(
            f"browser tests need {names}: install Debian's chromium and chromium-driver "
            "(`make test` does it when run as root with apt-get)"
        )


def chromium_options() -> webdriver.ChromeOptions:
    """Return the options of a headless Chromium with a fixed window."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    return options


@contextmanager
def selenium_manager_shut_out() -> Iterator[None]:
    """Set the environment that keeps Selenium Manager from running, then restore it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in NO_SELENIUM_MANAGER.items():
            patch.setenv(name, value)
        yield


def start_chromium() -> webdriver.Chrome:
    """Start headless Chromium through Debian's chromedriver, with Selenium Manager shut out."""
    with selenium_manager_shut_out():
        service = Service(executable_path=str(CHROMEDRIVER))
        return webdriver.Chrome(options=chromium_options(), service=service)


def artifacts_dir() -> Path:
    """Return the folder screenshots go to, creating it: BRIDGE_TEST_ARTIFACTS, or tests/artifacts."""
    folder = Path(os.environ.get(ARTIFACTS_ENV) or DEFAULT_ARTIFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(driver: webdriver.Chrome, name: str, whole_page: bool = False) -> Path:
    """Save what the window shows (or the whole page) as <artifacts>/<name>.png; return its path."""
    if not name or Path(name).name != name:
        raise ValueError(f"a screenshot name is a plain file name, not {name!r}")
    path = artifacts_dir() / f"{name}.png"
    path.write_bytes(whole_page_png(driver) if whole_page else driver.get_screenshot_as_png())
    return path


def whole_page_png(driver: webdriver.Chrome) -> bytes:
    """Return the whole page as a PNG, below the window's fold too, at the window's width."""
    # Chromium's DevTools capture: WebDriver's own screenshot stops at the window.
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
    return base64.b64decode(shot["data"])
