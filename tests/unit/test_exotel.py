"""Exotel: keys, event types, times, the form and JSON bodies, the token's place and check-config."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import Headers

from bridge.config.check import token_warnings
from bridge.sources.kind import TransformError
from bridge.sources.payload import parse_form
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.shared_token import SharedToken
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from tests.unit.test_contract import example_kind, example_source
from transforms import exotel

SAMPLES = ROOT / "transforms" / "samples" / "exotel"
TOKEN = "exotel-token-5c0e9a7d3b1f8e2a6d4c"


def form(**fields: str) -> bytes:
    """Return a StatusCallback form body with these fields."""
    return urlencode(fields).encode()


def test_the_key_is_the_call_and_its_status_and_the_event_when_sent() -> None:
    """CallSid:Status, with :EventType when Exotel sends one; without a CallSid, the body's hash."""
    kind = exotel.SOURCE
    assert idempotency_key_of(kind, form(CallSid="c1", Status="busy")) == "c1:busy"
    answered = form(CallSid="c1", Status="in-progress", EventType="answered")
    assert idempotency_key_of(kind, answered) == "c1:in-progress:answered"
    assert idempotency_key_of(kind, form(Status="busy")).startswith("sha256:")


def test_the_event_type_is_the_status_in_lower_case() -> None:
    """Status names the event type; a callback without one has none (stored as ignored)."""
    assert exotel.event_type(parse_form(form(CallSid="c1", Status="No-Answer"))) == "no-answer"
    assert exotel.event_type(parse_form(form(CallSid="c1"))) is None


def test_india_times_become_utc_and_a_bad_time_names_its_field() -> None:
    """StartTime in India time is 5:30 behind in UTC; a time in another form fails naming the field."""
    payload = parse_form(form(CallSid="c1", Status="completed", StartTime="2026-01-01 03:00:00"))
    [values] = exotel.transform("completed", payload)
    assert values["started_at"] == "2025-12-31 21:30:00"
    assert values["recording_url"] is None and values["to_number"] is None
    with pytest.raises(TransformError, match="EndTime"):
        exotel.transform("completed", {**payload, "EndTime": "27/11/2026 10:00"})
    with pytest.raises(TransformError, match="CallSid"):
        exotel.transform("completed", {"Status": "completed"})


@pytest.mark.parametrize("stem", ["completed", "no-answer"])
def test_a_json_body_yields_what_the_form_body_yields(stem: str) -> None:
    """With scheme.body = "json" the same callback, sent as JSON (null for no recording), maps the same."""
    as_json = exotel.SOURCE.configured({"body": "json"})
    assert (as_json.content_type, as_json.sample_suffix) == ("application/json", ".json")
    from_form = exotel.SOURCE.transform(stem, exotel.SOURCE.parse((SAMPLES / f"{stem}.form").read_bytes()))
    from_json = as_json.transform(stem, as_json.parse((SAMPLES / f"{stem}.json").read_bytes()))
    assert from_form == from_json


def test_the_token_rides_in_the_url_unless_the_scheme_moves_it() -> None:
    """By default the URL's last segment is the token; token_in = "header" reads X-Webhook-Token."""
    in_path = exotel.SOURCE.signature
    assert isinstance(in_path, SharedToken) and in_path.in_path
    in_path.verify_path_token(TOKEN, [TOKEN])
    in_header = exotel.SOURCE.configured({"token_in": "header"}).signature
    in_header.verify(b"", Headers({"X-Webhook-Token": TOKEN}), [TOKEN], 0)
    with pytest.raises(SignatureError):
        in_header.verify(b"", Headers({"X-Webhook-Token": "another-token-of-16+"}), [TOKEN], 0)


@pytest.mark.parametrize(
    ("scheme", "message"),
    [({"body": "xml"}, "body: must be one of"), ({"secret": "x"}, "secret: unknown key")],
)
def test_a_bad_scheme_table_names_the_key(scheme: dict[str, str], message: str) -> None:
    """An unknown body format or key is refused with the key's name first."""
    with pytest.raises(ValueError, match=message):
        exotel.SOURCE.configured(scheme)


def test_check_config_warns_that_the_example_source_is_unsigned() -> None:
    """The example's Exotel source is token-authenticated: check-config says so, and asks for allowed_ips."""
    [warning] = token_warnings(example_source(exotel.SOURCE), example_kind(exotel.SOURCE))
    assert "shared token in the URL" in warning and "allowed_ips" in warning
