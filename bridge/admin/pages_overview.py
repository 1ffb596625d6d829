"""The console's first page: accounts, sources and their last 24 hours, workers, the latest problems."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from bridge.admin import context
from bridge.admin.charts import hourly_chart
from bridge.operate import queries

bp = Blueprint("overview", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Show accounts, each source's last 24 hours as a chart, workers and the latest problems."""
    wired = context.services()
    summary = queries.overview(wired.reader, wired.settings, context.now())
    charts = {source.name: hourly_chart(source.hourly) for source in summary.sources}
    totals: Counter[str] = Counter()
    for account in summary.accounts:
        totals.update(account.by_status)
    return render_template("overview.html", overview=summary, charts=charts, totals=totals)
