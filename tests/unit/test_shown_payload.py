"""How a stored body is shown to a person: pretty JSON or plain text, masked, and never an exception."""

from __future__ import annotations

import json

from bridge.operate.queries import shown_payload


def test_json_is_pretty_printed_with_its_own_characters_and_masked() -> None:
    """Indented by two, non-ASCII kept as written, an email string and a phone number masked."""
    body = json.dumps({"name": "Asha Rao ₹", "email": "asha@example.com", "phone": 9800000001}).encode()
    assert shown_payload(body) == (
        '{\n  "name": "Asha Rao ₹",\n  "email": "a***@example.com",\n  "phone": "******0001"\n}'
    )


def test_a_body_nested_too_deep_to_walk_is_shown_as_text() -> None:
    """A JSON body nested deeper than the interpreter recurses falls back to its masked text."""
    body = b"[" * 100_000 + b'"lead@example.com"' + b"]" * 100_000
    shown = shown_payload(body)
    assert shown.startswith("[[[") and '"l***@example.com"' in shown


def test_a_json_scalar_and_a_form_are_shown_as_they_are() -> None:
    """A bare JSON string is shown quoted; a form body keeps its order and encoding, its email masked."""
    assert shown_payload(b'"lead@example.com"') == '"l***@example.com"'
    assert shown_payload(b"b=x%40y.in&a=1") == "b=x***%40y.in&a=1"
