"""The t=<unix>,v1=<hex> scheme Stripe and Persona share: what it refuses, and with which reason."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from bridge.sources.signatures import SignatureError, TimestampedHexSignature

BODY = b'{"id": "evt_1"}'
SECRET = "whsec_scheme"
NOW = 1764230400
SCHEME = TimestampedHexSignature("Test-Signature", tolerance_seconds=300)
GROUPED = TimestampedHexSignature("Test-Signature", tolerance_seconds=300, group_separator=" ")
GOOD = SCHEME.sign(BODY, SECRET, NOW)["Test-Signature"]
GOOD_V1 = GOOD.partition(",v1=")[2]


def reason(scheme: TimestampedHexSignature, value: str | None) -> str:
    """Return the reason the scheme refuses a header value (None: no header at all)."""
    headers = Headers({} if value is None else {"Test-Signature": value})
    with pytest.raises(SignatureError) as caught:
        scheme.verify(BODY, headers, [SECRET], NOW)
    return caught.value.reason


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_header_is_a_missing_signature(value: str | None) -> None:
    """An absent or blank header is missing_signature."""
    assert reason(SCHEME, value) == "missing_signature"


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        f"v1={GOOD_V1}",
        f"t={NOW}",
        f"t={NOW},v0={GOOD_V1}",
        f"t=,v1={GOOD_V1}",
        f"t=abc,v1={GOOD_V1}",
        f"t=-{NOW},v1={GOOD_V1}",
        f"t=+{NOW},v1={GOOD_V1}",
        f"t=1_764_230_400,v1={GOOD_V1}",
        f"t=1e9,v1={GOOD_V1}",
        f"t={NOW},t={NOW},v1={GOOD_V1}",
        f"t=99999999999999999999,v1={GOOD_V1}",
        "t=١٢٣,v1=ab",
    ],
)
def test_a_header_we_cannot_read_is_malformed(value: str) -> None:
    """No single whole-number t, no v1, or an item without '=' is bad_signature_header."""
    assert reason(SCHEME, value) == "bad_signature_header"


@pytest.mark.parametrize(
    "value",
    [
        f"t={NOW},v1=",
        f"t={NOW},v1=zz",
        f"t={NOW},v1={GOOD_V1[:-1]}",
        f"t={NOW},v1={GOOD_V1}0",
        f"t={NOW},v1=é{GOOD_V1[1:]}",
        f"t={NOW + 1},v1={GOOD_V1}",
        f"t={NOW},v0={GOOD_V1},v1={'0' * 64}",
    ],
)
def test_a_readable_header_that_does_not_match_is_a_bad_signature(value: str) -> None:
    """Empty, short, long, non-hex or non-ASCII v1, or another t, is bad_signature and never a crash."""
    assert reason(SCHEME, value) == "bad_signature"


@pytest.mark.parametrize(
    "value",
    [
        f"t={NOW},v1={GOOD_V1},v0=whatever,scheme=unknown",
        f"v1={GOOD_V1},t={NOW}",
        f"t={NOW}, v1={GOOD_V1}",
        f"t={NOW},v1={GOOD_V1.upper()}",
        f"t=0{NOW},v1={GOOD_V1}",
        f"t={NOW},v1={'0' * 64},v1={GOOD_V1}",
        f"t={NOW},v1={GOOD_V1},",
        f"t={NOW},,v1={GOOD_V1}",
    ],
)
def test_unknown_keys_order_and_case_do_not_matter(value: str) -> None:
    """Unknown keys, v0 and stray commas are ignored; items may come in any order, hex in either case."""
    SCHEME.verify(BODY, Headers({"Test-Signature": value}), [SECRET], NOW)


def test_without_a_separator_a_space_does_not_split_groups() -> None:
    """Stripe's header is one group: a second space-separated group is not read as one."""
    earlier = SCHEME.sign(BODY, SECRET, NOW - 10)["Test-Signature"]
    header = f"t={NOW},v1={'0' * 64} {earlier}"
    assert reason(SCHEME, header) == "bad_signature"
    GROUPED.verify(BODY, Headers({"Test-Signature": header}), [SECRET], NOW)


def test_a_stale_timestamp_is_only_reported_to_a_holder_of_the_secret() -> None:
    """The age is checked after the signature: a forged header is bad_signature whatever its t."""
    old = SCHEME.sign(BODY, SECRET, NOW - 3600)["Test-Signature"]
    assert reason(SCHEME, old) == "stale_timestamp"
    forged = old.replace(old[-4:], "0000")
    assert reason(SCHEME, forged) == "bad_signature"


def test_the_signed_string_is_the_timestamp_a_dot_and_the_raw_bytes() -> None:
    """Bytes that are not UTF-8 are signed as they are, with no decoding step to fail."""
    body = b"\xff\xfe{not utf-8}"
    headers = Headers(SCHEME.sign(body, SECRET, NOW))
    SCHEME.verify(body, headers, [SECRET], NOW)
    with pytest.raises(SignatureError):
        SCHEME.verify(body + b"\n", headers, [SECRET], NOW)


def test_a_non_ascii_secret_is_used_as_utf8() -> None:
    """A secret with non-ASCII characters keys the HMAC with its UTF-8 bytes."""
    headers = Headers(SCHEME.sign(BODY, "sécret", NOW))
    SCHEME.verify(BODY, headers, ["sécret"], NOW)
    with pytest.raises(SignatureError):
        SCHEME.verify(BODY, headers, ["secret"], NOW)


def test_no_configured_secret_verifies_nothing() -> None:
    """With an empty secret list every header is a bad signature."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(BODY, Headers({"Test-Signature": GOOD}), [], NOW)
    assert caught.value.reason == "bad_signature"
