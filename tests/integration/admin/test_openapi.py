"""The OpenAPI document tells the truth: every route is in it, everything in it is served, schemas hold."""

from __future__ import annotations

from typing import Any

from flask import Flask
from jsonschema import Draft202012Validator

from bridge.admin.openapi import document
from tests.integration.admin.documented import (
    DocumentedApi,
    documented_operations,
    resolved,
    served_operations,
)


def every_schema() -> list[dict[str, Any]]:
    """Return every response schema of the document and every component schema."""
    schemas = list(document()["components"]["schemas"].values())
    for item in document()["paths"].values():
        for operation in item.values():
            for answer in operation["responses"].values():
                schemas.append(resolved(answer)["content"]["application/json"]["schema"])
    return schemas


def test_every_api_route_is_documented_and_every_documented_operation_served(admin_app: Flask) -> None:
    """The app's /api routes and the document's operations are the same set."""
    served, documented = served_operations(admin_app), documented_operations()
    assert served - documented == set(), "routes missing from bridge/admin/openapi.json"
    assert documented - served == set(), "documented operations no route serves"


def test_the_document_is_openapi_3_1_with_valid_json_schemas() -> None:
    """The document says 3.1, every schema in it is a valid JSON Schema 2020-12, and each names a summary."""
    assert document()["openapi"].startswith("3.1.")
    for schema in every_schema():
        Draft202012Validator.check_schema(schema)
    for item in document()["paths"].values():
        assert all(operation.get("summary") for operation in item.values())


def test_the_document_is_served_to_the_token_and_matches_itself(api: DocumentedApi) -> None:
    """GET /api/openapi.json answers the document, checked against its own description."""
    assert api.get("/api/openapi.json").json == document()


def test_errors_answer_the_documented_error_shape(api: DocumentedApi, admin_app: Flask) -> None:
    """A 401 answer validates against the Error schema."""
    api.headers = {"Authorization": "Bearer wrong"}
    answer = api.get("/api/openapi.json")
    assert answer.status_code == 401
