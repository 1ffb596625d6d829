"""Generic kinds: Standard Webhooks, GitHub-style and the TOML-configured HMAC, against published vectors."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import standardwebhooks
from werkzeug.datastructures import Headers

from bridge.config.load import ConfigError
from bridge.sources.senders import demo_secret
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.scheme import SecretFormat, SignatureScheme
from tests.conftest import ROOT, TEST_CONFIG, make_services
from tests.support import idempotency_key_of
from transforms import REGISTRY, generic_hmac, github, standard_webhooks

SAMPLES = ROOT / "tests" / "samples"

# Standard Webhooks' published vector (libraries/python/tests/test_webhooks.py, test_sign_function).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SW_BODY = (SAMPLES / "standard_webhooks" / "test_sign_function_payload.json").read_bytes()

# GitHub's published vector (docs.github.com, validating webhook deliveries).
GITHUB_SECRET = "It's a Secret to Everybody"
# A bridge with a Standard Webhooks source.
SW_CONFIG = (
    TEST_CONFIG
    + """
[sources.sw]
kind = "standard_webhooks"
secret_env = "SW_WEBHOOK_SECRET"
opportunity_id_path = "data.opportunity_id"
owner_email = "ops@example.com"
"""
)
# Configuration errors stop start-up before the store is opened.
NO_STORE = "sqlite:///unused.db"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def sw_headers(prefix: str = "webhook", signature: str = SW_SIGNATURE) -> Headers:
    """Return the vector's headers under webhook-* or svix-* names."""
    return Headers(
        {f"{prefix}-id": SW_ID, f"{prefix}-timestamp": str(SW_TIMESTAMP), f"{prefix}-signature": signature}
    )


def reason(scheme: SignatureScheme, body: bytes, headers: Headers, secret: str, now: float) -> str:
    """Return the reason code verification fails with."""
    with pytest.raises(SignatureError) as caught:
        scheme.verify(body, headers, [secret], now)
    return caught.value.reason


@pytest.mark.parametrize("prefix", ["webhook", "svix"])
def test_standard_webhooks_vector_verifies_under_both_header_names(prefix: str) -> None:
    """The published Standard Webhooks/Svix vector verifies, with the clock at its timestamp."""
    standard_webhooks.SOURCE.signature.verify(SW_BODY, sw_headers(prefix), [SW_SECRET], SW_TIMESTAMP)


def test_standard_webhooks_corrupted_vector_and_wrong_secret_fail() -> None:
    """The spec's corrupted signature (…1OA=) and another secret are refused."""
    scheme = standard_webhooks.SOURCE.signature
    corrupted = sw_headers(signature=SW_SIGNATURE[:-2] + "A=")
    assert reason(scheme, SW_BODY, corrupted, SW_SECRET, SW_TIMESTAMP) == "bad_signature"
    other = "whsec_" + "QUJD" * 8
    assert reason(scheme, SW_BODY, sw_headers(), other, SW_TIMESTAMP) == "bad_signature"


def test_standard_webhooks_an_id_that_is_not_text_fails_the_compare_instead_of_raising() -> None:
    """A server handing over undecodable header bytes as surrogates gets bad_signature, not a 500."""
    headers = sw_headers()
    headers["webhook-id"] = "\ud800"
    scheme = standard_webhooks.SOURCE.signature
    assert reason(scheme, SW_BODY, headers, SW_SECRET, SW_TIMESTAMP) == "bad_signature"


def test_standard_webhooks_accepts_any_of_several_signatures_and_skips_v1a() -> None:
    """During a rotation the header lists several signatures; one v1 match is enough, v1a is not checked."""
    listed = f"v1a,bm90LWNoZWNrZWQ= v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {SW_SIGNATURE}"
    standard_webhooks.SOURCE.signature.verify(
        SW_BODY, sw_headers(signature=listed), [SW_SECRET], SW_TIMESTAMP
    )
    only_v1a = "v1a," + SW_SIGNATURE.removeprefix("v1,")
    scheme = standard_webhooks.SOURCE.signature
    assert reason(scheme, SW_BODY, sw_headers(signature=only_v1a), SW_SECRET, SW_TIMESTAMP) == "bad_signature"


@pytest.mark.parametrize("skew", [-301, 301])
def test_standard_webhooks_refuses_a_timestamp_five_minutes_off_either_way(skew: int) -> None:
    """A correct signature more than 300 s from now, past or future, is stale."""
    scheme = standard_webhooks.SOURCE.signature
    assert reason(scheme, SW_BODY, sw_headers(), SW_SECRET, SW_TIMESTAMP + skew) == "stale_timestamp"


def test_standard_webhooks_sdk_is_an_independent_oracle() -> None:
    """The standardwebhooks SDK verifies what we sign, and we verify what it signs."""
    now = time.time()
    body = (ROOT / "transforms" / "samples" / "standard_webhooks" / "invoice.paid.json").read_bytes()
    ours = standard_webhooks.SOURCE.signature.sign(body, SW_SECRET, now)
    standardwebhooks.Webhook(SW_SECRET).verify(body, ours)
    message_id = "msg_2Kq8Vn4Rt7"
    signature = standardwebhooks.Webhook(SW_SECRET).sign(
        message_id, datetime.fromtimestamp(int(now), UTC), body.decode()
    )
    theirs = {"webhook-id": message_id, "webhook-timestamp": str(int(now)), "webhook-signature": signature}
    standard_webhooks.SOURCE.signature.verify(body, Headers(theirs), [SW_SECRET], now)


def test_github_vector_verifies_and_a_bare_hex_is_malformed() -> None:
    """GitHub's published vector verifies; the same hex without its sha256= prefix is refused as malformed."""
    scheme = github.SOURCE.signature
    body = b"Hello, World!"
    scheme.verify(body, Headers({"X-Hub-Signature-256": GITHUB_SIGNATURE}), [GITHUB_SECRET], time.time())
    bare = Headers({"X-Hub-Signature-256": GITHUB_SIGNATURE.removeprefix("sha256=")})
    assert reason(scheme, body, bare, GITHUB_SECRET, time.time()) == "bad_signature_header"
    assert scheme.sign(body, GITHUB_SECRET, 0) == {"X-Hub-Signature-256": GITHUB_SIGNATURE}


def test_generic_hmac_configured_as_cashfree_verifies_its_vector() -> None:
    """The generic kind, told Cashfree's scheme in TOML terms, verifies Cashfree's vector."""
    kind = generic_hmac.configure(
        {
            "header": "x-webhook-signature",
            "encoding": "base64",
            "signed": "timestamp+body",
            "timestamp_header": "x-webhook-timestamp",
            "separator": "",
            "timestamp_unit": "milliseconds",
        }
    )
    body = (SAMPLES / "cashfree" / "doc_payment_success_minimal.json").read_bytes()
    headers = Headers(
        {
            "x-webhook-timestamp": "1617695238078",
            "x-webhook-signature": "JsfVwCXnwhN/WfbeiD+adt4+teTWm5ia971Bgv31PlY=",
        }
    )
    kind.signature.verify(body, headers, ["TEST_CLIENT_SECRET"], 1617695238.078 + 10)
    assert (
        reason(kind.signature, body, headers, "TEST_CLIENT_SECRET", 1617695238.078 + 301) == "stale_timestamp"
    )


def test_generic_hmac_configured_as_razorpay_and_github_verifies_their_vectors() -> None:
    """Body-only HMACs, hex with and without a prefix, verify the published Razorpay and GitHub vectors."""
    razorpay_like = generic_hmac.configure({"header": "X-Razorpay-Signature"})
    body = (SAMPLES / "razorpay" / "payment_authorized_webhook.json").read_bytes()
    signature = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"
    razorpay_like.signature.verify(body, Headers({"X-Razorpay-Signature": signature}), ["key_secret"], 0)
    github_like = generic_hmac.configure({"header": "X-Hub-Signature-256", "prefix": "sha256="})
    github_like.signature.verify(
        b"Hello, World!", Headers({"X-Hub-Signature-256": GITHUB_SIGNATURE}), [GITHUB_SECRET], 0
    )


def test_generic_hmac_reads_the_event_type_and_id_where_it_is_told() -> None:
    """event_type_header and id_header win over the body; without an id the body's hash is the key."""
    kind = generic_hmac.configure({"header": "X-Sig", "event_type_header": "X-Event", "id_header": "X-Id"})
    headers = Headers({"X-Event": "order.paid", "X-Id": "dlv_1"})
    assert kind.type_of(headers, {"type": "ignored"}) == "order.paid"
    assert idempotency_key_of(kind, b"{}", headers) == "dlv_1"
    assert idempotency_key_of(kind, b"{}").startswith("sha256:")
    by_path = generic_hmac.configure(
        {"header": "X-Sig", "event_type_path": "meta.kind", "id_path": "meta.id"}
    )
    assert by_path.type_of(Headers(), {"meta": {"kind": "refund"}}) == "refund"
    assert idempotency_key_of(by_path, b'{"meta": {"id": 42}}') == "42"


SCHEME_PROBLEMS = [
    ("", "sources.acme.scheme: header: required"),
    ('header = "X-Sig"\nalgorithm = "md5"', "sources.acme.scheme: algorithm: must be one of"),
    ('header = "X-Sig"\ncolour = "red"', "sources.acme.scheme: colour: unknown key"),
    (
        'header = "X-Sig"\ntimestamp_header = "X-Ts"',
        'timestamp_header: only used with signed = "timestamp+body"',
    ),
    ('header = "X-Sig"\nsigned = "timestamp+body"', "sources.acme.scheme: timestamp_header: required"),
    ('header = "X-Sig"\nencoding = "base32"', "sources.acme.scheme: encoding: must be one of"),
]


@pytest.mark.parametrize(("scheme", "expected"), SCHEME_PROBLEMS)
def test_a_wrong_scheme_table_stops_start_up_naming_the_key(
    tmp_path: Path, scheme: str, expected: str
) -> None:
    """A generic HMAC source whose scheme table is incomplete or wrong is refused, naming the key."""
    config = (
        TEST_CONFIG
        + f"""
[sources.acme]
kind = "hmac"
secret_env = "ACME_WEBHOOK_SECRET"
opportunity_id_path = "data.opportunity_id"
owner_email = "ops@example.com"
[sources.acme.scheme]
{scheme}
"""
    )
    with pytest.raises(ConfigError) as caught:
        make_services(tmp_path, NO_STORE, None, config, ACME_WEBHOOK_SECRET="s3cret")
    assert expected in str(caught.value)


def test_a_fixed_kind_refuses_a_scheme_table(tmp_path: Path) -> None:
    """A scheme table on a kind that takes none is an error, not silently ignored."""
    config = TEST_CONFIG.replace(
        'owner_email = "payments@example.com"\n',
        'owner_email = "payments@example.com"\nscheme = { x = 1 }\n',
        1,
    )
    with pytest.raises(ConfigError) as caught:
        make_services(tmp_path, NO_STORE, None, config)
    assert "sources.razorpay.scheme: the razorpay kind takes no scheme table" in str(caught.value)


def test_a_standard_webhooks_secret_that_is_not_base64_stops_start_up(tmp_path: Path) -> None:
    """A whsec_ secret that cannot be decoded is named by its variable at start-up, never shown."""
    config = SW_CONFIG
    with pytest.raises(ConfigError) as caught:
        make_services(tmp_path, NO_STORE, None, config, SW_WEBHOOK_SECRET="whsec_not-base64!")
    assert "sources.sw: the secret in SW_WEBHOOK_SECRET is not whsec_ followed by base64" in str(caught.value)
    assert "not-base64!" not in str(caught.value)


def test_a_whsec_secret_shorter_than_the_spec_stops_start_up(tmp_path: Path) -> None:
    """An empty or short decoded key (a truncated paste) would let anyone sign: start-up refuses it."""
    config = SW_CONFIG
    for secret in ("whsec_", "whsec_c2hvcnQ="):
        with pytest.raises(ConfigError) as caught:
            make_services(tmp_path, NO_STORE, None, config, SW_WEBHOOK_SECRET=secret)
        assert "fewer than the 24 the spec requires" in str(caught.value)


def test_the_sandbox_demo_secret_suits_every_kind() -> None:
    """`make run` gives each source a demo secret its scheme accepts, whsec_ for Standard Webhooks."""
    for kind in REGISTRY:
        secret = demo_secret(kind.name, kind)
        assert not isinstance(kind.signature, SecretFormat) or kind.signature.secret_problem(secret) is None
    assert demo_secret("razorpay", REGISTRY.get("razorpay")) == "demo-razorpay-secret"
