"""The admin app's blueprints: the console's pages (session and CSRF) and the API's (Bearer token)."""

from __future__ import annotations

from bridge.admin import (
    api,
    api_actions,
    auth,
    openapi,
    pages_accounts,
    pages_activities,
    pages_attention,
    pages_erasure,
    pages_events,
    pages_jobs,
    pages_overview,
)
from bridge.web import health

PAGES = (
    health.bp,
    auth.bp,
    pages_overview.bp,
    pages_attention.bp,
    pages_events.bp,
    pages_activities.bp,
    pages_accounts.bp,
    pages_jobs.bp,
    pages_erasure.bp,
)
API = (api.bp, api_actions.bp, openapi.bp)
