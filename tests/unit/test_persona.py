"""Persona: the verifier against a hand-computed vector and a rotation header, and the transform."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from bridge.config.load import load_settings
from bridge.pipeline.transform import Delivery, Failed, map_event
from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import REGISTRY, persona

PAYLOADS = ROOT / "transforms" / "samples" / "persona"
SCHEME = persona.SOURCE.signature
HEADER = "Persona-Signature"

# Computed by hand, outside this code base, with
#   printf '%s.%s' 1764230400 "$BODY" | openssl dgst -sha256 -hmac "$SECRET"
VECTOR_BODY = b'{"data":{"type":"event","id":"evt_vector","attributes":{"name":"inquiry.approved"}}}'
VECTOR_TIME = 1764230400
NEW_SECRET = "wbhsec_test_vector"
NEW_V1 = "1e24aa322fe42b43b20e9dd26cfd58d18845402bd97c341d4a7b26925ed7f995"
OLD_SECRET = "wbhsec_previous_secret"
OLD_V1 = "0768e56b6e8c414bf720be7d2038ff8f725b6b9575bd896b3fc2a053a366c01c"
# The old secret over the same body, signed 300 s earlier.
OLD_V1_EARLIER = "79f4dee2bbb96fe6faffdb33629280094d77988b5284268170980f354b01893e"


def verify(header: str, secrets: list[str], now: float = VECTOR_TIME) -> None:
    """Verify the vector body under a Persona-Signature header."""
    SCHEME.verify(VECTOR_BODY, Headers({HEADER: header}), secrets, now)


def test_the_hand_computed_vector_verifies_and_sign_makes_it() -> None:
    """HMAC-SHA256 hex of "{t}.{body}" under the secret as given: our sign() makes the same header."""
    verify(f"t={VECTOR_TIME},v1={NEW_V1}", [NEW_SECRET])
    assert SCHEME.sign(VECTOR_BODY, NEW_SECRET, VECTOR_TIME) == {HEADER: f"t={VECTOR_TIME},v1={NEW_V1}"}
    assert SCHEME.sign(VECTOR_BODY, NEW_SECRET, VECTOR_TIME + 0.9)[HEADER].startswith(f"t={VECTOR_TIME},")


def test_during_rotation_either_group_verifies() -> None:
    """Two space-separated groups, one per secret: either configured secret alone passes."""
    header = f"t={VECTOR_TIME},v1={OLD_V1} t={VECTOR_TIME},v1={NEW_V1}"
    verify(header, [NEW_SECRET])
    verify(header, [OLD_SECRET])
    verify(header, ["wbhsec_unrelated", NEW_SECRET])
    with pytest.raises(SignatureError) as caught:
        verify(header, ["wbhsec_unrelated"])
    assert caught.value.reason == "bad_signature"


def test_each_group_is_checked_against_its_own_timestamp() -> None:
    """A group's v1 counts only with its own t: swapping the timestamps breaks both groups."""
    header = f"t={VECTOR_TIME - 300},v1={OLD_V1_EARLIER} t={VECTOR_TIME},v1={NEW_V1}"
    verify(header, [OLD_SECRET])
    verify(header, [NEW_SECRET])
    swapped = f"t={VECTOR_TIME},v1={OLD_V1_EARLIER} t={VECTOR_TIME - 300},v1={NEW_V1}"
    with pytest.raises(SignatureError) as caught:
        verify(swapped, [OLD_SECRET, NEW_SECRET])
    assert caught.value.reason == "bad_signature"


def test_a_stale_group_does_not_pass_but_a_fresh_one_beside_it_does() -> None:
    """Only a matching group within the tolerance counts; a matching stale one alone is stale."""
    header = f"t={VECTOR_TIME - 300},v1={OLD_V1_EARLIER} t={VECTOR_TIME},v1={NEW_V1}"
    verify(header, [OLD_SECRET, NEW_SECRET], now=VECTOR_TIME + 5)
    with pytest.raises(SignatureError) as caught:
        verify(header, [OLD_SECRET], now=VECTOR_TIME + 5)
    assert caught.value.reason == "stale_timestamp"


@pytest.mark.parametrize("skew", [-301, 301])
def test_the_tolerance_is_300_seconds_either_way(skew: int) -> None:
    """Persona states no tolerance; ours is 300 s, into the past and the future alike."""
    assert SCHEME.tolerance_seconds == 300
    verify(f"t={VECTOR_TIME},v1={NEW_V1}", [NEW_SECRET], now=VECTOR_TIME + skew - (1 if skew > 0 else -1))
    with pytest.raises(SignatureError) as caught:
        verify(f"t={VECTOR_TIME},v1={NEW_V1}", [NEW_SECRET], now=VECTOR_TIME + skew)
    assert caught.value.reason == "stale_timestamp"


@pytest.mark.parametrize(
    "header",
    [
        f"t={VECTOR_TIME},v1={NEW_V1} garbage",
        f"t={VECTOR_TIME},v1={NEW_V1} t={VECTOR_TIME}",
        f"t={VECTOR_TIME},v1={NEW_V1},t={VECTOR_TIME}",
    ],
)
def test_one_malformed_group_spoils_the_header(header: str) -> None:
    """A header with a group we cannot read is refused as malformed, even beside a good one."""
    with pytest.raises(SignatureError) as caught:
        verify(header, [NEW_SECRET])
    assert caught.value.reason == "bad_signature_header"


def test_extra_spaces_between_groups_are_tolerated() -> None:
    """Doubled or trailing spaces do not make empty groups."""
    verify(f"  t={VECTOR_TIME},v1={OLD_V1}   t={VECTOR_TIME},v1={NEW_V1} ", [NEW_SECRET])


def test_the_event_id_is_the_idempotency_key() -> None:
    """data.id is the key; a body without one falls back to its hash."""
    body = (PAYLOADS / "inquiry.approved.json").read_bytes()
    assert idempotency_key_of(persona.SOURCE, body) == "evt_Ap5kR8wN2xT6bQ9mV3cZ7pL4"
    assert idempotency_key_of(persona.SOURCE, VECTOR_BODY) == "evt_vector"
    assert idempotency_key_of(persona.SOURCE, b'{"data": []}').startswith("sha256:")


def test_the_event_type_is_the_event_name() -> None:
    """data.attributes.name is the event type; a body without it has none."""
    assert persona.event_type(json.loads(VECTOR_BODY)) == "inquiry.approved"
    assert persona.event_type({"data": "oops"}) is None


def test_values_of_an_approved_inquiry() -> None:
    """The inquiry's id, status, reference, name and times come out in LeadSquared's formats."""
    payload = json.loads((PAYLOADS / "inquiry.approved.json").read_bytes())
    [values] = persona.transform("inquiry.approved", payload)
    assert values["inquiry_id"] == "inq_8vR3kTqW2nYb6HxLc5PdJm1Z"
    assert values["status"] == "approved"
    assert values["reference_id"] == "3a9c5e7b-1d2f-4a6b-8c0d-e2f4a6b8c0d1"
    assert values["name"] == "Ananya Iyer"
    assert values["email"] == "ananya.iyer@example.com"
    assert values["decided_at"] == "2026-11-27 06:15:44"
    assert values["event_at"] == "2026-11-27 06:15:44"
    assert values["created_at"] == "2026-11-27 06:10:04"


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Ananya", "Iyer", "Ananya Iyer"),
        ("Ananya", None, "Ananya"),
        (None, " Iyer ", "Iyer"),
        (None, None, None),
    ],
)
def test_the_name_is_first_and_last(first: str | None, last: str | None, expected: str | None) -> None:
    """The name joins what Persona has of first and last; neither gives no name."""
    payload = json.loads((PAYLOADS / "inquiry.completed.json").read_bytes())
    attributes = payload["data"]["attributes"]["payload"]["data"]["attributes"]
    attributes.update({"name-first": first, "name-last": last})
    [values] = persona.transform("inquiry.completed", payload)
    assert values["name"] == expected


def inquiry(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the inquiry resource inside an event."""
    found: dict[str, Any] = payload["data"]["attributes"]["payload"]["data"]
    return found


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: inquiry(p).pop("id"), "data.attributes.payload.data.id is missing"),
        (lambda p: inquiry(p)["attributes"].update({"reference-id": None}), "no opportunity id"),
        (lambda p: inquiry(p)["attributes"].update({"reference-id": "  "}), "no opportunity id"),
        (lambda p: inquiry(p).update(type="verification/selfie"), "not an 'inquiry'"),
        (lambda p: inquiry(p)["attributes"].update({"decisioned-at": "yesterday"}), "not an ISO 8601"),
        (lambda p: inquiry(p)["attributes"].update({"decisioned-at": "2026-11-27T06:15"}), "no UTC offset"),
        (lambda p: p["data"]["attributes"].update({"created-at": 1764230400}), "must be text"),
    ],
)
def test_unmappable_payloads_fail_with_a_reason(
    mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A payload missing what the mapping needs fails, saying what is missing."""
    settings = load_settings(ROOT / "bridge.example.toml", {}, REGISTRY, require_secrets=False)
    source = settings.sources["persona"]
    payload = json.loads((PAYLOADS / "inquiry.approved.json").read_bytes())
    mutate(payload)
    delivery = Delivery("k", "inquiry.approved", json.dumps(payload).encode())
    outcome = map_event(delivery, source, persona.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason


def test_an_unknown_event_or_a_missing_inquiry_has_no_transform() -> None:
    """Only the inquiry events the source lists are transformed, and only with their inquiry."""
    with pytest.raises(TransformError, match="no transform"):
        persona.transform("verification.passed", json.loads(VECTOR_BODY))
    with pytest.raises(TransformError, match=r"data\.attributes\.payload\.data is missing"):
        persona.transform("inquiry.approved", json.loads(VECTOR_BODY))
