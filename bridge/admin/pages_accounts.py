"""The console's accounts: each LeadSquared account's state and pace, paused and resumed from here."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from bridge.admin import context
from bridge.operate import queries
from bridge.operate.actions import pause, resume

bp = Blueprint("accounts", __name__)


@bp.get("/accounts")
def index() -> ResponseReturnValue:
    """Show every account: paused or not and by whom, its activities by status, its calls and limit."""
    wired = context.services()
    accounts = queries.accounts_overview(wired.reader, wired.settings, context.now())
    return render_template("accounts.html", accounts=accounts)


@bp.post("/accounts/<name>/pause")
def pause_account(name: str) -> ResponseReturnValue:
    """Stop the account's deliveries until an operator resumes them."""
    result = pause(context.services(), name, context.actor(), context.now())
    flash(result.detail, "success")
    return redirect(url_for("accounts.index"))


@bp.post("/accounts/<name>/resume")
def resume_account(name: str) -> ResponseReturnValue:
    """Let the account's deliveries go again."""
    result = resume(context.services(), name, context.actor(), context.now())
    flash(result.detail, "success")
    return redirect(url_for("accounts.index"))
