"""Logging in and out of the console, with failed attempts throttled per client address.

The throttle counts the audit log's failed logins, so every admin process
and worker shares it and it outlives a restart. While an address is
throttled its password is not even checked.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from bridge.admin.access import sign_in, signed_in
from bridge.admin.security import client_address_text
from bridge.services import AdminCredentials, Services
from bridge.store.audit import AuditEntry, count_since, write_audit

bp = Blueprint("auth", __name__)

ACTOR = "console"
THROTTLE_WINDOW_SECONDS = 15 * 60
THROTTLE_FAILURES = 5


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; check the password it sends."""
    if request.method == "GET":
        if signed_in():
            return redirect(safe_next(request.args.get("next")))
        return render_template("login.html", next=request.args.get("next", ""))
    address, now = client_address_text(), time.time()
    if throttled(address, now):
        return _throttled_page()
    if not password_matches(request.form.get("password", "")):
        _audit("login_failed", address, now)
        page = render_template("login.html", next=request.form.get("next", ""), wrong=True)
        return page, 401
    sign_in()
    _audit("login", address, now)
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session."""
    session.clear()
    _audit("logout", client_address_text(), time.time())
    return redirect(url_for("auth.login"))


def throttled(address: str | None, now: float) -> bool:
    """Tell whether the address failed to log in too often in the last 15 minutes."""
    services: Services = current_app.extensions["bridge"]
    failures = count_since(services.engine, "login_failed", address, now - THROTTLE_WINDOW_SECONDS)
    return failures >= THROTTLE_FAILURES


def password_matches(given: str) -> bool:
    """Compare a password with the console's in constant time."""
    credentials: AdminCredentials = current_app.extensions["bridge_admin"]
    return hmac.compare_digest(given.encode(), (credentials.password or "").encode())


def safe_next(wanted: str | None) -> str:
    """Return where to go after logging in: a path on this site, else the overview."""
    if wanted and wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return url_for("overview.index")


def _throttled_page() -> ResponseReturnValue:
    minutes = THROTTLE_WINDOW_SECONDS // 60
    message = (
        f"{THROTTLE_FAILURES} wrong passwords from your address in the last {minutes} minutes: "
        f"wait up to {minutes} minutes before trying again"
    )
    page = render_template("error.html", status=429, error="too_many_requests", message=message)
    return page, 429, {"Retry-After": str(THROTTLE_WINDOW_SECONDS)}


def _audit(action: str, address: str | None, now: float) -> None:
    services: Services = current_app.extensions["bridge"]
    write_audit(services.engine, AuditEntry(at=now, actor=ACTOR, action=action, address=address))
