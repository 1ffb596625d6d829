"""The admin app's blueprints: the console's pages (session and CSRF) and the API's (Bearer token)."""

from __future__ import annotations

from bridge.admin import api, api_actions, auth, openapi, pages_overview
from bridge.web import health

PAGES = (health.bp, auth.bp, pages_overview.bp)
API = (api.bp, api_actions.bp, openapi.bp)
