"""Typeform and Tally (configurations of the generic hmac kind) and Calendly (its own kind).

The example's [sources.typeform], [sources.tally] and [sources.calendly]
blocks verify the fact sheet's computed vectors byte for byte
(../shared/reference/webhook-sources-2.md, 4.5, 4.6, 4.9). The contract test
covers each registered kind through its first example source; Typeform and
Tally are sources of the `hmac` kind, so their samples and goldens are checked
here the same way.
"""

from __future__ import annotations

import json
import time

import jsonschema
import pytest
from werkzeug.datastructures import Headers

from bridge.config.load import configured_kinds
from bridge.pipeline.transform import Delivery, Mapped, map_event
from bridge.sources.kind import SourceKind, TransformError
from bridge.sources.signatures import SignatureError
from tests.support import idempotency_key_of
from tests.unit.test_contract import BULK_SCHEMA, GOLDEN, SAMPLES, example_settings
from transforms import REGISTRY, calendly

# (source, secret, body, headers, the time it was signed at): each exactly as the fact sheet gives it.
VECTORS = {
    "typeform": (
        "typeform_secret",
        b'{"event_id":"01H0000000000000000000000","event_type":"form_response"}',
        {"Typeform-Signature": "sha256=eActVcsrlEtKz5mqg7GWzaSd+uwFz0r8ewIuyVkU+pg="},
        time.time(),
    ),
    "tally": (
        "tally_secret",
        b'{"eventId":"a4cb511e-d513-4fa5-baee-b815d718dfd1","eventType":"FORM_RESPONSE"}',
        {"Tally-Signature": "mcTg+JWvR88+WwNEl+95u34JPvmkorHA692WnPua9CA="},
        time.time(),
    ),
    "calendly": (
        "calendly_key",
        b'{"event":"invitee.created","payload":{"email":"a@b.in"}}',
        {
            "Calendly-Webhook-Signature": (
                "t=1700000000,v1=4718f640e00d7bb222a6f94638e2b8e3f8a0141c38fd0eebb105c40ebdb90d66"
            )
        },
        1700000000,
    ),
}
# The generic sources, with the event type each one's sample is named by.
CONFIGURED = {"typeform": "form_response", "tally": "FORM_RESPONSE"}


def example_kind_of(source_name: str) -> SourceKind:
    """Return the kind as the example's source of that name configures it."""
    return configured_kinds(example_settings(), REGISTRY)[source_name]


@pytest.mark.parametrize("source_name", sorted(VECTORS))
def test_the_example_source_verifies_the_fact_sheets_vector(source_name: str) -> None:
    """The vector's header verifies its body under its secret; another secret or a flipped byte does not."""
    secret, body, sent, signed_at = VECTORS[source_name]
    scheme = example_kind_of(source_name).signature
    scheme.verify(body, Headers(sent), [secret], signed_at)
    scheme.verify(body, Headers(sent), ["the-next-secret", secret], signed_at)
    with pytest.raises(SignatureError):
        scheme.verify(body, Headers(sent), ["another_secret"], signed_at)
    flipped = body[:-2] + bytes([body[-2] ^ 0x01]) + body[-1:]
    with pytest.raises(SignatureError):
        scheme.verify(flipped, Headers(sent), [secret], signed_at)


@pytest.mark.parametrize("source_name", sorted(VECTORS))
def test_the_example_source_signs_the_vector_as_the_provider_did(source_name: str) -> None:
    """sign() of the vector's body, secret and time makes exactly the fact sheet's header."""
    secret, body, sent, signed_at = VECTORS[source_name]
    assert example_kind_of(source_name).signature.sign(body, secret, signed_at) == sent


def test_calendly_refuses_a_signature_older_or_newer_than_180_seconds() -> None:
    """The vector is fresh 180 s either side of its t and stale past that; the signature is checked first."""
    secret, body, sent, signed_at = VECTORS["calendly"]
    scheme = example_kind_of("calendly").signature
    assert scheme.tolerance_seconds == 180
    for now in (signed_at - 180, signed_at + 180):
        scheme.verify(body, Headers(sent), [secret], now)
    for now in (signed_at - 181, signed_at + 181):
        with pytest.raises(SignatureError) as caught:
            scheme.verify(body, Headers(sent), [secret], now)
        assert caught.value.reason == "stale_timestamp"
    with pytest.raises(SignatureError) as caught:
        scheme.verify(body, Headers(sent), ["another_secret"], signed_at + 181)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("source_name", sorted(CONFIGURED))
def test_a_generic_sources_sample_is_keyed_typed_and_signed(source_name: str) -> None:
    """The sample's type is its file name, its key the provider's event id, and sign() round-trips."""
    kind = example_kind_of(source_name)
    event_type = CONFIGURED[source_name]
    body = (SAMPLES / source_name / f"{event_type}.json").read_bytes()
    payload = kind.parse(body)
    assert kind.type_of(Headers(), payload) == event_type
    event_id = payload["event_id"] if source_name == "typeform" else payload["eventId"]
    assert idempotency_key_of(kind, body) == event_id
    now = time.time()
    headers = Headers(kind.signature.sign(body, "a-secret", now))
    kind.signature.verify(body, headers, ["a-secret"], now)
    with pytest.raises(SignatureError):
        kind.signature.verify(body.replace(b"ravi", b"ravj"), headers, ["a-secret"], now)


@pytest.mark.parametrize("source_name", sorted(CONFIGURED))
def test_a_generic_sources_sample_becomes_its_golden_activity(source_name: str) -> None:
    """Under the example's mapping the sample becomes exactly its golden activity, valid for the bulk API."""
    settings = example_settings()
    source, kind = settings.sources[source_name], example_kind_of(source_name)
    event_type = CONFIGURED[source_name]
    body = (SAMPLES / source_name / f"{event_type}.json").read_bytes()
    expected = json.loads((GOLDEN / source_name / f"{event_type}.expected.json").read_text())
    delivery = Delivery(idempotency_key_of(kind, body), event_type, body)
    outcome = map_event(delivery, source, kind, settings.accounts[source.account])
    assert isinstance(outcome, Mapped), outcome
    assert [a.opportunity_id for a in outcome.activities] == [expected["opportunity_id"]]
    assert [a.request for a in outcome.activities] == expected["activities"]
    jsonschema.validate([a.request for a in outcome.activities], BULK_SCHEMA)


def test_calendly_keys_an_invitee_by_its_uri_and_event() -> None:
    """payload.uri:event, so a cancellation after a booking is a new event; no uri: the body's hash."""
    body = (SAMPLES / "calendly" / "invitee.canceled.json").read_bytes()
    uri = json.loads(body)["payload"]["uri"]
    assert idempotency_key_of(calendly.SOURCE, body) == f"{uri}:invitee.canceled"
    assert idempotency_key_of(calendly.SOURCE, VECTORS["calendly"][1]).startswith("sha256:")


def test_calendly_needs_the_invitee_uri_and_reads_times_as_utc() -> None:
    """An invitee without its uri fails naming payload.uri; a start time with an offset becomes UTC."""
    with pytest.raises(TransformError, match=r"payload\.uri"):
        calendly.transform("invitee.created", {"event": "invitee.created", "payload": {"email": "a@b.in"}})
    payload = {"payload": {"uri": "u", "scheduled_event": {"start_time": "2026-11-30T10:00:00+05:30"}}}
    [values] = calendly.transform("invitee.created", payload)
    assert values["starts_at"] == "2026-11-30 04:30:00" and values["cancel_reason"] is None
