"""What masking hides (emails, phones, PANs) and what it leaves an operator (ids, times, amounts)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bridge.leadsquared.activity import mask_contact
from bridge.observe.masking import mask_payload, mask_text, personal_data_in
from tests.support import payment_event

PAYU_SAMPLE = Path(__file__).resolve().parents[2] / "transforms" / "samples" / "payu" / "success.form"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("lead@example.com", "l***@example.com"),
        ("Asha.Rao+kyc@Mail.Example.co.in", "A***@Mail.Example.co.in"),
        ("write to ops@example.com today", "write to o***@example.com today"),
        ("email=asha.rao%40example.com&x=1", "email=a***%40example.com&x=1"),
        ("9800000001", "******0001"),
        ("+919800000001", "*********0001"),
        ("+91 98000 00001", "***********0001"),
        ("+91-98000-00001", "***********0001"),
        ("919800000001", "********0001"),
        ("09800000001", "*******0001"),
        ("0091 9800000001", "***********0001"),
        ("987-654-3210", "********3210"),
        ("98 76 54 32 10", "**********2 10"),
        ("phone=%2B919800000001&", "phone=***********0001&"),
        ("Call 9876543210.", "Call ******3210."),
        ("+14155552671", "********2671"),
        ("+1 415 555 2671", "***********2671"),
        ("PAN ABCDE1234F verified", "PAN ******234F verified"),
        ("pan abcde1234f", "pan ******234f"),
        ('{"pan": "ABCPE1234K"}', '{"pan": "******234K"}'),
    ],
)
def test_personal_data_is_masked_keeping_what_tells_records_apart(text: str, masked: str) -> None:
    """An email keeps its first character and domain; a phone and a PAN keep their last four characters."""
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "pay_29QQoUBi66xm2f",
        "order_Test0001",
        "550e8400-e29b-41d4-a716-446655440000",
        "7c1e2d3f-4a5b-4c6d-8e9f-919876543210",
        "opp-9876543210",
        "ProspectActivityId 9c7d6e5f-1234-4321-9876-0123456789ab",
        "1764230400",
        "1764230400123",
        "150000",
        "14999.00",
        "9876543210.50",
        "mihpayid=403993715534069123",
        "bank_ref_num=533112345678",
        "2025-11-27T14:05:31+05:30",
        "2025-11-27 14:05:31",
        "d211c827426c1450713e2301bfb0144f7ccc9507ceef3b1f366e1ef260ba37ec05",
        "pan_ABCDE1234F",
        "ABCDE1234FG",
        "LSQ-TXN-20251127-0042",
        "no mapping for event type 'payment.dispute.created'",
    ],
)
def test_ids_times_and_amounts_are_left_as_they_are(text: str) -> None:
    """Text that merely holds digits, such as an id, a timestamp, an amount or a hash, is not masked."""
    assert mask_text(text) == text


def test_masked_text_is_not_masked_again() -> None:
    """Masking twice gives what masking once gave, and agrees with mask_contact on a lone email or phone."""
    text = "lead@example.com +919800000001 ABCDE1234F"
    once = mask_text(text)
    assert mask_text(once) == once
    assert mask_text("lead@example.com") == mask_contact("lead@example.com")
    assert mask_text("+919800000001") == mask_contact("+919800000001")


def test_personal_data_in_finds_what_mask_text_masks() -> None:
    """The identifiers found are exactly the spans masking replaces, as written, ids and times left out."""
    text = "pay_29QQoUBi66xm2f by asha.rao%40example.com, +91 98765 43210 and ABCPE1234K at 1764230400123"
    found = personal_data_in(text)
    assert found == ["asha.rao%40example.com", "+91 98765 43210", "ABCPE1234K"]
    masked = mask_text(text)
    assert not any(identifier in masked for identifier in found)


def test_a_payload_has_every_string_masked_and_its_keys_kept() -> None:
    """Strings at any depth are masked, keys and other values kept, a number that reads as a phone masked."""
    payload = {
        "lead@example.com": ["+919800000001", {"pan": "ABCDE1234F", "amount": 150000}],
        "contact": 9800000001,
        "created_at": 1764230400,
        "captured": True,
        "fee": 1.5,
        "notes": None,
    }
    assert mask_payload(payload) == {
        "lead@example.com": ["*********0001", {"pan": "******234F", "amount": 150000}],
        "contact": "******0001",
        "created_at": 1764230400,
        "captured": True,
        "fee": 1.5,
        "notes": None,
    }


def test_a_razorpay_event_keeps_its_ids_and_loses_its_email_and_phone() -> None:
    """In a real payment event only the email and the contact number change."""
    event = payment_event("pay_29QQoUBi66xm2f", "opp-1")
    masked = mask_payload(event)
    entity = masked["payload"]["payment"]["entity"]
    assert (entity["email"], entity["contact"]) == ("l***@example.com", "*********0001")
    entity["email"], entity["contact"] = "lead@example.com", "+919800000001"
    assert masked == event


def test_a_payu_form_keeps_its_ids_and_hash_and_loses_its_email_and_phone() -> None:
    """PayU's form body has its percent-encoded email and its phone masked, and nothing else changed."""
    body = PAYU_SAMPLE.read_text()
    masked = mask_text(body)
    assert "email=a***%40example.com&phone=******0001&" in masked
    original = body.replace("asha.rao%40example.com", "a***%40example.com").replace(
        "phone=9800000001", "phone=******0001"
    )
    assert masked == original


@pytest.mark.parametrize(
    "text",
    [
        json.dumps([payment_event(f"pay_{n:014d}", f"opp-{n}") for n in range(60)], indent=2)[:65536],
        "9 8" * 20000,
        "98-" * 20000,
        "+9" * 30000,
        "a" * 65536 + "@",
        "a." * 30000 + "@x",
        "a@" + "b." * 30000,
        "abcde1234" * 7000,
    ],
    ids=["events", "digit-pairs", "dashed", "pluses", "long-local", "dotted-local", "dotted-domain", "pans"],
)
def test_a_64_kib_text_is_masked_in_milliseconds_whatever_it_holds(text: str) -> None:
    """No input makes the patterns backtrack: a page of payload is masked well within a page's time budget."""
    started = time.perf_counter()
    masked = mask_text(text)
    assert time.perf_counter() - started < 0.5
    assert "lead@example.com" not in masked
