"""Who may pass: a signed-in session for the console's pages, the Bearer token for the API.

One guard runs before every request, before any view and before the CSRF
check, so a route added later is covered without a decorator to forget.
Only the login page, the stylesheet, the health checks and /metrics (for
the allowed addresses) are open.
"""

from __future__ import annotations

import hmac
import time

from flask import Flask, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from bridge.admin.errors import api_error
from bridge.admin.security import SESSION_LIFETIME, is_api_request
from bridge.services import ADMIN_TOKEN_ENV, AdminCredentials

# /metrics takes no login (Prometheus has none to give): it answers only [server] metrics_allowed_ips.
OPEN_ENDPOINTS = frozenset({"auth.login", "static", "health.healthz", "health.readyz", "metrics.metrics"})
SIGNED_IN_AT = "signed_in_at"


def init_app(app: Flask) -> None:
    """Guard every request of the app."""
    app.before_request(guard)


def guard() -> ResponseReturnValue | None:
    """Let the request through, or answer 401 (API) or send the browser to the login page."""
    if is_api_request(request):
        return check_token()
    if request.endpoint in OPEN_ENDPOINTS or signed_in():
        return None
    if SIGNED_IN_AT in session:
        del session[SIGNED_IN_AT]  # an expired login; the login form's CSRF token stays
    wanted = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=wanted))


def signed_in() -> bool:
    """Tell whether the session belongs to someone who gave the password less than 8 hours ago."""
    at = session.get(SIGNED_IN_AT)
    if not isinstance(at, int | float):
        return False
    return 0 <= time.time() - at < SESSION_LIFETIME.total_seconds()


def sign_in() -> None:
    """Start a fresh session for someone who just gave the password."""
    session.clear()
    session.permanent = True
    session[SIGNED_IN_AT] = time.time()


def check_token() -> ResponseReturnValue | None:
    """Let an API request through only with the configured Bearer token, compared in constant time."""
    credentials: AdminCredentials = current_app.extensions["bridge_admin"]
    if not credentials.token:
        return _unauthorized(f"{ADMIN_TOKEN_ENV} is not set: start the admin process with it to use the API")
    given = bearer_token(request.headers.get("Authorization", ""))
    if given is None or not hmac.compare_digest(given.encode(), credentials.token.encode()):
        return _unauthorized(f"send the header Authorization: Bearer <the value of {ADMIN_TOKEN_ENV}>")
    return None


def bearer_token(header: str) -> str | None:
    """Return the token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(message: str) -> ResponseReturnValue:
    response = api_error(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="lsq-bridge admin API"'
    return response
