"""Answers for every error: JSON with a status and what to fix on the API, a page saying it in the console."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound

from bridge.admin.context import PagingError
from bridge.admin.security import is_api_request
from bridge.operate.actions import OperateError
from bridge.operate.filters import FilterError

log = logging.getLogger(__name__)

# The error code of an action refused with each status (bridge.operate.actions.OperateError).
REFUSALS = {400: "bad_request", 404: "not_found", 409: "conflict"}


def register(app: Flask) -> None:
    """Answer HTTP errors, bad filters, an unreachable store and anything unexpected."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(FilterError, _filter_error)
    app.register_error_handler(PagingError, _paging_error)
    app.register_error_handler(OperateError, _refused)
    app.register_error_handler(sa.exc.SQLAlchemyError, _store_error)
    app.register_error_handler(Exception, _unexpected)


def api_error(status: int, error: str, message: str) -> Response:
    """Return the API's JSON answer for an error."""
    response = jsonify(status=status, error=error, message=message)
    response.status_code = status
    return response


def answer(status: int, error: str, message: str) -> ResponseReturnValue:
    """Return the error as JSON to the API, as a page to the console."""
    if is_api_request(request):
        return api_error(status, error, message)
    return render_template("error.html", status=status, error=error, message=message), status


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    name = (error.name or "error").lower().replace(" ", "_")
    return answer(status, name, error.description or name)


def _not_found(error: NotFound) -> ResponseReturnValue:
    if error.description != NotFound.description:
        return answer(404, "not_found", error.description or "not found")  # a view's own words
    where = "GET /api/openapi.json lists the routes" if is_api_request(request) else "use the menu above"
    return answer(404, "not_found", f"nothing is at {request.path}: {where}")


def _csrf_error(_error: CSRFError) -> ResponseReturnValue:
    message = "the form's security token is missing or stale: reload the page and send the form again"
    return answer(400, "csrf", message)


def _filter_error(error: FilterError) -> ResponseReturnValue:
    return answer(400, "bad_filter", str(error))


def _paging_error(error: PagingError) -> ResponseReturnValue:
    return answer(400, "bad_paging", str(error))


def _refused(error: OperateError) -> ResponseReturnValue:
    status = error.status if 400 <= error.status < 500 else 400
    return answer(status, REFUSALS.get(status, "refused"), error.message)


def _store_error(_error: sa.exc.SQLAlchemyError) -> ResponseReturnValue:
    log.exception("the store failed", extra={"action": "error"})
    return answer(503, "store_unavailable", "the database could not be reached or failed; try again shortly")


def _unexpected(_error: Exception) -> ResponseReturnValue:
    # Logged with its traceback (the log filter scrubs secrets); the answer names nothing internal.
    log.exception("unexpected error", extra={"action": "error"})
    return answer(500, "internal_server_error", "the admin process failed on this request; see its log")
