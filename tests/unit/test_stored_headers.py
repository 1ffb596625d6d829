"""Which headers the store keeps in clear, and which it masks."""

from __future__ import annotations

from bridge.leadsquared.outcomes import Posted, RateLimited, RowResult
from bridge.pipeline.call_metrics import outcome_name
from bridge.pipeline.gate import row_results
from bridge.sources.headers import MASKED, MAX_HEADERS, MAX_VALUE_CHARS, credential_headers, stored_headers
from transforms import REGISTRY


def test_credentials_are_masked_by_name_by_scheme_and_by_value() -> None:
    """Signature, authorization and token headers, the scheme's own header and any secret value are masked."""
    headers = [
        ("X-Razorpay-Signature", "abc"),
        ("Authorization", "Bearer t"),
        ("X-Custom-Auth", "the-secret-value"),
        ("X-Partner-Header", "xyz"),
        ("Idempotency-Key", "idem-1"),
        ("X-Razorpay-Event-Id", "evt_1"),
        ("Content-Type", "application/json"),
    ]
    kept = stored_headers(headers, frozenset({"x-partner-header"}), ["the-secret-value"])
    assert kept == {
        "X-Razorpay-Signature": MASKED,
        "Authorization": MASKED,
        "X-Custom-Auth": MASKED,
        "X-Partner-Header": MASKED,
        "Idempotency-Key": "idem-1",
        "X-Razorpay-Event-Id": "evt_1",
        "Content-Type": "application/json",
    }


def test_a_hostile_sender_cannot_make_the_store_keep_much() -> None:
    """At most MAX_HEADERS headers are kept, each cut to MAX_VALUE_CHARS."""
    kept = stored_headers([(f"X-H{n}", "v" * 5000) for n in range(500)], frozenset(), [])
    assert len(kept) == MAX_HEADERS
    assert {len(value) for value in kept.values()} == {MAX_VALUE_CHARS}


def test_each_kinds_own_signature_header_is_a_credential() -> None:
    """The generic hmac kind's configured header is found from its scheme."""
    kind = REGISTRY.get("hmac")
    assert kind is not None
    configured = kind.configured(
        {"header": "X-Partner-Mac-256", "algorithm": "sha256", "encoding": "hex", "event_type_path": "type"}
    )
    assert credential_headers(configured) == frozenset({"x-partner-mac-256"})


def test_outcomes_are_named_in_snake_case() -> None:
    """The call history names RateLimited rate_limited and Posted posted."""
    assert outcome_name(RateLimited("slow down", status=429)) == "rate_limited"
    assert outcome_name(Posted("ok", status=200)) == "posted"


def test_each_activity_gets_its_rows_answer() -> None:
    """Created rows keep their ProspectActivityId, refused ones the message, missing ones say so."""
    rows = {1: RowResult(True, "pa-1", None), 2: RowResult(False, None, "Invalid dropdown value")}
    posted = Posted("ok", status=200, rows=rows)
    assert row_results(posted, [10, 11, 12]) == [
        (10, "pa-1"),
        (11, "Invalid dropdown value"),
        (12, "left out of LeadSquared's answer"),
    ]
    assert row_results(RateLimited("slow", status=429), [10]) == [(10, None)]
