"""The console's needs-attention page: problems grouped by status and reason, each a link to its rows."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from bridge.admin import context
from bridge.operate import queries

bp = Blueprint("attention", __name__)


@bp.get("/attention")
def index() -> ResponseReturnValue:
    """List failed and ignored events and dead, unknown and unresolved activities, grouped by reason."""
    groups = queries.needs_attention(context.services().reader)
    return render_template("attention.html", groups=groups)
