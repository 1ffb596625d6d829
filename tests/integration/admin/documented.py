"""An API client for the tests that checks every answer against the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from bridge.admin.openapi import document

DOCUMENT_URI = "urn:lsq-bridge:admin-openapi"
_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
METHODS = {"get", "post", "put", "patch", "delete"}


def openapi_path(rule: Rule) -> str:
    """Return a Flask rule's path as OpenAPI writes it: /api/events/{event_id}."""
    return _VARIABLE.sub(r"{\1}", rule.rule)


def documented_operations() -> set[tuple[str, str]]:
    """Return (METHOD, path) for every operation the document lists."""
    paths: dict[str, dict[str, Any]] = document()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item if method in METHODS}


def served_operations(app: Flask) -> set[tuple[str, str]]:
    """Return (METHOD, path) for every /api route the app serves."""
    return {
        (method, openapi_path(rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def resolved(value: dict[str, Any]) -> dict[str, Any]:
    """Follow an OpenAPI $ref (to a response, say) within the document."""
    while "$ref" in value:
        target: Any = document()
        for part in value["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        value = target
    return value


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    """Return the documented JSON schema of one operation's answer with this status."""
    responses = document()["paths"][path][method.lower()]["responses"]
    described = responses.get(str(status)) or responses.get("default")
    assert described is not None, f"{method} {path} documents no {status} answer"
    content = resolved(described)["content"]["application/json"]
    schema: dict[str, Any] = content["schema"]
    return schema


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """Return a 2020-12 validator for a schema whose $refs point into the document."""
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
    return Draft202012Validator(_rewrite(schema), registry=registry)


def _rewrite(value: Any) -> Any:
    """Point the schema's local refs (#/components/...) at the document."""
    if isinstance(value, dict):
        return {
            key: f"{DOCUMENT_URI}{item}" if key == "$ref" and item.startswith("#/") else _rewrite(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(item) for item in value]
    return value


class DocumentedApi:
    """Sends API requests with the token and fails the test on any answer the document does not describe."""

    def __init__(self, app: Flask, client: FlaskClient, token: str) -> None:
        self.app, self.client, self.headers = app, client, {"Authorization": f"Bearer {token}"}

    def get(self, url: str) -> TestResponse:
        """GET a URL and check the answer."""
        return self.checked("GET", url, self.client.get(url, headers=self.headers))

    def post(self, url: str, body: Any = None) -> TestResponse:
        """POST a JSON body and check the answer."""
        return self.checked("POST", url, self.client.post(url, headers=self.headers, json=body))

    def checked(self, method: str, url: str, answer: TestResponse) -> TestResponse:
        """Validate an answer's JSON against the schema documented for its route and status."""
        assert answer.status_code < 500, f"{method} {url} answered {answer.status_code}: {answer.text}"
        assert answer.mimetype == "application/json", f"{method} {url} answered {answer.mimetype}"
        rule, _ = self.app.url_map.bind("localhost").match(url.partition("?")[0], method, return_rule=True)
        schema = response_schema(method, openapi_path(rule), answer.status_code)
        errors = sorted(validator(schema).iter_errors(answer.json), key=str)
        assert not errors, f"{method} {url} {answer.status_code}: {errors[0].message} in {answer.json}"
        return answer
