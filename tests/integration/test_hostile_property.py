"""Generated bodies and headers at every kind's endpoint: never a 5xx, and a refusal stores nothing."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from bridge import create_app
from bridge.services import Services
from bridge.sources.kind import SourceKind
from bridge.sources.senders import signed_delivery, webhook_path
from bridge.store.engine import make_engine
from bridge.store.tables import events
from tests.conftest import OPENED_ENGINES
from tests.support import count
from tests.unit.test_contract import (
    KINDS,
    example_kind,
    example_settings,
    example_source,
    samples_of,
    secret_of,
)
from transforms import REGISTRY

# Bounded so the suite stays quick; no deadline: on a shared machine a slow example is not a bug.
HOSTILE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
json_ish = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(
        lambda opening, n: opening * n, st.sampled_from([b"[", b'{"a":', b'[{"a":']), st.integers(60, 3000)
    ),
    st.sampled_from([b"NaN", b"Infinity", b"1e999", b"\xef\xbb\xbf{}", b'{"a":1,"a":2}', b"{}", b"\x00"]),
    st.lists(
        st.sampled_from(
            [
                b"{",
                b"}",
                b"[",
                b"]",
                b'"',
                b"\\",
                b":",
                b",",
                b"1",
                b"e9",
                b"\\u0000",
                b"\\ud800",
                b"\xff",
                b"\xc3",
                b"a",
                b"=",
                b"&",
                b"%00",
                b"%ff",
            ]
        ),
        max_size=40,
    ).map(b"".join),
)
bodies = json_ish | st.binary(max_size=200)
header_names = st.sampled_from(
    [
        "Content-Type",
        "Content-Length",
        "Transfer-Encoding",
        "X-Razorpay-Signature",
        "x-razorpay-event-id",
        "Stripe-Signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "X-GitHub-Event",
        "X-Hub-Signature-256",
        "X-Forwarded-For",
        "X-Sig",
    ]
) | st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z")
header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=80)
header_sets = st.lists(st.tuples(header_names, header_values), max_size=6)


def kind_client(database_url: str) -> tuple[Any, Services]:
    """Return a test client for the example configuration (every kind enabled) and its services."""
    example = example_settings(DATABASE_URL=database_url)
    services = Services(example, make_engine(example.database_url), REGISTRY)
    OPENED_ENGINES.append(services.engine)
    return create_app(services).test_client(), services


@HOSTILE
@given(kind=st.sampled_from(KINDS), body=bodies, sign=st.booleans(), extra=header_sets, data=st.data())
def test_no_generated_delivery_gets_a_5xx_and_a_refused_one_stores_nothing(
    database_url: str,
    kind: SourceKind,
    body: bytes,
    sign: bool,
    extra: list[tuple[str, str]],
    data: st.DataObject,
) -> None:
    """Signed or not, any body under any headers: a 2xx (stored once at most) or a 4xx (nothing stored)."""
    if database_url not in CLIENTS:
        CLIENTS[database_url] = kind_client(database_url)
    client, services = CLIENTS[database_url]
    configured = example_kind(kind)
    source = example_source(kind)
    headers = Headers({"Content-Type": data.draw(st.sampled_from([configured.content_type, "text/plain"]))})
    if sign:
        try:
            body, signed = signed_delivery(configured.signature, body, secret_of(kind), time.time())
            headers.update(signed)
        except ValueError:
            pass  # PayU signs fields, so a body that is not a form cannot be signed: it goes unsigned.
    for name, value in extra:
        headers.add(name, value)
    url = webhook_path(source.name, configured.signature, secret_of(kind))
    before = count(services, events)
    try:
        answer = client.post(url, data=body, headers=headers)
    except ValueError as error:
        # The test client itself refuses some header values no wire carries: no server ever sees them.
        assert "header" in str(error).lower(), error
        return
    assert answer.status_code < 500, answer.get_data(as_text=True)
    stored = count(services, events) - before
    if answer.status_code >= 300:
        assert stored == 0, answer.get_json()
    else:
        assert stored == (1 if answer.status_code == 202 else 0)


# One app per database for all examples: building one loads and validates the whole example configuration.
CLIENTS: dict[str, tuple[Any, Services]] = {}


ODD_VALUES = [
    "",
    " ",
    "é" * 64,
    "\x00",
    "\ud800",
    "a" * 10000,
    "v1=é",
    "t=é,v1=é",
    "v1,é",
    "sha256=" + "z" * 64,
    "t=99999999999999999999,v1=00",
    "t=-1,v1=00",
    "1e400",
    "NaN",
]


def test_odd_values_in_every_header_a_kind_reads_never_get_a_5xx(database_url: str) -> None:
    """Each signature, timestamp, id or event-type header of each kind, set to odd text: a 4xx or a 2xx."""
    client, services = kind_client(database_url)
    for kind in KINDS:
        configured, source = example_kind(kind), example_source(kind)
        body, signed = signed_delivery(
            configured.signature, samples_of(kind)[0].read_bytes(), secret_of(kind), time.time()
        )
        names = [*signed, *([configured.event_type_header] if configured.event_type_header else [])]
        for name in names:
            for value in ODD_VALUES:
                headers = Headers({"Content-Type": configured.content_type, **signed})
                headers[name] = value
                before = count(services, events)
                url = webhook_path(source.name, configured.signature, secret_of(kind))
                answer = client.post(url, data=body, headers=headers)
                assert answer.status_code < 500, (kind.name, name, value[:20], answer.get_data(as_text=True))
                if answer.status_code >= 300:
                    assert count(services, events) == before


def test_odd_values_in_the_body_field_a_kind_signs_with_never_get_a_5xx(database_url: str) -> None:
    """A signature carried in the body (PayU's hash, Paytm's CHECKSUMHASH, Leegality's mac) set to odd text.

    Paytm's answered 500 to a non-ASCII CHECKSUMHASH: base64 refuses such text
    with ValueError, not binascii.Error.
    """
    client, services = kind_client(database_url)
    checked = []
    for kind in KINDS:
        configured, source = example_kind(kind), example_source(kind)
        field = getattr(configured.signature, "field", None)
        if not isinstance(field, str):
            continue
        checked.append(kind.name)
        body, signed = signed_delivery(
            configured.signature, samples_of(kind)[0].read_bytes(), secret_of(kind), time.time()
        )
        url = webhook_path(source.name, configured.signature, secret_of(kind))
        for value in ODD_VALUES:
            if configured.content_type == "application/json":
                changed = json.dumps({**json.loads(body), field: value}).encode()
            else:
                fields = [(k, value if k == field else v) for k, v in parse_qsl(body.decode(), True)]
                changed = urlencode(fields, errors="surrogatepass").encode()
            before = count(services, events)
            headers = Headers({"Content-Type": configured.content_type, **signed})
            answer = client.post(url, data=changed, headers=headers)
            assert answer.status_code < 500, (kind.name, value[:20], answer.get_data(as_text=True))
            if answer.status_code >= 300:
                assert count(services, events) == before
    assert {"payu", "paytm", "easebuzz", "instamojo", "leegality"} <= set(checked)
