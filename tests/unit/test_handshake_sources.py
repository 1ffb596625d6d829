"""Meta WhatsApp, Zoom and Ozonetel: their schemes against published vectors, handshakes and transforms."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from werkzeug.datastructures import Headers

from bridge.sources.handshake import (
    HandshakeAnswer,
    HandshakeRefused,
    HandshakeRequest,
    HubChallenge,
    PlainTokenValidation,
    SourceSecrets,
)
from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from tests.conftest import ROOT
from transforms import meta_whatsapp, ozonetel, zoom

SAMPLES = ROOT / "transforms" / "samples"
VERIFY_TOKEN = "meta-verify-token-4f1c"
META_SECRETS = SourceSecrets(("app_secret",), {"verify_token": VERIFY_TOKEN})
ZOOM_SECRETS = SourceSecrets(("zoom_secret",))


def hub_query(**changes: str | None) -> dict[str, str]:
    """Return Meta's GET query with some parameters changed (None drops one)."""
    query: dict[str, str | None] = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    query.update(changes)
    return {key: value for key, value in query.items() if value is not None}


def test_meta_signs_the_published_vector() -> None:
    """HMAC-SHA256("secret", "test") is the third-party SDK's published digest, byte for byte."""
    headers = meta_whatsapp.SOURCE.signature.sign(b"test", "secret", 0)
    expected = "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    assert headers == {"X-Hub-Signature-256": f"sha256={expected}"}
    meta_whatsapp.SOURCE.signature.verify(b"test", Headers(headers), ["secret"], 0)


def test_meta_signs_the_fact_sheets_computed_vector() -> None:
    """The app secret `app_secret` over an empty WhatsApp delivery gives the fact sheet's signature."""
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    expected = "sha256=c236c758c9b2bd40b388a550eeca09eaca72384dd0aa5e7c31d19cddac5bba46"
    meta_whatsapp.SOURCE.signature.verify(body, Headers({"X-Hub-Signature-256": expected}), ["app_secret"], 0)


def test_zoom_verifies_the_fact_sheets_vector_and_refuses_it_stale() -> None:
    """v0:1700000000:<body> under zoom_secret is the fact sheet's signature; 301 s later it is stale."""
    body = b'{"event":"meeting.ended","event_ts":1700000000000,"payload":{}}'
    headers = Headers(
        {
            "x-zm-request-timestamp": "1700000000",
            "x-zm-signature": "v0=0b37ca267e1001d8defbf016a87c50c8fbe20b69f953692a03cc14321402b53a",
        }
    )
    zoom.SOURCE.signature.verify(body, headers, ["zoom_secret"], 1700000000 + 299)
    with pytest.raises(SignatureError) as caught:
        zoom.SOURCE.signature.verify(body, headers, ["zoom_secret"], 1700000000 + 301)
    assert caught.value.reason == "stale_timestamp"


def test_zoom_answers_the_fact_sheets_validation_vector() -> None:
    """plainToken qgg8vlvZRS6UYooatFL8Aw gives the fact sheet's encryptedToken, answered as JSON."""
    payload = {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    answer = PlainTokenValidation().answer(HandshakeRequest("POST", payload=payload), ZOOM_SECRETS)
    assert answer is not None and (answer.status, answer.content_type) == (200, "application/json")
    assert json.loads(answer.body) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "46a324cfb7c2ec760e4cd561586a53aadb6fc7561eb8d626d6ee1b71d808b3c0",
    }


def test_zoom_validation_agrees_with_a_plain_hmac() -> None:
    """encryptedToken is hex HMAC-SHA256 keyed with the current secret, computed independently here."""
    token = "another-plain-token"
    expected = hmac.new(b"zoom_secret", token.encode(), hashlib.sha256).hexdigest()
    assert PlainTokenValidation.encrypted(token, "zoom_secret") == expected


def test_zoom_leaves_other_events_to_be_stored_and_refuses_a_validation_without_a_token() -> None:
    """An ordinary event is no handshake (None); a validation without payload.plainToken is 400."""
    handshake = PlainTokenValidation()
    ordinary = json.loads((SAMPLES / "zoom" / "webinar.registration_created.json").read_bytes())
    assert handshake.answer(HandshakeRequest("POST", payload=ordinary), ZOOM_SECRETS) is None
    for inner in ({}, {"plainToken": ""}, {"plainToken": 7}):
        payload = {"event": "endpoint.url_validation", "payload": inner}
        with pytest.raises(HandshakeRefused) as caught:
            handshake.answer(HandshakeRequest("POST", payload=payload), ZOOM_SECRETS)
        assert (caught.value.status, caught.value.error) == (400, "missing_plain_token")


def test_meta_answers_the_challenge_as_text() -> None:
    """subscribe with the configured verify token is answered 200 with the bare challenge."""
    answer = HubChallenge().answer(HandshakeRequest("GET", hub_query()), META_SECRETS)
    assert answer == HandshakeAnswer(200, "1158201444", "text/plain")


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"hub.verify_token": "not-the-token"}, 403, "bad_verify_token"),
        ({"hub.verify_token": VERIFY_TOKEN[:-1]}, 403, "bad_verify_token"),
        ({"hub.verify_token": None}, 403, "bad_verify_token"),
        ({"hub.mode": "unsubscribe"}, 400, "bad_hub_mode"),
        ({"hub.mode": None}, 400, "bad_hub_mode"),
        ({"hub.challenge": None}, 400, "missing_challenge"),
        ({"hub.challenge": ""}, 400, "missing_challenge"),
    ],
)
def test_meta_refuses_a_wrong_handshake_saying_why(
    changes: dict[str, str | None], status: int, error: str
) -> None:
    """A wrong or missing token is 403; a wrong mode or no challenge is 400; no message shows the token."""
    with pytest.raises(HandshakeRefused) as caught:
        HubChallenge().answer(HandshakeRequest("GET", hub_query(**changes)), META_SECRETS)
    assert (caught.value.status, caught.value.error) == (status, error)
    assert VERIFY_TOKEN not in caught.value.message


def test_meta_refuses_every_token_when_none_is_configured() -> None:
    """A source whose verify token is empty answers no handshake, not even an empty token."""
    secrets = SourceSecrets(("app_secret",), {"verify_token": ""})
    with pytest.raises(HandshakeRefused):
        HubChallenge().answer(HandshakeRequest("GET", hub_query(**{"hub.verify_token": ""})), secrets)


def test_each_probe_is_answered_as_it_expects() -> None:
    """What probe() sends, answer() answers exactly as the probe expects: the tools' twin holds."""
    meta = HubChallenge().probe(META_SECRETS, "42")
    assert HubChallenge().answer(HandshakeRequest("GET", meta.query), META_SECRETS) == meta.expected
    zoom_probe = PlainTokenValidation().probe(ZOOM_SECRETS, "plain")
    assert zoom_probe.body is not None
    asked = HandshakeRequest("POST", payload=json.loads(zoom_probe.body))
    assert PlainTokenValidation().answer(asked, ZOOM_SECRETS) == zoom_probe.expected


def test_meta_keys_messages_by_wamid_and_statuses_by_id_and_status() -> None:
    """A message is keyed by its wamid; a status by id:status, so delivered and read are two events."""
    message = json.loads((SAMPLES / "meta_whatsapp" / "messages.json").read_bytes())
    status = json.loads((SAMPLES / "meta_whatsapp" / "statuses.json").read_bytes())
    wamid = message["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert meta_whatsapp.idempotency_key(Headers(), b"", message) == f"wamid:{wamid}"
    status_id = status["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    assert meta_whatsapp.idempotency_key(Headers(), b"", status) == f"{status_id}:read"


def test_meta_yields_one_activity_per_status_each_with_its_recipient() -> None:
    """Each status is an activity naming its own recipient, looked up on its own; a mixed delivery fails."""
    payload = json.loads((SAMPLES / "meta_whatsapp" / "statuses.json").read_bytes())
    statuses = payload["entry"][0]["changes"][0]["value"]["statuses"]
    statuses.append({**statuses[0], "status": "delivered", "timestamp": "1701937300"})
    statuses.append({**statuses[0], "recipient_id": "919800000000"})
    yielded = [(v["status"], v["recipient_phone"]) for v in meta_whatsapp.transform("statuses", payload)]
    first = statuses[0]["recipient_id"]
    assert yielded == [("read", first), ("delivered", first), ("read", "919800000000")]
    messages = json.loads((SAMPLES / "meta_whatsapp" / "messages.json").read_bytes())
    payload["entry"].append(messages["entry"][0])
    assert meta_whatsapp.event_type(payload) == "messages"
    with pytest.raises(TransformError, match="both messages and statuses"):
        meta_whatsapp.transform("messages", payload)


def test_meta_names_the_contact_and_refuses_a_bad_timestamp() -> None:
    """The sender's profile name comes from the contact with its wa_id; a time that is not digits fails."""
    payload = json.loads((SAMPLES / "meta_whatsapp" / "messages.json").read_bytes())
    assert meta_whatsapp.transform("messages", payload)[0]["contact_name"] == "Priya Sharma"
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "yesterday"
    with pytest.raises(TransformError, match="timestamp"):
        meta_whatsapp.transform("messages", payload)


def test_zoom_keys_by_event_time_object_and_person() -> None:
    """Two participants joining one meeting in the same millisecond are two events."""
    payload = json.loads((SAMPLES / "zoom" / "meeting.participant_joined.json").read_bytes())
    first = zoom.idempotency_key(Headers(), b"", payload)
    assert first == "meeting.participant_joined:1702290600789:czLF6FFAAAAAAAAAAAAA==:66666BBBiBBBBBiBiBiiBii"
    payload["payload"]["object"]["participant"]["participant_uuid"] = "77777"
    assert zoom.idempotency_key(Headers(), b"", payload) != first
    assert zoom.idempotency_key(Headers(), b"{}", {}).startswith("sha256:")


def test_ozonetel_checks_the_echoed_apikey() -> None:
    """The configured api_key passes; another, a missing one, or no configured key is refused."""
    payload = json.loads((SAMPLES / "ozonetel" / "call.json").read_bytes())
    configured = {"api_key": payload["Apikey"]}
    ozonetel.API_KEY.check(payload, configured)
    cases = [
        ({**payload, "Apikey": payload["Apikey"] + "x"}, configured, "bad_api_key"),
        ({**payload, "Apikey": payload["Apikey"][:-1]}, configured, "bad_api_key"),
        ({k: v for k, v in payload.items() if k != "Apikey"}, configured, "missing_api_key"),
        ({**payload, "Apikey": 12}, configured, "missing_api_key"),
        (payload, {}, "bad_api_key"),
    ]
    for body, named, reason in cases:
        with pytest.raises(SignatureError) as caught:
            ozonetel.API_KEY.check(body, named)
        assert caught.value.reason == reason and payload["Apikey"] not in caught.value.message


def test_ozonetel_s_sender_twin_echoes_the_configured_key() -> None:
    """stamp() writes the configured key where Ozonetel echoes it, and check() then accepts the body."""
    body = (SAMPLES / "ozonetel" / "call.json").read_bytes()
    stamped = ozonetel.API_KEY.stamp(body, {"api_key": "KKanother-key"})
    assert json.loads(stamped)["Apikey"] == "KKanother-key"
    ozonetel.API_KEY.check(json.loads(stamped), {"api_key": "KKanother-key"})


def test_ozonetel_types_a_call_by_its_ucid_and_keeps_the_apikey_check_when_configured() -> None:
    """A callback with monitorUCID is a `call` keyed by it; a header-token source still checks the Apikey."""
    payload = json.loads((SAMPLES / "ozonetel" / "call.json").read_bytes())
    assert ozonetel.event_type(payload) == "call"
    assert ozonetel.idempotency_key(Headers(), b"", payload) == payload["monitorUCID"]
    assert ozonetel.event_type({"eventType": "Answered"}) == "Answered"
    configured = ozonetel.SOURCE.configured({"token_in": "header"})
    assert configured.echo is ozonetel.API_KEY and configured.named_secrets == ("api_key",)
    assert not getattr(configured.signature, "in_path", True)


def test_ozonetel_times_are_read_as_india_time_into_leadsquareds_utc() -> None:
    """StartTime 14:00:00 in India is 08:30:00 UTC, kept as sent too; a blank is absent; odd text fails."""
    payload = json.loads((SAMPLES / "ozonetel" / "call.json").read_bytes())
    [values] = ozonetel.transform("call", payload)
    assert (values["start_time"], values["started_at"]) == ("2023-12-07 14:00:00", "2023-12-07 08:30:00")
    assert values["ended_at"] == "2023-12-07 08:32:35"
    [values] = ozonetel.transform("call", {**payload, "EndTime": ""})
    assert values["ended_at"] is None
    with pytest.raises(TransformError, match="StartTime: '07/12/2023 14:00' is not a 'YYYY-MM-DD HH:MM:SS'"):
        ozonetel.transform("call", {**payload, "StartTime": "07/12/2023 14:00"})
