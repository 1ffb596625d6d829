"""The browser tests' own footing: Debian's Chromium reads a page the bridge's sandbox serves."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.selenium_manager import SeleniumManager

from bridge.sandbox import SandboxServer
from bridge.sandbox.app import BULK_ADD_PATH
from tests.e2e.browser import (
    WINDOW_SIZE,
    screenshot,
    selenium_manager_shut_out,
    skip_without_chromium,
    start_chromium,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bytes per pixel of 8-bit PNGs by colour type: grey, RGB, grey with alpha, RGBA.
PNG_PIXEL_BYTES = {0: 1, 2: 3, 4: 2, 6: 4}


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into (type, data) chunks, failing on a bad signature or checksum."""
    assert data.startswith(PNG_SIGNATURE), "not a PNG signature"
    chunks: list[tuple[bytes, bytes]] = []
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad checksum on the {kind!r} chunk"
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


def png_size(path: Path) -> tuple[int, int]:
    """Return a PNG file's width and height after checking every chunk and the pixel data's length."""
    chunks = png_chunks(path.read_bytes())
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and colour in PNG_PIXEL_BYTES and interlace == 0
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    # Each row is a filter byte and its pixels.
    assert len(pixels) == height * (1 + width * PNG_PIXEL_BYTES[colour])
    return width, height


def add_activity(sandbox: SandboxServer, opportunity_id: str, note: str) -> str:
    """Post one activity to the sandbox as LeadSquared's API takes it; return the id it gave."""
    row = {"ActivityEvent": 201, "ActivityOwnerEmail": "payments@example.com", "ActivityNote": note}
    answer = requests.post(
        f"{sandbox.url}{BULK_ADD_PATH}",
        params={"opportunityId": opportunity_id},
        headers={
            "x-LSQ-AccessKey": sandbox.settings.access_key,
            "x-LSQ-SecretKey": sandbox.settings.secret_key,
        },
        json=[row],
        timeout=10,
    )
    answer.raise_for_status()
    activity_id: str = answer.json()["Response"][0]["ProspectActivityId"]
    return activity_id


@pytest.mark.browser
def test_chromium_reads_what_the_sandbox_received_and_saves_a_screenshot(
    browser: webdriver.Chrome, sandbox: SandboxServer
) -> None:
    """Chromium loads the sandbox's received list, the DOM holds the posted activity, the PNG is whole."""
    activity_id = add_activity(sandbox, "opp-browser-1", "Payment pay_browser captured: INR 1500.00")
    browser.get(f"{sandbox.url}/sandbox/received")
    shown = json.loads(browser.find_element(By.TAG_NAME, "pre").text)
    [activity] = shown["activities"]
    assert activity["ProspectActivityId"] == activity_id
    assert activity["opportunity_id"] == "opp-browser-1"
    assert activity["row"]["ActivityNote"] == "Payment pay_browser captured: INR 1500.00"
    assert [call["status"] for call in shown["calls"]] == [200]
    path = screenshot(browser, "sandbox-received")
    assert path.name == "sandbox-received.png"
    viewport = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    assert list(png_size(path)) == viewport
    assert browser.get_window_size() == {"width": WINDOW_SIZE[0], "height": WINDOW_SIZE[1]}


def test_selenium_manager_cannot_run_where_chromium_starts() -> None:
    """Were Selenium to call its manager for a browser or driver, the call would fail before any download."""
    with selenium_manager_shut_out(), pytest.raises(WebDriverException, match="SE_MANAGER_PATH"):
        SeleniumManager().binary_paths(["--browser", "chrome"])


@pytest.mark.browser
def test_chromium_starts_without_selenium_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """The explicit driver path means Selenium never asks its manager for anything."""
    skip_without_chromium()

    def refuse(manager: SeleniumManager, args: list[str]) -> dict[str, str]:
        raise AssertionError(f"Selenium Manager was asked for {args}")

    monkeypatch.setattr(SeleniumManager, "binary_paths", refuse)
    driver = start_chromium()
    try:
        assert driver.capabilities["browserName"] == "chrome"
    finally:
        driver.quit()
