"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app

from bridge.services import Services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Answer that the process is up."""
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz() -> tuple[dict[str, str], int]:
    """Answer whether the store can be reached."""
    services: Services = current_app.extensions["bridge"]
    try:
        with services.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return {"status": "unavailable", "message": "the database cannot be reached"}, 503
    return {"status": "ready"}, 200
