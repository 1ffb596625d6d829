"""Mapping without code: fields from transform values or payload paths, with formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.config.load import ConfigError, load_settings
from bridge.pipeline.transform import Delivery, Failed, Mapped, MappingOutcome, map_event
from bridge.sources.formats import as_text, lsq_datetime_from_iso, masked
from bridge.sources.values import text
from tests.conftest import TEST_CONFIG, write_config
from tests.support import payment_event
from transforms import REGISTRY, razorpay

FIELDS = """
[sources.razorpay.events."payment.captured".fields]
mx_Custom_1 = "payment_id"
mx_Custom_2 = { value = "amount" }
mx_Custom_5 = { path = "payload.payment.entity.notes.pan", format = "mask" }
mx_Custom_6 = { path = "payload.payment.entity.notes.kyc_at", format = "lsq_datetime_from_iso" }
mx_Custom_7 = { path = "payload.payment.entity.acquirer_data.0.rrn" }
mx_Custom_8 = { path = "payload.payment.entity.international", format = "upper" }
"""
CONFIG = TEST_CONFIG.split('[sources.razorpay.events."payment.captured".fields]')[0] + FIELDS.lstrip()
ENV = {"RAZORPAY_WEBHOOK_SECRET": "s"}


def mapped(tmp_path: Path, event: dict[str, Any], config: str = CONFIG) -> MappingOutcome:
    """Map one event under a configuration."""
    settings = load_settings(write_config(tmp_path, config), ENV, REGISTRY)
    source = settings.sources["razorpay"]
    delivery = Delivery("evt_m", "payment.captured", json.dumps(event).encode())
    return map_event(delivery, source, razorpay.SOURCE, settings.accounts["main"])


def fields_of(outcome: MappingOutcome) -> dict[str, str]:
    """Return the one activity's fields by schema name."""
    assert isinstance(outcome, Mapped), outcome
    [activity] = outcome.activities
    return {f["SchemaName"]: f["Value"] for f in activity.request["Fields"]}


def test_payload_paths_and_formats_fill_fields(tmp_path: Path) -> None:
    """Paths reach into the payload (list items by number) and formats shape the value."""
    event = payment_event("pay_M1", "opp-1")
    entity = event["payload"]["payment"]["entity"]
    entity["notes"].update(pan="ABCDE1111A", kyc_at="2026-11-27T10:30:00+05:30")
    entity["acquirer_data"] = [{"rrn": "431234567890"}]
    entity["international"] = False
    assert fields_of(mapped(tmp_path, event)) == {
        "mx_Custom_1": "pay_M1",
        "mx_Custom_2": "1500.00",
        "mx_Custom_5": "XXXXXX111A",
        "mx_Custom_6": "2026-11-27 05:00:00",
        "mx_Custom_7": "431234567890",
        "mx_Custom_8": "FALSE",
        "mx_Custom_10": "razorpay:evt_m:0",
    }


def test_a_path_the_payload_lacks_leaves_the_field_out(tmp_path: Path) -> None:
    """A field whose path holds nothing is not sent, rather than sent empty."""
    fields = fields_of(mapped(tmp_path, payment_event("pay_M2", "opp-1")))
    assert set(fields) == {"mx_Custom_1", "mx_Custom_2", "mx_Custom_10"}


def test_a_value_a_format_cannot_read_fails_the_event_naming_the_field(tmp_path: Path) -> None:
    """A time without an offset cannot be put in UTC: the event fails, naming field and path."""
    event = payment_event("pay_M3", "opp-1")
    event["payload"]["payment"]["entity"]["notes"]["kyc_at"] = "2026-11-27T10:30:00"
    outcome = mapped(tmp_path, event)
    assert isinstance(outcome, Failed)
    assert "mx_Custom_6 (payload.payment.entity.notes.kyc_at)" in outcome.reason
    assert "no UTC offset" in outcome.reason


def test_an_object_at_a_path_is_not_a_value(tmp_path: Path) -> None:
    """A path that leads to an object fails the event instead of sending its repr."""
    event = payment_event("pay_M4", "opp-1")
    event["payload"]["payment"]["entity"]["acquirer_data"] = [{"rrn": {"nested": 1}}]
    outcome = mapped(tmp_path, event)
    assert isinstance(outcome, Failed) and "is not a single value" in outcome.reason


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ('mx_Custom_9 = { path = "a.b", format = "roman" }', "unknown format 'roman' (known: lower,"),
        ('mx_Custom_9 = { path = "a.b", value = "payment_id" }', "mx_Custom_9: give the name of a value"),
        ('mx_Custom_9 = { format = "mask" }', "exactly one of value"),
        ('mx_Custom_9 = { value = "pan_number" }', "no value 'pan_number'"),
    ],
)
def test_field_mistakes_are_named(tmp_path: Path, field: str, expected: str) -> None:
    """An unknown format, both or neither of value and path, or an unknown value is refused by key."""
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, CONFIG + field + "\n"), ENV, REGISTRY)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_formats() -> None:
    """The formats give LeadSquared's shapes."""
    assert masked("ABCDE1111A") == "XXXXXX111A"
    assert masked("12") == "12"
    assert lsq_datetime_from_iso("2026-11-27T00:15:00Z") == "2026-11-27 00:15:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Asha", "Asha"), ("", ""), (7, "7"), (-1.5, "-1.5"), (True, "true"), (False, "false")],
)
def test_a_scalar_reads_the_same_in_a_transform_and_in_a_field(value: Any, expected: str) -> None:
    """A transform's text() and the text format write a JSON scalar alike, booleans as true/false."""
    assert text(value) == as_text(value) == expected


@pytest.mark.parametrize("value", [None, {"a": 1}, [1]], ids=["null", "object", "array"])
def test_an_absent_value_or_a_container_is_none_in_a_transform_and_refused_by_the_text_format(
    value: Any,
) -> None:
    """text() reads null, an object or an array as None; the text format refuses them as no single value."""
    assert text(value) is None
    with pytest.raises(ValueError, match="is not a single value"):
        as_text(value)
