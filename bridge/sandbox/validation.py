"""Checks on LeadSquared request bodies: JSON, activity rows and paging."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from flask import request

from bridge.sandbox.state import LSQ_DATETIME_FORMAT

MAX_ROWS = 25
DEFAULT_PAGE_SIZE = 25  # LeadSquared's documented default for activity lists
MAX_PAGE_SIZE = 1000

MANDATORY = "MXMandatoryAttributeMissingException"
DATA_TYPE = "MXInvalidDataTypeException"
INVALID = "MXInvalidInputException"

ROW_KEYS = frozenset(
    {
        "ActivityEvent",
        "ActivityOwnerEmail",
        "ActivityNote",
        "Fields",
        "ValidateDropDownOptions",
        "ActivityDateTime",
    }
)
FIELD_KEYS = frozenset({"SchemaName", "Value"})
DATETIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


class InvalidInput(Exception):
    """A request LeadSquared answers with 400 and an MX error body."""

    def __init__(self, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.message = message


def read_json(required: bool) -> Any:
    """Parse the request body as JSON; an optional empty body reads as None."""
    raw = request.get_data()
    if not required and not raw.strip():
        return None
    if required and request.mimetype != "application/json":
        raise InvalidInput(INVALID, "Content-Type must be application/json")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(INVALID, "The request body is not valid JSON") from None


def parse_rows(body: object) -> list[dict[str, Any]]:
    """Return the rows of a bulk-add body, or raise InvalidInput for the first fault."""
    if not isinstance(body, list):
        raise InvalidInput(INVALID, "The request body must be a JSON array of activities")
    if not body:
        raise InvalidInput(INVALID, "The request body must hold at least one activity")
    if len(body) > MAX_ROWS:
        raise InvalidInput(
            INVALID, f"You can post at most {MAX_ROWS} activities in one call; got {len(body)}"
        )
    for number, row in enumerate(body, start=1):
        try:
            check_row(row)
        except InvalidInput as error:
            raise InvalidInput(error.exception_type, f"Row {number}: {error.message}") from None
    return body


def check_row(row: object) -> None:
    """Raise InvalidInput if one activity row breaks the documented contract."""
    if not isinstance(row, dict):
        raise InvalidInput(DATA_TYPE, "an activity must be a JSON object")
    unknown = sorted(set(row) - ROW_KEYS)
    if unknown:
        raise InvalidInput(INVALID, f"'{unknown[0]}' is not a known attribute")
    event = row.get("ActivityEvent")
    if event is None:
        raise InvalidInput(MANDATORY, "'ActivityEvent' is mandatory")
    # Strict on purpose: a digit string or a bool means the caller built the row wrong.
    if type(event) is not int or event < 1:
        raise InvalidInput(DATA_TYPE, "'ActivityEvent' must be a positive integer")
    email = row.get("ActivityOwnerEmail")
    if email is None or email == "":
        raise InvalidInput(MANDATORY, "'ActivityOwnerEmail' is mandatory")
    if not isinstance(email, str) or "@" not in email:
        raise InvalidInput(DATA_TYPE, "'ActivityOwnerEmail' must be an email address")
    if "ActivityNote" in row and not isinstance(row["ActivityNote"], str):
        raise InvalidInput(DATA_TYPE, "'ActivityNote' must be a string")
    if "ValidateDropDownOptions" in row and not isinstance(row["ValidateDropDownOptions"], bool):
        raise InvalidInput(DATA_TYPE, "'ValidateDropDownOptions' must be true or false")
    if "ActivityDateTime" in row:
        check_datetime(row["ActivityDateTime"])
    if "Fields" in row:
        check_fields(row["Fields"])


def check_datetime(value: object) -> None:
    """Raise InvalidInput unless value is a real UTC time as YYYY-MM-DD HH:MM:SS."""
    message = "'ActivityDateTime' must be a UTC time as YYYY-MM-DD HH:MM:SS"
    if not isinstance(value, str) or not DATETIME_SHAPE.fullmatch(value):
        raise InvalidInput(DATA_TYPE, message)
    try:
        datetime.strptime(value, LSQ_DATETIME_FORMAT)
    except ValueError:
        raise InvalidInput(DATA_TYPE, message) from None


def check_fields(fields: object) -> None:
    """Raise InvalidInput unless fields is a list of {SchemaName, Value} strings."""
    if not isinstance(fields, list):
        raise InvalidInput(DATA_TYPE, "'Fields' must be an array")
    for field in fields:
        if not isinstance(field, dict) or set(field) != FIELD_KEYS:
            raise InvalidInput(INVALID, "each of 'Fields' must hold exactly 'SchemaName' and 'Value'")
        if not isinstance(field["SchemaName"], str) or not field["SchemaName"]:
            raise InvalidInput(DATA_TYPE, "'SchemaName' must be a non-empty string")
        if not isinstance(field["Value"], str):
            raise InvalidInput(DATA_TYPE, f"'Value' of '{field['SchemaName']}' must be a string")


def parse_paging(body: object) -> tuple[int, int]:
    """Return (page index from 1, page size) from an optional activity-list body."""
    if body is None:
        return 1, DEFAULT_PAGE_SIZE
    if not isinstance(body, dict):
        raise InvalidInput(INVALID, "The request body must be a JSON object")
    paging = body.get("Paging") or {}
    if not isinstance(paging, dict):
        raise InvalidInput(DATA_TYPE, "'Paging' must be an object")
    index = paging_number(paging, "PageIndex", 1)
    size = paging_number(paging, "PageSize", DEFAULT_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise InvalidInput(INVALID, f"'PageSize' can be at most {MAX_PAGE_SIZE}")
    return index, size


def paging_number(paging: dict[str, Any], name: str, default: int) -> int:
    """Read a positive paging number, given as an int or a digit string."""
    value = paging.get(name, default)
    # LeadSquared's own examples send paging numbers as strings.
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or value < 1:
        raise InvalidInput(DATA_TYPE, f"'{name}' must be a positive integer")
    return value
