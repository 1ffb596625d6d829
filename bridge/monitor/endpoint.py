"""GET /metrics of the web and admin apps, for the addresses [server] metrics_allowed_ips allows.

Prometheus scrapes without logging in, so the admin app lets this route past
its login (bridge/admin/access.py); both apps answer it only to the allowed
addresses, loopback and private ranges unless configured, and 404 to anyone
else, as if there were nothing here.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from bridge.monitor.exposition import CONTENT_TYPE, metrics_registry, render
from bridge.services import Services
from bridge.web.addresses import client_address

bp = Blueprint("metrics", __name__)
REGISTRY_KEY = "bridge_metrics"


def init_app(app: Flask, *collectors: Collector) -> None:
    """Serve GET /metrics on the app: its processes' counters and the given collectors."""
    app.extensions[REGISTRY_KEY] = metrics_registry(*collectors)
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Response | tuple[dict[str, str], int]:
    """Answer the metrics in the Prometheus text format, to an allowed address only."""
    services: Services = current_app.extensions["bridge"]
    settings = services.settings
    forwarded = request.headers.getlist("X-Forwarded-For")
    client = client_address(request.remote_addr, forwarded, settings.trusted_proxies)
    if client is None or not any(client in network for network in settings.metrics_networks):
        message = "no such page here"
        return {"status": "rejected", "error": "not_found", "message": message}, 404
    registry: CollectorRegistry = current_app.extensions[REGISTRY_KEY]
    return Response(render(registry), mimetype=None, content_type=CONTENT_TYPE)
