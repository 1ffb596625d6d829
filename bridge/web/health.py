"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app

from bridge.services import Services
from bridge.store.probe import store_accepts_write

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
# Within an orchestrator's usual probe timeout (Kubernetes: 1 s by default, often raised to a few).
READY_WRITE_TIMEOUT_SECONDS = 2.0


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Answer that the process is up."""
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz() -> tuple[dict[str, str], int]:
    """Answer whether the store takes a write within a timeout; LeadSquared is never asked."""
    services: Services = current_app.extensions["bridge"]
    problem = store_accepts_write(services.engine, READY_WRITE_TIMEOUT_SECONDS)
    if problem is not None:
        # The reason may name the database's host: the log has it, the answer does not.
        log.warning(f"not ready: the store refused a write: {problem}", extra={"action": "readyz"})
        message = f"the database did not take a write within {READY_WRITE_TIMEOUT_SECONDS:g} s"
        return {"status": "unavailable", "message": message}, 503
    return {"status": "ready"}, 200
