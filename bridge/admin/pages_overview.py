"""The console's first page: the overview."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("overview", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Show the overview."""
    return render_template("overview.html")
