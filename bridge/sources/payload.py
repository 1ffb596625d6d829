"""A delivery's body as a payload: parsers, the dotted-path walker, and idempotency keys."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from bridge.sources import strict_json

Payload = Mapping[str, Any]


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Return the body as a JSON object, read by strict_json's rules; a ValueError says why it is not one."""
    payload = strict_json.loads(body)
    if not isinstance(payload, dict):
        raise ValueError(f"must be a JSON object, not {strict_json.describe(payload)}")
    return payload


def parse_form(body: bytes) -> dict[str, str]:
    """Return a UTF-8 application/x-www-form-urlencoded body as one value per field."""
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except UnicodeDecodeError as error:
        raise ValueError(f"is not UTF-8 form data: {error}") from None
    except ValueError:
        # parse_qs would quote the whole offending field, payload and all.
        raise ValueError("is not form data: every field must be name=value, fields joined by &") from None
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        raise ValueError(f"repeats the field {repeated[0]!r}: each field must appear once")
    if "\x00" in text or "%00" in text:
        strict_json.check_strings([*fields, *(values[0] for values in fields.values())])
    return {name: values[0] for name, values in fields.items()}


def body_hash_key(body: bytes) -> str:
    """Return the fallback idempotency key for a delivery without a provider id."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def value_at(payload: Any, path: str) -> Any:
    """Return what a dotted path (list items by number) leads to in the payload, or None."""
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def event_type_at(path: str) -> Callable[[Payload], str | None]:
    """Return a kind's event_type: the text at a dotted path of the payload, None without one."""

    def event_type(payload: Payload) -> str | None:
        value = value_at(payload, path)
        return value if isinstance(value, str) else None

    return event_type


def payload_id_key(payload: Payload, body: bytes, *path: str, numbers: bool = False) -> str:
    """Return the provider's id at a path in the payload, trimmed; the body's hash without one."""
    value = value_at(payload, ".".join(path))
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return body_hash_key(body)


MAX_KEY_LENGTH = 200
# The events table's event_type column holds this many characters.
MAX_EVENT_TYPE_LENGTH = 255


def bounded_key(key: str) -> str:
    """Return the key as stored: a very long provider id, or one no store can hold, is kept as its hash."""
    if len(key) <= MAX_KEY_LENGTH and strict_json.storable(key):
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def event_type_problem(event_type: str | None) -> str | None:
    """Return why an event type cannot be stored (completing "the event type ..."), or None if it can."""
    if event_type is None:
        return None
    if len(event_type) > MAX_EVENT_TYPE_LENGTH:
        return f"is {len(event_type)} characters long; the bridge stores at most {MAX_EVENT_TYPE_LENGTH}"
    if not strict_json.storable(event_type):
        return "has a NUL character or an unpaired surrogate, which no store can hold"
    return None
