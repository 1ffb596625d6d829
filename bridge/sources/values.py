"""Helpers every transform shares to turn payload values into LeadSquared text.

The readers of `entity[key]` take the path of the entity in the payload, so
that a value that is missing or wrong raises a TransformError naming where it
is: `path.key`, or `key` alone at the top of the payload (path ""). Each
transform passes the prefix its messages have always used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bridge.sources.formats import as_text, lsq_datetime, lsq_datetime_from_iso
from bridge.sources.kind import TransformError
from bridge.sources.payload import Payload, body_hash_key, value_at


def text(value: Any) -> str | None:
    """Return a JSON scalar as LeadSquared text (formats.as_text); None for absent values and containers."""
    if value is None or isinstance(value, Mapping | list):
        return None
    return as_text(value)


def form_value(payload: Mapping[str, Any], name: str, null_text: bool = False) -> str | None:
    """Return a form field's text, None when absent or blank (gateways post unused fields empty).

    null_text: the text "null" (any case) is absent too, as Paytm and CCAvenue write it.
    """
    value = text(payload.get(name))
    if not value or not value.strip() or (null_text and value.strip().lower() == "null"):
        return None
    return value


def required_text(entity: Mapping[str, Any], key: str, path: str = "") -> str:
    """Return entity[key] as text; an absent or empty value fails naming its path."""
    value = text(entity.get(key))
    if not value:
        raise TransformError(f"{joined(path, key)} is missing")
    return value


def formatted(format_value: Callable[[Any], str], value: Any, path: str) -> str | None:
    """Return a value through a format, None when absent; a bad value fails naming its path."""
    if value is None:
        return None
    try:
        return format_value(value)
    except ValueError as error:
        raise TransformError(f"{path}: {error}") from None


def formatted_at(
    format_value: Callable[[Any], str], entity: Mapping[str, Any], key: str, path: str = ""
) -> str | None:
    """Return entity[key] through a format, None when absent; a bad value fails naming path.key."""
    return formatted(format_value, entity.get(key), joined(path, key))


def iso_datetime(entity: Mapping[str, Any], key: str, path: str = "") -> str | None:
    """Return entity[key], an ISO 8601 time with an offset, as LeadSquared's UTC time."""
    return formatted_at(lsq_datetime_from_iso, entity, key, path)


def unix_datetime(entity: Mapping[str, Any], key: str, path: str = "") -> str | None:
    """Return entity[key], a Unix time in seconds, as LeadSquared's UTC time."""
    return formatted_at(lsq_datetime, entity, key, path)


def required_object(payload: Any, path: str) -> Mapping[str, Any]:
    """Return the JSON object at a dotted path; one that is absent or not an object fails naming it."""
    found = value_at(payload, path)
    if not isinstance(found, Mapping):
        raise TransformError(f"{path} is missing")
    return found


def mapping_or_empty(value: Any) -> Mapping[str, Any]:
    """Return a JSON object as it is and anything else as an empty one, for optional sub-objects."""
    return value if isinstance(value, Mapping) else {}


def composite_key(payload: Payload, body: bytes, *names: str, prefix: str = "") -> str:
    """Return prefix and the named top-level values, trimmed, ':'-joined; without the first, the body's hash.

    For providers that send no event id: the first name identifies the subject
    (a task, a transaction), the rest tell its outcomes apart. A first value
    of "null" (any case: Paytm and CCAvenue write an absent id so) is absent:
    two orders without a tracking id must not share the key null:Aborted.
    """
    parts = [(text(payload.get(name)) or "").strip() for name in names]
    if not parts[0] or parts[0].lower() == "null":
        return body_hash_key(body)
    return prefix + ":".join(parts)


def joined(path: str, key: str) -> str:
    """Return the dotted path of key below path; key alone at the top of the payload."""
    return f"{path}.{key}" if path else key
