"""Every answer of the admin app carries the security headers; dynamic ones are never cached."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.wrappers import Response

from bridge.admin.security import CONTENT_SECURITY_POLICY
from tests.integration.admin.conftest import API

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def assert_secured(answer: Response, cached: bool = False) -> None:
    """Check the security headers of one answer, and that it may be cached only where allowed."""
    for name, value in EXPECTED.items():
        assert answer.headers.get(name) == value, name
    assert (answer.headers.get("Cache-Control") == "no-store") is not cached


def test_the_policy_allows_no_inline_script_or_style() -> None:
    """The Content-Security-Policy is the one the console is built for, without 'unsafe-inline'."""
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "style-src 'self'" in CONTENT_SECURITY_POLICY


def test_pages_redirects_and_errors_carry_the_headers(stranger: FlaskClient, console: FlaskClient) -> None:
    """The login page, a redirect, a 404 page, a 400 page and a signed-in page all carry them."""
    assert_secured(stranger.get("/login"))
    assert_secured(stranger.get("/"))
    assert_secured(console.get("/"))
    assert_secured(console.get("/no-such-page"))
    assert_secured(console.post("/logout"))


def test_api_answers_carry_the_headers(stranger: FlaskClient) -> None:
    """A 401, a 404 and a 200 of the API all carry them."""
    assert_secured(stranger.get("/api/openapi.json"))
    assert_secured(stranger.get("/api/nothing", headers=API))
    assert_secured(stranger.get("/api/openapi.json", headers=API))


def test_the_stylesheet_may_be_cached(stranger: FlaskClient) -> None:
    """The static stylesheet carries the headers but is not marked no-store."""
    with stranger.get("/static/console.css") as stylesheet:
        assert_secured(stylesheet, cached=True)
