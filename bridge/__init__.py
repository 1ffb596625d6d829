"""lsq-bridge: signed webhooks in, LeadSquared activities out."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from bridge.services import AdminCredentials, Services


def create_app(services: Services | None = None) -> Flask:
    """Create the web app that receives webhooks, on services or on those the environment configures."""
    # Imported here so that `import bridge.sandbox` does not load the whole service.
    from flask import Flask

    from bridge.monitor import endpoint
    from bridge.observe.logs import configure_logging
    from bridge.services import build_services, environment, source_registry
    from bridge.store.inbox import Inbox
    from bridge.store.migrate import ensure_current
    from bridge.web import errors, health, receiver

    if services is None:
        services = build_services(environment(), source_registry())
        configure_logging(services.secret_values())
    ensure_current(services.engine)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_body_bytes
    app.extensions["bridge"] = services
    # Idle workers wake on the insert's NOTIFY where they LISTEN (bridge/store/wake.py).
    notify = services.settings.delivery.wake == "notify"
    app.extensions["bridge_inbox"] = Inbox(services.engine, notify=notify)
    app.register_blueprint(receiver.bp)
    app.register_blueprint(health.bp)
    # Its own counters only: the store's gauges are the admin's, so scrapes never wait on the store here.
    endpoint.init_app(app)
    errors.register(app)
    return app


def create_admin_app(services: Services | None = None, credentials: AdminCredentials | None = None) -> Flask:
    """Create the admin app (console and API); refuse to start without BRIDGE_ADMIN_PASSWORD."""
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect

    from bridge.admin import access, errors, parts, present, security
    from bridge.alerts.monitor import start_admin_monitor
    from bridge.monitor import endpoint
    from bridge.monitor.store_gauges import StoreCollector
    from bridge.observe.logs import configure_logging
    from bridge.services import admin_credentials, build_services, environment, source_registry
    from bridge.store.migrate import ensure_current

    credentials = credentials or admin_credentials(environment())
    password = security.require_password(credentials)
    own_services = services is None
    if services is None:
        services = build_services(environment(), source_registry())
        configure_logging([*services.secret_values(), password, credentials.token or ""])
    ensure_current(services.engine)
    app = Flask("bridge.admin")
    app.extensions["bridge"] = services
    app.extensions["bridge_admin"] = credentials
    security.init_app(app, credentials)
    access.init_app(app)  # before the CSRF check: a stranger is sent to log in, not told of tokens
    csrf = CSRFProtect(app)
    for blueprint in (*parts.PAGES, *parts.API):
        app.register_blueprint(blueprint)
    for blueprint in parts.API:
        csrf.exempt(blueprint)  # the API takes a Bearer token and never a cookie: nothing to forge
    # The store's gauges, read through the operator's reader, which holds up no writer.
    endpoint.init_app(app, StoreCollector(services.reader, services.settings))
    present.init_app(app)
    errors.register(app)
    # Only the admin process can say that every worker is dead; built here with its own services
    # (a test that passes its services starts none). See bridge/alerts/monitor.py.
    if own_services:
        app.extensions["bridge_alerts"] = start_admin_monitor(services, f"admin:{os.getpid()}")
    return app
