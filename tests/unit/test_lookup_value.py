"""A look-up by a value the transform yields: each activity searched for by its own customer's phone."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest

from bridge.config.load import ConfigError, load_configuration
from bridge.pipeline.transform import Delivery, Failed, Mapped, MappingOutcome, map_event
from tests.conftest import ROOT, TEST_CONFIG, write_config
from transforms import REGISTRY

SAMPLES = ROOT / "transforms" / "samples"
CALLS = (
    TEST_CONFIG
    + """
[sources.twilio]
kind = "twilio"
secret_env = "TWILIO_WEBHOOK_SECRET"
scheme = { public_url = "https://bridge.example.com/webhooks/twilio" }
owner_email = "calls@example.com"
opportunity_lookup = { lead_field = "Phone", value = "customer_phone", opportunity_type = 12002 }
[sources.twilio.events."call.completed"]
activity_event = 371
[sources.twilio.events."call.completed".fields]
mx_Custom_1 = "call_sid"

[sources.meta_whatsapp]
kind = "meta_whatsapp"
secret_env = "META_WHATSAPP_WEBHOOK_SECRET"
secret_envs = { verify_token = "META_WHATSAPP_VERIFY_TOKEN" }
owner_email = "sales@example.com"
[sources.meta_whatsapp.events."messages"]
activity_event = 361
opportunity_lookup = { lead_field = "Phone", value = "from_phone", opportunity_type = 12002 }
"""
)
ENVIRON = {
    "RAZORPAY_WEBHOOK_SECRET": "s",
    "TWILIO_WEBHOOK_SECRET": "t",
    "META_WHATSAPP_WEBHOOK_SECRET": "m",
    "META_WHATSAPP_VERIFY_TOKEN": "v",
}


def mapped(
    tmp_path: Path, source_name: str, event_type: str, body: bytes, config: str = CALLS
) -> MappingOutcome:
    """Map one delivery under a configuration."""
    loaded = load_configuration(write_config(tmp_path, config), ENVIRON, REGISTRY)
    source = loaded.settings.sources[source_name]
    delivery = Delivery(f"{source_name}-key", event_type, body)
    return map_event(delivery, source, loaded.kinds[source_name], loaded.settings.accounts["main"])


def searched(outcome: MappingOutcome) -> list[str]:
    """Return the phone each activity will be looked up by."""
    assert isinstance(outcome, Mapped), outcome
    return [activity.lookup.value for activity in outcome.activities if activity.lookup is not None]


def twilio_call(**changed: str) -> bytes:
    """Twilio's call.completed sample with some fields changed."""
    fields = dict(parse_qsl((SAMPLES / "twilio" / "call.completed.form").read_text(), keep_blank_values=True))
    return urlencode({**fields, **changed}).encode()


def test_a_call_is_looked_up_by_the_customer_whichever_way_it_went(tmp_path: Path) -> None:
    """Outbound: the customer is To; inbound: From. A path could only name one of them."""
    outbound = twilio_call(Direction="outbound-api", From="+918069000000", To="+919800000001")
    inbound = twilio_call(Direction="inbound", From="+919800000001", To="+918069000000")
    assert searched(mapped(tmp_path, "twilio", "call.completed", outbound)) == ["+919800000001"]
    assert searched(mapped(tmp_path, "twilio", "call.completed", inbound)) == ["+919800000001"]


def test_each_message_of_a_batched_delivery_is_looked_up_by_its_own_sender(tmp_path: Path) -> None:
    """Two customers' messages in one delivery: two activities, two searches, nobody on the other's lead."""
    delivery = json.loads((SAMPLES / "meta_whatsapp" / "messages.json").read_text())
    value = delivery["entry"][0]["changes"][0]["value"]
    second = {**value["messages"][0], "from": "919812345678", "id": "wamid.second"}
    value["messages"].append(second)
    outcome = mapped(tmp_path, "meta_whatsapp", "messages", json.dumps(delivery).encode())
    assert searched(outcome) == ["919876543210", "919812345678"]


def test_a_value_the_transform_did_not_give_fails_the_event_naming_it(tmp_path: Path) -> None:
    """No customer phone (a callback without To): the event fails saying which value was missing."""
    outcome = mapped(tmp_path, "twilio", "call.completed", twilio_call(Direction="outbound-api", To=""))
    assert isinstance(outcome, Failed)
    assert outcome.reason == "no lead to look up: the transform gave no customer_phone"


@pytest.mark.parametrize(
    ("lookup", "expected"),
    [
        (
            '{ lead_field = "Phone", value = "callee", opportunity_type = 12002 }',
            "sources.twilio.opportunity_lookup.value: twilio's call.completed yields no value 'callee' "
            "(it yields: call_sid, ",
        ),
        (
            '{ lead_field = "Phone", value = "customer_phone", path = "To", opportunity_type = 12002 }',
            "sources.twilio.opportunity_lookup: give path (a dotted path into the payload) or value "
            "(a value the transform yields, such as customer_phone), exactly one",
        ),
        (
            '{ lead_field = "Phone", opportunity_type = 12002 }',
            "sources.twilio.opportunity_lookup: give path",
        ),
    ],
)
def test_a_look_up_needs_exactly_one_of_path_and_a_value_the_kind_yields(
    tmp_path: Path, lookup: str, expected: str
) -> None:
    """The file error names the key, and for an unknown value the values the event does yield."""
    config = CALLS.replace(
        'opportunity_lookup = { lead_field = "Phone", value = "customer_phone", opportunity_type = 12002 }',
        f"opportunity_lookup = {lookup}",
    )
    with pytest.raises(ConfigError) as caught:
        load_configuration(write_config(tmp_path, config), ENVIRON, REGISTRY)
    assert expected in str(caught.value)


def test_phone_format_rewrites_the_searched_phone_and_refuses_what_is_none(tmp_path: Path) -> None:
    """dashed: Twilio's +919800000001 is searched as +91-9800000001; a To that is no phone fails the event."""
    config = CALLS.replace(
        'value = "customer_phone", opportunity_type = 12002 }',
        'value = "customer_phone", opportunity_type = 12002, phone_format = "dashed" }',
        1,
    )
    outbound = twilio_call(Direction="outbound-api", To="+919800000001")
    assert searched(mapped(tmp_path, "twilio", "call.completed", outbound, config)) == ["+91-9800000001"]
    to_an_agent = twilio_call(Direction="outbound-api", To="sip:agent")
    outcome = mapped(tmp_path, "twilio", "call.completed", to_an_agent, config)
    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith("no lead to look up: the value customer_phone is not a phone number")
    assert "sip:agent" not in outcome.reason
