"""No clear email, phone or PAN in the web and worker processes' logs, whatever comes in or goes wrong.

Every registered kind's samples are signed and posted to gunicorn serving the
web app, with refusals (a wrong signature, a body that is not JSON, a key an
email names twice, an unknown source, a header gunicorn itself refuses); the
worker maps them and delivers to the sandbox, which is made to echo personal
data back (a 500 and a 400 quoting the row, a refused row, a failed look-up),
and looks leads up by email and by phone. Both processes' stderr is then
searched for every identifier the samples and the test's own payloads hold,
found with the same patterns the mask uses.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from bridge.observe.masking import personal_data_in
from bridge.pipeline.transform import lead_lookup_of
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.sources.kind import SourceKind
from bridge.sources.senders import signed_delivery, signed_request, webhook_path, with_query
from bridge.sources.signatures.scheme import BodySignedScheme, SecretExample
from tests.conftest import POSTGRES_ONLY, ROOT, bridge_environ, make_services
from tests.e2e.test_processes import free_port, start, wait_until
from tests.e2e.wire import request_bytes, send_raw
from tests.support import add_fault, body_of, payment_event, settled
from tests.unit.test_contract import (
    KINDS,
    SECRET,
    example_environ,
    example_kind,
    example_source,
    sample_headers,
    samples_of,
    secret_of,
)

# PostgreSQL alone: masking is the logs' business; no store puts an identifier in a log line.
pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

PLANTED_EMAIL = "planted.person@example.org"
PLANTED_PHONE = "+91 98111 22334"
PLANTED_PAN = "PLNTD1234Q"
LOOKUP_EMAIL = "found.lead@example.org"  # a lead the sandbox knows
LOOKUP_PHONE = "+919822200011"  # a lead it never finds
LOOKUP_SECRET = "lookup-webhook-secret"
# Another secret every scheme takes (Standard Webhooks wants whsec_<base64>): a forger's.
WRONG_SECRET = "whsec_d3Jvbmcgc2VjcmV0IG9mIGEgZm9yZ2VyISEhIQ=="
ECHO = f"Could not save {PLANTED_EMAIL} (PAN {PLANTED_PAN}, phone {PLANTED_PHONE})"

# The example configuration, every source on, retries fast, and one more Razorpay source
# whose opportunity is looked up: by email for captured payments, by phone for failed ones.
LOOKUP_SOURCE = """
[sources.lookup]
kind = "razorpay"
account = "main"
secret_env = "LOOKUP_WEBHOOK_SECRET"
owner_email = "payments@example.com"
[sources.lookup.opportunity_lookup]
lead_field = "EmailAddress"
path = "payload.payment.entity.email"
opportunity_type = 12002
method = "lead_then_opportunities"
wait_seconds = 1
[sources.lookup.events."payment.captured"]
activity_event = 201
note = "Payment {payment_id}"
[sources.lookup.events."payment.captured".fields]
mx_Custom_1 = "payment_id"
[sources.lookup.events."payment.failed"]
activity_event = 202
note = "Payment {payment_id} failed"
[sources.lookup.events."payment.failed".opportunity_lookup]
lead_field = "Phone"
path = "payload.payment.entity.contact"
opportunity_type = 12002
method = "lead_then_opportunities"
wait_seconds = 1
[sources.lookup.events."payment.failed".fields]
mx_Custom_1 = "payment_id"
"""
FAST = {
    "enabled = false": "enabled = true",
    "max_attempts = 8": "max_attempts = 3",
    "backoff_base_seconds = 2": "backoff_base_seconds = 0.05",
    "backoff_max_seconds = 600": "backoff_max_seconds = 0.2",
    "poll_interval_seconds = 0.25": "poll_interval_seconds = 0.05",
    "notified_poll_interval_seconds = 1": "notified_poll_interval_seconds = 0.1",
}


def config_text() -> str:
    """Return bridge.example.toml with every source on, fast retries, and the look-up source."""
    text = (ROOT / "bridge.example.toml").read_text()
    for old, new in FAST.items():
        assert old in text, f"bridge.example.toml no longer has {old!r}"
        text = text.replace(old, new)
    return text + LOOKUP_SOURCE


def secrets_environ() -> dict[str, str]:
    """Return a secret for every source of the example, and the look-up source's."""
    return {**example_environ(), "LOOKUP_WEBHOOK_SECRET": LOOKUP_SECRET}


class Bridge:
    """The web (gunicorn, as the Procfile runs it) and worker processes, each logging to a file."""

    def __init__(self, tmp_path: Path, database_url: str, sandbox: SandboxServer) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.services: Services = make_services(
            tmp_path, database_url, sandbox, config_text(), **secrets_environ()
        )
        environ = bridge_environ(
            database_url,
            sandbox,
            BRIDGE_CONFIG=str(tmp_path / "bridge.toml"),
            PORT=str(self.port),
            WEB_CONCURRENCY="1",
            **secrets_environ(),
        )
        self.web_log, self.worker_log = tmp_path / "web.log", tmp_path / "worker.log"
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bridge:create_app()"]
        self.web = start(gunicorn, environ, self.web_log)
        self.worker = start([sys.executable, "-m", "bridge", "worker"], environ, self.worker_log)

    def stop(self) -> None:
        """Stop both processes as a platform does, and wait for them."""
        for process in (self.web, self.worker):
            process.send_signal(signal.SIGTERM)
        for process in (self.web, self.worker):
            process.wait(timeout=30)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """Post a delivery; return the status."""
        return requests.post(self.base + path, data=body, headers=headers, timeout=10).status_code


@pytest.fixture
def bridge(tmp_path: Path, database_url: str, sandbox: SandboxServer) -> Iterator[Bridge]:
    """Web and worker on a fresh store, posting to the sandbox; stopped afterwards."""
    running = Bridge(tmp_path, database_url, sandbox)
    try:
        wait_until(lambda: requests.get(f"{running.base}/healthz", timeout=1).ok, 20, "gunicorn start-up")
        yield running
    finally:
        running.stop()


def identifiers_in(text: str) -> set[str]:
    """Return each identifier in text as written, decoded (%40) and, for a phone, without separators."""
    found = set()
    for identifier in personal_data_in(text):
        decoded = unquote(identifier)
        found |= {identifier, decoded}
        if "@" not in decoded and not decoded[:1].isalpha():
            digits = re.sub(r"[^\d+]", "", decoded)
            found |= {digits, digits[-10:]}
    return found


def strings_of(value: Any) -> list[str]:
    """Return every string in a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *strings_of(item))]
    if isinstance(value, list):
        return [text for item in value for text in strings_of(item)]
    return []


def sample_identifiers() -> set[str]:
    """Return every identifier the samples hold: in their raw text and in their decoded strings."""
    found = set()
    for kind in KINDS:
        for path in samples_of(kind):
            text = path.read_text()
            found |= identifiers_in(text)
            if path.suffix == ".json":
                for string in strings_of(json.loads(text)):
                    found |= identifiers_in(string)
    return found


def post_samples(bridge: Bridge) -> int:
    """Sign and post every kind's samples, then each once more with a wrong secret; return how many."""
    posted = 0
    for kind in KINDS:
        source, configured, secret = example_source(kind), example_kind(kind), secret_of(kind)
        for path in samples_of(kind):
            body, signed, query = signed_request(configured.signature, path.read_bytes(), secret, time.time())
            headers = {"Content-Type": configured.content_type, **signed, **sample_headers(configured, path)}
            url = with_query(webhook_path(source.name, configured.signature, secret), query)
            assert bridge.post(url, body, headers) == 202, f"{kind.name} {path.name}"
            posted += 1
            # PayU's signature is inside the body: the forged delivery is a body of its own.
            wrong = wrong_secret_of(kind)
            forged_body, forged = signed_delivery(configured.signature, path.read_bytes(), wrong, time.time())
            wrong_url = webhook_path(source.name, configured.signature, wrong)
            status = bridge.post(wrong_url, forged_body, {**headers, **forged})
            assert 400 <= status < 500, f"{kind.name} {path.name} with a wrong secret"
        # A JSON body signed inside itself (Leegality's mac) cannot be signed once broken.
        if configured.content_type == "application/json" and not isinstance(
            configured.signature, BodySignedScheme
        ):
            broken = f'{{"email": "{PLANTED_EMAIL}", "pan": "{PLANTED_PAN}", '.encode()
            body, signed = signed_delivery(configured.signature, broken, secret, time.time())
            headers = {"Content-Type": configured.content_type, **signed}
            url = webhook_path(source.name, configured.signature, secret)
            assert bridge.post(url, body, headers) == 400, f"{kind.name} broken JSON"
    return posted


def wrong_secret_of(kind: SourceKind) -> str:
    """Return a forger's secret the kind's scheme takes (Paytm's key has one length only)."""
    scheme = kind.signature
    return scheme.example_secret(WRONG_SECRET) if isinstance(scheme, SecretExample) else WRONG_SECRET


def post_razorpay(bridge: Bridge, source: str, secret: str, body: bytes, event_id: str | None = None) -> int:
    """Sign bytes as a Razorpay delivery to a source and post them; return the status."""
    kind = example_kind(next(kind for kind in KINDS if kind.name == "razorpay"))
    headers = {"Content-Type": "application/json", **kind.signature.sign(body, secret, time.time())}
    if event_id is not None:
        headers["x-razorpay-event-id"] = event_id
    return bridge.post(f"/webhooks/{source}", body, headers)


def planted_payment(
    payment_id: str, opportunity_id: str | None, event: str = "payment.captured"
) -> dict[str, Any]:
    """Return a Razorpay payment carrying the planted email, phone and PAN."""
    payment = payment_event(payment_id, opportunity_id, event=event)
    entity = payment["payload"]["payment"]["entity"]
    entity.update(email=PLANTED_EMAIL, contact=PLANTED_PHONE, description=f"KYC PAN {PLANTED_PAN}")
    entity["notes"]["pan"] = PLANTED_PAN
    return payment


def seed_sample_leads(sandbox: SandboxServer) -> None:
    """Seed a lead for each sample whose example mapping looks its opportunity up (a call's phone)."""
    fields = {"EmailAddress": "email", "Phone": "phone", "Mobile": "mobile"}
    seeded: set[tuple[str, str]] = set()
    for kind in KINDS:
        source, configured = example_source(kind), example_kind(kind)
        for path in samples_of(kind):
            payload = configured.parse(path.read_bytes())
            mapping = source.events.get(configured.type_of(sample_headers(configured, path), payload) or "")
            lookup = mapping.opportunity_lookup if mapping else None
            if lookup is None or mapping is None:
                continue
            # What the worker will search for: at the payload path, or the value the transform yields.
            values = configured.transform(mapping.event_type, payload)[0]
            searched = lead_lookup_of(payload, values, lookup).value
            if (lookup.lead_field, searched) in seeded:
                continue
            seeded.add((lookup.lead_field, searched))
            opportunity = {
                "id": f"opp-{kind.name}",
                "type": lookup.opportunity_type,
                "created_on": "2025-06-01",
            }
            lead = {
                fields[lookup.lead_field]: searched,
                "opportunities": [opportunity],
            }
            assert requests.post(f"{sandbox.url}/sandbox/leads", json=lead, timeout=10).ok


def make_the_sandbox_echo(sandbox: SandboxServer) -> None:
    """Have the sandbox quote personal data back in a 500, a 400, a refused row and a look-up's 500."""
    echo = {"ExceptionType": "MXUnknownException", "ExceptionMessage": ECHO}
    add_fault(sandbox.url, status=500, body=echo, opportunity_id="opp-echo-500")
    invalid = {**echo, "ExceptionType": "MXInvalidInputException"}
    add_fault(sandbox.url, status=400, body=invalid, opportunity_id="opp-echo-400")
    add_fault(sandbox.url, fail_rows=[1], message=ECHO, opportunity_id="opp-echo-row")
    no_lead = {**echo, "ExceptionMessage": f"No lead {LOOKUP_EMAIL}"}
    add_fault(sandbox.url, status=500, body=no_lead, path="GetByEmailaddress")
    opportunity = {"id": "opp-found", "type": 12002, "created_on": "2025-06-01 10:00:00"}
    lead = {"email": LOOKUP_EMAIL, "opportunities": [opportunity]}
    assert requests.post(f"{sandbox.url}/sandbox/leads", json=lead, timeout=10).ok


def post_own_deliveries(bridge: Bridge) -> None:
    """Post payments whose mapping, delivery or look-up quotes the planted identifiers."""
    for number, opportunity in enumerate(["opp-echo-500", "opp-echo-400", "opp-echo-row"]):
        echoed = body_of(planted_payment(f"pay_echo{number}", opportunity))
        assert post_razorpay(bridge, "razorpay", SECRET, echoed, f"evt_echo{number}") == 202
    unmapped = planted_payment("pay_unmapped", "opp-1")
    unmapped["event"] = PLANTED_PAN  # an event type nobody mapped: the worker names it
    assert post_razorpay(bridge, "razorpay", SECRET, body_of(unmapped), "evt_unmapped") == 202
    unmappable = planted_payment("pay_bad_amount", "opp-1")
    unmappable["payload"]["payment"]["entity"]["amount"] = PLANTED_EMAIL  # the transform quotes it
    assert post_razorpay(bridge, "razorpay", SECRET, body_of(unmappable), "evt_bad_amount") == 202
    by_email = planted_payment("pay_by_email", None)
    by_email["payload"]["payment"]["entity"]["email"] = LOOKUP_EMAIL
    assert post_razorpay(bridge, "lookup", LOOKUP_SECRET, body_of(by_email), "evt_by_email") == 202
    by_phone = planted_payment("pay_by_phone", None, event="payment.failed")
    by_phone["payload"]["payment"]["entity"]["contact"] = LOOKUP_PHONE
    assert post_razorpay(bridge, "lookup", LOOKUP_SECRET, body_of(by_phone), "evt_by_phone") == 202


def post_own_refusals(bridge: Bridge) -> None:
    """Post deliveries whose refusal names a planted email: in a JSON key, a source name, a header name."""
    twice = f'{{"{PLANTED_EMAIL}": 1, "{PLANTED_EMAIL}": 2}}'.encode()
    assert post_razorpay(bridge, "razorpay", SECRET, twice) == 400
    assert bridge.post(f"/webhooks/{PLANTED_EMAIL}", b"{}", {"Content-Type": "application/json"}) == 404
    # gunicorn refuses this one itself, and logs it through its own logger.
    refused = send_raw(bridge.port, request_bytes("/webhooks/razorpay", [(f"Contact {PLANTED_EMAIL}", "1")]))
    assert refused.status == 400


def test_no_clear_identifier_reaches_the_web_or_worker_log(bridge: Bridge, sandbox: SandboxServer) -> None:
    """Samples, refusals, echoed answers and look-ups leave only masked identifiers in both logs."""
    seed_sample_leads(sandbox)
    posted = post_samples(bridge)
    make_the_sandbox_echo(sandbox)
    post_own_deliveries(bridge)
    post_own_refusals(bridge)
    wait_until(settled(bridge.services), 90, "every event mapped and every activity settled")
    bridge.stop()
    web, worker = bridge.web_log.read_text(), bridge.worker_log.read_text()
    planted = {PLANTED_EMAIL, PLANTED_PHONE, PLANTED_PAN, LOOKUP_EMAIL, LOOKUP_PHONE}
    identifiers = sample_identifiers() | set().union(*(identifiers_in(text) for text in planted))
    assert posted >= len(KINDS) and len(identifiers) > 20
    for name, log in (("web", web), ("worker", worker)):
        leaked = sorted(identifier for identifier in identifiers if identifier in log)
        assert leaked == [], f"the {name} log holds {leaked}"
    # The lines that named them are there, masked: the test did not pass on empty logs.
    assert_line(web, "no enabled source is named 'p***@example.org'")
    assert_line(web, "repeats the key 'p***@example.org'")
    assert_line(web, "Invalid request from ip=127.0.0.1", "p***@example.org")  # gunicorn's own line
    assert_line(worker, "LeadSquared answered 500: Could not save p***@example.org (PAN ******234Q")
    assert_line(worker, "LeadSquared answered 400: Could not save p***@example.org")
    assert_line(worker, "no mapping for event type '******234Q'")
    assert_line(worker, "amount in paise must be a whole number, not 'p***@example.org'")
    assert_line(worker, "opportunity found for EmailAddress f***@example.org")
    assert_line(worker, "searched Phone *********0011")


def assert_line(log: str, *pieces: str) -> None:
    """Assert that one line of the log holds every piece."""
    lines = [line for line in log.splitlines() if all(piece in line for piece in pieces)]
    assert lines, f"no log line holds {pieces}:\n{log[-3000:]}"
