"""The console's erasure on request: a form, a confirmation showing the identifier masked, the erasure."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bridge.admin import context
from bridge.observe.identifiers import IdentifierKind, masked
from bridge.operate.erasure import LEADSQUARED_NOTE, erase_person, wanted_identifier

bp = Blueprint("erasure", __name__)


@bp.get("/erase")
def index() -> ResponseReturnValue:
    """Show the form that asks whose data to erase."""
    return render_template("erase.html", kinds=list(IdentifierKind), note=LEADSQUARED_NOTE)


@bp.post("/erase/confirm")
def confirm() -> ResponseReturnValue:
    """Check the identifier and ask to confirm, showing it masked; a bad one is a 400 saying what to fix."""
    kind, value = request.form.get("kind", ""), request.form.get("value", "")
    found = wanted_identifier(kind, value)
    return render_template(
        "erase_confirm.html",
        kind=kind,
        value=value,
        shown=masked(found),
        scan_all=bool(request.form.get("scan_all")),
        note=LEADSQUARED_NOTE,
    )


@bp.post("/erase")
def erase() -> ResponseReturnValue:
    """Erase what the confirmation named, and say what was done."""
    kind, value = request.form.get("kind", ""), request.form.get("value", "")
    scan_all = request.form.get("scan_all") == "yes"
    result = erase_person(context.services(), kind, value, context.actor(), context.now(), scan_all)
    flash(result.detail[:1].upper() + result.detail[1:], "success")
    return redirect(url_for("erasure.index"))
