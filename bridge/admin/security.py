"""What every answer of the admin app carries: its session cookie's rules, and the security headers.

The session lives in a signed cookie. Its key is derived from the console's
password, so every admin process (and every gunicorn worker) agrees on it
without sharing state, and changing the password logs everybody out. The
derivation is PBKDF2 with many rounds: the login page hands any visitor a
signed cookie, and a fast derivation would let one guess the password
offline from it, past the login throttle.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from ipaddress import ip_address

from flask import Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from bridge.services import ADMIN_PASSWORD_ENV, AdminCredentials, Services
from bridge.web.addresses import client_address

SESSION_LIFETIME = timedelta(hours=8)  # absolute: a session is never extended, see access.signed_in
COOKIE_NAME = "lsq_bridge_console"
KEY_ROUNDS = 200_000
KEY_SALT = b"lsq-bridge console session key"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
API_PREFIX = "/api/"
MAX_BODY_BYTES = 64 * 1024  # a form or an API request: an id, a filter; never a payload


class AdminConfigError(RuntimeError):
    """The admin process cannot start as configured; the message says what to set."""


def require_password(credentials: AdminCredentials) -> str:
    """Return the console's password, or refuse to start, naming the variable to set.

    Every visitor of the login page gets a cookie signed with a key derived
    from the password, so a short one could be guessed offline against it,
    past the login throttle: fewer than MIN_PASSWORD_CHARS characters is refused.
    """
    example = f"{ADMIN_PASSWORD_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe())')"
    if not credentials.password:
        raise AdminConfigError(
            f"{ADMIN_PASSWORD_ENV} is not set: the admin process needs a password for its console "
            f"(e.g. {example})"
        )
    if len(credentials.password) < MIN_PASSWORD_CHARS:
        raise AdminConfigError(
            f"{ADMIN_PASSWORD_ENV} is shorter than {MIN_PASSWORD_CHARS} characters: choose a longer one "
            f"(e.g. {example})"
        )
    return credentials.password


MIN_PASSWORD_CHARS = 12


@lru_cache(maxsize=4)
def session_key(password: str) -> bytes:
    """Return the session cookie's signing key for a password: the same in every admin process."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), KEY_SALT, KEY_ROUNDS)


def is_api_request(current: Request) -> bool:
    """Tell whether a request is for the JSON API, which never reads or writes the session cookie."""
    return current.path.startswith(API_PREFIX) or current.path == API_PREFIX.rstrip("/")


def is_loopback(address: str | None) -> bool:
    """Tell whether an address is this machine's own (127.0.0.0/8, ::1)."""
    try:
        return address is not None and ip_address(address).is_loopback
    except ValueError:
        return False


def client_address_text() -> str | None:
    """Return the client's address as text: the peer, or whom a trusted proxy forwarded for."""
    services: Services = current_app.extensions["bridge"]
    forwarded = request.headers.getlist("X-Forwarded-For")
    address = client_address(request.remote_addr, forwarded, services.settings.trusted_proxies)
    return str(address) if address is not None else None


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions that the API ignores, Secure unless the client is on loopback.

    A browser on this machine reaches the console over plain http at
    127.0.0.1, where a Secure cookie would never come back; any other client
    must come over https (directly, or through a trusted proxy that
    terminates TLS), so its cookie is Secure.
    """

    def open_session(self, app: Flask, current: Request) -> SecureCookieSession | None:
        """Return the request's session; an API request gets an empty one, whatever cookie it sent."""
        if is_api_request(current):
            return self.session_class()
        return super().open_session(app, current)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the cookie, except on an API answer."""
        if not is_api_request(request):
            super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Mark the cookie Secure unless the client is on loopback."""
        return not is_loopback(client_address_text())


def init_app(app: Flask, credentials: AdminCredentials) -> None:
    """Configure the session cookie and add the security headers to every answer."""
    app.config.update(
        SECRET_KEY=session_key(require_password(credentials)),
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        # A form's token lives as long as the session that issued it.
        WTF_CSRF_TIME_LIMIT=None,
        # Flask-WTF's https check compares the Referer, which no-referrer never sends;
        # the token and the SameSite=Strict cookie stand without it.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.session_interface = ConsoleSessionInterface()
    app.after_request(add_headers)


def add_headers(response: Response) -> Response:
    """Add the security headers, and forbid caching of anything but the stylesheet."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response
