"""Ozonetel CloudAgent: the post-call callback, authenticated by a token and the echoed Apikey.

Ozonetel signs nothing (no signature, retry policy or content type is
documented: unconfirmed). The bridge checks two things, neither covering
the body's other bytes or any time: a secret token you put in the callback
URL (`/webhooks/ozonetel/<OZONETEL_WEBHOOK_SECRET>`, the default, or a header
with `[sources.ozonetel.scheme] token_in = "header"`), and the account
`Apikey` Ozonetel echoes in every callback, compared in constant time with
the source's named secret `api_key` (`OZONETEL_API_KEY`). That key travels
in every request (the bridge stores `[checked]` in its place once it has
compared it), so rotate it if a request leaks, pair the source with `allowed_ips`, and confirm a call over
Ozonetel's CDR API before acting on it.

Payload (JSON assumed; a `data=` form field holding JSON is also seen,
unconfirmed): `AgentID, AgentName, AgentPhoneNumber, AgentStatus, Apikey,
AudioFile, CallDuration, CallerID (the customer's phone), CampaignName,
CustomerStatus, DialStatus, DialedNumber, dId, Disposition, Duration,
EndTime, monitorUCID, UUI, ...`. Times are passed on as Ozonetel writes them
(`start_time`, `end_time`) and read as India time 'YYYY-MM-DD HH:MM:SS', as
Exotel writes its own, into `started_at` and `ended_at`, LeadSquared's UTC
(the zone and form are unconfirmed: a time of another form fails the event
naming it). Event type: `call` for a post-call callback
(one with a monitorUCID); a real-time event's `eventType` otherwise, stored
as ignored unless mapped. Idempotency key: `monitorUCID` (a call reports
once), else the body's hash. Lead mapping: `CallerID`, looked up by phone;
`UUI` (data passed when dialling) may carry more (unconfirmed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bridge.sources.formats import utc_from_ist
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload
from bridge.sources.scheme_options import TOKEN_KEYS, SchemeOptions, shared_token, token_source
from bridge.sources.signatures.echoed_field import EchoedField
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, form_value, formatted, required_text, text

CALL_VALUES = (
    "monitor_ucid",
    "caller_id",
    "dialed_number",
    "did",
    "campaign_name",
    "agent_id",
    "agent_name",
    "agent_phone_number",
    "dial_status",
    "agent_status",
    "customer_status",
    "disposition",
    "call_duration",
    "duration",
    "start_time",
    "end_time",
    "started_at",
    "ended_at",
    "audio_file",
    "uui",
)
EVENT_VALUES = {"call": CALL_VALUES}
# Ozonetel echoes the account's API key in every callback: the source's named secret api_key.
API_KEY = EchoedField("Apikey", "api_key")


def event_type(payload: Payload) -> str | None:
    """Return `call` for a post-call callback; a real-time event's own eventType otherwise."""
    if text(payload.get("monitorUCID")):
        return "call"
    found = payload.get("eventType")
    return found if isinstance(found, str) else None


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the call's monitorUCID, or the body's hash."""
    return composite_key(payload, body, "monitorUCID")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the values of one finished call."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"ozonetel has no transform for {event_type!r}")
    fields: Mapping[str, Any] = payload
    return [
        {
            "monitor_ucid": required_text(fields, "monitorUCID"),
            "caller_id": text(fields.get("CallerID")),
            "dialed_number": text(fields.get("DialedNumber")),
            "did": text(fields.get("dId")),
            "campaign_name": text(fields.get("CampaignName")),
            "agent_id": text(fields.get("AgentID")),
            "agent_name": text(fields.get("AgentName")),
            "agent_phone_number": text(fields.get("AgentPhoneNumber")),
            "dial_status": text(fields.get("DialStatus")),
            "agent_status": text(fields.get("AgentStatus")),
            "customer_status": text(fields.get("CustomerStatus")),
            "disposition": text(fields.get("Disposition")),
            "call_duration": text(fields.get("CallDuration")),
            "duration": text(fields.get("Duration")),
            "start_time": text(fields.get("StartTime")),
            "end_time": text(fields.get("EndTime")),
            "started_at": formatted(utc_from_ist, form_value(fields, "StartTime"), "StartTime"),
            "ended_at": formatted(utc_from_ist, form_value(fields, "EndTime"), "EndTime"),
            "audio_file": text(fields.get("AudioFile")),
            "uui": text(fields.get("UUI")),
        }
    ]


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind with its token where the source's scheme table says, the Apikey check kept."""
    return replace(SOURCE, signature=shared_token(SchemeOptions(scheme, TOKEN_KEYS), "path"))


# The token rides in the URL by default: a campaign's callback URL is all Ozonetel takes.
SOURCE = replace(
    token_source("ozonetel", "path", EVENT_VALUES, idempotency_key, event_type, transform),
    named_secrets=("api_key",),
    echo=API_KEY,
    configure=configure,
)
