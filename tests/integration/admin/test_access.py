"""Who gets into the admin app: a password for the console, a token for the API, nobody else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter, Rule

from bridge import create_admin_app, create_app
from bridge.admin.access import OPEN_ENDPOINTS, SIGNED_IN_AT
from bridge.admin.security import SESSION_LIFETIME, AdminConfigError
from bridge.services import AdminCredentials, Services
from tests.integration.admin.conftest import API, CREDENTIALS, PASSWORD, TOKEN, csrf_token, log_in

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def guarded_routes(app: Flask) -> Iterator[tuple[str, str]]:
    """Yield (method, url) for every route of the app but the open ones, with sample values filled in."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint in OPEN_ENDPOINTS:
                continue
            url = url_for(rule.endpoint, **sample_values(rule))
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield method, url


def sample_values(rule: Rule) -> dict[str, Any]:
    """Return a value for each of a rule's variables: 1 for a number, a name otherwise."""
    converters = rule._converters
    return {name: 1 if isinstance(converters[name], IntegerConverter) else "main" for name in rule.arguments}


def test_every_page_sends_a_stranger_to_the_login_form(admin_app: Flask, stranger: FlaskClient) -> None:
    """Each console route, whatever its method, answers a stranger with a redirect to /login."""
    pages = [(m, url) for m, url in guarded_routes(admin_app) if not url.startswith("/api/")]
    assert len(pages) >= 2
    for method, url in pages:
        answer = stranger.open(url, method=method)
        assert answer.status_code == 302, (method, url, answer.status_code)
        assert answer.headers["Location"].startswith("/login"), (method, url)


def test_every_api_route_answers_401_without_the_token(admin_app: Flask, stranger: FlaskClient) -> None:
    """Each /api route answers 401 JSON without a token and with a wrong one."""
    routes = [(m, url) for m, url in guarded_routes(admin_app) if url.startswith("/api/")]
    assert routes
    for method, url in routes:
        for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": TOKEN}):
            answer = stranger.open(url, method=method, headers=headers, json={})
            assert answer.status_code == 401, (method, url, headers)
            assert answer.json and answer.json["error"] == "unauthorized"
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_api_path_is_401_to_a_stranger_and_404_with_the_token(stranger: FlaskClient) -> None:
    """A path under /api that does not exist reveals nothing without the token."""
    assert stranger.get("/api/nothing-here").status_code == 401
    answer = stranger.get("/api/nothing-here", headers=API)
    assert answer.status_code == 404
    assert answer.json and answer.json["error"] == "not_found" and "openapi.json" in answer.json["message"]


def test_the_api_says_when_no_token_is_configured(admin_services: Services) -> None:
    """Without BRIDGE_ADMIN_TOKEN the API answers 401 naming the variable, whatever is sent."""
    app = create_admin_app(admin_services, AdminCredentials(password=PASSWORD))
    answer = app.test_client().get("/api/openapi.json", headers={"Authorization": "Bearer "})
    assert answer.status_code == 401
    assert answer.json and "BRIDGE_ADMIN_TOKEN is not set" in answer.json["message"]


def test_the_api_never_takes_the_session_cookie_and_never_sets_one(console: FlaskClient) -> None:
    """A logged-in browser's cookie gets it nothing from the API; a token answer carries no cookie."""
    assert console.get("/").status_code == 200
    assert console.get("/api/openapi.json").status_code == 401
    answer = console.get("/api/openapi.json", headers=API)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


def test_the_open_routes_need_no_login(stranger: FlaskClient) -> None:
    """The login form, the stylesheet and the health checks answer a stranger."""
    assert stranger.get("/login").status_code == 200
    with stranger.get("/static/console.css") as stylesheet:
        assert stylesheet.status_code == 200
    assert stranger.get("/healthz").status_code == 200
    assert stranger.get("/readyz").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(console: FlaskClient) -> None:
    """A signed-in browser's form without its CSRF token is refused with 400, and does nothing."""
    answer = console.post("/logout")
    assert answer.status_code == 400
    assert "security token" in answer.text
    assert console.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert console.get("/").status_code == 200


def test_the_login_form_itself_needs_its_csrf_token(stranger: FlaskClient) -> None:
    """Even the right password is refused without the login page's CSRF token."""
    answer = stranger.post("/login", data={"password": PASSWORD})
    assert answer.status_code == 400
    assert stranger.get("/").status_code == 302


def test_a_strangers_other_requests_leave_the_login_form_working(stranger: FlaskClient) -> None:
    """A browser fetching /favicon.ico between the login page and its form still logs in."""
    page = stranger.get("/login")
    assert stranger.get("/favicon.ico").status_code == 302
    form = {"password": PASSWORD, "csrf_token": csrf_token(page.text)}
    assert stranger.post("/login", data=form).status_code == 302
    assert stranger.get("/").status_code == 200


def test_a_session_lasts_eight_hours_from_its_login_and_no_longer(console: FlaskClient) -> None:
    """A session whose login is older than the lifetime is sent back to the login form."""
    with console.session_transaction() as session:
        session[SIGNED_IN_AT] = time.time() - SESSION_LIFETIME.total_seconds() + 60
    assert console.get("/").status_code == 200
    with console.session_transaction() as session:
        session[SIGNED_IN_AT] = time.time() - SESSION_LIFETIME.total_seconds() - 1
    assert console.get("/").status_code == 302


def test_a_new_password_logs_everybody_out(admin_services: Services, console: FlaskClient) -> None:
    """A cookie signed under one password is worth nothing to an admin process with another."""
    cookie = console.get_cookie("lsq_bridge_console")
    assert cookie is not None
    changed = create_admin_app(admin_services, AdminCredentials(password="a-new-password", token=TOKEN))
    client = changed.test_client()
    client.set_cookie("lsq_bridge_console", cookie.value)
    assert client.get("/").status_code == 302
    same = create_admin_app(admin_services, CREDENTIALS).test_client()
    same.set_cookie("lsq_bridge_console", cookie.value)
    assert same.get("/").status_code == 200


def test_the_session_cookie_is_httponly_strict_and_secure_off_loopback(admin_app: Flask) -> None:
    """The cookie is HttpOnly and SameSite=Strict always, Secure for a client not on this machine."""
    local = log_in(admin_app.test_client()).headers["Set-Cookie"]
    assert "HttpOnly" in local and "SameSite=Strict" in local and "Secure" not in local
    remote = log_in(admin_app.test_client(), address="203.0.113.7").headers["Set-Cookie"]
    assert "HttpOnly" in remote and "SameSite=Strict" in remote and "Secure" in remote


def test_after_login_only_a_path_of_this_site_is_followed(stranger: FlaskClient) -> None:
    """The login form's next= goes to a local path, never to another site."""
    page = stranger.get("/login?next=//evil.example/x")
    form = {"password": PASSWORD, "csrf_token": csrf_token(page.text), "next": "//evil.example/x"}
    assert stranger.post("/login", data=form).headers["Location"] == "/"
    stranger.post("/logout", data={"csrf_token": csrf_token(stranger.get("/").text)})
    page = stranger.get("/login")
    form = {"password": PASSWORD, "csrf_token": csrf_token(page.text), "next": "/healthz"}
    assert stranger.post("/login", data=form).headers["Location"] == "/healthz"


def test_a_page_asked_for_before_login_is_shown_after_it(stranger: FlaskClient) -> None:
    """The login redirect remembers the page asked for."""
    assert stranger.get("/?x=1").headers["Location"] == "/login?next=/?x%3D1"


def test_the_webhook_app_serves_no_admin_route(admin_services: Services) -> None:
    """The webhook app answers 404 to the console's and the API's paths."""
    client = create_app(admin_services).test_client()
    for path in ("/login", "/logout", "/api/events", "/api/openapi.json", "/static/console.css"):
        assert client.get(path, headers=API).status_code == 404, path
    assert client.post("/api/replay", headers=API, json={"event_id": 1}).status_code == 404


def test_the_admin_app_refuses_to_start_without_a_password(admin_services: Services) -> None:
    """No BRIDGE_ADMIN_PASSWORD: building the app fails, naming the variable."""
    with pytest.raises(AdminConfigError, match="BRIDGE_ADMIN_PASSWORD is not set"):
        create_admin_app(admin_services, AdminCredentials(token=TOKEN))


def test_the_admin_app_refuses_a_password_short_enough_to_guess_offline(admin_services: Services) -> None:
    """A password under 12 characters is refused at start, saying how long it must be."""
    with pytest.raises(AdminConfigError, match="shorter than 12 characters"):
        create_admin_app(admin_services, AdminCredentials(password="hunter2", token=TOKEN))
